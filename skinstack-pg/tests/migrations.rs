//! The migrations: up, down one by one to nothing, up again to the very same schema, and
//! atomic when a statement fails. Each test runs in its own fresh, unmigrated database.

// Helpers here are test code too: a failed query must fail the test, so they unwrap.
#![allow(clippy::unwrap_used)]

use skinstack_pg::MIGRATOR;
use sqlx::migrate::Migrator;
use sqlx::PgPool;
use std::path::{Path, PathBuf};

/// Every migration by version and name: the seed's six tables, then the clicks table, the
/// link change feed (triggers only), the sessions table, the commission ledger (numbered from 20 so other
/// branches' migrations fit below it), merchants' API keys, the webhook deliveries, program
/// memberships, coupon codes and the merchant statements (invoices).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, "users"),
    (2, "influencers"),
    (3, "merchants"),
    (4, "programs"),
    (5, "products"),
    (6, "tracking_links"),
    (7, "clicks"),
    (8, "link_change_feed"),
    (9, "sessions"),
    (10, "click_source"),
    (20, "commission_ledger"),
    (21, "merchant_api_keys"),
    (22, "webhook_deliveries"),
    (23, "merchant_verification"),
    (24, "program_memberships"),
    (25, "coupon_codes"),
    (26, "commission_holds"),
    (27, "widen_totals"),
    (28, "clicks_partitioned"),
    (29, "click_rollups"),
    (30, "merchant_statements"),
    (31, "fraud_signals"),
    (32, "quiet_link_counters"),
    (33, "currencies"),
    (34, "click_visitor"),
    (35, "click_breakdowns"),
    (36, "click_visit_code"),
];

/// The tables each migration creates, by version (0008 creates none).
const TABLES: &[(i64, &str)] = &[
    (1, "users"),
    (2, "influencers"),
    (3, "merchants"),
    (4, "programs"),
    (5, "products"),
    (6, "tracking_links"),
    (7, "clicks"),
    (9, "sessions"),
    (20, "conversions"),
    (20, "refunds"),
    (20, "payout_batches"),
    (20, "payout_items"),
    (20, "commission_events"),
    (21, "merchant_api_keys"),
    (22, "webhook_deliveries"),
    (24, "program_memberships"),
    (24, "program_invitations"),
    (25, "coupon_codes"),
    (28, "clicks_default"),
    (29, "click_rollups_daily"),
    (30, "merchant_statements"),
    (30, "merchant_statement_lines"),
    (35, "click_rollups_daily_values"),
];

/// Version of the link change feed migration.
const FEED: i64 = 8;

const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

fn versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|(v, _)| *v).collect()
}

/// Everything of ours in the `public` schema, one line per object with its full definition,
/// sorted. sqlx's own `_sqlx_migrations` table (and its primary key) is not ours.
async fn schema_snapshot(pool: &PgPool) -> Vec<String> {
    let sql = r#"
        SELECT format('relation %s kind=%s', c.relname, c.relkind)
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relname NOT IN ('_sqlx_migrations', '_sqlx_migrations_pkey')
        UNION ALL
        SELECT format('column %s.%s %s default=%s not_null=%s', c.relname, a.attname,
                      format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid),
                      a.attnotnull)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
          AND c.relname <> '_sqlx_migrations' AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT format('constraint %s.%s %s', con.conrelid::regclass, con.conname,
                      pg_get_constraintdef(con.oid))
        FROM pg_constraint con
        WHERE con.connamespace = 'public'::regnamespace
          AND con.conrelid::regclass::text <> '_sqlx_migrations'
        UNION ALL
        SELECT format('index %s', pg_get_indexdef(i.indexrelid))
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> '_sqlx_migrations'
        UNION ALL
        SELECT format('trigger %s', pg_get_triggerdef(t.oid))
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
        UNION ALL
        SELECT format('function %s', pg_get_functiondef(p.oid))
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT format('view %s %s', v.viewname, v.definition)
        FROM pg_views v
        WHERE v.schemaname = 'public'
        UNION ALL
        SELECT format('type %s', t.typname)
        FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace
          AND t.typname NOT IN ('_sqlx_migrations', '__sqlx_migrations')
    "#;
    let mut lines: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
    lines.sort();
    lines
}

async fn applied_versions(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn table_exists(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(format!("public.{table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn all_up_lists_every_migration_starting_with_the_six_seed_tables(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    let listed: Vec<(i32, String)> =
        sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<(i32, String)> = MIGRATIONS
        .iter()
        .map(|(v, name)| (i32::try_from(*v).unwrap(), (*name).to_owned()))
        .collect();
    assert_eq!(listed, expected);
    for (_, table) in TABLES {
        assert!(table_exists(&pool, table).await, "{table} missing");
    }
}

#[sqlx::test(migrations = false)]
async fn running_up_twice_changes_nothing(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    let first = schema_snapshot(&pool).await;
    MIGRATOR.run(&pool).await.unwrap();
    assert_eq!(schema_snapshot(&pool).await, first);
    assert_eq!(applied_versions(&pool).await, versions());
}

#[sqlx::test(migrations = false)]
async fn down_one_by_one_leaves_an_empty_schema(pool: PgPool) {
    assert!(schema_snapshot(&pool).await.is_empty(), "fresh database");
    MIGRATOR.run(&pool).await.unwrap();
    let all = versions();
    for kept in (0..all.len()).rev() {
        let target = if kept == 0 { 0 } else { all[kept - 1] };
        MIGRATOR.undo(&pool, target).await.unwrap();
        assert_eq!(applied_versions(&pool).await, all[..kept].to_vec());
        for (version, table) in TABLES {
            assert_eq!(
                table_exists(&pool, table).await,
                *version <= target,
                "{table} after reverting to {target}"
            );
        }
        let feed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'skinstack_notify_link_change')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            feed,
            FEED <= target,
            "the link change feed outlives its migration"
        );
    }
    assert_eq!(schema_snapshot(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrations = false)]
async fn up_down_up_gives_the_identical_schema(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    let first = schema_snapshot(&pool).await;
    // The snapshot sees what matters: a sample of each kind of object.
    for expected in [
        "column programs.platform_fee_rate numeric(3,2) default=0.20 not_null=f",
        "constraint tracking_links.tracking_links_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id) ON DELETE SET NULL",
        "index CREATE UNIQUE INDEX idx_tracking_links_slug ON public.tracking_links USING btree (slug)",
        "trigger CREATE TRIGGER users_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION update_updated_at()",
        "relation schema_migrations kind=v",
    ] {
        assert!(first.iter().any(|line| line == expected), "{expected:?} not in {first:#?}");
    }
    assert!(first.iter().any(
        |l| l.starts_with("function CREATE OR REPLACE FUNCTION public.generate_unique_slug()")
    ));

    MIGRATOR.undo(&pool, 0).await.unwrap();
    assert_eq!(schema_snapshot(&pool).await, Vec::<String>::new());
    MIGRATOR.run(&pool).await.unwrap();
    assert_eq!(schema_snapshot(&pool).await, first);
}

/// A copy of the migrations plus a later one whose last statement fails.
fn migrations_with_a_broken_last() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let dir = std::env::temp_dir().join(format!("skinstack-broken-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        dir.join("0099_broken.up.sql"),
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n\
         CREATE INDEX idx_half_done ON half_done (id);\n\
         ALTER TABLE users ADD COLUMN nickname TEXT;\n\
         SELECT 1 / 0;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("0099_broken.down.sql"),
        "DROP TABLE half_done;\nALTER TABLE users DROP COLUMN nickname;\n",
    )
    .unwrap();
    dir
}

#[sqlx::test(migrations = false)]
async fn a_failing_migration_leaves_nothing_behind(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    let before = schema_snapshot(&pool).await;
    let dir = migrations_with_a_broken_last();
    let broken = Migrator::new(dir.as_path()).await.unwrap();
    let result = broken.run(&pool).await;
    std::fs::remove_dir_all(&dir).unwrap();

    assert!(
        matches!(
            result,
            Err(sqlx::migrate::MigrateError::ExecuteMigration(_, 99))
        ),
        "{result:?}"
    );
    assert_eq!(
        schema_snapshot(&pool).await,
        before,
        "the statements before the failing one were rolled back"
    );
    assert!(!table_exists(&pool, "half_done").await);
    assert_eq!(applied_versions(&pool).await, versions());
    // Nothing half-applied was recorded, so the schema can still move either way.
    MIGRATOR.undo(&pool, LATEST - 1).await.unwrap();
    let all = versions();
    assert_eq!(applied_versions(&pool).await, all[..all.len() - 1].to_vec());
}

#[sqlx::test(migrations = false)]
async fn memberships_start_approved_for_every_influencer_with_a_link_in_a_program(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    MIGRATOR.undo(&pool, 22).await.unwrap();
    // Written as the schema before 0024 allows: two links of one influencer in one program,
    // and a second program without links.
    sqlx::query(
        "WITH u AS (INSERT INTO users (email, password_hash, role) \
                    VALUES ('ana@example.com', '$x', 'influencer') RETURNING id), \
              i AS (INSERT INTO influencers (user_id, display_name) \
                    SELECT id, 'Ana' FROM u RETURNING id), \
              m AS (INSERT INTO merchants (business_name, website_url) \
                    VALUES ('Glow Co', 'https://glowco.com') RETURNING id), \
              p AS (INSERT INTO programs (merchant_id, name, network, commission_rate) \
                    SELECT id, name, 'impact', 20 FROM m, (VALUES ('linked'), ('unlinked')) n(name) \
                    RETURNING id, name) \
         INSERT INTO tracking_links (slug, influencer_id, program_id, destination_url) \
         SELECT s, i.id, p.id, 'https://glowco.com' FROM i, p, (VALUES ('one'), ('two')) v(s) \
         WHERE p.name = 'linked'",
    )
    .execute(&pool)
    .await
    .unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let members: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT p.name, pm.state, p.enrollment_mode FROM program_memberships pm \
         JOIN programs p ON p.id = pm.program_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        members,
        vec![(
            "linked".to_owned(),
            "approved".to_owned(),
            "approval".to_owned()
        )]
    );
}

/// 0025 turns links' campaign codes into assigned coupon codes: one per merchant and code in
/// any case, owned by the oldest link, assigned when that link was created.
#[sqlx::test(migrations = false)]
async fn coupon_codes_are_made_from_campaign_codes_and_the_oldest_link_keeps_a_shared_one(
    pool: PgPool,
) {
    MIGRATOR.run(&pool).await.unwrap();
    MIGRATOR.undo(&pool, 22).await.unwrap();
    let setup = r#"
        INSERT INTO users (id, email, password_hash, role) VALUES
            ('00000000-0000-0000-0000-0000000000a1', 'ana@example.com', '$x', 'influencer'),
            ('00000000-0000-0000-0000-0000000000b1', 'bea@example.com', '$x', 'influencer');
        INSERT INTO influencers (id, user_id, display_name) VALUES
            ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000a1', 'Ana'),
            ('00000000-0000-0000-0000-0000000000b2', '00000000-0000-0000-0000-0000000000b1', 'Bea');
        INSERT INTO merchants (id, business_name, website_url) VALUES
            ('00000000-0000-0000-0000-0000000000c1', 'Glow Co', 'https://glowco.com'),
            ('00000000-0000-0000-0000-0000000000d1', 'Other Co', 'https://other.com');
        INSERT INTO programs (id, merchant_id, name, network, commission_rate) VALUES
            ('00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000c1', 'P', 'impact', 20),
            ('00000000-0000-0000-0000-0000000000d2', '00000000-0000-0000-0000-0000000000d1', 'Q', 'impact', 20);
        INSERT INTO tracking_links (id, slug, influencer_id, program_id, destination_url, campaign_code, created_at) VALUES
            -- Ana's is the oldest ANA20 at Glow Co; Bea's copy (another case) is newer.
            ('00000000-0000-0000-0000-00000000000a', 'ana', '00000000-0000-0000-0000-0000000000a2',
             '00000000-0000-0000-0000-0000000000c2', 'https://glowco.com', 'ANA20', '2025-01-01T00:00:00Z'),
            ('00000000-0000-0000-0000-00000000000b', 'bea', '00000000-0000-0000-0000-0000000000b2',
             '00000000-0000-0000-0000-0000000000c2', 'https://glowco.com', 'ana20', '2025-02-01T00:00:00Z'),
            -- The same code at another merchant is another code.
            ('00000000-0000-0000-0000-00000000000c', 'bea-other', '00000000-0000-0000-0000-0000000000b2',
             '00000000-0000-0000-0000-0000000000d2', 'https://other.com', 'ANA20', '2025-03-01T00:00:00Z'),
            -- Neither a code the library accepts nor none at all: no coupon code.
            ('00000000-0000-0000-0000-00000000000d', 'odd', '00000000-0000-0000-0000-0000000000b2',
             '00000000-0000-0000-0000-0000000000c2', 'https://glowco.com', 'SPRING SALE', now()),
            ('00000000-0000-0000-0000-00000000000e', 'none', '00000000-0000-0000-0000-0000000000b2',
             '00000000-0000-0000-0000-0000000000c2', 'https://glowco.com', NULL, now());
    "#;
    sqlx::raw_sql(setup).execute(&pool).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();
    let codes: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT merchant_id::text, code, link_id::text, state, assigned_at::text \
         FROM coupon_codes ORDER BY merchant_id, link_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let row = |m: &str, code: &str, link: &str, at: &str| {
        (
            format!("00000000-0000-0000-0000-0000000000{m}"),
            code.to_owned(),
            format!("00000000-0000-0000-0000-00000000000{link}"),
            "assigned".to_owned(),
            at.to_owned(),
        )
    };
    assert_eq!(
        codes,
        vec![
            row("c1", "ANA20", "a", "2025-01-01 00:00:00+00"),
            row("d1", "ANA20", "c", "2025-03-01 00:00:00+00"),
        ]
    );
    let kept: Option<String> =
        sqlx::query_scalar("SELECT campaign_code FROM tracking_links WHERE slug = 'bea'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("ana20"),
        "campaign codes stay as they were"
    );
}

/// Migration 0023 on a database with merchants: each is marked verified at its creation time,
/// and of one account's several merchants the oldest keeps the account while the others are
/// detached, not deleted.
#[sqlx::test(migrations = false)]
async fn verification_marks_existing_merchants_verified_and_keeps_each_accounts_oldest(
    pool: PgPool,
) {
    MIGRATOR.run(&pool).await.unwrap();
    MIGRATOR.undo(&pool, 22).await.unwrap();
    let user: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, role) \
         VALUES ('brand@example.com', 'x', 'merchant') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let mut merchants = Vec::new();
    for (name, created) in [
        ("Newer", "2024-02-01T00:00:00Z"),
        ("Oldest", "2024-01-01T00:00:00Z"),
        ("Newest", "2024-03-01T00:00:00Z"),
    ] {
        let id: uuid::Uuid = sqlx::query_scalar(
            "INSERT INTO merchants (user_id, business_name, website_url, created_at) \
             VALUES ($1, $2, 'https://glowco.com', $3::timestamptz) RETURNING id",
        )
        .bind(user)
        .bind(name)
        .bind(created)
        .fetch_one(&pool)
        .await
        .unwrap();
        merchants.push(id);
    }
    MIGRATOR.run(&pool).await.unwrap();

    let rows: Vec<(String, Option<uuid::Uuid>, bool)> = sqlx::query_as(
        "SELECT business_name, user_id, verified_at = created_at FROM merchants \
         ORDER BY created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("Oldest".to_owned(), Some(user), true),
            ("Newer".to_owned(), None, true),
            ("Newest".to_owned(), None, true),
        ]
    );
    let second = sqlx::query(
        "INSERT INTO merchants (user_id, business_name, website_url) \
         VALUES ($1, 'Again', 'https://glowco.com')",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(
        second.as_database_error().and_then(|e| e.constraint()),
        Some("merchants_user_id_key")
    );
    let fresh: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "INSERT INTO merchants (business_name, website_url) \
         VALUES ('New', 'https://new.example') RETURNING verified_at",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        fresh, None,
        "a merchant created after 0023 starts unverified"
    );
}

/// Ana, her link `00000000-0000-0000-0000-00000000000a` and its program, for the migrations'
/// data tests.
const ANAS_LINK: &str = r#"
        INSERT INTO users (id, email, password_hash, role) VALUES
            ('00000000-0000-0000-0000-0000000000a1', 'ana@example.com', '$x', 'influencer');
        INSERT INTO influencers (id, user_id, display_name) VALUES
            ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000a1', 'Ana');
        INSERT INTO merchants (id, business_name, website_url) VALUES
            ('00000000-0000-0000-0000-0000000000c1', 'Glow Co', 'https://glowco.com');
        INSERT INTO programs (id, merchant_id, name, network, commission_rate) VALUES
            ('00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000c1', 'P', 'impact', 20);
        INSERT INTO tracking_links (id, slug, influencer_id, program_id, destination_url) VALUES
            ('00000000-0000-0000-0000-00000000000a', 'ana', '00000000-0000-0000-0000-0000000000a2',
             '00000000-0000-0000-0000-0000000000c2', 'https://glowco.com');
"#;

/// 0035 on a database with roll-ups, clicks and conversions: each old roll-up row splits into
/// a `link` and a `qr` row of unknown families, the country and referrer rows are rolled up
/// from the stored clicks, conversions take their click's dimensions; its down gives back
/// each day's sums and the very schema of 0034.
#[sqlx::test(migrations = false)]
async fn breakdowns_split_old_roll_ups_by_source_and_their_down_restores_the_sums(pool: PgPool) {
    MIGRATOR.run(&pool).await.unwrap();
    MIGRATOR.undo(&pool, 34).await.unwrap();
    let before = schema_snapshot(&pool).await;
    sqlx::raw_sql(ANAS_LINK).execute(&pool).await.unwrap();
    let setup = r#"
        -- Day 1 kept its raw clicks: a QR scan from Germany via Instagram, a link click from
        -- France, a robot with neither. Older days' clicks were pruned.
        INSERT INTO clicks (id, link_id, clicked_at, is_bot, source, device, os, browser,
                            platform, referrer_domain, country) VALUES
            ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T10:00:00Z', false, 'qr', 'mobile', 'ios', 'other', 'instagram',
             'instagram.com', 'DE'),
            ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T11:00:00Z', false, 'link', 'desktop', 'windows', 'chrome', NULL,
             NULL, 'FR'),
            ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T12:00:00Z', true, 'link', 'other', 'other', 'other', NULL, NULL, NULL),
            -- Stored before 0034: no families.
            ('00000000-0000-0000-0000-000000000004', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T13:00:00Z', false, 'link', NULL, NULL, NULL, NULL, NULL, NULL);
        INSERT INTO click_rollups_daily (link_id, day, clicks, qr_scans, robot_hits) VALUES
            ('00000000-0000-0000-0000-00000000000a', '2026-03-01', 3, 1, 1),
            ('00000000-0000-0000-0000-00000000000a', '2026-02-01', 5, 2, 1),
            ('00000000-0000-0000-0000-00000000000a', '2026-02-02', 3, 3, 0),
            ('00000000-0000-0000-0000-00000000000a', '2026-02-03', 0, 0, 4);
        INSERT INTO conversions (id, merchant_id, order_id, amount, currency, ordered_at,
                                 recorded_at, link_id, influencer_id, program_id, attributed_by,
                                 attributed_click_id, hold_until) VALUES
            ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000c1',
             'o-1', 10, 'USD', now(), now(), '00000000-0000-0000-0000-00000000000a',
             '00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000c2',
             'click', '00000000-0000-0000-0000-000000000001', now()),
            ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000c1',
             'o-2', 10, 'USD', now(), now(), '00000000-0000-0000-0000-00000000000a',
             '00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000c2',
             'click', '00000000-0000-0000-0000-000000000004', now());
    "#;
    sqlx::raw_sql(setup).execute(&pool).await.unwrap();
    let sums = r#"SELECT day::text, sum(clicks)::bigint, sum(qr_scans)::bigint,
                         sum(robot_hits)::bigint
                  FROM click_rollups_daily GROUP BY day ORDER BY day"#;
    let old: Vec<(String, i64, i64, i64)> = sqlx::query_as(sums).fetch_all(&pool).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();

    type Split = (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
    );
    let split: Vec<Split> = sqlx::query_as(
        "SELECT day::text, source, device, os, browser, platform, clicks, qr_scans, robot_hits \
         FROM click_rollups_daily_families ORDER BY day, source",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let row = |day: &str, source: &str, clicks, qr_scans, robot_hits| {
        let other = || "other".to_owned();
        let (day, source, none) = (day.to_owned(), source.to_owned(), "none".to_owned());
        (
            day,
            source,
            other(),
            other(),
            other(),
            none,
            clicks,
            qr_scans,
            robot_hits,
        )
    };
    assert_eq!(
        split,
        vec![
            row("2026-02-01", "link", 3, 0, 1),
            row("2026-02-01", "qr", 2, 2, 0),
            row("2026-02-02", "qr", 3, 3, 0),
            row("2026-02-03", "link", 0, 0, 4),
            row("2026-03-01", "link", 2, 0, 1),
            row("2026-03-01", "qr", 1, 1, 0),
        ]
    );
    let values: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT day::text, dimension, value, clicks, qr_scans, robot_hits \
         FROM click_rollups_daily_values ORDER BY dimension, value",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let value = |dimension: &str, value: &str, clicks, qr_scans| {
        let day = "2026-03-01".to_owned();
        (
            day,
            dimension.to_owned(),
            value.to_owned(),
            clicks,
            qr_scans,
            0,
        )
    };
    assert_eq!(
        values,
        vec![
            value("country", "DE", 1, 1),
            value("country", "FR", 1, 0),
            value("referrer", "instagram.com", 1, 1),
        ]
    );
    type Visit = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let visits: Vec<Visit> = sqlx::query_as(
        "SELECT click_source, device, platform, country FROM conversions ORDER BY order_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let known = |s: &str| Some(s.to_owned());
    assert_eq!(
        visits,
        vec![
            (
                known("qr"),
                known("mobile"),
                known("instagram"),
                known("DE")
            ),
            // Its click had no families: the conversion knows none of its dimensions.
            (None, None, None, None),
        ]
    );
    // A 'link' row never holds QR scans, a 'qr' row nothing else.
    let refused = sqlx::query(
        "INSERT INTO click_rollups_daily (link_id, day, visit, clicks, qr_scans) \
         VALUES ('00000000-0000-0000-0000-00000000000a', '2026-04-01', 3277, 2, 1)",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(
        refused.as_database_error().and_then(|e| e.constraint()),
        Some("click_rollups_daily_qr_scans_source_check")
    );

    MIGRATOR.undo(&pool, 34).await.unwrap();
    let restored: Vec<(String, i64, i64, i64)> =
        sqlx::query_as(sums).fetch_all(&pool).await.unwrap();
    assert_eq!(restored, old);
    assert_eq!(schema_snapshot(&pool).await, before);
}

/// The view `click_rollups_daily_families` gives every visit code the names core decodes it to,
/// so SQL readers and the library read the same families.
#[sqlx::test(migrations = false)]
async fn the_families_view_names_every_visit_code_as_core_does(pool: PgPool) {
    use skinstack_core::tracking::breakdown::{Dimension, VisitKey};
    MIGRATOR.run(&pool).await.unwrap();
    let codes: Vec<i32> = (0..(1 << 18))
        .filter(|c| VisitKey::from_code(*c).is_some())
        .collect();
    assert!(
        codes.len() > 1000,
        "every combination of the families has a code"
    );
    sqlx::query(
        "INSERT INTO click_rollups_daily (link_id, day, visit) \
         SELECT '00000000-0000-0000-0000-000000000001', DATE '2026-01-01', code \
         FROM unnest($1::int[]) AS code",
    )
    .bind(&codes)
    .execute(&pool)
    .await
    .unwrap();
    let rows: Vec<(i32, String, String, String, String, String)> = sqlx::query_as(
        "SELECT f.visit, f.source, f.device, f.os, f.browser, f.platform \
         FROM click_rollups_daily_families f ORDER BY f.visit",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), codes.len());
    for (code, source, device, os, browser, platform) in rows {
        let key = VisitKey::from_code(code).unwrap();
        let name = |dimension| key.value(dimension).unwrap().to_owned();
        assert_eq!(
            (source, device, os, browser, platform),
            (
                name(Dimension::Source),
                name(Dimension::Device),
                name(Dimension::Os),
                name(Dimension::Browser),
                name(Dimension::Platform)
            ),
            "code {code}"
        );
    }
}

/// 0036 on clicks stored with 0034's family columns: each gets the visit code core gives its
/// families (a click without families none), `click_families` names them back, and the down
/// gives back the very columns, values and schema of 0035.
#[sqlx::test(migrations = false)]
async fn visit_codes_are_backfilled_from_the_family_columns_and_their_down_restores_them(
    pool: PgPool,
) {
    use skinstack_core::tracking::breakdown::VisitKey;
    use skinstack_core::tracking::visitor::{Browser, Device, Os, Platform, UserAgentFacts};
    use skinstack_core::ClickSource;
    MIGRATOR.run(&pool).await.unwrap();
    MIGRATOR.undo(&pool, 35).await.unwrap();
    let before = schema_snapshot(&pool).await;
    sqlx::raw_sql(ANAS_LINK).execute(&pool).await.unwrap();
    let setup = r#"
        INSERT INTO clicks (id, link_id, clicked_at, is_bot, source, device, os, browser,
                            platform, referrer_domain, country) VALUES
            ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T10:00:00Z', false, 'qr', 'mobile', 'ios', 'other', 'instagram',
             'instagram.com', 'DE'),
            ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T11:00:00Z', false, 'link', 'desktop', 'windows', 'chrome', NULL,
             NULL, 'FR'),
            -- Stored before 0034: no families.
            ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-00000000000a',
             '2026-03-01T13:00:00Z', false, 'link', NULL, NULL, NULL, NULL, NULL, NULL);
    "#;
    sqlx::raw_sql(setup).execute(&pool).await.unwrap();
    let columns = "SELECT id::text, source, device, os, browser, platform, referrer_domain, \
                   country FROM clicks ORDER BY id";
    type Columns = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let old: Vec<Columns> = sqlx::query_as(columns).fetch_all(&pool).await.unwrap();
    MIGRATOR.run(&pool).await.unwrap();

    let scan = VisitKey {
        source: ClickSource::Qr,
        agent: UserAgentFacts {
            device: Device::Mobile,
            os: Os::Ios,
            browser: Browser::Other,
            platform: Some(Platform::Instagram),
        },
    };
    let desktop = VisitKey {
        source: ClickSource::Link,
        agent: UserAgentFacts {
            device: Device::Desktop,
            os: Os::Windows,
            browser: Browser::Chrome,
            platform: None,
        },
    };
    type Named = (
        Option<i32>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let named: Vec<Named> = sqlx::query_as(
        "SELECT visit, source, device, os, browser, platform FROM click_families ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let known = |s: &str| Some(s.to_owned());
    assert_eq!(
        named,
        vec![
            (
                Some(scan.code()),
                known("qr"),
                known("mobile"),
                known("ios"),
                known("other"),
                known("instagram")
            ),
            (
                Some(desktop.code()),
                known("link"),
                known("desktop"),
                known("windows"),
                known("chrome"),
                known("none")
            ),
            (None, None, None, None, None, None),
        ]
    );

    MIGRATOR.undo(&pool, 35).await.unwrap();
    let restored: Vec<Columns> = sqlx::query_as(columns).fetch_all(&pool).await.unwrap();
    assert_eq!(restored, old);
    assert_eq!(schema_snapshot(&pool).await, before);
}

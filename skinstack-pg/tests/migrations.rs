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
/// branches' migrations fit below it), merchants' API keys, the webhook deliveries and the
/// merchant statements (invoices).
const MIGRATIONS: [(i64, &str); 14] = [
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
    (30, "merchant_statements"),
];

/// The tables each migration creates, by version (0008 creates none).
const TABLES: [(i64, &str); 17] = [
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
    (30, "merchant_statements"),
    (30, "merchant_statement_lines"),
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
                version <= target,
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

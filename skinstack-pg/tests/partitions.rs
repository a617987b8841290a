//! The clicks table's monthly partitions and retention (migrations 0028 and 0029): months are
//! ready before their clicks, a click never fails for want of one, and pruning drops raw
//! clicks only: roll-ups, attributions and the ledger survive it.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use skinstack_core::earning::ConversionFilter;
use skinstack_core::service::conversions::record_conversion;
use skinstack_core::testkit::conversions::{cast, cents, order};
use skinstack_core::tracking::retention::Retention;
use skinstack_core::{
    AttributedBy, Click, ClickId, ClickRollups, ClickSink, ConversionRepo, LedgerQueries, LinkId,
    LinkRepo, Page,
};
use skinstack_pg::{
    Cipher, ClickTotalFolding, PartitionMaintenance, PgStore, MIGRATOR, MONTHS_AHEAD,
};
use sqlx::PgPool;

fn store(pool: &PgPool) -> PgStore {
    // A fixed test key (bytes 0..32): the fixture's merchant has credentials.
    let cipher = Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    PgStore::new(pool.clone(), Some(cipher))
}

fn click_at(link: LinkId, at: DateTime<Utc>) -> Click {
    let mut click = Click::new(link, None, Some("Mozilla/5.0 (iPhone)"), None);
    click.id = ClickId::issued(at);
    click.at = click.id.issued_at();
    click
}

/// `clicks_YYYY_MM` of the UTC month `months` after now's (negative: before).
fn partition_of(months: i32) -> String {
    let now = Utc::now();
    let this = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap();
    let month = if months >= 0 {
        this + Months::new(months.unsigned_abs())
    } else {
        this - Months::new(months.unsigned_abs())
    };
    format!("clicks_{}", month.format("%Y_%m"))
}

async fn partitions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'clicks'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn partition_holding(pool: &PgPool, click: ClickId) -> String {
    sqlx::query_scalar("SELECT tableoid::regclass::text FROM clicks WHERE id = $1")
        .bind(click.as_uuid())
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_current_month_and_the_next_ones_have_partitions_and_checking_again_creates_none(
    pool: PgPool,
) {
    let parts = partitions(&pool).await;
    for ahead in 0..=i32::try_from(MONTHS_AHEAD).unwrap() {
        assert!(parts.contains(&partition_of(ahead)), "{parts:?}");
    }
    assert!(parts.contains(&"clicks_default".to_owned()));
    assert_eq!(store(&pool).ensure_click_partitions().await.unwrap(), 0);
    assert_eq!(partitions(&pool).await, parts);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_click_of_a_month_without_a_partition_is_stored_and_later_moved_into_its_own(
    pool: PgPool,
) {
    let store = store(&pool);
    let (_, link) = cast(&store).await;
    // Far beyond the look-ahead: as if the server had been stopped for half a year.
    let later = Utc::now() + Duration::days(200);
    let click = click_at(link.id, later);
    store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    assert_eq!(partition_holding(&pool, click.id).await, "clicks_default");

    assert_eq!(store.ensure_click_partitions().await.unwrap(), 1);
    let month = format!("clicks_{}", later.format("%Y_%m"));
    assert_eq!(partition_holding(&pool, click.id).await, month);
    // The retried batch meets its row in the new partition: stored and counted once.
    store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM clicks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    assert_eq!(store.link_by_id(link.id).await.unwrap().total_clicks, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_daily_check_runs_on_its_schedule_and_creates_what_is_missing(pool: PgPool) {
    let store = store(&pool);
    let next = partition_of(1);
    sqlx::query(&format!("DROP TABLE {next}"))
        .execute(&pool)
        .await
        .unwrap();
    let maintenance = PartitionMaintenance::spawn(store, std::time::Duration::from_millis(10));
    maintenance.checked(1).await;
    maintenance.stop();
    assert!(partitions(&pool).await.contains(&next));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_attribution_recorded_before_a_prune_survives_it_with_its_conversion_and_statistics(
    pool: PgPool,
) {
    let store = store(&pool);
    let (f, link) = cast(&store).await;
    let now = Utc
        .with_ymd_and_hms(2026, 6, 10, 12, 0, 0)
        .single()
        .unwrap();
    let clicked = Utc
        .with_ymd_and_hms(2025, 3, 20, 9, 30, 0)
        .single()
        .unwrap();
    // The month gets its partition as it would have at the time.
    sqlx::query("SELECT skinstack_create_click_partition('2025-03-01')")
        .execute(&pool)
        .await
        .unwrap();
    let click = click_at(link.id, clicked);
    store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    assert_eq!(partition_holding(&pool, click.id).await, "clicks_2025_03");
    let mut o = order(&f, "before-prune", cents(5000), clicked + Duration::days(2));
    o.click_id = Some(click.id);
    let recorded = record_conversion(&store, clicked + Duration::days(2), o)
        .await
        .unwrap();
    let attributed = recorded.conversion.attribution.clone().unwrap();
    assert_eq!(attributed.by, AttributedBy::Click { click_id: click.id });
    let before = store.link_by_id(link.id).await.unwrap();

    let pruned = store
        .prune_clicks(Retention::new(12).unwrap(), now)
        .await
        .unwrap();

    assert_eq!(
        pruned.cutoff,
        Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single().unwrap()
    );
    assert_eq!(pruned.partitions, vec!["clicks_2025_03".to_owned()]);
    assert!(!partitions(&pool)
        .await
        .contains(&"clicks_2025_03".to_owned()));
    assert!(
        store.click_facts(click.id).await.unwrap().is_none(),
        "the raw click is gone"
    );
    let listed = store
        .conversions_by_merchant(f.merchant.id, ConversionFilter::All, Page::first())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].conversion.id, recorded.conversion.id);
    assert_eq!(listed[0].conversion.attribution, Some(attributed));
    assert_eq!(listed[0].conversion.click_id, Some(click.id));
    let after = store.link_by_id(link.id).await.unwrap();
    assert_eq!(after.total_clicks, before.total_clicks);
    assert_eq!(after.total_conversions, 1);
    assert_eq!(after.total_commission, before.total_commission);
    let day = clicked.date_naive();
    let stats = store.link_daily_stats(link.id, day, day).await.unwrap();
    assert_eq!(stats[0].clicks, 1, "the roll-up outlives the raw click");
    let rows = store
        .daily_clicks(link.id, day, day + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let converted = store
        .link_daily_stats(link.id, day + Duration::days(2), day + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(converted[0].conversions, 1, "its conversion still shows");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pruning_keeps_every_month_inside_the_retention_and_old_rows_of_the_default(pool: PgPool) {
    let store = store(&pool);
    let (_, link) = cast(&store).await;
    let now = Utc::now();
    // One click in the default partition far in the past, one in the current month.
    let old = click_at(link.id, now - Duration::days(800));
    let recent = click_at(link.id, now);
    store
        .record_clicks(&[old.clone(), recent.clone()])
        .await
        .unwrap();
    let pruned = store
        .prune_clicks(Retention::new(12).unwrap(), now)
        .await
        .unwrap();
    assert!(pruned.partitions.is_empty(), "{pruned:?}");
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM clicks")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, vec![recent.id.as_uuid()]);
    for ahead in 0..=2 {
        assert!(partitions(&pool).await.contains(&partition_of(ahead)));
    }
}

/// The raw `total_clicks` column and `updated_at` of `link`, as a SQL reader sees them.
async fn column_and_updated_at(pool: &PgPool, link: LinkId) -> (i32, DateTime<Utc>) {
    sqlx::query_as("SELECT total_clicks, updated_at FROM tracking_links WHERE id = $1")
        .bind(link.as_uuid())
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn clicks_leave_the_link_row_alone_and_the_seed_column_is_folded_from_the_roll_ups(
    pool: PgPool,
) {
    let store = store(&pool);
    let (_, link) = cast(&store).await;
    let (_, created) = column_and_updated_at(&pool, link.id).await;
    let now = Utc::now();
    let mut clicks: Vec<Click> = (0..5)
        .map(|i| click_at(link.id, now - Duration::hours(i)))
        .collect();
    let mut robot = click_at(link.id, now);
    robot.is_bot = true;
    clicks.push(robot);
    // Last week's click: the recent fold leaves it to the full one.
    clicks.push(click_at(link.id, now - Duration::days(7)));
    store.record_clicks(&clicks).await.unwrap();

    // The library's count is exact at once; the batch touched no tracking_links row.
    assert_eq!(store.link_by_id(link.id).await.unwrap().total_clicks, 6);
    assert_eq!(column_and_updated_at(&pool, link.id).await, (0, created));

    let recent = (now - Duration::days(2)).date_naive();
    assert_eq!(store.fold_click_totals(Some(recent)).await.unwrap(), 1);
    assert_eq!(column_and_updated_at(&pool, link.id).await, (6, created));
    assert_eq!(
        store.fold_click_totals(None).await.unwrap(),
        0,
        "a fold writes only rows that differ"
    );

    // Clicks arriving late for an old day: the recent fold does not see that link, the full
    // fold (a server's start) does.
    let old = vec![click_at(link.id, now - Duration::days(9))];
    store.record_clicks(&old).await.unwrap();
    let quiet = (now + Duration::days(1)).date_naive();
    assert_eq!(store.fold_click_totals(Some(quiet)).await.unwrap(), 0);
    assert_eq!(store.fold_click_totals(None).await.unwrap(), 1);
    let (column, updated) = column_and_updated_at(&pool, link.id).await;
    assert_eq!(
        (column, updated),
        (7, created),
        "counters never move updated_at"
    );
    assert_eq!(store.link_by_id(link.id).await.unwrap().total_clicks, 7);
    // An edit does move it.
    let patch = skinstack_core::LinkPatch {
        is_active: Some(false),
        ..Default::default()
    };
    store.update_link(link.id, patch).await.unwrap();
    assert!(column_and_updated_at(&pool, link.id).await.1 > created);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_fold_runs_on_its_interval_for_recent_links_and_once_more_when_finished(pool: PgPool) {
    let store = store(&pool);
    let (_, link) = cast(&store).await;
    store
        .record_clicks(&[click_at(link.id, Utc::now() - Duration::days(20))])
        .await
        .unwrap();
    let folding = ClickTotalFolding::spawn(store.clone(), std::time::Duration::from_millis(20));
    folding.folded(1).await;
    assert_eq!(
        column_and_updated_at(&pool, link.id).await.0,
        0,
        "a link clicked only long ago waits for a full fold"
    );
    store
        .record_clicks(&[click_at(link.id, Utc::now())])
        .await
        .unwrap();
    // One fold may have been running while the click was stored; the next starts after it.
    folding.folded(folding.folds() + 2).await;
    assert_eq!(
        column_and_updated_at(&pool, link.id).await.0,
        2,
        "a recently clicked link gets all its clicks"
    );
    store
        .record_clicks(&[click_at(link.id, Utc::now())])
        .await
        .unwrap();
    folding.finish().await.unwrap();
    assert_eq!(column_and_updated_at(&pool, link.id).await.0, 3);
}

//! Click batches PostgreSQL refuses for good: the flusher isolates the refused clicks, writes
//! every other one, and goes on.

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use skinstack_core::store::LinkRepo;
use skinstack_core::testkit::{new_link, Fixture};
use skinstack_core::tracking::click_flush::{write_isolating, ClickRecorder, FlushConfig};
use skinstack_core::{Click, ErrorClass, RepoError, TrackingLink};
use skinstack_pg::{Cipher, PgStore};
use sqlx::PgPool;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;
use uuid::Uuid;

fn store(pool: &PgPool) -> PgStore {
    let cipher = Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    PgStore::new(pool.clone(), Some(cipher))
}

async fn link(store: &PgStore) -> TrackingLink {
    let cast = Fixture::create(store).await;
    store.insert_link(new_link(&cast, "poison")).await.unwrap()
}

fn human(link: &TrackingLink) -> Click {
    Click::new(link.id, None, Some("Mozilla/5.0 (iPhone)"), None)
}

/// Two clicks no statement can store: a user agent past `clicks`' CHECK (512 characters; the
/// redirect truncates, but a `Click`'s fields are public), and a NUL, which PostgreSQL text
/// cannot hold.
fn poison(link: &TrackingLink) -> [Click; 2] {
    let mut long = human(link);
    long.user_agent = Some("x".repeat(600));
    let mut nul = human(link);
    nul.referer = Some("https://example.com/\0".to_owned());
    [long, nul]
}

async fn stored_ids(pool: &PgPool) -> HashSet<Uuid> {
    let ids: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM clicks")
        .fetch_all(pool)
        .await
        .unwrap();
    ids.into_iter().map(|(id,)| id).collect()
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn refused_clicks_are_isolated_as_permanent_and_the_rest_of_the_batch_is_stored(
    pool: PgPool,
) {
    let store = store(&pool);
    let link = link(&store).await;
    let mut clicks: Vec<Click> = (0..40).map(|_| human(&link)).collect();
    let [long, nul] = poison(&link);
    clicks[5] = long;
    clicks[31] = nul;

    let refused = write_isolating(&store, &clicks).await.unwrap();
    assert_eq!(
        refused.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![5, 31]
    );
    for (_, error) in &refused {
        assert_eq!(error.class(), ErrorClass::Permanent, "{error:?}");
    }
    assert!(
        matches!(refused[0].1, RepoError::Invalid(_)),
        "a CHECK violation"
    );
    assert!(
        matches!(refused[1].1, RepoError::Rejected(_)),
        "a data error"
    );
    let expected: HashSet<Uuid> = clicks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5 && *i != 31)
        .map(|(_, c)| c.id.as_uuid())
        .collect();
    assert_eq!(stored_ids(&pool).await, expected);
    let total: Option<i64> =
        sqlx::query_scalar("SELECT sum(clicks)::bigint FROM click_rollups_daily")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(total, Some(38), "only stored clicks are counted");
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn the_flusher_sets_poison_clicks_aside_and_keeps_writing_on_postgres(pool: PgPool) {
    let store = store(&pool);
    let link = link(&store).await;
    let config = FlushConfig {
        max_batch: 50,
        interval: Duration::from_millis(20),
        ..FlushConfig::default()
    };
    let (recorder, flusher) = ClickRecorder::start(store, config);
    let mut expected = HashSet::new();
    for i in 0..120 {
        let click = human(&link);
        expected.insert(click.id.as_uuid());
        recorder.record(click).await.unwrap();
        if i == 10 || i == 70 {
            for bad in poison(&link) {
                recorder.record(bad).await.unwrap();
            }
        }
    }
    // Without a shutdown: the flusher went past both poison batches by itself.
    tokio::time::timeout(Duration::from_secs(20), async {
        while stored_ids(&pool).await != expected {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("every other click is written");
    let metrics = recorder.metrics();
    assert_eq!(metrics.set_aside.load(Ordering::Relaxed), 4);
    assert_eq!(metrics.flushed.load(Ordering::Relaxed), 120);
    // And it goes on writing.
    let later = human(&link);
    expected.insert(later.id.as_uuid());
    recorder.record(later).await.unwrap();
    assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(121));
    assert_eq!(stored_ids(&pool).await, expected);
}

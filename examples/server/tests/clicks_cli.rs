//! `skinstack-server clicks prune`, run as a real process against a fresh database of its own.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{block_on, cli, cli_lines, FreshDatabase};
use sqlx::{Connection, PgConnection};

async fn query_strings(url: &str, sql: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows
}

#[test]
fn prune_drops_only_months_older_than_asked_and_refuses_less_than_a_cookie_window() {
    let db = FreshDatabase::create();
    let url = db.url.as_str();
    cli_lines(url, &["migrate", "up"]);
    block_on(query_strings(
        url,
        "SELECT skinstack_create_click_partition(d)::text FROM (VALUES \
         ('2025-01-01'::date), ('2025-02-01'), ('2025-03-01')) v(d)",
    ));

    let refused = cli(url, &["clicks", "prune", "--older-than", "6"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("--older-than"), "{stderr}");
    assert!(stderr.contains("at least 12 months"), "{stderr}");

    assert_eq!(
        cli_lines(
            url,
            &[
                "clicks",
                "prune",
                "--older-than",
                "12",
                "--as-of",
                "2026-03-15T00:00:00Z"
            ]
        ),
        vec![
            "dropped clicks_2025_01",
            "dropped clicks_2025_02",
            "raw clicks before 2025-03-01T00:00:00+00:00 pruned (2 partitions); daily statistics, attributions and the ledger kept",
        ]
    );
    let left = block_on(query_strings(
        url,
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'clicks'::regclass AND c.relname LIKE 'clicks_2025%'",
    ));
    assert_eq!(left, vec!["clicks_2025_03".to_owned()]);
}

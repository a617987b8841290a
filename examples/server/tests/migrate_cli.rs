//! `skinstack-server migrate`, run as a real process against a fresh database of its own.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{cli, cli_lines, FreshDatabase};

/// Every migration by version; the ledger is numbered from 20, leaving room below it.
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

/// `migrate status` as it should print, each migration applied when `applied` says so.
fn status_lines(applied: impl Fn(i64) -> bool) -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|&(v, name)| {
            let state = if applied(v) { "applied" } else { "pending" };
            format!("{v} {name} {state}")
        })
        .collect()
}

/// What `migrate` prints for each migration it applies (`verb` "applied") or reverts.
fn lines<'a>(verb: &str, migrations: impl Iterator<Item = &'a (i64, &'a str)>) -> Vec<String> {
    migrations
        .map(|(v, name)| format!("{verb} {v} {name}"))
        .collect()
}

#[test]
fn migrate_status_up_and_down_on_a_fresh_database() {
    let db = FreshDatabase::create();
    let url = db.url.as_str();
    let count = MIGRATIONS.len();

    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines(|_| false)
    );
    assert_eq!(
        cli_lines(url, &["migrate", "up"]),
        lines("applied", MIGRATIONS.iter())
    );
    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines(|_| true)
    );
    assert_eq!(
        cli_lines(url, &["migrate", "up"]),
        vec![format!(
            "nothing to apply: all {count} migrations are applied"
        )]
    );

    assert_eq!(
        cli_lines(url, &["migrate", "down", "--to", "3"]),
        lines("reverted", MIGRATIONS.iter().rev().filter(|(v, _)| *v > 3))
    );
    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines(|v| v <= 3)
    );

    // Without --to, only the latest applied migration is reverted.
    assert_eq!(
        cli_lines(url, &["migrate", "down"]),
        vec!["reverted 3 merchants"]
    );
    assert_eq!(
        cli_lines(url, &["migrate", "up"]),
        lines("applied", MIGRATIONS.iter().filter(|(v, _)| *v >= 3))
    );
}

/// Exits non-zero with exactly one line on stderr and no panic.
fn assert_one_line_failure(database_url: &str) -> String {
    let out = cli(database_url, &["migrate", "status"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

#[test]
fn an_unreachable_server_is_a_one_line_error() {
    let stderr = assert_one_line_failure("postgres://postgres@127.0.0.1:1/x");
    assert!(
        stderr.starts_with("skinstack-server: cannot connect"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_url_is_a_one_line_error_that_does_not_echo_it() {
    let stderr = assert_one_line_failure("postgres://admin:hunter2@[::1");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

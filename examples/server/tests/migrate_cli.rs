//! `skinstack-server migrate`, run as a real process against a fresh database of its own.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{cli, cli_lines, FreshDatabase};

/// Every migration by version; the ledger is numbered from 20, leaving room below it.
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

fn status_lines(states: [&str; 14]) -> Vec<String> {
    MIGRATIONS
        .iter()
        .zip(states)
        .map(|((v, name), state)| format!("{v} {name} {state}"))
        .collect()
}

#[test]
fn migrate_status_up_and_down_on_a_fresh_database() {
    let db = FreshDatabase::create();
    let url = db.url.as_str();

    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines(["pending"; 14])
    );

    let applied: Vec<String> = MIGRATIONS
        .iter()
        .map(|(v, name)| format!("applied {v} {name}"))
        .collect();
    assert_eq!(cli_lines(url, &["migrate", "up"]), applied);
    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines(["applied"; 14])
    );
    assert_eq!(
        cli_lines(url, &["migrate", "up"]),
        vec!["nothing to apply: all 14 migrations are applied"]
    );

    assert_eq!(
        cli_lines(url, &["migrate", "down", "--to", "3"]),
        vec![
            "reverted 30 merchant_statements",
            "reverted 22 webhook_deliveries",
            "reverted 21 merchant_api_keys",
            "reverted 20 commission_ledger",
            "reverted 10 click_source",
            "reverted 9 sessions",
            "reverted 8 link_change_feed",
            "reverted 7 clicks",
            "reverted 6 tracking_links",
            "reverted 5 products",
            "reverted 4 programs"
        ]
    );
    assert_eq!(
        cli_lines(url, &["migrate", "status"]),
        status_lines([
            "applied", "applied", "applied", "pending", "pending", "pending", "pending", "pending",
            "pending", "pending", "pending", "pending", "pending", "pending"
        ])
    );

    // Without --to, only the latest applied migration is reverted.
    assert_eq!(
        cli_lines(url, &["migrate", "down"]),
        vec!["reverted 3 merchants"]
    );
    assert_eq!(
        cli_lines(url, &["migrate", "up"]),
        vec![
            "applied 3 merchants",
            "applied 4 programs",
            "applied 5 products",
            "applied 6 tracking_links",
            "applied 7 clicks",
            "applied 8 link_change_feed",
            "applied 9 sessions",
            "applied 10 click_source",
            "applied 20 commission_ledger",
            "applied 21 merchant_api_keys",
            "applied 22 webhook_deliveries",
            "applied 30 merchant_statements"
        ]
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

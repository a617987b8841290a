//! `skinstack-server serve` with the API mounted: the README's walkthrough over real HTTP,
//! on the in-memory store and on PostgreSQL, and the static routes next to `/{slug}`.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{cli, http, json_of, FreshDatabase, Server};
use serde_json::json;
use std::net::SocketAddr;

/// Who verifies the walkthrough's merchant: the demo administrator over the API (in memory),
/// or the operator's `merchants verify` command (on PostgreSQL).
enum Verifier {
    DemoAdmin,
    Cli(String),
}

const DEMO_PASSWORD: &str = "demo password for the walkthrough";

async fn walkthrough(addr: SocketAddr, verifier: Verifier) {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let password = "correct horse battery";
    let merchant_email = format!("shop-{suffix}@example.com");
    json_of(
        addr,
        "POST",
        "/v1/auth/register",
        None,
        Some(json!({"email": merchant_email, "password": password, "role": "merchant"})),
        201,
    )
    .await;
    let login = json_of(
        addr,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": merchant_email, "password": password})),
        200,
    )
    .await;
    let shop = login["token"].as_str().unwrap().to_owned();
    let merchant = json_of(
        addr,
        "POST",
        "/v1/merchant",
        Some(&shop),
        Some(json!({"business_name": "Glow Co", "website_url": "https://glowco.com"})),
        201,
    )
    .await;
    assert_eq!(merchant["verification"], "unverified");
    let merchant = merchant["id"].as_str().unwrap().to_owned();
    match verifier {
        Verifier::DemoAdmin => {
            let login = json_of(
                addr,
                "POST",
                "/v1/auth/login",
                None,
                Some(json!({"email": "admin@demo.skinstack.dev", "password": DEMO_PASSWORD})),
                200,
            )
            .await;
            let admin = login["token"].as_str().unwrap();
            let path = format!("/v1/admin/merchants/{merchant}/verify");
            let verified = json_of(addr, "POST", &path, Some(admin), None, 200).await;
            assert_eq!(verified["verification"], "verified");
        }
        Verifier::Cli(url) => {
            let out = cli(&url, &["merchants", "verify", &merchant]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let program = json_of(
        addr,
        "POST",
        "/v1/programs",
        Some(&shop),
        Some(
            json!({"name": "Glow Ambassadors", "network": "shopify_refersion",
                    "commission_type": "percentage", "commission_rate": "20",
                    "enrollment_mode": "open"}),
        ),
        201,
    )
    .await;
    let product = json_of(
        addr,
        "POST",
        "/v1/products",
        Some(&shop),
        Some(
            json!({"program_id": program["id"], "external_id": "serum-30ml",
                    "name": "Vitamin C Serum", "price": "38.50",
                    "product_url": "https://glowco.com/products/vitamin-c-serum"}),
        ),
        201,
    )
    .await;

    let influencer_email = format!("ana-{suffix}@example.com");
    json_of(
        addr,
        "POST",
        "/v1/auth/register",
        None,
        Some(json!({"email": influencer_email, "password": password, "role": "influencer"})),
        201,
    )
    .await;
    let login = json_of(
        addr,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": influencer_email, "password": password})),
        200,
    )
    .await;
    let ana = login["token"].as_str().unwrap().to_owned();
    json_of(
        addr,
        "POST",
        "/v1/influencer",
        Some(&ana),
        Some(json!({"display_name": "Ana Glow"})),
        201,
    )
    .await;
    let slug = format!("ana-{}", &suffix[..8]);
    json_of(
        addr,
        "POST",
        "/v1/links",
        Some(&ana),
        Some(json!({"program_id": program["id"], "product_id": product["id"], "slug": slug})),
        201,
    )
    .await;

    let (status, head, _) = http(addr, "GET", &format!("/{slug}"), None, None).await;
    assert_eq!(status, 302);
    assert!(
        head.to_lowercase()
            .contains("location: https://glowco.com/products/vitamin-c-serum?utm_source=skinstack"),
        "{head}"
    );
    // The ops routes are the API's, not slugs.
    let (status, head, body) = http(addr, "GET", "/healthz", None, None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert!(head.to_lowercase().contains("x-request-id: "), "{head}");
    assert_eq!(http(addr, "GET", "/readyz", None, None).await.0, 200);
    let (status, _, metrics) = http(addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"skinstack_redirects_total{outcome="redirected"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("skinstack_click_buffer_depth"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"route="/v1/links""#), "{metrics}");
}

#[tokio::test]
async fn the_walkthrough_works_against_the_server_in_memory() {
    let server = Server::start_with(None, &["--demo-password", DEMO_PASSWORD]);
    walkthrough(server.addr, Verifier::DemoAdmin).await;
    let (ok, _) = server.stop();
    assert!(ok);
}

#[tokio::test]
async fn the_walkthrough_works_against_the_server_on_postgres() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    walkthrough(server.addr, Verifier::Cli(db.url.clone())).await;
    let (ok, _) = server.stop();
    assert!(ok);
}

/// A newcomer runs the server with no flags: what it prints under the dashboard's URL is all it
/// takes to log in, as each of the demo accounts it names.
#[tokio::test]
async fn without_a_demo_password_the_memory_server_prints_one_that_logs_in_every_demo_account() {
    let server = Server::start(None);
    let mut lines = Vec::new();
    let logins = loop {
        let line = server.next_line();
        if let Some(rest) = line.strip_prefix("demo logins: ") {
            break rest.to_owned();
        }
        lines.push(line);
    };
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("dashboard: http://{}/dashboard", server.addr).as_str()),
        "the logins come right under the dashboard's URL: {lines:?}"
    );
    let (accounts, password) = logins.split_once("; password: ").unwrap();
    assert_eq!(
        accounts,
        "ana@demo.skinstack.dev (influencer), brand@demo.skinstack.dev (merchant), \
         admin@demo.skinstack.dev (administrator)"
    );
    for (email, role) in [
        ("ana@demo.skinstack.dev", "influencer"),
        ("brand@demo.skinstack.dev", "merchant"),
        ("admin@demo.skinstack.dev", "admin"),
    ] {
        let login = json_of(
            server.addr,
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
            200,
        )
        .await;
        assert_eq!(login["user"]["role"], role);
    }
    // The password is printed once, and only there.
    let (_, after) = server.stop();
    assert!(
        after.iter().all(|line| !line.contains(password)),
        "{after:?}"
    );
    assert!(
        lines.iter().all(|line| !line.contains(password)),
        "{lines:?}"
    );
}

/// With `--demo-password` the server does not echo it: whoever chose it knows it.
#[tokio::test]
async fn a_given_demo_password_is_never_printed() {
    let password = "a demo password of my own";
    let server = Server::start_with(None, &["--demo-password", password]);
    let logins = loop {
        let line = server.next_line();
        if let Some(rest) = line.strip_prefix("demo logins: ") {
            break rest.to_owned();
        }
    };
    assert!(logins.ends_with("; the --demo-password"), "{logins}");
    json_of(
        server.addr,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": "ana@demo.skinstack.dev", "password": password})),
        200,
    )
    .await;
    let (_, after) = server.stop();
    assert!(
        after.iter().all(|line| !line.contains(password)),
        "{after:?}"
    );
}

//! The real `skinstack-server` on PostgreSQL with `RUST_LOG=trace` (every level of every
//! crate): merchant secrets set to a unique marker through the API and the store, then every
//! documented GET route called by every role with every id, requests refused with a secret in
//! their body, the redirect and its preview card. Neither a response nor a line the process
//! printed (stdout and stderr) contains the marker.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use common::{http, http_raw, FreshDatabase, Server, SECRET_KEY};
use serde_json::{json, Value};
use skinstack_core::service::accounts;
use skinstack_core::store::MerchantRepo;
use skinstack_core::store::WebhookSecrets;
use skinstack_core::{Argon2Hasher, Email, MerchantId, Password, Secret};
use skinstack_pg::{Cipher, PgStore};
use std::net::SocketAddr;

const PASSWORD: &str = "correct horse battery";

async fn ok(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let (status, _, body) = http(addr, method, path, token, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {body}"
    );
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Registers and logs in an account of `role`: (token, user id).
async fn account(addr: SocketAddr, role: &str) -> (String, String) {
    let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = ok(
        addr,
        "POST",
        "/v1/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "role": role})),
    )
    .await;
    (
        login(addr, &email).await,
        user["id"].as_str().unwrap().to_owned(),
    )
}

async fn login(addr: SocketAddr, email: &str) -> String {
    let reply = ok(
        addr,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    reply["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn merchant_secrets_never_reach_a_response_or_the_servers_trace_logs() {
    let marker = format!("mk{}", uuid::Uuid::new_v4().simple());
    let api_key = format!("shpat_{marker}_api");
    let refersion = format!("rfs_{marker}_secret");
    let webhook = format!("whsec_{marker}_hook");
    let db = FreshDatabase::create();
    let server = Server::start_logging(Some(&db.url), "trace");
    let addr = server.addr;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let store = PgStore::new(
        pool.clone(),
        Some(Cipher::from_key_base64(SECRET_KEY).unwrap()),
    );
    let mut bodies = Vec::new();

    let admin_email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
    let admin_user = accounts::create_admin(
        &store,
        &Argon2Hasher::with_cost(64, 1, 1).unwrap(),
        Email::parse(&admin_email).unwrap(),
        Password::parse(PASSWORD).unwrap(),
    )
    .await
    .unwrap();
    let admin = login(addr, &admin_email).await;
    let (mer, mer_user) = account(addr, "merchant").await;
    let (inf, inf_user) = account(addr, "influencer").await;
    ok(
        addr,
        "POST",
        "/v1/influencer",
        Some(&inf),
        Some(json!({"display_name": "Ana Glow", "total_followers": 10})),
    )
    .await;
    let merchant = ok(
        addr,
        "POST",
        "/v1/merchant",
        Some(&mer),
        Some(json!({
            "business_name": "Glow Co",
            "website_url": "https://glowco.com",
            "shopify_api_key": api_key,
            "refersion_secret_key": "rfs_first_value",
        })),
    )
    .await;
    let merchant_id = merchant["id"].as_str().unwrap().to_owned();
    bodies.push(merchant.to_string());
    let patched = ok(
        addr,
        "PATCH",
        "/v1/merchant",
        Some(&mer),
        Some(json!({"refersion_secret_key": refersion})),
    )
    .await;
    assert_eq!(patched["refersion_secret_key_set"], true);
    bodies.push(patched.to_string());
    for bad in [
        json!({"shopify_api_key": api_key, "website_url": "javascript:1"}),
        json!({"refersion_secret_key": refersion, "is_admin": true}),
        json!({"refersion_secret_key": [refersion]}),
        json!({"shopify_api_key": format!("{api_key}\u{0}")}),
    ] {
        let (status, head, body) = http(addr, "PATCH", "/v1/merchant", Some(&mer), Some(bad)).await;
        assert!((400..500).contains(&status), "{status} {body}");
        bodies.push(format!("{head}\n{body}"));
    }
    let merchant = MerchantId::from(merchant_id.parse::<uuid::Uuid>().unwrap());
    // Verified as an administrator would: the link below needs an open program.
    store
        .set_merchant_verification(merchant, skinstack_core::testkit::verified_now())
        .await
        .unwrap();
    store
        .set_shopify_webhook_secret(merchant, Some(Secret::parse(&webhook).unwrap()))
        .await
        .unwrap();
    let program = ok(
        addr,
        "POST",
        "/v1/programs",
        Some(&mer),
        Some(json!({"name": "Glow", "network": "shopify_refersion", "commission_type": "percentage", "commission_rate": "20", "enrollment_mode": "open"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = ok(
        addr,
        "POST",
        "/v1/links",
        Some(&inf),
        Some(json!({"program_id": program})),
    )
    .await;
    let ids = [
        merchant_id.clone(),
        program.clone(),
        link["id"].as_str().unwrap().to_owned(),
        mer_user,
        inf_user,
        admin_user.id.to_string(),
    ];

    let doc = ok(addr, "GET", "/openapi.json", None, None).await;
    let mut gets = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        if !item.as_object().unwrap().contains_key("get") {
            continue;
        }
        let paths: Vec<String> = if template.contains('{') {
            ids.iter().map(|id| fill(template, id)).collect()
        } else {
            vec![template.clone()]
        };
        for path in paths {
            for token in [Some(&mer), Some(&inf), Some(&admin), None] {
                let (_, head, body) =
                    http(addr, "GET", &path, token.map(|t| t.as_str()), None).await;
                bodies.push(format!("GET {path}\n{head}\n{body}"));
                gets += 1;
            }
        }
    }
    assert!(gets > 40, "{gets}");
    let slug = link["slug"].as_str().unwrap();
    for agent in ["Mozilla/5.0", "facebookexternalhit/1.1"] {
        let (status, head, body) = http_raw(
            addr,
            "GET",
            &format!("/{slug}"),
            &format!("User-Agent: {agent}\r\n"),
            None,
        )
        .await;
        assert!(status == 302 || status == 200, "{status}");
        bodies.push(format!("{head}\n{body}"));
    }
    // The secrets really are stored (or the greps below would pass vacuously).
    let stored = store.merchant_by_id(merchant).await.unwrap();
    assert_eq!(stored.shopify_api_key.unwrap().expose(), api_key);
    assert_eq!(stored.refersion_secret_key.unwrap().expose(), refersion);

    let (stopped, lines) = server.stop();
    assert!(stopped);
    for body in &bodies {
        assert!(!body.contains(&marker), "a response holds a secret: {body}");
    }
    // The logs are really there, at debug level, from the request log and the database driver.
    assert!(lines.len() > 100, "{} lines", lines.len());
    assert!(lines.iter().any(|l| l.contains("DEBUG")), "no debug lines");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("route=\"/v1/merchant\"") || l.contains("route=/v1/merchant")),
        "no request log line:\n{}",
        lines.join("\n")
    );
    let leaks: Vec<&String> = lines.iter().filter(|l| l.contains(&marker)).collect();
    assert!(leaks.is_empty(), "the server printed a secret:\n{leaks:#?}");
}

/// `template` with each `{param}` replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|part| if part.starts_with('{') { id } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

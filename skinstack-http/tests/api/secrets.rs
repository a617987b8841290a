//! Merchant secrets (the Shopify API key, the Refersion secret key, the Shopify webhook secret)
//! set to unique markers never come back: not in any body or header of any route the OpenAPI
//! document lists, called by every role with every id, nor of the redirect and its preview
//! card; not in `Debug` output; and on PostgreSQL only as ciphertext. (The server's logs are
//! grepped by `examples/server/tests/secret_logs.rs`.)

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::json;
use skinstack_core::{MerchantId, Secret, UserId};

/// The three secrets of one test, each containing `marker`.
struct Markers {
    marker: String,
    shopify_api_key: String,
    refersion_secret_key: String,
    webhook_secret: String,
}

impl Markers {
    fn new() -> Self {
        let marker = format!("mk{}", uuid::Uuid::new_v4().simple());
        Self {
            shopify_api_key: format!("shpat_{marker}_api"),
            refersion_secret_key: format!("rfs_{marker}_secret"),
            webhook_secret: format!("whsec_{marker}_hook"),
            marker,
        }
    }
}

/// Everything that was answered, for one grep at the end.
#[derive(Default)]
struct Seen {
    replies: Vec<(String, Reply)>,
}

impl Seen {
    fn add(&mut self, what: String, reply: Reply) {
        self.replies.push((what, reply));
    }

    fn assert_clean(&self, marker: &str) {
        assert!(
            self.replies.len() > 50,
            "only {} replies",
            self.replies.len()
        );
        for (what, reply) in &self.replies {
            assert!(!reply.text.contains(marker), "{what}: {}", reply.text);
            for (name, value) in &reply.headers {
                assert!(
                    !String::from_utf8_lossy(value.as_bytes()).contains(marker),
                    "{what}: header {name}"
                );
            }
        }
    }
}

async fn secrets_stay_secret(app: TestApp) -> (Markers, MerchantId) {
    let m = Markers::new();
    let mut seen = Seen::default();
    let (mer, mer_user) = app.account("merchant").await;
    let (inf, inf_user) = app.account("influencer").await;
    let (admin, admin_user, _) = app.admin().await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;

    let mut body = merchant_profile();
    body["shopify_api_key"] = json!("shpat_first_value");
    body["refersion_secret_key"] = json!(m.refersion_secret_key);
    let reply = app
        .call(Method::POST, "/v1/merchant", Some(&mer), Some(body))
        .await;
    let merchant_id = reply.json["id"].as_str().unwrap().to_owned();
    seen.add("POST /v1/merchant".into(), reply);
    // Verified by the administrator: that answer carries the merchant too.
    let reply = app
        .call(
            Method::POST,
            &format!("/v1/admin/merchants/{merchant_id}/verify"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.json["verification"], "verified", "{}", reply.text);
    seen.add("POST /v1/admin/merchants/{id}/verify".into(), reply);
    // Set through PATCH too, and refused with the secret in the same body.
    let reply = app
        .call(
            Method::PATCH,
            "/v1/merchant",
            Some(&mer),
            Some(json!({"shopify_api_key": m.shopify_api_key})),
        )
        .await;
    assert_eq!(reply.json["shopify_api_key_set"], true, "{}", reply.text);
    seen.add("PATCH /v1/merchant".into(), reply);
    for bad in [
        json!({"shopify_api_key": m.shopify_api_key, "website_url": "javascript:1"}),
        json!({"refersion_secret_key": m.refersion_secret_key, "is_admin": true}),
        json!({"refersion_secret_key": [m.refersion_secret_key]}),
        json!({"shopify_api_key": format!("{}\u{0}", m.shopify_api_key)}),
    ] {
        let reply = app
            .call(Method::PATCH, "/v1/merchant", Some(&mer), Some(bad.clone()))
            .await;
        assert!(reply.status.is_client_error(), "{bad}: {}", reply.text);
        seen.add(format!("PATCH /v1/merchant {bad}"), reply);
    }
    let merchant = MerchantId::from(merchant_id.parse::<uuid::Uuid>().unwrap());
    app.store
        .set_shopify_webhook_secret(merchant, Some(Secret::parse(&m.webhook_secret).unwrap()))
        .await
        .unwrap();
    // A rotation keeps the previous secret for an hour: it must stay as secret as the current.
    let previous = skinstack_core::RotatedSecret {
        secret: Secret::parse(&format!("whsec_{}_previous", m.marker)).unwrap(),
        rotated_at: chrono::Utc::now(),
    };
    app.store
        .replace_shopify_webhook_secret(
            merchant,
            Secret::parse(&m.webhook_secret).unwrap(),
            Some(previous.clone()),
        )
        .await
        .unwrap();

    let program = app.create(&mer, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = app
        .create(&mer, "/v1/products", product_json(Some(&program)))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = app
        .create(
            &inf,
            "/v1/links",
            json!({"program_id": program, "product_id": product}),
        )
        .await;
    let link_id = link["id"].as_str().unwrap().to_owned();
    let slug = link["slug"].as_str().unwrap().to_owned();

    // Every GET route, by every role, with every id in every parameter.
    let doc = serde_json::to_value(skinstack_http::openapi()).unwrap();
    let ids = [
        merchant_id.clone(),
        program.clone(),
        product.clone(),
        link_id.clone(),
        mer_user.clone(),
        inf_user.clone(),
        admin_user.clone(),
    ];
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
                let reply = app
                    .call(Method::GET, &path, token.map(|t| t.as_str()), None)
                    .await;
                seen.add(format!("GET {path}"), reply);
                gets += 1;
            }
        }
    }
    assert!(gets > 40, "{gets}");
    // The shopper's side: the redirect and a preview fetcher's card.
    for agent in [
        "Mozilla/5.0",
        "facebookexternalhit/1.1",
        "Slackbot-LinkExpanding 1.0",
    ] {
        let request = Request::builder()
            .uri(format!("/{slug}"))
            .header(header::USER_AGENT, agent)
            .body(Body::empty())
            .unwrap();
        let reply = app.send(request).await;
        assert!(reply.status.as_u16() == 302 || reply.status.as_u16() == 200);
        seen.add(format!("GET /{slug} as {agent}"), reply);
    }
    seen.assert_clean(&m.marker);

    // The secrets are really stored (the test would pass vacuously otherwise) ...
    let stored = app.store.merchant_by_id(merchant).await.unwrap();
    assert_eq!(
        stored.shopify_api_key.as_ref().unwrap().expose(),
        m.shopify_api_key
    );
    assert_eq!(
        stored.refersion_secret_key.as_ref().unwrap().expose(),
        m.refersion_secret_key
    );
    let webhook = app.store.shopify_webhook_secret(merchant).await.unwrap();
    assert_eq!(webhook.as_ref().unwrap().expose(), m.webhook_secret);
    // ... and `Debug` shows none of them: the stored merchant, the secret, the request bodies.
    let by_user = app
        .store
        .merchants_by_user(UserId::from(mer_user.parse::<uuid::Uuid>().unwrap()))
        .await
        .unwrap();
    let create: skinstack_http::routes::profiles::MerchantRequest = serde_json::from_value(json!({
        "business_name": "Glow Co",
        "website_url": "https://glowco.com",
        "shopify_api_key": m.shopify_api_key,
        "refersion_secret_key": m.refersion_secret_key,
    }))
    .unwrap();
    let patch: skinstack_http::routes::profiles::MerchantPatchRequest =
        serde_json::from_value(json!({
            "shopify_api_key": m.shopify_api_key,
            "refersion_secret_key": m.refersion_secret_key,
        }))
        .unwrap();
    let register: skinstack_http::routes::auth::RegisterRequest = serde_json::from_value(json!({
        "email": "a@example.com", "password": m.marker, "role": "merchant",
    }))
    .unwrap();
    let login: skinstack_http::routes::auth::LoginRequest =
        serde_json::from_value(json!({"email": "a@example.com", "password": m.marker})).unwrap();
    let set_webhook: skinstack_http::routes::webhooks::WebhookSecretRequest =
        serde_json::from_value(json!({"secret": m.webhook_secret})).unwrap();
    let session = skinstack_http::routes::auth::LoginResponse {
        token: m.marker.clone(),
        token_type: "Bearer",
        expires_at: chrono::Utc::now(),
        user: skinstack_http::routes::auth::UserView {
            id: uuid::Uuid::new_v4(),
            email: "a@example.com".to_owned(),
            role: skinstack_core::Role::Merchant,
            is_active: true,
            created_at: chrono::Utc::now(),
        },
    };
    let debug = format!(
        "{stored:?} {stored:#?} {by_user:?} {webhook:?} {create:?} {patch:?} {register:?} {login:?} {session:?} {set_webhook:?} {previous:?}"
    );
    assert!(!debug.contains(&m.marker), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    (m, merchant)
}

/// `template` with each `{param}` replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|part| if part.starts_with('{') { id } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn merchant_secrets_never_appear_in_any_response_or_debug_output_in_memory() {
    secrets_stay_secret(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn merchant_secrets_never_appear_in_any_response_or_debug_output_and_are_stored_encrypted_on_postgres(
    pool: sqlx::PgPool,
) {
    let (m, merchant) = secrets_stay_secret(TestApp::postgres(pool.clone())).await;
    let (api_key, refersion, webhook, previous): (String, String, String, String) = sqlx::query_as(
        "SELECT shopify_api_key, refersion_secret_key, shopify_webhook_secret, \
         shopify_webhook_previous_secret FROM merchants WHERE id = $1",
    )
    .bind(merchant.as_uuid())
    .fetch_one(&pool)
    .await
    .unwrap();
    for column in [&api_key, &refersion, &webhook, &previous] {
        assert!(column.starts_with("v1:"), "{column}");
        assert!(!column.contains(&m.marker), "{column}");
    }
    // Nowhere in the database in plaintext: every row of every table, as text.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    for table in tables {
        let hits: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" t WHERE strpos(row_to_json(t)::text, $1) > 0"
        ))
        .bind(&m.marker)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(hits, 0, "{table} holds a secret in plaintext");
    }
}

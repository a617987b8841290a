//! SQL and LIKE metacharacters, backslashes and unicode quotes in every free-text field of
//! every create and update route come back exactly as sent, on PostgreSQL and in memory, and
//! break nothing; NUL (which PostgreSQL text cannot hold) is refused with a 422 naming the
//! field, never a 500; fields with a fixed shape refuse them with a 422.

use crate::helpers::*;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use skinstack_core::MerchantId;

/// Each is trimmed-clean (values are trimmed on the way in) and free of control characters.
const NASTY: &[&str] = &[
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE programs;--",
    "\" OR \"1\"=\"1",
    "100% _real_ \\ stuff",
    "%",
    "_",
    "\\",
    "\\x00 \\0 \\u0000",
    "$1 $$ E'\\n' ::text",
    "‘smart’ “quotes” ＇fullwidth＇ ´`",
    "𝔤𝔩𝔬𝔴 🧴 ünïcødé ﷽",
    "<script>alert(1)</script>",
];

const NUL: &str = "a\u{0}b";

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let reply = app
        .call(method.clone(), path, Some(token), Some(body))
        .await;
    assert!(
        reply.status.is_success(),
        "{method} {path}: {} {}",
        reply.status,
        reply.text
    );
    reply.json
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let reply = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
    reply.json
}

/// `body` is refused with a 422 that names `field`.
async fn refused(app: &TestApp, method: Method, path: &str, token: &str, body: Value, field: &str) {
    let reply = app
        .call(method.clone(), path, Some(token), Some(body.clone()))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{method} {path} {body}: {}",
        reply.text
    );
    assert!(
        reply.json["fields"][field].is_array(),
        "{method} {path}: {field} not named in {}",
        reply.text
    );
}

fn with(mut body: Value, field: &str, value: &str) -> Value {
    body[field] = json!(value);
    body
}

async fn round_trip(app: TestApp) {
    let (admin, _, _) = app.admin().await;

    // Accounts: the password and an email with a quote.
    for (i, nasty) in NASTY.iter().enumerate() {
        let email = format!("o'brien.{i}.{}@example.com", uuid::Uuid::new_v4().simple());
        let password = format!("{nasty} and then some");
        let reply = app
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"email": email, "password": password, "role": "influencer"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.json["email"], email.to_lowercase());
        let login = |password: String| {
            app.call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
        };
        assert_eq!(login(password.clone()).await.status, StatusCode::OK);
        assert_eq!(
            login(format!("{password}x")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }

    // The influencer profile.
    let (inf, _) = app.account("influencer").await;
    let created = ok(
        &app,
        Method::POST,
        "/v1/influencer",
        &inf,
        with(influencer_profile(), "display_name", NASTY[0]),
    )
    .await;
    assert_eq!(created["display_name"], NASTY[0]);
    for nasty in NASTY {
        let patched = ok(
            &app,
            Method::PATCH,
            "/v1/influencer",
            &inf,
            json!({"display_name": nasty}),
        )
        .await;
        assert_eq!(patched["display_name"], *nasty);
        assert_eq!(
            get(&app, "/v1/influencer", &inf).await["display_name"],
            *nasty
        );
    }
    for field in [
        "instagram_handle",
        "tiktok_handle",
        "youtube_handle",
        "stripe_account_id",
        "paypal_email",
    ] {
        refused(
            &app,
            Method::PATCH,
            "/v1/influencer",
            &inf,
            json!({field: NASTY[0]}),
            field,
        )
        .await;
    }
    refused(
        &app,
        Method::PATCH,
        "/v1/influencer",
        &inf,
        json!({"display_name": NUL}),
        "display_name",
    )
    .await;

    // The merchant, credentials included (read back through the store: they are write-only).
    let (mer, _) = app.account("merchant").await;
    let merchant = ok(
        &app,
        Method::POST,
        "/v1/merchant",
        &mer,
        json!({
            "business_name": NASTY[0],
            "website_url": "https://glowco.com",
            "refersion_public_key": NASTY[1],
            "shopify_api_key": NASTY[2],
            "refersion_secret_key": NASTY[3],
        }),
    )
    .await;
    assert_eq!(merchant["business_name"], NASTY[0]);
    assert_eq!(merchant["refersion_public_key"], NASTY[1]);
    let merchant_id = MerchantId::from(
        merchant["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .unwrap(),
    );
    // Verified, as an administrator would: the links below need an open program.
    app.store
        .set_merchant_verification(merchant_id, skinstack_core::testkit::verified_now())
        .await
        .unwrap();
    for nasty in NASTY {
        let patched = ok(
            &app,
            Method::PATCH,
            "/v1/merchant",
            &mer,
            json!({
                "business_name": nasty,
                "refersion_public_key": nasty,
                "shopify_api_key": nasty,
                "refersion_secret_key": nasty,
            }),
        )
        .await;
        assert_eq!(patched["business_name"], *nasty);
        assert_eq!(patched["refersion_public_key"], *nasty);
        let fetched = get(&app, "/v1/merchant", &mer).await;
        assert_eq!(fetched["business_name"], *nasty);
        let stored = app.store.merchant_by_id(merchant_id).await.unwrap();
        assert_eq!(stored.shopify_api_key.unwrap().expose(), *nasty);
        assert_eq!(stored.refersion_secret_key.unwrap().expose(), *nasty);
    }
    for field in [
        "business_name",
        "refersion_public_key",
        "shopify_api_key",
        "refersion_secret_key",
    ] {
        refused(
            &app,
            Method::PATCH,
            "/v1/merchant",
            &mer,
            json!({field: NUL}),
            field,
        )
        .await;
    }
    for field in ["website_url", "shopify_shop_domain"] {
        refused(
            &app,
            Method::PATCH,
            "/v1/merchant",
            &mer,
            json!({field: NASTY[0]}),
            field,
        )
        .await;
    }

    // Programs.
    let program = ok(
        &app,
        Method::POST,
        "/v1/programs",
        &mer,
        with(program_json(), "name", NASTY[0]),
    )
    .await;
    let program_id = program["id"].as_str().unwrap().to_owned();
    assert_eq!(program["name"], NASTY[0]);
    let program_path = format!("/v1/programs/{program_id}");
    for nasty in NASTY {
        let patched = ok(
            &app,
            Method::PATCH,
            &program_path,
            &mer,
            json!({"name": nasty}),
        )
        .await;
        assert_eq!(patched["name"], *nasty);
        assert_eq!(get(&app, &program_path, &mer).await["name"], *nasty);
    }
    refused(
        &app,
        Method::PATCH,
        &program_path,
        &mer,
        json!({"name": NUL}),
        "name",
    )
    .await;

    // Products: one per value (the external id is set once), then every value patched in.
    let mut product_ids = Vec::new();
    for nasty in NASTY {
        let mut body = product_json(Some(&program_id));
        body["external_id"] = json!(nasty);
        body["name"] = json!(nasty);
        body["description"] = json!(format!("{nasty}\nsecond line {nasty}"));
        let product = ok(&app, Method::POST, "/v1/products", &mer, body).await;
        assert_eq!(product["external_id"], *nasty);
        assert_eq!(product["name"], *nasty);
        let path = format!("/v1/products/{}", product["id"].as_str().unwrap());
        let fetched = get(&app, &path, &mer).await;
        assert_eq!(fetched["external_id"], *nasty);
        assert_eq!(
            fetched["description"],
            format!("{nasty}\nsecond line {nasty}")
        );
        product_ids.push(product["id"].as_str().unwrap().to_owned());
    }
    let product_path = format!("/v1/products/{}", product_ids[0]);
    for nasty in NASTY {
        let patched = ok(
            &app,
            Method::PATCH,
            &product_path,
            &mer,
            json!({"name": nasty, "description": nasty}),
        )
        .await;
        assert_eq!(patched["name"], *nasty);
        assert_eq!(patched["description"], *nasty);
    }
    for field in ["name", "description"] {
        refused(
            &app,
            Method::PATCH,
            &product_path,
            &mer,
            json!({field: NUL}),
            field,
        )
        .await;
    }
    let mut body = product_json(None);
    body["external_id"] = json!(NUL);
    refused(
        &app,
        Method::POST,
        "/v1/products",
        &mer,
        body,
        "external_id",
    )
    .await;
    for field in ["product_url", "image_url"] {
        refused(
            &app,
            Method::PATCH,
            &product_path,
            &mer,
            json!({field: NASTY[0]}),
            field,
        )
        .await;
    }
    let listed = get(
        &app,
        &format!("/v1/products?program_id={program_id}&limit=100"),
        &mer,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), NASTY.len());

    // Links: UTM values round-trip, and reach the shop percent-encoded in the redirect.
    for nasty in NASTY {
        let link = ok(
            &app,
            Method::POST,
            "/v1/links",
            &inf,
            json!({
                "program_id": program_id,
                "utm": {"source": nasty, "medium": nasty, "campaign": nasty},
            }),
        )
        .await;
        for part in ["source", "medium", "campaign"] {
            assert_eq!(link["utm"][part], *nasty, "{link}");
        }
        let path = format!("/v1/links/{}", link["id"].as_str().unwrap());
        let patched = ok(
            &app,
            Method::PATCH,
            &path,
            &inf,
            json!({"utm": {"source": "ig", "medium": nasty, "campaign": null}}),
        )
        .await;
        assert_eq!(patched["utm"]["medium"], *nasty);
        assert_eq!(patched["utm"]["campaign"], Value::Null);
        let slug = link["slug"].as_str().unwrap();
        let redirect = app.call(Method::GET, &format!("/{slug}"), None, None).await;
        assert_eq!(redirect.status, StatusCode::FOUND, "{}", redirect.text);
        let location =
            url::Url::parse(redirect.headers[header::LOCATION].to_str().unwrap()).unwrap();
        let medium = location
            .query_pairs()
            .find(|(k, _)| k == "utm_medium")
            .map(|(_, v)| v.into_owned());
        assert_eq!(medium.as_deref(), Some(*nasty), "{location}");
    }
    let link_body = json!({"program_id": program_id, "utm": {"campaign": NUL}});
    refused(
        &app,
        Method::POST,
        "/v1/links",
        &inf,
        link_body,
        "utm.campaign",
    )
    .await;
    for field in ["slug", "campaign_code", "destination_url"] {
        let body = json!({"program_id": program_id, field: NASTY[0]});
        refused(&app, Method::POST, "/v1/links", &inf, body, field).await;
    }

    // Nothing broke: the tables are all there and list what was written.
    let users = get(&app, "/v1/admin/users?limit=100", &admin).await;
    assert!(users["items"].as_array().unwrap().len() > NASTY.len());
    let links = get(&app, "/v1/links", &inf).await;
    assert_eq!(links.as_array().unwrap().len(), NASTY.len());
    assert_eq!(get(&app, "/readyz", &admin).await["status"], "ok");
}

#[tokio::test]
async fn metacharacters_in_every_text_field_round_trip_exactly_in_memory() {
    round_trip(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn metacharacters_in_every_text_field_round_trip_exactly_on_postgres(pool: sqlx::PgPool) {
    let tables = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let before = tables().await;
    assert!(before.contains(&"users".to_owned()), "{before:?}");
    round_trip(TestApp::postgres(pool.clone())).await;
    // And the schema is whole: every table still there.
    assert_eq!(tables().await, before);
}

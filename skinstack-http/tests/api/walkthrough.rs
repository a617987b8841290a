//! The README's walkthrough, step by step through the router: a merchant signs up and sets up
//! a program and a product, an influencer signs up, applies to the program and, once approved,
//! creates a link, a shopper follows it.

use crate::helpers::*;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

async fn walkthrough(app: TestApp) {
    // The merchant.
    let (merchant, _) = app.account("merchant").await;
    app.create(
        &merchant,
        "/v1/merchant",
        json!({
            "business_name": "Glow Co", "website_url": "https://glowco.com"
        }),
    )
    .await;
    let program = app
        .create(
            &merchant,
            "/v1/programs",
            json!({
                "name": "Glow Ambassadors", "network": "shopify_refersion",
                "commission_type": "percentage", "commission_rate": "20"
            }),
        )
        .await;
    assert_eq!(program["platform_fee_rate"], "0.2");
    let product = app
        .create(
            &merchant,
            "/v1/products",
            json!({
                "program_id": program["id"], "external_id": "serum-30ml", "name": "Vitamin C Serum",
                "price": 38.5, "product_url": "https://glowco.com/products/vitamin-c-serum",
                "category": "serum"
            }),
        )
        .await;
    assert_eq!(product["price"], "38.50", "money is a decimal string");

    // The influencer.
    let (influencer, _) = app.account("influencer").await;
    let profile = app
        .create(
            &influencer,
            "/v1/influencer",
            json!({"display_name": "Ana Glow"}),
        )
        .await;

    // Enrollment: programs take applications by default; the merchant approves.
    let program_id = program["id"].as_str().unwrap();
    assert_eq!(program["enrollment_mode"], "approval");
    let directory = app
        .call(Method::GET, "/v1/directory", Some(&influencer), None)
        .await;
    assert_eq!(directory.json["items"][0]["program"]["id"], program["id"]);
    assert!(directory.json["items"][0]["state"].is_null());
    let early = app
        .call(
            Method::POST,
            "/v1/links",
            Some(&influencer),
            Some(json!({"program_id": program_id})),
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.text
    );
    let applied = app
        .create(
            &influencer,
            &format!("/v1/programs/{program_id}/apply"),
            json!({"message": "I post skincare routines daily."}),
        )
        .await;
    assert_eq!(applied["state"], "pending");
    let applications = app
        .call(
            Method::GET,
            &format!("/v1/programs/{program_id}/members?state=pending"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(
        applications.json["items"][0]["membership"]["message"],
        "I post skincare routines daily."
    );
    let influencer_id = profile["id"].as_str().unwrap();
    let approved = app
        .call(
            Method::POST,
            &format!("/v1/programs/{program_id}/members/{influencer_id}/approve"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(approved.json["state"], "approved", "{}", approved.text);

    let link = app
        .create(
            &influencer,
            "/v1/links",
            json!({
                "program_id": program["id"], "product_id": product["id"], "slug": "ana-glow",
                "utm": {"campaign": "spring"}
            }),
        )
        .await;
    assert_eq!(link["slug"], "ana-glow");
    assert_eq!(
        link["destination_url"],
        "https://glowco.com/products/vitamin-c-serum"
    );

    // The shopper.
    let reply = app.call(Method::GET, "/ana-glow", None, None).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let location = reply.headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("https://glowco.com/products/vitamin-c-serum?"),
        "{location}"
    );
    for part in [
        "utm_source=skinstack",
        "utm_medium=affiliate",
        "utm_campaign=spring",
        "ssclid=",
    ] {
        assert!(location.contains(part), "{location} lacks {part}");
    }

    // The influencer sees the link among theirs, and the merchant the click on its members'
    // page.
    let mine = app
        .call(Method::GET, "/v1/links", Some(&influencer), None)
        .await;
    assert_eq!(mine.json[0]["slug"], "ana-glow");
    let members = app
        .call(
            Method::GET,
            &format!("/v1/programs/{program_id}/members"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(members.json["items"][0]["membership"]["state"], "approved");

    // Banned, the influencer's link answers 410 at once; then the merchant switches the
    // program off.
    let banned = app
        .call(
            Method::POST,
            &format!("/v1/programs/{program_id}/members/{influencer_id}/ban"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(banned.json["state"], "banned", "{}", banned.text);
    let gone = app.call(Method::GET, "/ana-glow", None, None).await;
    assert_eq!(gone.status, StatusCode::GONE);
    let off = format!(
        "/v1/programs/{}/deactivate",
        program["id"].as_str().unwrap()
    );
    assert_eq!(
        app.call(Method::POST, &off, Some(&merchant), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_readme_walkthrough_works_on_memory() {
    walkthrough(TestApp::memory()).await;
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn the_readme_walkthrough_works_on_postgres(pool: sqlx::PgPool) {
    walkthrough(TestApp::postgres(pool)).await;
}

#[tokio::test]
async fn static_routes_win_over_the_slug_capture_when_merged() {
    let app = TestApp::memory();
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let reply = app.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path} went to the redirect");
        assert!(reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(if path == "/metrics" {
                "text/plain"
            } else {
                "application/json"
            }));
    }
    // An unknown single segment is still the redirect's.
    let reply = app.call(Method::GET, "/unknown-slug", None, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.text.contains("There is no link at this address"));
}

#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn readiness_fails_while_migrations_are_not_current(pool: sqlx::PgPool) {
    let app = TestApp::postgres(pool.clone());
    assert_eq!(
        app.call(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
    skinstack_pg::MIGRATOR.undo(&pool, 8).await.unwrap();
    let reply = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json["error"], "unavailable");
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

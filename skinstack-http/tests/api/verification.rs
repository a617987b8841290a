//! Merchant verification over HTTP: the open-redirect attempt of a self-registered merchant,
//! the public-suffix rule for websites, one merchant per account under a race, and API keys
//! that stop with verification. Each scenario on the in-memory store and on PostgreSQL.

use crate::helpers::*;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

macro_rules! on_both_stores {
    ($($scenario:ident => $memory:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $memory() {
            $scenario(TestApp::memory()).await;
        }

        #[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
        async fn $postgres(pool: sqlx::PgPool) {
            $scenario(TestApp::postgres(pool)).await;
        }
    )*};
}

on_both_stores! {
    a_self_registered_merchant_with_a_foreign_site_cannot_produce_a_redirect
        => a_foreign_site_merchant_cannot_produce_a_redirect_on_memory,
           a_foreign_site_merchant_cannot_produce_a_redirect_on_postgres;
    a_new_website_stops_the_links_with_a_410_until_verified_again
        => a_new_website_stops_the_links_until_verified_again_on_memory,
           a_new_website_stops_the_links_until_verified_again_on_postgres;
    websites_on_a_public_suffix_or_shared_hosting_domain_are_refused
        => public_suffix_websites_are_refused_on_memory,
           public_suffix_websites_are_refused_on_postgres;
    two_concurrent_merchant_creations_give_one_merchant_and_one_409
        => concurrent_merchant_creations_give_one_and_a_409_on_memory,
           concurrent_merchant_creations_give_one_and_a_409_on_postgres;
    api_keys_stop_while_the_merchant_is_unverified_or_its_owner_deactivated
        => api_keys_stop_with_verification_and_the_owner_on_memory,
           api_keys_stop_with_verification_and_the_owner_on_postgres;
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn influencer(app: &TestApp) -> String {
    let (token, _) = app.account("influencer").await;
    app.create(&token, "/v1/influencer", influencer_profile())
        .await;
    token
}

/// The shopper's click, answered as JSON.
async fn click(app: &TestApp, slug: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .uri(format!("/{slug}"))
        .header(header::ACCEPT, "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    (reply.status, reply.json)
}

async fn redirect_metric(app: &TestApp, outcome: &str) -> String {
    let text = app.call(Method::GET, "/metrics", None, None).await.text;
    let prefix = format!("skinstack_redirects_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or("0")
        .to_owned()
}

async fn a_self_registered_merchant_with_a_foreign_site_cannot_produce_a_redirect(app: TestApp) {
    let (mer, _) = app.account("merchant").await;
    let merchant = app
        .create_unverified(
            &mer,
            "/v1/merchant",
            json!({"business_name": "Totally Legit", "website_url": "https://evil.example"}),
        )
        .await;
    assert_eq!(merchant["verification"], "unverified");
    assert_eq!(merchant["verified_at"], Value::Null);
    // It can set up a program and products...
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let inf = influencer(&app).await;
    // ...but influencers do not see the program, and cannot link to it.
    let open = app
        .call(Method::GET, "/v1/programs", Some(&inf), None)
        .await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(
        !open.text.contains(program["id"].as_str().unwrap()),
        "{}",
        open.text
    );
    let reply = app
        .call(
            Method::POST,
            "/v1/links",
            Some(&inf),
            Some(json!({"program_id": program["id"], "slug": "free-gift"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(
        reply.json["fields"]["program_id"][0],
        "the merchant is not verified yet"
    );
    let (status, _) = click(&app, "free-gift").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no link was made");
}

async fn a_new_website_stops_the_links_with_a_410_until_verified_again(app: TestApp) {
    let (admin, _, _) = app.admin().await;
    let (mer, _) = app.account("merchant").await;
    let merchant = app
        .create_unverified(&mer, "/v1/merchant", merchant_profile())
        .await;
    let verify = format!("/v1/admin/merchants/{}/verify", id(&merchant));
    let verified = app.call(Method::POST, &verify, Some(&admin), None).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.json["verification"], "verified");
    assert!(verified.json["verified_at"].is_string());

    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let inf = influencer(&app).await;
    app.create(
        &inf,
        "/v1/links",
        json!({"program_id": program["id"], "slug": "glow-x"}),
    )
    .await;
    assert_eq!(click(&app, "glow-x").await.0, StatusCode::FOUND);
    assert_eq!(redirect_metric(&app, "redirected").await, "1");

    // The merchant moves its website: verification is undone, the link answers 410 and the
    // click is not counted as a redirect.
    let moved = app
        .call(
            Method::PATCH,
            "/v1/merchant",
            Some(&mer),
            Some(json!({"website_url": "https://evil.example"})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.json["verification"], "unverified");
    let (status, body) = click(&app, "glow-x").await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"], "unverified", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not been verified"),
        "{body}"
    );
    assert_eq!(redirect_metric(&app, "redirected").await, "1");

    // Verified again by the administrator, it redirects again; un-verified, it stops again.
    let again = app.call(Method::POST, &verify, Some(&admin), None).await;
    assert_eq!(again.json["verification"], "verified");
    assert_eq!(click(&app, "glow-x").await.0, StatusCode::FOUND);
    let undone = app.call(Method::DELETE, &verify, Some(&admin), None).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.text);
    assert_eq!(undone.json["verification"], "unverified");
    assert_eq!(click(&app, "glow-x").await.0, StatusCode::GONE);
    // The merchant cannot verify itself.
    let own = app.call(Method::POST, &verify, Some(&mer), None).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
}

async fn websites_on_a_public_suffix_or_shared_hosting_domain_are_refused(app: TestApp) {
    for site in [
        "https://github.io",
        "https://myshopify.com",
        "https://blogspot.com",
        "https://co.uk",
    ] {
        let (mer, _) = app.account("merchant").await;
        let reply = app
            .call(
                Method::POST,
                "/v1/merchant",
                Some(&mer),
                Some(json!({"business_name": "Glow Co", "website_url": site})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{site}: {}",
            reply.text
        );
        assert!(
            reply.json["fields"]["website_url"].is_array(),
            "{}",
            reply.text
        );
    }
    let (mer, _) = app.account("merchant").await;
    app.create_unverified(
        &mer,
        "/v1/merchant",
        json!({"business_name": "Glow Co", "website_url": "https://glowco.myshopify.com"}),
    )
    .await;
    let reply = app
        .call(
            Method::PATCH,
            "/v1/merchant",
            Some(&mer),
            Some(json!({"website_url": "https://github.io"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
}

async fn two_concurrent_merchant_creations_give_one_merchant_and_one_409(app: TestApp) {
    let (mer, _) = app.account("merchant").await;
    let post = || {
        app.call(
            Method::POST,
            "/v1/merchant",
            Some(&mer),
            Some(merchant_profile()),
        )
    };
    let (a, b) = tokio::join!(post(), post());
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{} / {}",
        a.text,
        b.text
    );
    let conflict = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert!(conflict.json["message"].is_string(), "{}", conflict.text);
}

async fn api_keys_stop_while_the_merchant_is_unverified_or_its_owner_deactivated(app: TestApp) {
    let (admin, _, _) = app.admin().await;
    let (mer, mer_user) = app.account("merchant").await;
    let merchant = app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let key = app
        .create(&mer, "/v1/merchant/api-keys", json!({"name": "Back end"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut orders = 0;
    let mut report = || {
        orders += 1;
        let body = json!({
            "order_id": format!("order-{orders}"),
            "amount": "45.00",
            "currency": "USD",
            "ordered_at": (Utc::now() - chrono::Duration::minutes(1))
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        });
        let (app, key) = (app.clone(), key.clone());
        async move {
            app.call(Method::POST, "/v1/conversions", Some(&key), Some(body))
                .await
                .status
        }
    };
    assert_eq!(report().await, StatusCode::CREATED);
    let verify = format!("/v1/admin/merchants/{}/verify", id(&merchant));
    let undone = app.call(Method::DELETE, &verify, Some(&admin), None).await;
    assert_eq!(undone.status, StatusCode::OK);
    assert_eq!(report().await, StatusCode::UNAUTHORIZED, "unverified");
    app.call(Method::POST, &verify, Some(&admin), None).await;
    assert_eq!(report().await, StatusCode::CREATED);
    let deactivate = format!("/v1/admin/users/{mer_user}/deactivate");
    let off = app
        .call(Method::POST, &deactivate, Some(&admin), None)
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(
        report().await,
        StatusCode::UNAUTHORIZED,
        "owner deactivated"
    );
}

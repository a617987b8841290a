//! Coupon codes through the API: the merchant assigns, approves and revokes; an influencer
//! requests codes for her own links; only the owned code attributes. Each scenario on the
//! in-memory store and on PostgreSQL.

use crate::helpers::*;
use axum::http::{Method, StatusCode};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

/// A merchant with a program and an API key, and two influencers, Ana and Bea, each with a link
/// on it.
struct Cast {
    merchant: String,
    key: String,
    ana: String,
    ana_link: String,
    bea: String,
    bea_link: String,
    program: String,
}

async fn cast(app: &TestApp) -> Cast {
    let (merchant, _) = app.account("merchant").await;
    app.create(&merchant, "/v1/merchant", merchant_profile())
        .await;
    let program = app.create(&merchant, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = app
        .create(&merchant, "/v1/merchant/api-keys", json!({"name": "Shop"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut people = Vec::new();
    for _ in 0..2 {
        let (token, _) = app.account("influencer").await;
        app.create(&token, "/v1/influencer", influencer_profile())
            .await;
        let link = app
            .create(&token, "/v1/links", json!({"program_id": program}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        people.push((token, link));
    }
    let (bea, bea_link) = people.pop().unwrap();
    let (ana, ana_link) = people.pop().unwrap();
    Cast {
        merchant,
        key,
        ana,
        ana_link,
        bea,
        bea_link,
        program,
    }
}

/// An order of 45.00 with `coupon`, placed now.
async fn order(app: &TestApp, c: &Cast, id: &str, coupon: &str) -> Value {
    let body = json!({
        "order_id": id, "amount": "45.00", "currency": "USD", "coupon_code": coupon,
        "ordered_at": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    let reply = app
        .call(Method::POST, "/v1/conversions", Some(&c.key), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let reply = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
    reply.json
}

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

/// Issue 14's coupon theft: Bea copies Ana's public code onto her own link and asks for it;
/// the sale still goes to Ana, whose link owns the code.
async fn a_copied_coupon_code_still_attributes_the_sale_to_its_owner(app: TestApp) {
    let c = cast(&app).await;
    let assigned = app
        .create(
            &c.merchant,
            "/v1/merchant/coupon-codes",
            json!({"link_id": c.ana_link, "code": "ANA20"}),
        )
        .await;
    assert_eq!(assigned["state"], "assigned");
    assert_eq!(assigned["link_id"], c.ana_link.as_str());
    // Bea's copy: a link of hers on the same merchant with the code as its campaign code ...
    let copy = app
        .create(
            &c.bea,
            "/v1/links",
            json!({"program_id": c.program, "campaign_code": "ANA20"}),
        )
        .await;
    assert_eq!(copy["campaign_code"], "ANA20");
    // ... and asking for the code itself, in any case, for either of her links.
    for (link, code) in [
        (&c.bea_link, "ana20"),
        (&copy["id"].as_str().unwrap().to_owned(), "ANA20"),
    ] {
        let reply = app
            .call(
                Method::POST,
                "/v1/influencer/coupon-codes",
                Some(&c.bea),
                Some(json!({"link_id": link, "code": code})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
        assert!(reply.json["message"].is_string());
    }
    let sale = order(&app, &c, "theft-1", "ana20").await;
    assert_eq!(sale["attribution"]["by"], "coupon");
    assert_eq!(sale["attribution"]["link_id"], c.ana_link.as_str());
    let ana = get(&app, &c.ana, "/v1/influencer/earnings").await;
    assert_eq!(ana["pending"], "7.20");
    let bea = get(&app, &c.bea, "/v1/influencer/earnings").await;
    assert_eq!(bea["pending"], "0.00");
    // Bea sees none of Ana's codes; Ana sees hers.
    assert_eq!(
        get(&app, &c.bea, "/v1/influencer/coupon-codes").await["items"],
        json!([])
    );
    let anas = get(&app, &c.ana, "/v1/influencer/coupon-codes").await;
    assert_eq!(anas["items"][0]["code"], "ANA20");
}

/// A request attributes nothing until approved; a revoked code stops attributing new orders
/// while the orders it attributed stay attributed.
async fn requested_codes_wait_for_approval_and_revoked_ones_stop_attributing(app: TestApp) {
    let c = cast(&app).await;
    let asked = app
        .create(
            &c.ana,
            "/v1/influencer/coupon-codes",
            json!({"link_id": c.ana_link, "code": "Ana-Glow"}),
        )
        .await;
    assert_eq!(asked["state"], "requested");
    assert_eq!(asked["code"], "Ana-Glow", "kept as spelled");
    assert!(asked["assigned_at"].is_null());
    let waiting = order(&app, &c, "r-1", "ANA-GLOW").await;
    assert!(waiting["attribution"].is_null(), "{waiting}");
    let id = asked["id"].as_str().unwrap();
    let approve = format!("/v1/merchant/coupon-codes/{id}/approve");
    let reply = app
        .call(Method::POST, &approve, Some(&c.merchant), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["state"], "assigned");
    let reply = app
        .call(Method::POST, &approve, Some(&c.merchant), None)
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    let sold = order(&app, &c, "r-2", "ana-glow").await;
    assert_eq!(sold["attribution"]["link_id"], c.ana_link.as_str());

    let revoke = format!("/v1/merchant/coupon-codes/{id}/revoke");
    let reply = app
        .call(Method::POST, &revoke, Some(&c.merchant), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["state"], "revoked");
    let after = order(&app, &c, "r-3", "ANA-GLOW").await;
    assert!(after["attribution"].is_null(), "{after}");
    let listed = get(&app, &c.merchant, "/v1/merchant/conversions").await;
    let attributed: Vec<_> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v["attribution"].is_null())
        .map(|v| v["order_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(attributed, ["r-2"], "the past attribution stands");
    // The spelling is free again: the merchant gives it to Bea.
    let beas = app
        .create(
            &c.merchant,
            "/v1/merchant/coupon-codes",
            json!({"link_id": c.bea_link, "code": "ANA-GLOW"}),
        )
        .await;
    assert_eq!(beas["state"], "assigned");
    let codes = get(&app, &c.merchant, "/v1/merchant/coupon-codes").await;
    assert_eq!(codes["items"].as_array().unwrap().len(), 2);
}

/// Codes are refused with a 422 naming the field, links of other merchants' programs are 404.
async fn malformed_codes_and_foreign_links_are_refused(app: TestApp) {
    let c = cast(&app).await;
    let reply = app
        .call(
            Method::POST,
            "/v1/merchant/coupon-codes",
            Some(&c.merchant),
            Some(json!({"link_id": c.ana_link, "code": "ANA 20"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(reply.json["fields"]["code"].is_array(), "{}", reply.text);
    let other = cast(&app).await;
    let reply = app
        .call(
            Method::POST,
            "/v1/merchant/coupon-codes",
            Some(&other.merchant),
            Some(json!({"link_id": c.ana_link, "code": "ANA20"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}

on_both_stores! {
    a_copied_coupon_code_still_attributes_the_sale_to_its_owner =>
        coupon_theft_attributes_to_the_owner_on_memory,
        coupon_theft_attributes_to_the_owner_on_postgres;
    requested_codes_wait_for_approval_and_revoked_ones_stop_attributing =>
        requests_wait_for_approval_and_revocation_stops_new_attributions_on_memory,
        requests_wait_for_approval_and_revocation_stops_new_attributions_on_postgres;
    malformed_codes_and_foreign_links_are_refused =>
        malformed_codes_and_foreign_links_are_refused_on_memory,
        malformed_codes_and_foreign_links_are_refused_on_postgres;
}

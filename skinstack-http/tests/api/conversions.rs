//! Merchant API keys, orders and refunds reported with them, and the statements they show up
//! in: each scenario on the in-memory store and on PostgreSQL.

use crate::helpers::*;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use skinstack_core::{Click, LinkId};

/// A merchant with a 20 % program (20 % platform fee), an influencer with a link that owns the
/// coupon code `ANA20` (assigned by the merchant now), and the merchant's API key.
struct Shop {
    merchant: String,
    influencer: String,
    key: String,
    key_id: String,
    link: String,
}

async fn shop(app: &TestApp) -> Shop {
    let (merchant, _) = app.account("merchant").await;
    app.create(&merchant, "/v1/merchant", merchant_profile())
        .await;
    let program = app.create(&merchant, "/v1/programs", program_json()).await;
    let (influencer, _) = app.account("influencer").await;
    app.create(&influencer, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(
            &influencer,
            "/v1/links",
            json!({"program_id": program["id"]}),
        )
        .await;
    app.create(
        &merchant,
        "/v1/merchant/coupon-codes",
        json!({"link_id": link["id"], "code": "ANA20"}),
    )
    .await;
    let key = app
        .create(
            &merchant,
            "/v1/merchant/api-keys",
            json!({"name": "Shop back end"}),
        )
        .await;
    Shop {
        merchant,
        influencer,
        key: key["key"].as_str().unwrap().to_owned(),
        key_id: key["id"].as_str().unwrap().to_owned(),
        link: link["id"].as_str().unwrap().to_owned(),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An order of 45.00 with the link's coupon, ordered now (after the code's assignment).
fn order(id: &str) -> Value {
    json!({
        "order_id": id,
        "amount": "45.00",
        "currency": "USD",
        "ordered_at": rfc3339(Utc::now()),
        "coupon_code": "ANA20",
        "product_external_ids": ["gid://shopify/Product/1"]
    })
}

impl TestApp {
    async fn get(&self, token: &str, path: &str) -> Value {
        let reply = self.call(Method::GET, path, Some(token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
        reply.json
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
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

/// Core's cap (250 products an order), through the API; the webhook test
/// `shopify_orders_over_the_product_cap_are_refused_like_the_api_s` checks the other way in.
async fn orders_listing_more_than_250_products_are_refused(app: TestApp) {
    let s = shop(&app).await;
    let ids = |n: usize| (0..n).map(|i| format!("sku-{i}")).collect::<Vec<_>>();
    let mut over = order("4001");
    over["product_external_ids"] = json!(ids(251));
    let reply = app.post(&s.key, "/v1/conversions", over).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let fields: Vec<&String> = reply.json["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["product_external_ids"]);
    let mut full = order("4001");
    full["product_external_ids"] = json!(ids(250));
    let reply = app.post(&s.key, "/v1/conversions", full).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

on_both_stores! {
    orders_listing_more_than_250_products_are_refused
        => orders_listing_more_than_250_products_are_refused_on_memory,
           orders_listing_more_than_250_products_are_refused_on_postgres;
    api_keys_are_shown_once_listed_without_secret_and_revocable
        => api_keys_are_shown_once_and_revocable_on_memory,
           api_keys_are_shown_once_and_revocable_on_postgres;
    a_reported_order_shows_in_every_statement_with_exact_amounts
        => a_reported_order_shows_in_every_statement_on_memory,
           a_reported_order_shows_in_every_statement_on_postgres;
    repeated_orders_conflicts_currencies_and_unattributed_orders
        => repeated_orders_conflicts_and_currencies_on_memory,
           repeated_orders_conflicts_and_currencies_on_postgres;
    refunds_reverse_commission_in_proportion_once
        => refunds_reverse_in_proportion_on_memory,
           refunds_reverse_in_proportion_on_postgres;
    orders_above_the_maximum_are_held_until_their_merchant_releases_or_voids_them
        => held_orders_are_released_or_voided_by_their_merchant_on_memory,
           held_orders_are_released_or_voided_by_their_merchant_on_postgres;
    back_dated_and_future_orders_are_refused_naming_ordered_at
        => back_dated_and_future_orders_are_refused_on_memory,
           back_dated_and_future_orders_are_refused_on_postgres;
    every_fraud_signal_shows_on_the_conversion_and_in_metrics
        => every_fraud_signal_shows_on_the_conversion_on_memory,
           every_fraud_signal_shows_on_the_conversion_on_postgres;
}

async fn every_fraud_signal_shows_on_the_conversion_and_in_metrics(app: TestApp) {
    let s = shop(&app).await;
    let link_id = LinkId::from_uuid(s.link.parse().unwrap());
    let click = Click::new(
        link_id,
        Some("203.0.113.77".parse().unwrap()),
        Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"),
        None,
    );
    app.store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    let ordered_at = json!(rfc3339(click.at + Duration::seconds(5)));
    // Bought from another network than the click's: held as a shopper mismatch.
    let mut first = order("sig-1");
    first["coupon_code"] = Value::Null;
    first["ordered_at"] = ordered_at.clone();
    first["click_id"] = json!(click.id.to_string());
    first["shopper_ip"] = json!("198.51.100.9");
    let reply = app.post(&s.key, "/v1/conversions", first).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["attribution"]["by"], "click");
    assert_eq!(reply.json["signals"], json!(["shopper_mismatch"]));
    assert_eq!(reply.json["hold_reasons"], json!(["shopper_mismatch"]));
    assert!(reply.json["held_at"].is_string());
    // The same click again: spent, so the coupon attributes and nothing is held.
    let mut second = order("sig-2");
    second["ordered_at"] = ordered_at;
    second["click_id"] = json!(click.id.to_string());
    let reply = app.post(&s.key, "/v1/conversions", second).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["attribution"]["by"], "coupon");
    assert_eq!(reply.json["click_rejected"], "reused");
    assert_eq!(reply.json["signals"], json!(["click_reuse"]));
    assert_eq!(reply.json["held_at"], Value::Null);
    // The influencer buying with her own code, her address spelt otherwise.
    let mut third = order("sig-3");
    let me = app.get(&s.influencer, "/v1/me").await;
    let own = me["email"].as_str().expect("the account's email");
    third["customer_email"] = json!(own.to_uppercase().replacen('@', "+shop@", 1));
    let reply = app.post(&s.key, "/v1/conversions", third).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["signals"], json!(["self_referral"]));
    assert_eq!(reply.json["hold_reasons"], json!(["self_referral"]));
    // What cannot be read is refused, naming the field.
    let mut bad = order("sig-4");
    bad["shopper_ip"] = json!("not an address");
    bad["customer_email"] = json!("nobody");
    let reply = app.post(&s.key, "/v1/conversions", bad).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let mut fields: Vec<&String> = reply.json["fields"].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["customer_email", "shopper_ip"]);

    let page = app.get(&s.merchant, "/v1/merchant/conversions").await;
    let signals: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["signals"])
        .collect();
    assert_eq!(
        signals,
        [
            &json!(["shopper_mismatch"]),
            &json!(["click_reuse"]),
            &json!(["self_referral"])
        ]
    );
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    for (signal, n) in [
        ("click_reuse", 1),
        ("order_above_maximum", 0),
        ("self_referral", 1),
        ("shopper_mismatch", 1),
    ] {
        let line = format!("skinstack_fraud_signals{{signal=\"{signal}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(
        metrics.contains("skinstack_commissions_held_by_reason{reason=\"self_referral\"} 1"),
        "{metrics}"
    );

    // The document lists the signals exactly, and the conversion's field names them.
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .json;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["FraudSignal"]["enum"],
        json!([
            "click_reuse",
            "order_above_maximum",
            "self_referral",
            "shopper_mismatch"
        ])
    );
    assert_eq!(
        schemas["ConversionView"]["properties"]["signals"]["items"]["$ref"],
        "#/components/schemas/FraudSignal"
    );
    assert_eq!(
        schemas["ConversionView"]["properties"]["hold_reasons"]["items"]["$ref"],
        "#/components/schemas/HoldReason"
    );
    assert_eq!(
        schemas["HoldReason"]["enum"],
        json!([
            "member_banned",
            "order_above_maximum",
            "manual",
            "self_referral",
            "shopper_mismatch"
        ])
    );
}

async fn orders_above_the_maximum_are_held_until_their_merchant_releases_or_voids_them(
    app: TestApp,
) {
    let s = shop(&app).await;
    let reply = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&s.merchant),
            Some(json!({"max_order_amount": "40.00"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["max_order_amount"], "40.00");
    let bad = app
        .call(
            Method::PUT,
            "/v1/merchant/max-order-amount",
            Some(&s.merchant),
            Some(json!({"max_order_amount": "0"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    // Above the maximum: recorded (201), its commission held, not refused.
    let reply = app.post(&s.key, "/v1/conversions", order("h-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let held = reply.json;
    assert_eq!(held["hold_reasons"], json!(["order_above_maximum"]));
    assert!(held["held_at"].is_string());
    assert_eq!(held["commission"]["gross"], "9.00");
    let second = app.post(&s.key, "/v1/conversions", order("h-2")).await.json;
    let page = app.get(&s.merchant, "/v1/merchant/conversions").await;
    assert_eq!(page["items"][0]["status"], "held");

    // Only the merchant whose sale it was (or an administrator) decides.
    let release = |id: &Value| format!("/v1/conversions/{}/release", id.as_str().unwrap());
    let void = |id: &Value| format!("/v1/conversions/{}/void", id.as_str().unwrap());
    let (other, _) = app.account("merchant").await;
    app.create(&other, "/v1/merchant", merchant_profile()).await;
    let reply = app.post(&other, &release(&held["id"]), json!({})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = app.post(&s.influencer, &void(&held["id"]), json!({})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);

    let reply = app
        .post(&s.merchant, &release(&held["id"]), json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["held_at"], Value::Null);
    assert_eq!(reply.json["hold_reasons"], json!(["order_above_maximum"]));
    let reply = app
        .post(&s.merchant, &release(&held["id"]), json!({}))
        .await;
    // Released already: the conversion's state is at odds with the request, a 409.
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert!(
        reply.json["message"].as_str().unwrap().contains("not held"),
        "{}",
        reply.text
    );

    let reply = app.post(&s.merchant, &void(&second["id"]), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json["voided_at"].is_string());
    let page = app.get(&s.merchant, "/v1/merchant/conversions").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[1]["status"], "voided");
    assert_eq!(items[1]["net_commission"]["gross"], "0.00");
    // 7.20 earned on the released order; the voided one's 7.20 taken back exactly.
    let earnings = app.get(&s.influencer, "/v1/influencer/earnings").await;
    assert_eq!(earnings["pending"], "7.20");
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(
        metrics.contains("skinstack_commissions_held 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skinstack_commissions_voided 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skinstack_commissions_held_by_reason{reason=\"order_above_maximum\"} 0"),
        "{metrics}"
    );
}

async fn back_dated_and_future_orders_are_refused_naming_ordered_at(app: TestApp) {
    let s = shop(&app).await;
    for at in [
        Utc::now() - Duration::days(60),
        Utc::now() + Duration::minutes(10),
    ] {
        let mut o = order("d-1");
        o["ordered_at"] = json!(rfc3339(at));
        let reply = app.post(&s.key, "/v1/conversions", o).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text
        );
        let fields: Vec<&String> = reply.json["fields"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["ordered_at"]);
    }
    let page = app.get(&s.merchant, "/v1/merchant/conversions").await;
    assert_eq!(page["items"], json!([]));
}

async fn api_keys_are_shown_once_listed_without_secret_and_revocable(app: TestApp) {
    let s = shop(&app).await;
    assert!(s.key.starts_with("ssk_"), "{}", s.key);
    let listed = app.get(&s.merchant, "/v1/merchant/api-keys").await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let entry = &listed[0];
    assert_eq!(entry["id"], s.key_id.as_str());
    assert_eq!(entry["name"], "Shop back end");
    assert_eq!(entry["prefix"], &s.key[..12]);
    assert_eq!(entry["revoked_at"], Value::Null);
    assert_eq!(entry["last_used_at"], Value::Null);
    assert!(entry.get("key").is_none() && entry.get("key_hash").is_none());
    assert!(!listed[0].to_string().contains(&s.key[12..]));

    // The key reports orders, and only that: it opens no session route.
    let reply = app.post(&s.key, "/v1/conversions", order("k-1")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = app
        .call(Method::GET, "/v1/merchant", Some(&s.key), None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let used = app.get(&s.merchant, "/v1/merchant/api-keys").await;
    assert!(used[0]["last_used_at"].is_string(), "{used}");

    // Another merchant can neither see nor revoke it.
    let (other, _) = app.account("merchant").await;
    app.create(&other, "/v1/merchant", merchant_profile()).await;
    assert_eq!(app.get(&other, "/v1/merchant/api-keys").await, json!([]));
    let path = format!("/v1/merchant/api-keys/{}", s.key_id);
    let reply = app.call(Method::DELETE, &path, Some(&other), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = app.post(&s.key, "/v1/conversions", order("k-2")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    // Revoked: refused at once, still listed; revoking again changes nothing.
    let reply = app
        .call(Method::DELETE, &path, Some(&s.merchant), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = app.post(&s.key, "/v1/conversions", order("k-3")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(reply.json["error"], "unauthorized");
    let listed = app.get(&s.merchant, "/v1/merchant/api-keys").await;
    let revoked_at = listed[0]["revoked_at"].clone();
    assert!(revoked_at.is_string(), "{listed}");
    let reply = app
        .call(Method::DELETE, &path, Some(&s.merchant), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let listed = app.get(&s.merchant, "/v1/merchant/api-keys").await;
    assert_eq!(listed[0]["revoked_at"], revoked_at);

    // A session token, a made-up key and a malformed one are all 401 there too.
    let made_up = skinstack_core::ApiKey::generate().unwrap();
    for token in [s.merchant.as_str(), made_up.expose(), "ssk_nope"] {
        let reply = app.post(token, "/v1/conversions", order("k-4")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
    }
    let reply = app
        .call(Method::POST, "/v1/conversions", None, Some(order("k-4")))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A deactivated merchant's keys stop working.
    let fresh = app
        .create(&s.merchant, "/v1/merchant/api-keys", json!({"name": "new"}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let merchant_id = app.get(&s.merchant, "/v1/merchant").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (admin, _, _) = app.admin().await;
    let path = format!("/v1/admin/merchants/{merchant_id}/deactivate");
    let reply = app.call(Method::POST, &path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app.post(&fresh, "/v1/conversions", order("k-5")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
}

async fn a_reported_order_shows_in_every_statement_with_exact_amounts(app: TestApp) {
    let s = shop(&app).await;
    // 20 % of 45.00 is 9.00; the platform keeps 20 % of it (1.80), the influencer 7.20.
    let reply = app.post(&s.key, "/v1/conversions", order("1001")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let c = &reply.json;
    assert_eq!(c["order_id"], "1001");
    assert_eq!(c["amount"], "45.00");
    assert_eq!(c["currency"], "USD");
    assert_eq!(c["attribution"]["link_id"], s.link.as_str());
    assert_eq!(c["attribution"]["by"], "coupon");
    assert_eq!(
        c["commission"],
        json!({"gross": "9.00", "platform_fee": "1.80", "influencer_earnings": "7.20"})
    );
    assert_eq!(c["refunded_amount"], "0.00");
    assert_eq!(
        c["product_external_ids"],
        json!(["gid://shopify/Product/1"])
    );
    assert_eq!(c["click_rejected"], Value::Null);
    let ordered_day = c["ordered_at"].as_str().unwrap()[..10].to_owned();

    // An order with the shopper's ssclid (a human click on the link) is credited by click.
    let link_id = LinkId::from_uuid(s.link.parse().unwrap());
    let click = Click::new(
        link_id,
        None,
        Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"),
        None,
    );
    app.store
        .record_clicks(std::slice::from_ref(&click))
        .await
        .unwrap();
    let mut by_click = order("1002");
    by_click["coupon_code"] = Value::Null;
    by_click["amount"] = json!(19.99);
    by_click["ordered_at"] = json!(rfc3339(click.at + Duration::seconds(5)));
    by_click["click_id"] = json!(click.id.to_string());
    let reply = app.post(&s.key, "/v1/conversions", by_click).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["attribution"]["by"], "click");
    // 20 % of 19.99 is 3.998, 4.00 at cents; 20 % of that is 0.80.
    assert_eq!(
        reply.json["commission"],
        json!({"gross": "4.00", "platform_fee": "0.80", "influencer_earnings": "3.20"})
    );
    let second_day = reply.json["ordered_at"].as_str().unwrap()[..10].to_owned();

    let page = app.get(&s.merchant, "/v1/merchant/conversions").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], c["id"]);
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["net_commission"]["gross"], "9.00");
    assert_eq!(items[0]["paid_commission"]["gross"], "0.00");
    assert_eq!(page["next_after"], Value::Null);
    assert_eq!(
        app.get(&s.merchant, "/v1/merchant/commissions").await,
        json!({"currency": "USD", "pending": "13.00", "approved": "0.00", "owed": "13.00",
               "paid": "0.00", "unattributed_orders": 0, "unattributed_sales": "0.00"})
    );

    assert_eq!(
        app.get(&s.influencer, "/v1/influencer/earnings").await,
        json!({"currency": "USD", "pending": "10.40", "approved": "0.00", "awaiting_merchant": "0.00",
               "paid": "0.00", "balance": "10.40", "balances": [{"currency": "USD", "pending": "10.40", "approved": "0.00", "awaiting_merchant": "0.00",
               "paid": "0.00", "balance": "10.40"}]})
    );
    let mine = app.get(&s.influencer, "/v1/influencer/conversions").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert_eq!(mine["items"][1]["amount"], "19.99");
    // Paged one at a time.
    let first = app
        .get(&s.influencer, "/v1/influencer/conversions?limit=1")
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let after = first["next_after"].as_str().unwrap();
    let second = app
        .get(
            &s.influencer,
            &format!("/v1/influencer/conversions?limit=1&after={after}"),
        )
        .await;
    assert_eq!(second["items"][0]["order_id"], "1002");

    // The default series: the last 30 days, today last, the orders on their days.
    let daily = app
        .get(&s.influencer, &format!("/v1/links/{}/daily", s.link))
        .await;
    let days = daily.as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(
        days[29]["day"],
        Utc::now().date_naive().format("%Y-%m-%d").to_string()
    );
    let amount = |d: &Value, field: &str| d[field].as_str().unwrap().parse::<Decimal>().unwrap();
    let count = |field: &str| days.iter().map(|d| d[field].as_i64().unwrap()).sum::<i64>();
    let revenue: Decimal = days.iter().map(|d| amount(d, "revenue")).sum();
    let commission: Decimal = days.iter().map(|d| amount(d, "commission")).sum();
    let earnings: Decimal = days.iter().map(|d| amount(d, "earnings")).sum();
    assert_eq!((count("conversions"), count("clicks")), (2, 1));
    // The influencer's share: 7.20 + 3.20, what the earnings statement says is pending.
    assert_eq!(
        (revenue, commission, earnings),
        (dec!(64.99), dec!(13.00), dec!(10.40))
    );
    let day = days.iter().find(|d| d["day"] == ordered_day).unwrap();
    if ordered_day == second_day {
        assert_eq!(
            (&day["revenue"], &day["commission"], &day["earnings"]),
            (&json!("64.99"), &json!("13.00"), &json!("10.40"))
        );
    } else {
        assert_eq!(
            (&day["revenue"], &day["commission"], &day["earnings"]),
            (&json!("45.00"), &json!("9.00"), &json!("7.20"))
        );
    }
    // An explicit range of one day.
    let one = app
        .get(
            &s.influencer,
            &format!(
                "/v1/links/{}/daily?from={ordered_day}&to={ordered_day}",
                s.link
            ),
        )
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["day"], ordered_day.as_str());
    assert!(one[0]["conversions"].as_i64().unwrap() >= 1);
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/links/{}/daily?from=2026-03-02&to=2026-03-01", s.link),
            Some(&s.influencer),
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/links/{}/daily?from=March", s.link),
            Some(&s.influencer),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.json["fields"]["from"].is_array(), "{}", reply.text);

    // Nobody else sees any of it.
    let (stranger, _) = app.account("influencer").await;
    app.create(&stranger, "/v1/influencer", influencer_profile())
        .await;
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/links/{}/daily", s.link),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let theirs = app.get(&stranger, "/v1/influencer/conversions").await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(
        app.get(&stranger, "/v1/influencer/earnings").await["balance"],
        "0.00"
    );
    let (other_merchant, _) = app.account("merchant").await;
    app.create(&other_merchant, "/v1/merchant", merchant_profile())
        .await;
    let theirs = app.get(&other_merchant, "/v1/merchant/conversions").await;
    assert_eq!(theirs["items"], json!([]));
}

async fn repeated_orders_conflicts_currencies_and_unattributed_orders(app: TestApp) {
    let s = shop(&app).await;
    let body = order("2001");
    let first = app.post(&s.key, "/v1/conversions", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = app.post(&s.key, "/v1/conversions", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["id"], first.json["id"]);
    let mut other_amount = body.clone();
    other_amount["amount"] = json!("50.00");
    let reply = app.post(&s.key, "/v1/conversions", other_amount).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert!(
        reply.json["message"].as_str().unwrap().contains("2001"),
        "{}",
        reply.text
    );

    let mut euros = order("2002");
    euros["currency"] = json!("eur");
    let reply = app.post(&s.key, "/v1/conversions", euros).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let message = reply.json["fields"]["currency"][0].as_str().unwrap();
    assert!(
        message.contains("EUR") && message.contains("recorded in USD"),
        "{message}"
    );

    // Every refused field at once.
    let reply = app
        .post(
            &s.key,
            "/v1/conversions",
            json!({
                "order_id": " ", "amount": "12.345", "currency": "dollars",
                "ordered_at": "yesterday", "click_id": "not-a-click",
                "product_external_ids": ["ok", ""]
            }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    let fields: Vec<&String> = reply.json["fields"].as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "amount",
            "click_id",
            "currency",
            "order_id",
            "ordered_at",
            "product_external_ids[1]"
        ]
    );
    let reply = app
        .post(&s.key, "/v1/conversions", json!({"order_id": "x"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);

    // An order nobody referred is kept, earns nothing, and is listed as unattributed.
    let mut plain = order("2003");
    plain["coupon_code"] = Value::Null;
    plain["amount"] = json!("30");
    let reply = app.post(&s.key, "/v1/conversions", plain).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["attribution"], Value::Null);
    assert_eq!(reply.json["amount"], "30.00");
    assert_eq!(reply.json["commission"]["gross"], "0.00");

    let all = app.get(&s.merchant, "/v1/merchant/conversions").await;
    let orders: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["2001", "2003"]);
    let unattributed = app
        .get(&s.merchant, "/v1/merchant/conversions?unattributed=true")
        .await;
    let items = unattributed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["order_id"], "2003");
    assert_eq!(items[0]["status"], "unattributed");
    let commissions = app.get(&s.merchant, "/v1/merchant/commissions").await;
    assert_eq!(commissions["pending"], "9.00");
    assert_eq!(commissions["unattributed_orders"], 1);
    assert_eq!(commissions["unattributed_sales"], "30.00");
    assert_eq!(
        app.get(&s.influencer, "/v1/influencer/earnings").await["pending"],
        "7.20"
    );
    let reply = app
        .call(
            Method::GET,
            "/v1/merchant/conversions?limit=0",
            Some(&s.merchant),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn refunds_reverse_commission_in_proportion_once(app: TestApp) {
    let s = shop(&app).await;
    let reply = app.post(&s.key, "/v1/conversions", order("3001")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let conversion_id = reply.json["id"].clone();

    // A third of the order refunded takes back a third of 9.00 / 1.80 / 7.20.
    let refund = json!({"order_id": "3001", "refund_id": "r-1", "amount": "15.00"});
    let reply = app.post(&s.key, "/v1/refunds", refund.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["conversion_id"], conversion_id);
    assert_eq!(
        (&reply.json["amount"], &reply.json["currency"]),
        (&json!("15.00"), &json!("USD"))
    );
    assert_eq!(
        reply.json["reversal"],
        json!({"gross": "-3.00", "platform_fee": "-0.60", "influencer_earnings": "-2.40"})
    );
    let again = app.post(&s.key, "/v1/refunds", refund).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["reversal"], Value::Null);
    let reply = app
        .post(
            &s.key,
            "/v1/refunds",
            json!({"order_id": "3001", "refund_id": "r-1", "amount": "5.00"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    let reply = app
        .post(
            &s.key,
            "/v1/refunds",
            json!({"order_id": "3001", "refund_id": "r-2", "amount": "30.01"}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(reply.json["fields"]["amount"].is_array());
    let reply = app
        .post(
            &s.key,
            "/v1/refunds",
            json!({"order_id": "nope", "refund_id": "r-3", "amount": "1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = app
        .post(
            &s.key,
            "/v1/refunds",
            json!({"order_id": "", "refund_id": "", "amount": "-1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&String> = reply.json["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["amount", "order_id", "refund_id"]);

    assert_eq!(
        app.get(&s.influencer, "/v1/influencer/earnings").await,
        json!({"currency": "USD", "pending": "4.80", "approved": "0.00", "awaiting_merchant": "0.00",
               "paid": "0.00", "balance": "4.80", "balances": [{"currency": "USD", "pending": "4.80", "approved": "0.00", "awaiting_merchant": "0.00",
               "paid": "0.00", "balance": "4.80"}]})
    );
    assert_eq!(
        app.get(&s.merchant, "/v1/merchant/commissions").await["pending"],
        "6.00"
    );
    let listed = app.get(&s.merchant, "/v1/merchant/conversions").await;
    let c = &listed["items"][0];
    assert_eq!(c["refunded_amount"], "15.00");
    assert_eq!(c["commission"]["gross"], "9.00");
    assert_eq!(
        c["net_commission"],
        json!({"gross": "6.00", "platform_fee": "1.20", "influencer_earnings": "4.80"})
    );
    let link = app
        .get(&s.influencer, &format!("/v1/links/{}", s.link))
        .await;
    assert_eq!(
        (
            &link["total_conversions"],
            &link["total_revenue"],
            &link["total_commission"]
        ),
        (&json!(1), &json!("30.00"), &json!("6.00"))
    );
    let daily = app
        .get(&s.influencer, &format!("/v1/links/{}/daily", s.link))
        .await;
    let day = daily
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["conversions"] == 1)
        .unwrap();
    assert_eq!(
        (&day["revenue"], &day["commission"], &day["earnings"]),
        (&json!("30.00"), &json!("6.00"), &json!("4.80"))
    );

    // The rest of the order, then nothing more.
    let reply = app
        .post(
            &s.key,
            "/v1/refunds",
            json!({"order_id": "3001", "refund_id": "r-4", "amount": 30}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["reversal"]["gross"], "-6.00");
    assert_eq!(
        app.get(&s.influencer, "/v1/influencer/earnings").await["balance"],
        "0.00"
    );
}

/// Twenty deliveries of one order at once, through the router, on PostgreSQL: one conversion,
/// counted once everywhere.
#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn twenty_concurrent_posts_of_one_order_record_it_once_on_postgres(pool: sqlx::PgPool) {
    let app = TestApp::postgres(pool);
    let s = shop(&app).await;
    let body = order("race-1");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, key, body) = (app.clone(), s.key.clone(), body.clone());
        tasks.spawn(async move { app.post(&key, "/v1/conversions", body).await });
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {}", reply.text),
        }
        ids.insert(reply.json["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
    let listed = app.get(&s.merchant, "/v1/merchant/conversions").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&s.merchant, "/v1/merchant/commissions").await["pending"],
        "9.00"
    );
    assert_eq!(
        app.get(&s.influencer, "/v1/influencer/earnings").await["pending"],
        "7.20"
    );
    let link = app
        .get(&s.influencer, &format!("/v1/links/{}", s.link))
        .await;
    assert_eq!(
        (
            &link["total_conversions"],
            &link["total_revenue"],
            &link["total_commission"]
        ),
        (&json!(1), &json!("45.00"), &json!("9.00"))
    );
}

//! `POST /webhooks/shopify/{merchant_id}` through the router, on memory and on PostgreSQL:
//! signed orders and refunds are recorded once, every hostile delivery is refused with a JSON
//! 4xx and stores nothing, and the body limit holds before the body is read whole.

use crate::helpers::*;
use axum::body::{Body, Bytes};
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use skinstack_core::earning::ledger::ConversionFilter;
use skinstack_core::shopify::{sign, HMAC_HEADER};
use skinstack_core::testkit::conversions::assert_totals_match_ledger;
use skinstack_core::Page;
use skinstack_core::{Click, ClickId, InfluencerId, LinkId, MerchantId, Secret};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// A merchant with a program and a webhook secret, and an influencer's link to it, all set up
/// through the API.
struct Shop {
    merchant_token: String,
    merchant: MerchantId,
    influencer: InfluencerId,
    link: LinkId,
    slug: String,
    secret: Secret,
}

fn id(value: &Value) -> Uuid {
    Uuid::parse_str(value["id"].as_str().unwrap()).unwrap()
}

async fn shop(app: &TestApp) -> Shop {
    let (mer, _) = app.account("merchant").await;
    let merchant = app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let (inf, _) = app.account("influencer").await;
    let influencer = app
        .create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(&inf, "/v1/links", json!({"program_id": program["id"]}))
        .await;
    let secret = format!("shpss_{}", Uuid::new_v4().simple());
    let reply = app
        .call(
            Method::PUT,
            "/v1/merchant/shopify-webhook-secret",
            Some(&mer),
            Some(json!({ "secret": secret })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    Shop {
        merchant_token: mer,
        merchant: MerchantId::from_uuid(id(&merchant)),
        influencer: InfluencerId::from_uuid(id(&influencer)),
        link: LinkId::from_uuid(id(&link)),
        slug: link["slug"].as_str().unwrap().to_owned(),
        secret: Secret::parse(&secret).unwrap(),
    }
}

/// A shopper follows the link: the redirect's `ssclid`, with its click stored. The test app's
/// click recorder is not running (its flusher handle is dropped), so the click is written to
/// the store's click sink as the flusher would write it.
async fn click(app: &TestApp, shop: &Shop) -> String {
    let reply = app
        .call(Method::GET, &format!("/{}", shop.slug), None, None)
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let location = reply.headers[header::LOCATION].to_str().unwrap();
    let ssclid = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("ssclid="))
        .unwrap();
    let mut click = Click::new(shop.link, None, Some("Mozilla/5.0 (iPhone)"), None);
    click.id = ClickId::parse(ssclid).unwrap();
    click.at = click.id.issued_at();
    app.store.record_clicks(&[click]).await.unwrap();
    ssclid.to_owned()
}

fn order(id: u64, subtotal: &str, ssclid: Option<&str>) -> String {
    format!(
        r#"{{"id": {id}, "created_at": "{}", "currency": "USD",
            "current_subtotal_price": {subtotal}, "total_price": "99.99",
            "landing_site": "/products/vitamin-c-serum?utm_source=skinstack&ssclid={}",
            "discount_codes": [], "line_items": [{{"product_id": 1, "quantity": 1}}]}}"#,
        chrono::Utc::now().to_rfc3339(),
        ssclid.unwrap_or("")
    )
}

fn refund(id: u64, order_id: u64, amount: &str) -> String {
    format!(
        r#"{{"id": {id}, "order_id": {order_id}, "refund_line_items": [{{"quantity": 1,
            "subtotal_set": {{"shop_money": {{"amount": "{amount}", "currency_code": "USD"}}}}}}]}}"#
    )
}

async fn deliver(
    app: &TestApp,
    merchant: &str,
    topic: Option<&str>,
    hmac: Option<&str>,
    body: impl Into<Body>,
) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/webhooks/shopify/{merchant}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(topic) = topic {
        request = request.header("X-Shopify-Topic", topic);
    }
    if let Some(hmac) = hmac {
        request = request.header(HMAC_HEADER, hmac);
    }
    app.send(request.body(body.into()).unwrap()).await
}

/// A delivery signed with the shop's secret.
async fn signed(app: &TestApp, shop: &Shop, topic: &str, body: &str) -> Reply {
    let hmac = sign(&shop.secret, body.as_bytes());
    deliver(
        app,
        &shop.merchant.to_string(),
        Some(topic),
        Some(&hmac),
        body.to_owned(),
    )
    .await
}

/// (conversions, ledger events) stored for the merchant.
async fn stored(app: &TestApp, merchant: MerchantId) -> (usize, usize) {
    let mut conversions = 0;
    let mut page = Page::largest(None);
    loop {
        let batch = app
            .store
            .conversions_by_merchant(merchant, ConversionFilter::All, page)
            .await
            .unwrap();
        conversions += batch.len();
        match batch.last() {
            Some(last) => page = Page::largest(Some(last.conversion.id)),
            None => break,
        }
    }
    let events = app.store.events_by_merchant(merchant).await.unwrap().len();
    (conversions, events)
}

async fn totals_exact(app: &TestApp, shop: &Shop) {
    assert_totals_match_ledger(&*app.store, shop.merchant, &[shop.link], &[shop.influencer]).await;
}

macro_rules! on_memory_and_postgres {
    ($body:ident: $memory:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $memory() {
            $body(TestApp::memory()).await;
        }

        #[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
        async fn $postgres(pool: sqlx::PgPool) {
            $body(TestApp::postgres(pool)).await;
        }
    };
}

async fn signed_orders_and_refunds_are_recorded_once(app: TestApp) {
    let shop = shop(&app).await;
    let ssclid = click(&app, &shop).await;

    // The refund overtakes its order: 404, so that Shopify retries it later.
    let early = signed(&app, &shop, "refunds/create", &refund(9001, 5001, "20.25")).await;
    assert_eq!(early.status, StatusCode::NOT_FOUND, "{}", early.text);
    assert_eq!(early.json["error"], "not_found");
    assert_eq!(stored(&app, shop.merchant).await, (0, 0));

    let body = order(5001, r#""40.50""#, Some(&ssclid));
    let first = signed(&app, &shop, "orders/create", &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["status"], "recorded");
    assert_eq!(first.json["topic"], "orders/create");
    assert_eq!(first.json["attributed"], true);
    let conversion = first.json["conversion_id"].clone();
    // Shopify's retry of the same delivery.
    let again = signed(&app, &shop, "orders/create", &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["status"], "duplicate");
    assert_eq!(again.json["conversion_id"], conversion);
    assert_eq!(stored(&app, shop.merchant).await, (1, 1));
    let link = app.store.link_by_id(shop.link).await.unwrap();
    // 40.50 at 20 %: 8.10.
    assert_eq!(
        (
            link.total_conversions,
            link.total_revenue,
            link.total_commission
        ),
        (1, "40.50".parse().unwrap(), "8.10".parse().unwrap())
    );
    totals_exact(&app, &shop).await;

    // The retried refund now finds its order; its own retry changes nothing.
    let late = signed(&app, &shop, "refunds/create", &refund(9001, 5001, "20.25")).await;
    assert_eq!(late.status, StatusCode::OK, "{}", late.text);
    assert_eq!(late.json["status"], "recorded");
    assert_eq!(late.json["conversion_id"], conversion);
    let again = signed(&app, &shop, "refunds/create", &refund(9001, 5001, "20.25")).await;
    assert_eq!(again.json["status"], "duplicate");
    assert_eq!(stored(&app, shop.merchant).await, (1, 2));
    let link = app.store.link_by_id(shop.link).await.unwrap();
    assert_eq!(
        (link.total_revenue, link.total_commission),
        ("20.25".parse().unwrap(), "4.05".parse().unwrap())
    );
    totals_exact(&app, &shop).await;

    // A redelivery that disagrees is a conflict, never a second record.
    let other = signed(
        &app,
        &shop,
        "orders/create",
        &order(5001, r#""41.00""#, Some(&ssclid)),
    )
    .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text);
    // Refunds beyond the order are refused.
    let beyond = signed(&app, &shop, "refunds/create", &refund(9002, 5001, "30.00")).await;
    assert_eq!(
        beyond.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        beyond.text
    );
    assert_eq!(stored(&app, shop.merchant).await, (1, 2));
    totals_exact(&app, &shop).await;
}

on_memory_and_postgres!(signed_orders_and_refunds_are_recorded_once:
    signed_orders_and_refunds_are_recorded_once_on_memory,
    signed_orders_and_refunds_are_recorded_once_on_postgres);

/// Why, merchant id, topic, signature, body.
type Attempt<'a> = (&'a str, String, Option<&'a str>, Option<String>, String);

async fn unsigned_deliveries_get_one_401_and_store_nothing(app: TestApp) {
    let shop = shop(&app).await;
    // A merchant who never set a secret, and one whose secret was removed.
    let (mer, _) = app.account("merchant").await;
    let bare = id(&app.create(&mer, "/v1/merchant", merchant_profile()).await);
    let removed = shop_without_secret(&app).await;
    let body = order(5002, r#""40.50""#, None);
    let good = sign(&shop.secret, body.as_bytes());
    let foreign = sign(&Secret::parse("someone else's").unwrap(), body.as_bytes());
    let me = shop.merchant.to_string();
    let cases: Vec<Attempt> = vec![
        (
            "wrong HMAC",
            me.clone(),
            Some("orders/create"),
            Some(foreign.clone()),
            body.clone(),
        ),
        (
            "missing HMAC",
            me.clone(),
            Some("orders/create"),
            None,
            body.clone(),
        ),
        (
            "garbage HMAC",
            me.clone(),
            Some("orders/create"),
            Some("%%%".into()),
            body.clone(),
        ),
        (
            "empty HMAC",
            me.clone(),
            Some("orders/create"),
            Some(String::new()),
            body.clone(),
        ),
        ("unsigned, no topic", me.clone(), None, None, body.clone()),
        (
            "truncated body",
            me.clone(),
            Some("orders/create"),
            Some(good.clone()),
            body[..body.len() / 2].to_owned(),
        ),
        (
            "one byte appended",
            me.clone(),
            Some("orders/create"),
            Some(good.clone()),
            format!("{body} "),
        ),
        (
            "unknown merchant",
            Uuid::new_v4().to_string(),
            Some("orders/create"),
            Some(good.clone()),
            body.clone(),
        ),
        (
            "malformed merchant id",
            "not-a-uuid".into(),
            Some("orders/create"),
            Some(good.clone()),
            body.clone(),
        ),
        (
            "merchant without a secret",
            bare.to_string(),
            Some("orders/create"),
            Some(good.clone()),
            body.clone(),
        ),
        (
            "secret removed",
            removed.0.to_string(),
            Some("orders/create"),
            Some(sign(&removed.1, body.as_bytes())),
            body.clone(),
        ),
    ];
    let mut answers = Vec::new();
    for (why, merchant, topic, hmac, body) in cases {
        let reply = deliver(&app, &merchant, topic, hmac.as_deref(), body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{why}: {}",
            reply.text
        );
        answers.push((why, reply.json));
    }
    // One answer for all: nothing tells an unknown merchant from a wrong signature.
    for (why, json) in &answers {
        assert_eq!(json, &answers[0].1, "{why}");
    }
    assert_eq!(answers[0].1["error"], "unauthorized");
    assert_eq!(stored(&app, shop.merchant).await, (0, 0));
    assert_eq!(stored(&app, MerchantId::from_uuid(bare)).await, (0, 0));
    assert_eq!(stored(&app, removed.0).await, (0, 0));
    totals_exact(&app, &shop).await;
}

/// A merchant that set a secret and then removed it through the API.
async fn shop_without_secret(app: &TestApp) -> (MerchantId, Secret) {
    let shop = shop(app).await;
    let reply = app
        .call(
            Method::DELETE,
            "/v1/merchant/shopify-webhook-secret",
            Some(&shop.merchant_token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    (shop.merchant, shop.secret)
}

on_memory_and_postgres!(unsigned_deliveries_get_one_401_and_store_nothing:
    unsigned_deliveries_get_one_401_and_store_nothing_on_memory,
    unsigned_deliveries_get_one_401_and_store_nothing_on_postgres);

async fn signed_but_unacceptable_payloads_are_a_clear_4xx_and_store_nothing(app: TestApp) {
    let shop = shop(&app).await;
    let ssclid = click(&app, &shop).await;
    let order_with = |subtotal: &str| order(5003, subtotal, Some(&ssclid));
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            Some("orders/create"),
            r#"{"id": 5003, "#.into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "not an object",
            Some("orders/create"),
            "[5003]".into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "empty body",
            Some("orders/create"),
            String::new(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "no topic",
            None,
            order_with(r#""40.50""#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "subtotal as a JSON number",
            Some("orders/create"),
            order_with("12.5"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "subtotal not a number",
            Some("orders/create"),
            order_with(r#""abc""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "subtotal with an exponent",
            Some("orders/create"),
            order_with(r#""4.05e1""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "negative subtotal",
            Some("orders/create"),
            order_with(r#""-40.50""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "fraction of a cent",
            Some("orders/create"),
            order_with(r#""40.505""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "subtotal missing",
            Some("orders/create"),
            order_with("null"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "current_subtotal_price",
        ),
        (
            "non-USD order",
            Some("orders/create"),
            order_with(r#""40.50""#).replace(r#""currency": "USD""#, r#""currency": "EUR""#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency",
        ),
        (
            "negative order id",
            Some("orders/create"),
            order_with(r#""40.50""#).replace(r#""id": 5003"#, r#""id": -5003"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            "refund amount as a JSON number",
            Some("refunds/create"),
            refund(9003, 5003, "1").replace(r#""amount": "1""#, r#""amount": 1.5"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "refund_line_items[].subtotal_set.shop_money.amount",
        ),
    ];
    for (why, topic, body, status, field) in cases {
        let hmac = sign(&shop.secret, body.as_bytes());
        let reply = deliver(&app, &shop.merchant.to_string(), topic, Some(&hmac), body).await;
        assert_eq!(reply.status, status, "{why}: {}", reply.text);
        assert!(reply.json["message"].is_string(), "{why}: {}", reply.text);
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(
                reply.json["fields"][field].is_array(),
                "{why}: {}",
                reply.text
            );
        }
        if why == "non-USD order" {
            let message = reply.json["fields"]["currency"][0].as_str().unwrap();
            assert!(
                message.contains("EUR") && message.contains("only USD"),
                "{message}"
            );
        }
        assert_eq!(stored(&app, shop.merchant).await, (0, 0), "{why}");
    }
    // Topics SkinStack does not use are acknowledged, so Shopify stops retrying them.
    let reply = signed(&app, &shop, "products/update", r#"{"id": 1}"#).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!({"status": "ignored", "topic": "products/update", "conversion_id": null, "attributed": null})
    );
    assert_eq!(stored(&app, shop.merchant).await, (0, 0));
    totals_exact(&app, &shop).await;
}

on_memory_and_postgres!(signed_but_unacceptable_payloads_are_a_clear_4xx_and_store_nothing:
    signed_but_unacceptable_payloads_are_a_clear_4xx_and_store_nothing_on_memory,
    signed_but_unacceptable_payloads_are_a_clear_4xx_and_store_nothing_on_postgres);

async fn bodies_over_one_mib_are_413_before_being_read_whole(app: TestApp) {
    let shop = shop(&app).await;
    // Big orders are fine: a signed 900 KiB order (64 KiB is the rest of the API's limit).
    let padding = "x".repeat(900 * 1024);
    let big =
        order(5004, r#""40.50""#, None).replacen('{', &format!(r#"{{"note": "{padding}", "#), 1);
    let reply = signed(&app, &shop, "orders/create", &big).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}",
        &reply.text[..200.min(reply.text.len())]
    );
    assert_eq!(stored(&app, shop.merchant).await, (1, 0));

    // 10 MB streamed in 64 KiB chunks: refused once the first MiB is in, the rest never read.
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes>::new(1);
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let producer = tokio::spawn(async move {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        for _ in 0..160 {
            if tx.send_data(chunk.clone()).await.is_err() {
                break;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let hmac = sign(&shop.secret, b"whatever");
    let reply = deliver(
        &app,
        &shop.merchant.to_string(),
        Some("orders/create"),
        Some(&hmac),
        Body::new(body),
    )
    .await;
    producer.await.unwrap();
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.json["error"], "payload_too_large");
    let accepted = sent.load(Ordering::SeqCst);
    assert!(
        accepted <= 1024 * 1024 + 2 * 64 * 1024,
        "{accepted} bytes were taken in before the refusal"
    );
    assert_eq!(stored(&app, shop.merchant).await, (1, 0));
    totals_exact(&app, &shop).await;
}

on_memory_and_postgres!(bodies_over_one_mib_are_413_before_being_read_whole:
    bodies_over_one_mib_are_413_before_being_read_whole_on_memory,
    bodies_over_one_mib_are_413_before_being_read_whole_on_postgres);

async fn concurrent_deliveries_store_one_conversion_per_order(app: TestApp) {
    let shop = Arc::new(shop(&app).await);
    let ssclid = click(&app, &shop).await;
    let same = order(6000, r#""19.99""#, Some(&ssclid));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50u64 {
        let (app, shop) = (app.clone(), shop.clone());
        let (same, other) = (same.clone(), order(7000 + i, r#""10.00""#, Some(&ssclid)));
        tasks.spawn(async move {
            let a = signed(&app, &shop, "orders/create", &same).await;
            let b = signed(&app, &shop, "orders/create", &other).await;
            (
                a.status,
                a.json["status"].clone(),
                b.status,
                b.json["status"].clone(),
            )
        });
    }
    let mut recorded = 0;
    while let Some(result) = tasks.join_next().await {
        let (a, a_status, b, b_status) = result.unwrap();
        assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
        assert_eq!(b_status, "recorded");
        recorded += usize::from(a_status == "recorded");
    }
    assert_eq!(recorded, 1, "the same order was recorded {recorded} times");
    assert_eq!(stored(&app, shop.merchant).await, (51, 51));
    let link = app.store.link_by_id(shop.link).await.unwrap();
    assert_eq!(
        (link.total_conversions, link.total_revenue),
        (51, "519.99".parse().unwrap())
    );
    totals_exact(&app, &shop).await;
}

/// Core's cap (250 products an order) holds for Shopify orders as for the API's
/// (`conversions.rs` › `orders_listing_more_than_250_products_are_refused`).
async fn shopify_orders_over_the_product_cap_are_refused_like_the_api_s(app: TestApp) {
    let shop = shop(&app).await;
    let with_products = |id: u64, n: u64| {
        let items: Vec<String> = (1..=n)
            .map(|p| format!(r#"{{"product_id": {p}, "quantity": 1}}"#))
            .collect();
        order(id, r#""40.50""#, None).replace(
            r#""line_items": [{"product_id": 1, "quantity": 1}]"#,
            &format!(r#""line_items": [{}]"#, items.join(", ")),
        )
    };
    let before = stored(&app, shop.merchant).await;
    let reply = signed(&app, &shop, "orders/create", &with_products(7001, 251)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(
        reply.json["fields"]["product_external_ids"].is_array(),
        "{}",
        reply.text
    );
    assert_eq!(stored(&app, shop.merchant).await, before, "nothing stored");
    let reply = signed(&app, &shop, "orders/create", &with_products(7002, 250)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["status"], "recorded", "{}", reply.text);
    assert_eq!(stored(&app, shop.merchant).await.0, before.0 + 1);
}

on_memory_and_postgres!(shopify_orders_over_the_product_cap_are_refused_like_the_api_s:
    shopify_orders_over_the_product_cap_are_refused_like_the_api_s_on_memory,
    shopify_orders_over_the_product_cap_are_refused_like_the_api_s_on_postgres);

on_memory_and_postgres!(concurrent_deliveries_store_one_conversion_per_order:
    concurrent_deliveries_store_one_conversion_per_order_on_memory,
    concurrent_deliveries_store_one_conversion_per_order_on_postgres);

#[tokio::test]
async fn the_webhook_secret_is_write_only_and_checked() {
    let app = TestApp::memory();
    let shop = shop(&app).await;
    let token = Some(shop.merchant_token.as_str());
    let path = "/v1/merchant/shopify-webhook-secret";
    for (bad, status) in [
        (json!({"secret": "  "}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"secret": "a\u{7}b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"secret": "x".repeat(1025)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"secret": 12}), StatusCode::BAD_REQUEST),
        (json!({"secret": "ok", "extra": 1}), StatusCode::BAD_REQUEST),
    ] {
        let reply = app.call(Method::PUT, path, token, Some(bad.clone())).await;
        assert_eq!(reply.status, status, "{bad}: {}", reply.text);
    }
    // The refused values left the stored secret alone.
    let stored = app
        .store
        .shopify_webhook_secret(shop.merchant)
        .await
        .unwrap();
    assert_eq!(stored, Some(shop.secret.clone()));
    for route in ["/v1/merchant", "/v1/me"] {
        let reply = app.call(Method::GET, route, token, None).await;
        assert!(
            !reply.text.contains(shop.secret.expose()),
            "{route} shows the secret"
        );
    }
    // A new secret replaces the old one at once.
    let reply = app
        .call(
            Method::PUT,
            path,
            token,
            Some(json!({"secret": "rotated-secret"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let body = order(5005, r#""10.00""#, None);
    let old = signed(&app, &shop, "orders/create", &body).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = sign(&Secret::parse("rotated-secret").unwrap(), body.as_bytes());
    let reply = deliver(
        &app,
        &shop.merchant.to_string(),
        Some("orders/create"),
        Some(&new),
        body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        app.store
            .merchant_by_id(shop.merchant)
            .await
            .unwrap()
            .total_sales,
        rust_decimal::Decimal::ZERO,
        "an unattributed order adds no attributed sales"
    );
}

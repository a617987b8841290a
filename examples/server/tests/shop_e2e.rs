//! A shop's life through the real `skinstack-server` process on PostgreSQL, over HTTP only:
//! accounts, program, link and webhook secret set up through the API, a shopper's redirect,
//! Shopify's signed `orders/create` and `refunds/create` webhooks, `approve-due` and
//! `payouts create` as processes, with every total checked exactly after each step; hostile
//! deliveries refused with nothing stored; concurrent deliveries recorded once per order.

// A failed step must fail the test, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::{block_on, cli_lines, merchant_pays, FreshDatabase, Server, SECRET_KEY};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use skinstack_core::earning::ledger::ConversionFilter;
use skinstack_core::shopify::sign;
use skinstack_core::store::LedgerQueries;
use skinstack_core::testkit::conversions::assert_totals_match_ledger;
use skinstack_core::Page;
use skinstack_core::{InfluencerId, LinkId, MerchantId, Secret};
use skinstack_pg::{Cipher, PgStore};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// An answer: status, head (lower-cased header lines), body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request over a fresh connection, with `headers` and a raw `body`.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse(&response)
}

fn parse(response: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_lowercase(),
        body: body.to_owned(),
    }
}

/// A JSON API call as `token`, asserting the status; the JSON answer.
async fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    expect: u16,
) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let answer = send(addr, method, path, &headers, body.as_bytes()).await;
    assert_eq!(answer.status, expect, "{method} {path}: {}", answer.body);
    answer.json()
}

/// Registers and logs in an account of `role`; its token.
async fn account(addr: SocketAddr, role: &str) -> String {
    let email = format!("{role}-{}@example.com", Uuid::new_v4().simple());
    let credentials = json!({"email": email, "password": PASSWORD});
    let mut register = credentials.clone();
    register["role"] = json!(role);
    api(addr, "POST", "/v1/auth/register", None, Some(register), 201).await;
    let login = api(addr, "POST", "/v1/auth/login", None, Some(credentials), 200).await;
    login["token"].as_str().unwrap().to_owned()
}

fn uuid_of(value: &Value) -> Uuid {
    Uuid::parse_str(value["id"].as_str().unwrap()).unwrap()
}

/// A merchant with a 20 % program and a webhook secret; an influencer with a link to it.
struct Shop {
    merchant_token: String,
    influencer_token: String,
    merchant: MerchantId,
    influencer: InfluencerId,
    link: LinkId,
    slug: String,
    secret: Secret,
}

async fn shop(addr: SocketAddr, db_url: &str, influencer_name: &str, paypal: &str) -> Shop {
    shop_in(addr, db_url, influencer_name, paypal, "USD").await
}

/// A shop whose merchant settles in `currency`.
async fn shop_in(
    addr: SocketAddr,
    db_url: &str,
    influencer_name: &str,
    paypal: &str,
    currency: &str,
) -> Shop {
    let mer = account(addr, "merchant").await;
    let merchant = api(
        addr,
        "POST",
        "/v1/merchant",
        Some(&mer),
        Some(
            json!({"business_name": "Glow Co", "website_url": "https://glowco.com",
                    "currency": currency}),
        ),
        201,
    )
    .await;
    assert_eq!(merchant["currency"], currency);
    // The operator verifies the brand: only then do its links redirect.
    cli_lines(
        db_url,
        &["merchants", "verify", merchant["id"].as_str().unwrap()],
    );
    let program = api(
        addr,
        "POST",
        "/v1/programs",
        Some(&mer),
        Some(
            json!({"name": "Glow Ambassadors", "network": "shopify_refersion",
            "commission_type": "percentage", "commission_rate": "20", "cookie_window_days": 30,
            "enrollment_mode": "open"}),
        ),
        201,
    )
    .await;
    let secret = format!("shpss_{}", Uuid::new_v4().simple());
    api(
        addr,
        "PUT",
        "/v1/merchant/shopify-webhook-secret",
        Some(&mer),
        Some(json!({ "secret": secret })),
        204,
    )
    .await;
    let inf = account(addr, "influencer").await;
    let influencer = api(
        addr,
        "POST",
        "/v1/influencer",
        Some(&inf),
        Some(
            json!({"display_name": influencer_name, "paypal_email": paypal,
            "preferred_payout_method": "paypal"}),
        ),
        201,
    )
    .await;
    let link = api(
        addr,
        "POST",
        "/v1/links",
        Some(&inf),
        Some(json!({"program_id": program["id"]})),
        201,
    )
    .await;
    Shop {
        merchant_token: mer,
        influencer_token: inf,
        merchant: MerchantId::from_uuid(uuid_of(&merchant)),
        influencer: InfluencerId::from_uuid(uuid_of(&influencer)),
        link: LinkId::from_uuid(uuid_of(&link)),
        slug: link["slug"].as_str().unwrap().to_owned(),
        secret: Secret::parse(&secret).unwrap(),
    }
}

/// A shopper follows the link: the `ssclid` of the 302, once the server has stored its click.
async fn shopper_clicks(addr: SocketAddr, shop: &Shop) -> String {
    let answer = send(
        addr,
        "GET",
        &format!("/{}", shop.slug),
        &[(
            "User-Agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
        )],
        b"",
    )
    .await;
    assert_eq!(answer.status, 302, "{}", answer.head);
    let location = answer
        .head
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .unwrap()
        .to_owned();
    let ssclid = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("ssclid="))
        .unwrap()
        .to_owned();
    let path = format!("/v1/links/{}", shop.link);
    for _ in 0..100 {
        let link = api(addr, "GET", &path, Some(&shop.influencer_token), None, 200).await;
        if link["total_clicks"] == 1 {
            return ssclid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the click was not flushed within 5 s");
}

fn order_body(id: u64, subtotal: &str, ssclid: &str) -> String {
    format!(
        r#"{{"id": {id}, "created_at": "{}", "currency": "USD",
            "current_subtotal_price": "{subtotal}", "total_price": "{subtotal}",
            "landing_site": "/products/vitamin-c-serum?utm_source=skinstack&ssclid={ssclid}",
            "discount_codes": [], "line_items": [{{"product_id": 8123456789, "quantity": 2}}]}}"#,
        Utc::now().to_rfc3339(),
    )
}

fn refund_body(id: u64, order_id: u64, amount: &str) -> String {
    format!(
        r#"{{"id": {id}, "order_id": {order_id}, "refund_line_items": [{{"quantity": 1,
            "subtotal_set": {{"shop_money": {{"amount": "{amount}", "currency_code": "USD"}}}}}}],
            "transactions": [{{"kind": "refund", "amount": "{amount}"}}]}}"#
    )
}

/// A webhook delivery to `merchant`, with the given topic and signature headers.
async fn webhook(
    addr: SocketAddr,
    merchant: &str,
    topic: Option<&str>,
    hmac: Option<&str>,
    body: &[u8],
) -> Answer {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(topic) = topic {
        headers.push(("X-Shopify-Topic", topic));
    }
    if let Some(hmac) = hmac {
        headers.push(("X-Shopify-Hmac-Sha256", hmac));
    }
    let path = format!("/webhooks/shopify/{merchant}");
    send(addr, "POST", &path, &headers, body).await
}

/// A delivery signed with the shop's secret.
async fn signed(addr: SocketAddr, shop: &Shop, topic: &str, body: &str) -> Answer {
    let hmac = sign(&shop.secret, body.as_bytes());
    let merchant = shop.merchant.to_string();
    webhook(addr, &merchant, Some(topic), Some(&hmac), body.as_bytes()).await
}

async fn store(url: &str) -> PgStore {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    PgStore::new(pool, Some(Cipher::from_key_base64(SECRET_KEY).unwrap()))
}

/// (conversions, ledger events) stored for `merchant`.
async fn stored(store: &PgStore, merchant: MerchantId) -> (usize, usize) {
    let mut conversions = 0;
    let mut page = Page::largest(None);
    loop {
        let batch = store
            .conversions_by_merchant(merchant, ConversionFilter::All, page)
            .await
            .unwrap();
        conversions += batch.len();
        match batch.last() {
            Some(last) => page = Page::largest(Some(last.conversion.id)),
            None => break,
        }
    }
    let events = store.events_by_merchant(merchant).await.unwrap().len();
    (conversions, events)
}

fn dec(value: &str) -> Decimal {
    value.parse().unwrap()
}

/// What the API shows of the totals: (link clicks, conversions, revenue, commission),
/// (influencer earned, paid), (merchant sales, commissions paid).
#[derive(Debug, PartialEq)]
struct Shown {
    link: (i64, i64, Decimal, Decimal),
    influencer: (Decimal, Decimal),
    merchant: (Decimal, Decimal),
}

async fn shown(addr: SocketAddr, shop: &Shop) -> Shown {
    let money = |v: &Value| dec(v.as_str().unwrap());
    let link = api(
        addr,
        "GET",
        &format!("/v1/links/{}", shop.link),
        Some(&shop.influencer_token),
        None,
        200,
    )
    .await;
    let influencer = api(
        addr,
        "GET",
        "/v1/influencer",
        Some(&shop.influencer_token),
        None,
        200,
    )
    .await;
    let merchant = api(
        addr,
        "GET",
        "/v1/merchant",
        Some(&shop.merchant_token),
        None,
        200,
    )
    .await;
    Shown {
        link: (
            link["total_clicks"].as_i64().unwrap(),
            link["total_conversions"].as_i64().unwrap(),
            money(&link["total_revenue"]),
            money(&link["total_commission"]),
        ),
        influencer: (
            money(&influencer["total_earned"]),
            money(&influencer["total_paid"]),
        ),
        merchant: (
            money(&merchant["total_sales"]),
            money(&merchant["total_commissions_paid"]),
        ),
    }
}

#[test]
fn a_shop_s_order_is_paid_out_and_a_later_partial_refund_carries_a_negative_balance() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    let addr = server.addr;
    let url = db.url.clone();
    let out_dir = std::env::temp_dir().join(format!("skinstack-shop-e2e-{}", Uuid::new_v4()));
    let out = out_dir.to_str().unwrap().to_owned();
    block_on(async {
        let ana = shop(addr, &db.url, "Ana Glow", "ana@paypal.example.com").await;
        let pg = store(&url).await;
        let exact = |step: &'static str| {
            let pg = pg.clone();
            let (merchant, link, influencer) = (ana.merchant, ana.link, ana.influencer);
            async move {
                assert_totals_match_ledger(&pg, merchant, &[link], &[influencer]).await;
                eprintln!("totals exact after: {step}");
            }
        };
        let ssclid = shopper_clicks(addr, &ana).await;

        // The shop reports a 400.00 order the shopper placed after the click.
        let order = order_body(820982911946154508, "400.00", &ssclid);
        let answer = signed(addr, &ana, "orders/create", &order).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let reply = answer.json();
        assert_eq!(
            (&reply["status"], &reply["attributed"]),
            (&json!("recorded"), &json!(true))
        );
        // Shopify's retry changes nothing.
        let again = signed(addr, &ana, "orders/create", &order).await.json();
        assert_eq!(again["status"], "duplicate");
        assert_eq!(again["conversion_id"], reply["conversion_id"]);
        assert_eq!(stored(&pg, ana.merchant).await, (1, 1));
        // 400.00 at 20 %: 80.00, of which the platform keeps 16.00 and Ana earns 64.00.
        let summary = pg
            .earnings_summary(ana.influencer)
            .await
            .unwrap()
            .pop()
            .expect("a USD summary");
        assert_eq!(
            (summary.pending, summary.approved, summary.balance),
            (dec("64.00"), dec("0"), dec("64.00"))
        );
        assert_eq!(
            shown(addr, &ana).await,
            Shown {
                link: (1, 1, dec("400.00"), dec("80.00")),
                influencer: (dec("64.00"), dec("0")),
                merchant: (dec("400.00"), dec("0")),
            }
        );
        exact("the order").await;

        // Nothing is due before the hold ends; 31 days later it is.
        let today = Utc::now().to_rfc3339();
        assert_eq!(
            cli_lines(&url, &["approve-due", "--as-of", &today]),
            vec![format!("approved 0 conversions as of {today}")]
        );
        let later = (Utc::now() + Duration::days(31)).to_rfc3339();
        assert_eq!(
            cli_lines(&url, &["approve-due", "--as-of", &later]),
            vec![format!("approved 1 conversion as of {later}")]
        );
        let summary = pg
            .earnings_summary(ana.influencer)
            .await
            .unwrap()
            .pop()
            .expect("a USD summary");
        assert_eq!(
            (
                summary.pending,
                summary.awaiting_merchant,
                summary.approved,
                summary.balance
            ),
            (dec("0"), dec("64.00"), dec("0"), dec("64.00"))
        );
        exact("approval").await;

        // Unfunded: until the merchant's statement is paid, nothing is paid out.
        let unfunded = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "50.00", "--out", &out, "--as-of", &later,
            ],
        );
        assert_eq!(unfunded[0], "nothing to pay", "{unfunded:?}");
        assert!(unfunded[1].ends_with("awaiting the merchant (its statement is not paid yet)"));
        // The statement bills the 80.00 gross commission; the operator records the payment.
        let (_, rows) = merchant_pays(&url, &later);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(&rows[0][6..9], ["80.00", "16.00", "64.00"]);
        exact("the merchant's payment").await;

        // The payout file.
        let args = [
            "payouts", "create", "--min", "50.00", "--out", &out, "--as-of", &later,
        ];
        let lines = cli_lines(&url, &args);
        assert!(lines[0].ends_with(": 1 payout, 64.00 USD"), "{lines:?}");
        let file = lines[1].strip_prefix("wrote ").unwrap();
        assert!(file.ends_with("-paypal.csv"), "{file}");
        let csv = std::fs::read_to_string(file).unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 2, "{csv}");
        assert_eq!(
            rows[0],
            "influencer_id,display_name,payout_account,amount,currency,reference"
        );
        let prefix = format!(
            "{},Ana Glow,ana@paypal.example.com,64.00,USD,skinstack-",
            ana.influencer
        );
        assert!(rows[1].starts_with(&prefix), "{csv}");
        assert_eq!(cli_lines(&url, &args), vec!["nothing to pay"]);
        assert_eq!(
            shown(addr, &ana).await,
            Shown {
                link: (1, 1, dec("400.00"), dec("80.00")),
                influencer: (dec("64.00"), dec("64.00")),
                merchant: (dec("400.00"), dec("80.00")),
            }
        );
        exact("the payout").await;

        // Half the order comes back after the payout.
        let refund = refund_body(509562969, 820982911946154508, "200.00");
        let answer = signed(addr, &ana, "refunds/create", &refund).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["status"], "recorded");
        let again = signed(addr, &ana, "refunds/create", &refund).await;
        assert_eq!(again.json()["status"], "duplicate");
        // Approval and payout ran "31 days later", so they sort after the refund by time.
        let mut events: Vec<_> = pg
            .events_by_merchant(ana.merchant)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.kind.as_str(), e.split.influencer_earnings))
            .collect();
        events.sort();
        assert_eq!(
            events,
            [
                ("accrued", dec("64.00")),
                ("approved", dec("64.00")),
                ("paid", dec("64.00")),
                ("reversed", dec("-32.00")),
            ]
        );
        let summary = pg
            .earnings_summary(ana.influencer)
            .await
            .unwrap()
            .pop()
            .expect("a USD summary");
        assert_eq!(
            (summary.awaiting_merchant, summary.paid, summary.balance),
            (dec("-32.00"), dec("64.00"), dec("-32.00"))
        );
        assert_eq!(
            shown(addr, &ana).await,
            Shown {
                link: (1, 1, dec("200.00"), dec("40.00")),
                influencer: (dec("32.00"), dec("64.00")),
                merchant: (dec("200.00"), dec("80.00")),
            }
        );
        exact("the refund after the payout").await;

        // The refund is a credit on next month's statement; once it is settled, the debt is
        // carried to the next payout, not paid.
        let next_month = skinstack_core::BillingPeriod::containing(
            chrono::DateTime::parse_from_rfc3339(&later)
                .unwrap()
                .with_timezone(&Utc),
        )
        .end()
        .to_rfc3339();
        let (_, credit) = merchant_pays(&url, &next_month);
        assert_eq!(
            &credit[0][4..9],
            [
                "credit",
                &ana.influencer.to_string(),
                "-40.00",
                "-8.00",
                "-32.00"
            ]
        );
        let lines = cli_lines(
            &url,
            &[
                "payouts", "create", "--min", "0.01", "--out", &out, "--as-of", &later,
            ],
        );
        assert_eq!(
            lines,
            vec![
                "nothing to pay".to_owned(),
                format!(
                    "skipped influencer {} balance -32.00 USD: not positive (carried to the next payout)",
                    ana.influencer
                )
            ]
        );
        exact("the carried balance").await;
    });
    let (ok, _) = server.stop();
    assert!(ok);
    std::fs::remove_dir_all(&out_dir).unwrap();
}

/// A 10 MB body to a server that refuses after 1 MiB: the answer, or `None` if the server
/// closed the connection before the client could read one.
async fn ten_megabytes(addr: SocketAddr, shop: &Shop) -> Option<Answer> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let hmac = sign(&shop.secret, b"{}");
    let head = format!(
        "POST /webhooks/shopify/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Shopify-Topic: orders/create\r\nX-Shopify-Hmac-Sha256: {hmac}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        shop.merchant,
        10 * 1024 * 1024
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..160 {
            write.write_all(&chunk).await?;
        }
        std::io::Result::Ok(())
    });
    let mut response = Vec::new();
    let read = read.read_to_end(&mut response).await;
    writer.abort();
    (read.is_ok() || !response.is_empty()).then(|| parse(&response))
}

#[test]
fn hostile_deliveries_to_the_real_server_are_refused_and_store_nothing() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    let addr = server.addr;
    let url = db.url.clone();
    block_on(async {
        let ana = shop(addr, &db.url, "Ana Glow", "ana@paypal.example.com").await;
        let pg = store(&url).await;
        // The secret set through the API is stored encrypted and shown by no route.
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let column: String =
            sqlx::query_scalar("SELECT shopify_webhook_secret FROM merchants WHERE id = $1")
                .bind(ana.merchant.as_uuid())
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(!column.contains(ana.secret.expose()), "stored in plaintext");
        let profile = send(
            addr,
            "GET",
            "/v1/merchant",
            &[("Authorization", &format!("Bearer {}", ana.merchant_token))],
            b"",
        )
        .await;
        assert_eq!(profile.status, 200);
        assert!(!profile.body.contains(ana.secret.expose()));
        let ssclid = shopper_clicks(addr, &ana).await;
        let me = ana.merchant.to_string();
        let order = order_body(1001, "40.50", &ssclid);
        let good = sign(&ana.secret, order.as_bytes());
        let wrong = sign(&Secret::parse("not the shop's").unwrap(), order.as_bytes());
        let stranger = Uuid::new_v4().to_string();
        let truncated = &order.as_bytes()[..order.len() - 10];

        let mut unauthorized = Vec::new();
        for (why, merchant, hmac, body) in [
            ("wrong HMAC", &me, Some(wrong.as_str()), order.as_bytes()),
            ("missing HMAC", &me, None, order.as_bytes()),
            (
                "unknown merchant",
                &stranger,
                Some(good.as_str()),
                order.as_bytes(),
            ),
            ("truncated body", &me, Some(good.as_str()), truncated),
        ] {
            let answer = webhook(addr, merchant, Some("orders/create"), hmac, body).await;
            assert_eq!(answer.status, 401, "{why}: {}", answer.body);
            unauthorized.push(answer.json());
        }
        assert!(unauthorized.iter().all(|json| json == &unauthorized[0]));

        let euro = order.replace(r#""currency": "USD""#, r#""currency": "EUR""#);
        let number = order.replace(
            r#""current_subtotal_price": "40.50""#,
            r#""current_subtotal_price": 40.5"#,
        );
        // Signed but never recordable: acknowledged (Shopify would retry a 4xx and then delete
        // the subscription), kept with its reason, nothing recorded.
        for (why, body, reason) in [
            ("non-USD order", euro, "unsupported_currency"),
            ("subtotal as a JSON number", number, "malformed_payload"),
            (
                "malformed JSON",
                order[..order.len() / 2].to_owned(),
                "malformed_payload",
            ),
        ] {
            let answer = signed(addr, &ana, "orders/create", &body).await;
            assert_eq!(answer.status, 200, "{why}: {}", answer.body);
            let reply = answer.json();
            assert_eq!(
                (&reply["status"], &reply["reason"]),
                (&json!("rejected"), &json!(reason)),
                "{why}"
            );
            assert!(reply["message"].is_string(), "{why}");
        }
        let euro = signed(addr, &ana, "orders/create", &order.replace("USD", "EUR")).await;
        assert!(euro.body.contains("recorded in USD"), "{}", euro.body);

        match ten_megabytes(addr, &ana).await {
            Some(answer) => {
                assert_eq!(answer.status, 413, "{}", answer.head);
                assert_eq!(answer.json()["error"], "payload_too_large");
            }
            None => eprintln!("the server closed the connection before its 413 could be read"),
        }
        // Still serving, and nothing of all that was stored.
        api(addr, "GET", "/healthz", None, None, 200).await;
        assert_eq!(stored(&pg, ana.merchant).await, (0, 0));

        // The genuine delivery, replayed: one conversion.
        for expected in ["recorded", "duplicate", "duplicate"] {
            let answer = signed(addr, &ana, "orders/create", &order).await;
            assert_eq!(answer.json()["status"], expected, "{}", answer.body);
        }
        assert_eq!(stored(&pg, ana.merchant).await, (1, 1));
        assert_totals_match_ledger(&pg, ana.merchant, &[ana.link], &[ana.influencer]).await;
    });
    let (ok, _) = server.stop();
    assert!(ok);
}

#[test]
fn fifty_concurrent_deliveries_of_one_order_store_one_and_fifty_orders_reusing_its_click_attribute_none(
) {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    let addr = server.addr;
    let url = db.url.clone();
    block_on(async {
        let ana =
            std::sync::Arc::new(shop(addr, &db.url, "Ana Glow", "ana@paypal.example.com").await);
        let pg = store(&url).await;
        let ssclid = shopper_clicks(addr, &ana).await;

        let same = order_body(4242, "19.99", &ssclid);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (ana, same) = (ana.clone(), same.clone());
            tasks.spawn(async move { signed(addr, &ana, "orders/create", &same).await });
        }
        let mut statuses = Vec::new();
        while let Some(answer) = tasks.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.status, 200, "{}", answer.body);
            statuses.push(answer.json()["status"].as_str().unwrap().to_owned());
        }
        let recorded = statuses.iter().filter(|s| *s == "recorded").count();
        assert_eq!((recorded, statuses.len()), (1, 50), "{statuses:?}");
        assert_eq!(stored(&pg, ana.merchant).await, (1, 1));

        // The click id stuffed into fifty other shoppers' sessions: one click is one order, so
        // each of these is recorded, unattributed, and counted as click reuse.
        for i in 0..50u64 {
            let (ana, body) = (ana.clone(), order_body(5000 + i, "10.00", &ssclid));
            tasks.spawn(async move { signed(addr, &ana, "orders/create", &body).await });
        }
        while let Some(answer) = tasks.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.status, 200, "{}", answer.body);
            let reply = answer.json();
            assert_eq!(
                (&reply["status"], &reply["attributed"]),
                (&json!("recorded"), &json!(false)),
                "{reply}"
            );
        }
        assert_eq!(stored(&pg, ana.merchant).await, (51, 1));
        // 19.99 at 20 %: 4.00 (3.998); the reused click's orders earn nothing.
        assert_eq!(
            shown(addr, &ana).await,
            Shown {
                link: (1, 1, dec("19.99"), dec("4.00")),
                influencer: (dec("3.20"), dec("0")),
                // Sales totals follow the ledger: unattributed orders move none.
                merchant: (dec("19.99"), dec("0")),
            }
        );
        let metrics = send(addr, "GET", "/metrics", &[], b"").await.body;
        assert!(
            metrics.contains("skinstack_fraud_signals{signal=\"click_reuse\"} 50"),
            "{metrics}"
        );
        assert_totals_match_ledger(&pg, ana.merchant, &[ana.link], &[ana.influencer]).await;
    });
    let (ok, _) = server.stop();
    assert!(ok);
}

#[test]
fn a_self_referral_through_a_signed_order_is_held_never_approved_and_never_paid() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    let addr = server.addr;
    let url = db.url.clone();
    let out_dir = std::env::temp_dir().join(format!("skinstack-self-e2e-{}", Uuid::new_v4()));
    let out = out_dir.to_str().unwrap().to_owned();
    block_on(async {
        let ana = shop(addr, &db.url, "Ana Glow", "ana@paypal.example.com").await;
        let pg = store(&url).await;
        let me = api(
            addr,
            "GET",
            "/v1/me",
            Some(&ana.influencer_token),
            None,
            200,
        )
        .await;
        let own = me["email"].as_str().unwrap().replacen('@', "+glow@", 1);
        // Ana follows her own link and buys, from the network she clicked from.
        let ssclid = shopper_clicks(addr, &ana).await;
        let body = order_body(77001, "100.00", &ssclid).replacen(
            r#""currency": "USD","#,
            &format!(
                r#""currency": "USD", "email": "{}", "browser_ip": "127.0.0.9","#,
                own.to_uppercase()
            ),
            1,
        );
        let answer = signed(addr, &ana, "orders/create", &body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["attributed"], json!(true), "{}", answer.body);
        let page = api(
            addr,
            "GET",
            "/v1/merchant/conversions",
            Some(&ana.merchant_token),
            None,
            200,
        )
        .await;
        let c = &page["items"][0];
        assert_eq!(c["signals"], json!(["self_referral"]), "{c}");
        assert_eq!(c["hold_reasons"], json!(["self_referral"]));
        assert_eq!(c["status"], "held");

        let later = (Utc::now() + Duration::days(31)).to_rfc3339();
        assert_eq!(
            cli_lines(&url, &["approve-due", "--as-of", &later]),
            vec![format!("approved 0 conversions as of {later}")]
        );
        // Held, it is not billed to the merchant either, so nothing can be funded.
        let period = &later[..7];
        assert_eq!(
            cli_lines(
                &url,
                &["invoices", "create", "--period", period, "--as-of", &later]
            ),
            vec![format!(
                "nothing to bill for merchant {} in {period}",
                ana.merchant
            )]
        );
        let args = [
            "payouts", "create", "--min", "0.01", "--out", &out, "--as-of", &later,
        ];
        assert_eq!(cli_lines(&url, &args), vec!["nothing to pay"]);
        let summary = pg
            .earnings_summary(ana.influencer)
            .await
            .unwrap()
            .pop()
            .expect("a USD summary");
        assert_eq!((summary.approved, summary.paid), (dec("0"), dec("0")));
        assert_totals_match_ledger(&pg, ana.merchant, &[ana.link], &[ana.influencer]).await;
        let metrics = send(addr, "GET", "/metrics", &[], b"").await.body;
        assert!(
            metrics.contains("skinstack_fraud_signals{signal=\"self_referral\"} 1")
                && metrics.contains("skinstack_fraud_signals{signal=\"shopper_mismatch\"} 0"),
            "{metrics}"
        );
    });
    let _ = std::fs::remove_dir_all(&out_dir);
    let (ok, _) = server.stop();
    assert!(ok);
}

/// The verbatim Shopify capture of an Argentinian development store, as a test copy: the
/// shopper arrived through `ssclid`, ordered now (the capture is older than the order
/// window), from the network they clicked from (the capture's `browser_ip` is another one).
fn ars_capture(ssclid: &str) -> String {
    let capture = include_str!("../../../skinstack-core/tests/fixtures/shopify-orders-create.json");
    let mut order: Value = serde_json::from_str(capture).unwrap();
    assert_eq!(order["currency"], "ARS");
    order["landing_site"] = json!(format!("/?utm_source=skinstack&ssclid={ssclid}"));
    order["created_at"] = json!(Utc::now().to_rfc3339());
    order.as_object_mut().unwrap().remove("browser_ip");
    order["client_details"]["browser_ip"] = Value::Null;
    order.to_string()
}

#[test]
fn the_captured_ars_order_runs_the_whole_loop_for_an_ars_shop_and_is_rejected_by_a_usd_one() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url));
    let addr = server.addr;
    let url = db.url.clone();
    let out_dir = std::env::temp_dir().join(format!("skinstack-ars-e2e-{}", Uuid::new_v4()));
    let out = out_dir.to_str().unwrap().to_owned();
    block_on(async {
        let pesos = shop_in(addr, &db.url, "Ana Glow", "ana@paypal.example.com", "ARS").await;
        // The default maximum order, 10 000.00, is in the merchant's currency: ARS 10,000 is
        // a small order, so this shop sets its own.
        api(
            addr,
            "PUT",
            "/v1/merchant/max-order-amount",
            Some(&pesos.merchant_token),
            Some(json!({"max_order_amount": "50000000.00"})),
            200,
        )
        .await;
        let dollars = shop(addr, &db.url, "Bo Bright", "bo@paypal.example.com").await;
        let pg = store(&url).await;

        // The USD shop's signed delivery of the ARS order: acknowledged, kept, nothing stored.
        let ssclid = shopper_clicks(addr, &dollars).await;
        let answer = signed(addr, &dollars, "orders/create", &ars_capture(&ssclid)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let reply = answer.json();
        assert_eq!(
            (&reply["status"], &reply["reason"]),
            (&json!("rejected"), &json!("unsupported_currency")),
            "{}",
            answer.body
        );
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .contains("recorded in USD"),
            "{reply}"
        );
        assert_eq!(stored(&pg, dollars.merchant).await, (0, 0));
        let kept = api(
            addr,
            "GET",
            "/v1/merchant/webhook-deliveries",
            Some(&dollars.merchant_token),
            None,
            200,
        )
        .await;
        assert_eq!(kept["items"][0]["reason"], "unsupported_currency", "{kept}");

        // The ARS shop's: recorded and attributed, in pesos.
        let ssclid = shopper_clicks(addr, &pesos).await;
        let answer = signed(addr, &pesos, "orders/create", &ars_capture(&ssclid)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let reply = answer.json();
        assert_eq!(
            (&reply["status"], &reply["attributed"]),
            (&json!("recorded"), &json!(true)),
            "{}",
            answer.body
        );
        let page = api(
            addr,
            "GET",
            "/v1/merchant/conversions",
            Some(&pesos.merchant_token),
            None,
            200,
        )
        .await;
        let c = &page["items"][0];
        assert_eq!(
            (&c["currency"], &c["amount"]),
            (&json!("ARS"), &json!("1450000.00")),
            "{c}"
        );
        // 20 % of ARS 1,450,000.00: 290,000.00, of which the platform keeps 58,000.00.
        assert_eq!(c["commission"]["gross"], "290000.00", "{c}");
        let earnings = api(
            addr,
            "GET",
            "/v1/influencer/earnings",
            Some(&pesos.influencer_token),
            None,
            200,
        )
        .await;
        assert_eq!(
            earnings["balances"],
            json!([{"currency": "ARS", "pending": "232000.00", "approved": "0.00",
                    "awaiting_merchant": "0.00", "paid": "0.00", "balance": "232000.00"}])
        );
        assert_eq!(
            earnings["currency"], "ARS",
            "the first currency earned in is primary"
        );

        // Approved, billed in ARS, paid by the merchant, paid out in ARS.
        let later = (Utc::now() + Duration::days(31)).to_rfc3339();
        assert_eq!(
            cli_lines(&url, &["approve-due", "--as-of", &later]),
            vec![format!("approved 1 conversion as of {later}")]
        );
        let (_, rows) = merchant_pays(&url, &later);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            &rows[0][6..10],
            ["290000.00", "58000.00", "232000.00", "ARS"]
        );
        let args = [
            "payouts", "create", "--min", "50.00", "--out", &out, "--as-of", &later,
        ];
        let lines = cli_lines(&url, &args);
        assert!(lines[0].ends_with(": 1 payout, 232000.00 ARS"), "{lines:?}");
        let file = lines[1].strip_prefix("wrote ").unwrap();
        let csv = std::fs::read_to_string(file).unwrap();
        let prefix = format!(
            "{},Ana Glow,ana@paypal.example.com,232000.00,ARS,skinstack-",
            pesos.influencer
        );
        assert!(csv.lines().nth(1).unwrap().starts_with(&prefix), "{csv}");
        assert_totals_match_ledger(&pg, pesos.merchant, &[pesos.link], &[pesos.influencer]).await;
        // The merchant cannot move to another currency now.
        api(
            addr,
            "PATCH",
            "/v1/merchant",
            Some(&pesos.merchant_token),
            Some(json!({"currency": "USD"})),
            409,
        )
        .await;
    });
    let _ = std::fs::remove_dir_all(out_dir);
}

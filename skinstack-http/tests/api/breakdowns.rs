//! Breakdowns through the API: a link's, an influencer's, a program's and a merchant's clicks
//! and conversions split by a dimension, as JSON and as CSV, with the daily series' date rules
//! and CSV cells a spreadsheet cannot run.

use crate::helpers::*;
use axum::http::{header, Method, StatusCode};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use skinstack_core::{Click, ClickSource, Country, LinkId};

const INSTAGRAM_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21B74 Instagram 309.0.0.40.113";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// A merchant with a 20 % program (20 % platform fee) and a product, an influencer with a link
/// to it that owns the coupon code `SPLIT20`, and the merchant's API key.
struct Shop {
    merchant: String,
    influencer: String,
    key: String,
    program: String,
    link: String,
}

async fn shop(app: &TestApp, product_name: &str) -> Shop {
    let (merchant, _) = app.account("merchant").await;
    app.create(&merchant, "/v1/merchant", merchant_profile())
        .await;
    let program = app.create(&merchant, "/v1/programs", program_json()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut product = product_json(Some(&program));
    product["name"] = json!(product_name);
    let product = app.create(&merchant, "/v1/products", product).await;
    let (influencer, _) = app.account("influencer").await;
    app.create(&influencer, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(
            &influencer,
            "/v1/links",
            json!({"program_id": program, "product_id": product["id"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create(
        &merchant,
        "/v1/merchant/coupon-codes",
        json!({"link_id": link, "code": "SPLIT20"}),
    )
    .await;
    let key = app
        .create(
            &merchant,
            "/v1/merchant/api-keys",
            json!({"name": "Orders"}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    Shop {
        merchant,
        influencer,
        key,
        program,
        link,
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn country(code: &str) -> Option<Country> {
    Some(Country::parse(code).unwrap())
}

/// Four clicks on the shop's link (from Instagram in the US, a QR scan in the US, a desktop in
/// Germany, a robot from nowhere), an order of 45.00 by the first click and one by coupon:
/// each earns a 9.00 commission, 7.20 of it the influencer's. The first click, for its day.
async fn traffic(app: &TestApp, s: &Shop) -> Click {
    let link = LinkId::from_uuid(s.link.parse().unwrap());
    let instagram = Click::new(
        link,
        None,
        Some(INSTAGRAM_IPHONE),
        Some("https://l.instagram.com/?u=x"),
    )
    .in_country(country("US"));
    let clicks = [
        instagram.clone(),
        Click::new(link, None, Some(SAFARI_IPHONE), None)
            .from_source(ClickSource::Qr)
            .in_country(country("US")),
        Click::new(
            link,
            None,
            Some(CHROME_WINDOWS),
            Some("https://www.google.de/search?q=serum"),
        )
        .in_country(country("DE")),
        Click::new(link, None, Some(GOOGLEBOT), None),
    ];
    app.store.record_clicks(&clicks).await.unwrap();
    let order = |id: &str| {
        json!({"order_id": id, "amount": "45.00", "currency": "USD",
               "ordered_at": rfc3339(Utc::now())})
    };
    let mut by_click = order("split-1");
    by_click["ordered_at"] = json!(rfc3339(instagram.at + Duration::seconds(5)));
    by_click["click_id"] = json!(instagram.id.to_string());
    let mut by_coupon = order("split-2");
    by_coupon["coupon_code"] = json!("SPLIT20");
    for (body, by) in [(by_click, "click"), (by_coupon, "coupon")] {
        let reply = app
            .call(Method::POST, "/v1/conversions", Some(&s.key), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        assert_eq!(reply.json["attribution"]["by"], by, "{}", reply.text);
        assert_eq!(reply.json["commission"]["influencer_earnings"], "7.20");
    }
    instagram
}

async fn get(app: &TestApp, token: &str, path: &str) -> Reply {
    let reply = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
    reply
}

fn usd(conversions: i64, revenue: &str, earnings: &str, epc: Value) -> Value {
    let commission = if revenue == "90.00" { "18.00" } else { "9.00" };
    json!({"currency": "USD", "conversions": conversions, "revenue": revenue,
           "commission": commission, "earnings": earnings, "epc": epc})
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

on_both_stores! {
    a_links_clicks_and_conversions_split_by_source_and_country_with_exact_figures
        => a_link_breaks_down_by_source_and_country_on_memory,
           a_link_breaks_down_by_source_and_country_on_postgres;
    a_merchants_breakdown_downloads_as_csv_one_line_per_value_and_currency
        => a_merchant_breakdown_downloads_as_csv_on_memory,
           a_merchant_breakdown_downloads_as_csv_on_postgres;
    dates_follow_the_daily_series_rules_and_unknown_dimensions_name_the_known_ones
        => breakdown_dates_and_dimensions_are_checked_on_memory,
           breakdown_dates_and_dimensions_are_checked_on_postgres;
    labels_and_values_a_spreadsheet_would_run_are_written_as_text
        => hostile_labels_are_inert_in_breakdown_csv_on_memory,
           hostile_labels_are_inert_in_breakdown_csv_on_postgres;
}

async fn a_links_clicks_and_conversions_split_by_source_and_country_with_exact_figures(
    app: TestApp,
) {
    let s = shop(&app, "Vitamin C Serum").await;
    let first = traffic(&app, &s).await;
    let day = first.at.date_naive().to_string();

    let by_source = get(
        &app,
        &s.influencer,
        &format!("/v1/links/{}/breakdowns/source", s.link),
    )
    .await;
    assert!(by_source.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let b = &by_source.json;
    assert_eq!(b["dimension"], "source");
    // The last 30 days by default, today last.
    assert_eq!(b["to"], Utc::now().date_naive().to_string());
    assert_eq!(
        b["from"],
        (Utc::now().date_naive() - Duration::days(29)).to_string()
    );
    assert_eq!(
        b["rows"],
        json!([
            // Two human clicks and the robot's hit; the click's order: 7.20 over 2 clicks is
            // 360.00 per 100.
            {"value": "link", "label": null, "clicks": 2, "qr_scans": 0, "robot_hits": 1,
             "conversions": 1, "conversion_rate": "0.5000",
             "money": [usd(1, "45.00", "7.20", json!("360.00"))]},
            {"value": "qr", "label": null, "clicks": 1, "qr_scans": 1, "robot_hits": 0,
             "conversions": 0, "conversion_rate": "0.0000", "money": []},
            // The coupon's order had no click: no rate, no EPC.
            {"value": "coupon", "label": null, "clicks": 0, "qr_scans": 0, "robot_hits": 0,
             "conversions": 1, "conversion_rate": null,
             "money": [usd(1, "45.00", "7.20", Value::Null)]},
        ]),
        "{}",
        by_source.text
    );

    // All of the influencer's links, by country, for the click's day only.
    let by_country = get(
        &app,
        &s.influencer,
        &format!("/v1/influencer/breakdowns/country?from={day}&to={day}"),
    )
    .await;
    assert_eq!(
        (&by_country.json["from"], &by_country.json["to"]),
        (&json!(day), &json!(day))
    );
    assert_eq!(
        by_country.json["rows"],
        json!([
            {"value": "US", "label": null, "clicks": 2, "qr_scans": 1, "robot_hits": 0,
             "conversions": 1, "conversion_rate": "0.5000",
             "money": [usd(1, "45.00", "7.20", json!("360.00"))]},
            {"value": "DE", "label": null, "clicks": 1, "qr_scans": 0, "robot_hits": 0,
             "conversions": 0, "conversion_rate": "0.0000", "money": []},
            // The robot had no country, nor has an order by coupon.
            {"value": "none", "label": null, "clicks": 0, "qr_scans": 0, "robot_hits": 1,
             "conversions": 1, "conversion_rate": null,
             "money": [usd(1, "45.00", "7.20", Value::Null)]},
        ]),
        "{}",
        by_country.text
    );

    // The merchant sees the same through its program, by member, named.
    let by_member = get(
        &app,
        &s.merchant,
        &format!("/v1/programs/{}/breakdowns/member", s.program),
    )
    .await;
    let rows = by_member.json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", by_member.text);
    assert_eq!(rows[0]["label"], "Ana Glow");
    assert_eq!(
        (
            &rows[0]["clicks"],
            &rows[0]["robot_hits"],
            &rows[0]["conversions"]
        ),
        (&json!(3), &json!(1), &json!(2))
    );
    assert_eq!(rows[0]["conversion_rate"], "0.6667");
    assert_eq!(
        rows[0]["money"],
        json!([usd(2, "90.00", "14.40", json!("480.00"))])
    );

    // A day with no traffic has no rows.
    let empty = get(
        &app,
        &s.influencer,
        &format!(
            "/v1/links/{}/breakdowns/device?from=2026-01-01&to=2026-01-01",
            s.link
        ),
    )
    .await;
    assert_eq!(empty.json["rows"], json!([]));
}

async fn a_merchants_breakdown_downloads_as_csv_one_line_per_value_and_currency(app: TestApp) {
    let s = shop(&app, "Vitamin C Serum").await;
    traffic(&app, &s).await;

    let csv = get(
        &app,
        &s.merchant,
        "/v1/merchant/breakdowns/device?format=csv",
    )
    .await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let today = Utc::now().date_naive();
    let from = today - Duration::days(29);
    assert_eq!(
        csv.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"breakdown-merchant-device-{from}-{today}.csv\"").as_str()
    );
    // Mobile: the Instagram click (and its order) and the QR scan; desktop: one click; the
    // robot's device is whatever its agent says, the coupon's order has none.
    assert_eq!(
        csv.text,
        "value,label,clicks,qr_scans,robot_hits,conversions,conversion_rate,currency,revenue,commission,earnings,epc\n\
         mobile,,2,1,0,1,0.5000,USD,45.00,9.00,7.20,360.00\n\
         desktop,,1,0,0,0,0.0000,,,,,\n\
         none,,0,0,0,1,,USD,45.00,9.00,7.20,\n\
         other,,0,0,1,0,,,,,,\n",
        "{}",
        csv.text
    );

    // By product, labelled with its name; the link's two orders on one line.
    let csv = get(
        &app,
        &s.merchant,
        &format!("/v1/programs/{}/breakdowns/product?format=csv", s.program),
    )
    .await;
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        cells[1..],
        [
            "Vitamin C Serum",
            "3",
            "1",
            "1",
            "2",
            "0.6667",
            "USD",
            "90.00",
            "18.00",
            "14.40",
            "480.00"
        ]
    );

    // `format=json` is the default spelled out; another format is a malformed query.
    let json = get(
        &app,
        &s.merchant,
        "/v1/merchant/breakdowns/device?format=json",
    )
    .await;
    assert_eq!(json.json["dimension"], "device");
    let xml = app
        .call(
            Method::GET,
            "/v1/merchant/breakdowns/device?format=xml",
            Some(&s.merchant),
            None,
        )
        .await;
    assert_eq!(xml.status, StatusCode::BAD_REQUEST, "{}", xml.text);
    assert!(xml.json["message"].is_string());
}

async fn dates_follow_the_daily_series_rules_and_unknown_dimensions_name_the_known_ones(
    app: TestApp,
) {
    let s = shop(&app, "Vitamin C Serum").await;
    let base = format!("/v1/links/{}/breakdowns/source", s.link);
    for (query, field) in [
        ("from=2026-3-01", "from"),
        ("to=tomorrow", "to"),
        ("from=1969-12-31&to=1970-01-01", "from"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=2026-01-01&to=2027-01-02", "from"),
    ] {
        let reply = app
            .call(
                Method::GET,
                &format!("{base}?{query}"),
                Some(&s.influencer),
                None,
            )
            .await;
        // The daily series answers the same query the same way.
        let daily = app
            .call(
                Method::GET,
                &format!("/v1/links/{}/daily?{query}", s.link),
                Some(&s.influencer),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.json, daily.json, "{query}");
        assert!(
            reply.json["fields"][field].is_array(),
            "{query}: {}",
            reply.text
        );
    }
    // 366 days, both ends inclusive, is the longest range.
    let year = get(
        &app,
        &s.influencer,
        &format!("{base}?from=2026-01-01&to=2027-01-01"),
    )
    .await;
    assert_eq!(year.json["from"], "2026-01-01");
    let unknown = app
        .call(
            Method::GET,
            &format!("{base}?when=today"),
            Some(&s.influencer),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);

    for dimension in ["Source", "sources", "utm_source", "*"] {
        let reply = app
            .call(
                Method::GET,
                &format!("/v1/influencer/breakdowns/{dimension}"),
                Some(&s.influencer),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{dimension}: {}",
            reply.text
        );
        assert_eq!(reply.json["error"], "not_found");
        assert_eq!(
            reply.json["message"],
            "no such dimension; expected one of: source, device, os, browser, platform, \
             country, referrer, link, product, member"
        );
    }
}

async fn labels_and_values_a_spreadsheet_would_run_are_written_as_text(app: TestApp) {
    let hostile = "=HYPERLINK(\"https://evil.example\",\"claim\")";
    let s = shop(&app, hostile).await;
    let link = LinkId::from_uuid(s.link.parse().unwrap());
    app.store
        .record_clicks(&[Click::new(link, None, Some(SAFARI_IPHONE), None)])
        .await
        .unwrap();
    let csv = get(
        &app,
        &s.merchant,
        &format!("/v1/programs/{}/breakdowns/product?format=csv", s.program),
    )
    .await;
    let line = csv.text.lines().nth(1).unwrap();
    // Quoted by the CSV writer, and led by a single quote so that no spreadsheet runs it.
    assert!(
        line.contains(",\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"claim\"\")\",1,"),
        "{}",
        csv.text
    );
    // The JSON keeps the name as it is.
    let json = get(
        &app,
        &s.merchant,
        &format!("/v1/programs/{}/breakdowns/product", s.program),
    )
    .await;
    assert_eq!(json.json["rows"][0]["label"], hostile);
}

//! No panic reaches a client: a panicking handler answers a 500 (JSON on the API, the HTML
//! page on `/{slug}`) and is counted; the statement date parameters that used to reach a
//! panicking `NaiveDate - Duration` are a 422 naming the field, for any dates.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use skinstack_core::{ClickRecorder, FlushConfig, MemoryStore};
use skinstack_http::redirect::{self, RedirectMetrics, RedirectState};
use skinstack_http::ApiState;
use std::sync::atomic::Ordering;
use std::sync::Arc;

async fn boom() -> &'static str {
    panic!("a bug in a handler, with a secret: s3cr3t")
}

fn get_request(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_panicking_api_handler_answers_the_json_500_and_is_counted_in_metrics() {
    let store = Arc::new(MemoryStore::new());
    let state = ApiState::new(store.clone()).with_hasher(hasher());
    // A route of one's own, wrapped as the library wraps its API, next to the real API.
    let own = skinstack_http::observed(Router::new().route("/boom", get(boom)), state.clone());
    let app = TestApp {
        router: Router::new().merge(own).merge(skinstack_http::api(state)),
        store,
    };
    for _ in 0..2 {
        let reply = app.send(get_request("/boom")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            reply.json,
            json!({"error": "internal", "message": "internal error"})
        );
        assert!(!reply.text.contains("s3cr3t"), "{}", reply.text);
        assert!(reply.headers.contains_key("x-request-id"));
    }
    // The app keeps answering, and /metrics counts both panics and their 500s.
    let metrics = app.send(get_request("/metrics")).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .text
            .contains("skinstack_http_panics_total{router=\"api\"} 2"),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains(
            "skinstack_http_requests_total{method=\"GET\",route=\"/boom\",status=\"500\"} 2"
        ),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains("skinstack_http_panics_total{router=\"dashboard\"} 0"));
}

#[tokio::test]
async fn a_panicking_redirect_answers_the_small_html_500_page_and_is_counted() {
    let store = MemoryStore::new();
    let (recorder, _flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    let redirects = RedirectState::new(Arc::new(store.clone()), recorder);
    let counters: Arc<RedirectMetrics> = redirects.metrics().clone();
    // A `/{slug}` that panics, wrapped as `redirect::router` wraps the real one.
    let slug = redirect::catch_panics(Router::new().route("/{slug}", get(boom)), counters.clone());
    let api = ApiState::new(Arc::new(store.clone())).with_redirect_metrics(counters.clone());
    let app = TestApp {
        router: Router::new().merge(skinstack_http::api(api)).merge(slug),
        store: Arc::new(store),
    };
    let reply = app.send(get_request("/glow-demo")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert!(reply.text.contains("Please try again"), "{}", reply.text);
    assert!(!reply.text.contains("s3cr3t"), "{}", reply.text);
    assert_eq!(counters.panics.load(Ordering::Relaxed), 1);
    let metrics = app.send(get_request("/metrics")).await;
    assert!(
        metrics
            .text
            .contains("skinstack_http_panics_total{router=\"redirect\"} 1"),
        "{}",
        metrics.text
    );
    // The real redirect router answers as before.
    let (recorder, _flusher) = ClickRecorder::start(MemoryStore::new(), FlushConfig::default());
    let real = redirect::router(RedirectState::new(Arc::new(MemoryStore::new()), recorder));
    let app = TestApp {
        router: real,
        store: app.store,
    };
    assert_eq!(
        app.send(get_request("/no-such-link")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// An influencer with one link: (app, token, link id).
async fn influencer_with_a_link() -> (TestApp, String, String) {
    influencer_with_a_link_on(TestApp::memory()).await
}

async fn influencer_with_a_link_on(app: TestApp) -> (TestApp, String, String) {
    let (mer, _) = app.account("merchant").await;
    app.create(&mer, "/v1/merchant", merchant_profile()).await;
    let program = app.create(&mer, "/v1/programs", program_json()).await;
    let (inf, _) = app.account("influencer").await;
    app.create(&inf, "/v1/influencer", influencer_profile())
        .await;
    let link = app
        .create(&inf, "/v1/links", json!({"program_id": program["id"]}))
        .await;
    let id = link["id"].as_str().unwrap().to_owned();
    (app, inf, id)
}

fn refused_fields(reply: &Reply) -> Vec<String> {
    reply.json["fields"]
        .as_object()
        .map(|fields| fields.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn daily_series_dates_beyond_the_calendar_are_a_422_naming_the_field_on_memory() {
    daily_series_dates_beyond_the_calendar_are_a_422_naming_the_field(TestApp::memory()).await;
}

/// On PostgreSQL such dates used to be a 500 ("date out of range") even where chrono did not
/// panic; both ends of the span are real days there too.
#[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
async fn daily_series_dates_beyond_the_calendar_are_a_422_naming_the_field_on_postgres(
    pool: sqlx::PgPool,
) {
    daily_series_dates_beyond_the_calendar_are_a_422_naming_the_field(TestApp::postgres(pool))
        .await;
}

async fn daily_series_dates_beyond_the_calendar_are_a_422_naming_the_field(app: TestApp) {
    let (app, inf, id) = influencer_with_a_link_on(app).await;
    for (query, field) in [
        // The request: `to - 29 days` used to panic in chrono.
        ("to=-262143-01-01", "to"),
        ("to=%2B262142-12-31", "to"),
        // (`to=-262143-01-05` is not a YYYY-MM-DD day either, and would be named too.)
        ("from=-262143-01-01&to=1970-01-05", "from"),
        ("from=1969-12-31&to=1970-01-01", "from"),
        ("from=9999-12-31&to=%2B10000-01-01", "to"),
        ("to=10000-01-01", "to"),
    ] {
        let reply = app
            .call(
                Method::GET,
                &format!("/v1/links/{id}/daily?{query}"),
                Some(&inf),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.text
        );
        assert_eq!(refused_fields(&reply), vec![field.to_owned()], "{query}");
        assert_eq!(reply.json["error"], "validation");
    }
    // The span's first days: a default series is cut at 1970-01-01.
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/links/{id}/daily?to=1970-01-03"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let days: Vec<&str> = reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["day"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["1970-01-01", "1970-01-02", "1970-01-03"]);
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/links/{id}/daily?from=9999-12-30&to=9999-12-31"),
            Some(&inf),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json.as_array().unwrap().len(), 2, "{}", reply.text);
}

/// A `from` or `to` value: mostly real dates across (and beyond) chrono's whole range,
/// written as a client could write them, sometimes garbage.
fn date_value() -> impl Strategy<Value = Option<String>> {
    let day = (-262_200i32..=262_200, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| {
        if (0..=9999).contains(&y) {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            format!("{y:+}-{m:02}-{d:02}")
        }
    });
    let near = (1960i32..=2040, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    let edges = prop::sample::select(vec![
        "-262143-01-01",
        "+262142-12-31",
        "-262144-01-01",
        "+262143-01-01",
        "1970-01-01",
        "9999-12-31",
        "0000-01-01",
        "2026-02-29",
        "2024-02-29",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        1 => Just(None),
        3 => day.prop_map(Some),
        3 => near.prop_map(Some),
        2 => edges.prop_map(Some),
        1 => "[-+0-9a-z:T ]{0,14}".prop_map(Some),
    ]
}

fn expected_days(query: &[(&str, &str)], today: NaiveDate) -> Option<i64> {
    let parse = |name| {
        query
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d"))
    };
    let first = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let last = NaiveDate::from_ymd_opt(9999, 12, 31)?;
    let to = match parse("to") {
        None => today,
        Some(Ok(to)) => to,
        Some(Err(_)) => return None,
    };
    let from = match parse("from") {
        None => to
            .checked_sub_days(chrono::Days::new(29))
            .map(|d| d.max(first)),
        Some(Ok(from)) => Some(from),
        Some(Err(_)) => return None,
    };
    let from = from?;
    let within = |day: NaiveDate| (first..=last).contains(&day);
    (within(from) && within(to) && to >= from && (to - from).num_days() < 366)
        .then(|| (to - from).num_days() + 1)
}

/// Any `from` and `to` (absent, valid, out of range, malformed) through the real router:
/// never a 5xx or a panic; a series of exactly the days asked for, or a 422 that names the
/// refused parameter.
#[test]
fn statement_dates_are_a_series_or_a_422_naming_the_field_never_a_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, inf, id) = runtime.block_on(influencer_with_a_link());
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(date_value(), date_value()), |(from, to)| {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(from) = &from {
            query.push(("from", from));
        }
        if let Some(to) = &to {
            query.push(("to", to));
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter())
            .finish();
        let path = format!("/v1/links/{id}/daily?{encoded}");
        let today = chrono::Utc::now().date_naive();
        let reply = runtime.block_on(app.call(Method::GET, &path, Some(&inf), None));
        match expected_days(&query, today) {
            Some(days) => {
                prop_assert_eq!(reply.status, StatusCode::OK, "{}: {}", path, reply.text);
                let series = reply.json.as_array().cloned().unwrap_or_default();
                prop_assert_eq!(series.len() as i64, days, "{}", path);
            }
            None => {
                prop_assert_eq!(
                    reply.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{}: {}",
                    path,
                    reply.text
                );
                let fields = refused_fields(&reply);
                prop_assert!(
                    !fields.is_empty() && fields.iter().all(|f| f == "from" || f == "to"),
                    "{}: {}",
                    path,
                    reply.text
                );
                prop_assert!(reply.json["fields"]
                    .as_object()
                    .is_some_and(|f| f.values().all(|m| m != &Value::Null)));
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

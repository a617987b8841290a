//! The redirect route against the in-memory store.
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use skinstack_core::service::links::{create_link, CreateLink};
use skinstack_core::testkit::Fixture;
use skinstack_core::{
    ClickRecorder, FlushConfig, LinkPatch, LinkRepo, MemoryStore, SlugPolicy, TrackingLink, Utm,
    UtmValue,
};
use skinstack_http::redirect::{self, RedirectState};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct App {
    store: MemoryStore,
    router: Router,
    flusher: skinstack_core::tracking::click_flush::ClickFlusher,
    link: TrackingLink,
}

async fn app() -> App {
    app_with(|state| state).await
}

/// The app, its redirect state set up by `configure`.
async fn app_with(configure: impl FnOnce(RedirectState) -> RedirectState) -> App {
    let store = MemoryStore::new();
    let cast = Fixture::create(&store).await;
    let request = CreateLink {
        utm: Utm {
            campaign: Some(UtmValue::parse("spring").unwrap()),
            ..Utm::default()
        },
        ..cast.link_request()
    };
    let link = create_link(
        &store,
        &SlugPolicy::default(),
        chrono::Utc::now(),
        cast.influencer.id,
        request,
    )
    .await
    .unwrap();
    let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    let router = redirect::router(configure(RedirectState::new(
        Arc::new(store.clone()),
        recorder,
    )));
    App {
        store,
        router,
        flusher,
        link,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::USER_AGENT, "Mozilla/5.0 (iPhone)")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_click_redirects_with_utm_parameters_and_a_click_id_and_is_recorded() {
    let app = app().await;
    let response = app
        .router
        .clone()
        .oneshot(get(&format!("/{}", app.link.slug)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let prefix = "https://glowco.com/products/vitamin-c-serum?utm_source=skinstack&utm_medium=affiliate&utm_campaign=spring&ssclid=";
    assert!(location.starts_with(prefix), "{location}");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert!(response.headers().contains_key(header::REFERRER_POLICY));
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let clicks = app.store.clicks();
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0].id.to_string(), &location[prefix.len()..]);
    assert_eq!(
        app.store
            .link_by_id(app.link.id)
            .await
            .unwrap()
            .total_clicks,
        1
    );
}

#[tokio::test]
async fn slugs_are_case_insensitive() {
    let app = app().await;
    let shouted = app.link.slug.as_str().to_uppercase();
    let response = app
        .router
        .oneshot(get(&format!("/{shouted}")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn unknown_and_malformed_slugs_are_404_with_a_small_body() {
    let app = app().await;
    for path in [
        "/nosuchlink",
        "/a",
        "/has%20space",
        "/%E2%9C%93",
        &format!("/{}", "x".repeat(65)),
    ] {
        let response = app.router.clone().oneshot(get(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    let json = Request::get("/nosuchlink")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let response = app.router.oneshot(json).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn deactivated_and_expired_links_are_gone() {
    let app = app().await;
    let path = format!("/{}", app.link.slug);
    app.store
        .update_link(
            app.link.id,
            LinkPatch {
                is_active: Some(false),
                ..LinkPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.router
            .clone()
            .oneshot(get(&path))
            .await
            .unwrap()
            .status(),
        StatusCode::GONE
    );
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let patch = LinkPatch {
        is_active: Some(true),
        expires_at: Some(Some(past)),
        ..LinkPatch::default()
    };
    app.store.update_link(app.link.id, patch).await.unwrap();
    assert_eq!(
        app.router
            .clone()
            .oneshot(get(&path))
            .await
            .unwrap()
            .status(),
        StatusCode::GONE
    );
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(
        app.store.clicks().is_empty(),
        "a gone link records no click"
    );
}

#[tokio::test]
async fn head_answers_like_get_without_counting_a_click() {
    let app = app().await;
    let head = Request::head(format!("/{}", app.link.slug))
        .body(Body::empty())
        .unwrap();
    let response = app.router.oneshot(head).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers().contains_key(header::LOCATION));
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(app.store.clicks().is_empty());
}

#[tokio::test]
async fn concurrent_clicks_are_all_recorded_exactly_once() {
    let app = app().await;
    let path = format!("/{}", app.link.slug);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (router, request) = (app.router.clone(), get(&path));
            tokio::spawn(async move { router.oneshot(request).await.unwrap().status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::FOUND);
    }
    assert_eq!(app.flusher.shutdown(Duration::from_secs(5)).await, Ok(200));
    assert_eq!(app.store.clicks().len(), 200);
    assert_eq!(
        app.store
            .link_by_id(app.link.id)
            .await
            .unwrap()
            .total_clicks,
        200
    );
}

#[tokio::test]
async fn robots_are_recorded_but_not_counted() {
    let app = app().await;
    let request = Request::get(format!("/{}", app.link.slug))
        .header(
            header::USER_AGENT,
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.router.oneshot(request).await.unwrap().status(),
        StatusCode::FOUND
    );
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let clicks = app.store.clicks();
    assert_eq!(clicks.len(), 1);
    assert!(clicks[0].is_bot);
    assert_eq!(
        app.store
            .link_by_id(app.link.id)
            .await
            .unwrap()
            .total_clicks,
        0
    );
}

#[tokio::test]
async fn preview_fetchers_get_a_card_and_shoppers_the_redirect() {
    let app = app().await;
    let path = format!("/{}", app.link.slug);
    for bot in [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "Slackbot-LinkExpanding 1.0",
    ] {
        let request = Request::get(&path)
            .header(header::USER_AGENT, bot)
            .body(Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{bot}");
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        assert!(
            html.contains(r#"<meta property="og:title" content="Vitamin C Serum">"#),
            "{html}"
        );
        assert!(html
            .contains(r#"<meta property="og:image" content="https://cdn.glowco.com/serum.jpg">"#));
        assert!(html.contains(r#"<meta property="product:price:amount" content="38.50">"#));
        assert!(
            html.contains(r#"<a href="?via=card" rel="nofollow">"#),
            "the card links back through the redirect: {html}"
        );
    }
    let shopper = app.router.clone().oneshot(get(&path)).await.unwrap();
    assert_eq!(shopper.status(), StatusCode::FOUND);
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let clicks = app.store.clicks();
    assert_eq!(clicks.len(), 1, "previews are not clicks");
    assert!(!clicks[0].is_bot);
}

#[tokio::test]
async fn a_qr_scan_is_recorded_as_its_own_source() {
    let app = app().await;
    let scan = get(&format!("/{}?via=qr", app.link.slug));
    assert_eq!(
        app.router.clone().oneshot(scan).await.unwrap().status(),
        StatusCode::FOUND
    );
    let click = get(&format!("/{}", app.link.slug));
    assert_eq!(
        app.router.oneshot(click).await.unwrap().status(),
        StatusCode::FOUND
    );
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let sources: Vec<_> = app.store.clicks().iter().map(|c| c.source).collect();
    assert_eq!(
        sources,
        vec![
            skinstack_core::ClickSource::Qr,
            skinstack_core::ClickSource::Link
        ]
    );
}

/// A click from `country_header: value`.
fn get_from(path: &str, value: &str) -> Request<Body> {
    let mut request = get(path);
    request.headers_mut().insert(
        "cf-ipcountry",
        axum::http::HeaderValue::from_str(value).unwrap(),
    );
    request
}

#[tokio::test]
async fn a_clicks_country_is_read_from_the_edge_header_only_when_the_operator_names_it() {
    let trusting =
        app_with(|state| state.country_header(axum::http::HeaderName::from_static("cf-ipcountry")))
            .await;
    for value in ["de", "XX", "T1", "Germany"] {
        let request = get_from(&format!("/{}", trusting.link.slug), value);
        let response = trusting.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{value}");
    }
    trusting
        .flusher
        .shutdown(Duration::from_secs(5))
        .await
        .unwrap();
    let countries: Vec<_> = trusting
        .store
        .clicks()
        .iter()
        .map(|c| c.country.map(|c| c.to_string()))
        .collect();
    assert_eq!(
        countries,
        vec![Some("DE".to_owned()), None, None, None],
        "a value that names no country records none, and the click is kept"
    );

    // Without the setting the header is the client's word: ignored.
    let default = app().await;
    let request = get_from(&format!("/{}", default.link.slug), "DE");
    let response = default.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    default
        .flusher
        .shutdown(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(default.store.clicks()[0].country, None);
}

/// A country database as GeoLite2-Country lays it out, written here: 81.2.69.0/24 is GB but
/// its upper half IE, 2a02:8070::/32 is DE.
fn country_database() -> skinstack_http::geoip::CountryDatabase {
    use mmdb_writer::{ipnet::IpNet, Value, Writer};
    let mut writer = Writer::builder("GeoLite2-Country")
        .description(&[("en", "Test countries")])
        .build();
    for (network, code) in [
        ("81.2.69.0/24", "GB"),
        ("81.2.69.128/25", "IE"),
        ("2a02:8070::/32", "DE"),
    ] {
        let country = Value::map([("iso_code", Value::from(code))]);
        writer
            .insert_value(
                network.parse::<IpNet>().unwrap(),
                Value::map([("country", country)]),
            )
            .unwrap();
    }
    skinstack_http::geoip::CountryDatabase::from_bytes(writer.to_bytes().unwrap()).unwrap()
}

/// A click from `address`, as the proxy in front says.
fn get_via(path: &str, address: &str) -> Request<Body> {
    let mut request = get(path);
    request.headers_mut().insert(
        "x-forwarded-for",
        axum::http::HeaderValue::from_str(address).unwrap(),
    );
    request
}

#[tokio::test]
async fn a_clicks_country_comes_from_the_geoip_database_by_its_full_address_which_is_kept_anonymised(
) {
    let app = app_with(|state| {
        state
            .client_ip(skinstack_http::client_ip::ClientIpSource::RightmostForwardedFor)
            .country_database(country_database())
    })
    .await;
    for address in ["81.2.69.7", "81.2.69.200", "2a02:8070:1:2::3", "8.8.8.8"] {
        let request = get_via(&format!("/{}", app.link.slug), address);
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{address}");
    }
    // And one whose address is unknown: served without a peer or a forwarded address.
    let response = app
        .router
        .clone()
        .oneshot(get(&format!("/{}", app.link.slug)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let mut clicks = app.store.clicks();
    clicks.sort_by_key(|c| c.id);
    let kept: Vec<_> = clicks
        .iter()
        .map(|c| {
            (
                c.ip.map(|ip| ip.to_string()),
                c.country.map(|c| c.to_string()),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        kept,
        vec![
            (some("81.2.69.0"), some("GB")),
            // Its anonymised address would say GB: the lookup had the full one.
            (some("81.2.69.0"), some("IE")),
            (some("2a02:8070:1::"), some("DE")),
            (some("8.8.8.0"), None),
            (None, None),
        ]
    );
}

#[tokio::test]
async fn the_edge_header_wins_over_the_geoip_database_which_answers_when_the_header_does_not() {
    let app = app_with(|state| {
        state
            .client_ip(skinstack_http::client_ip::ClientIpSource::RightmostForwardedFor)
            .country_header(axum::http::HeaderName::from_static("cf-ipcountry"))
            .country_database(country_database())
    })
    .await;
    let path = format!("/{}", app.link.slug);
    let mut requests = Vec::new();
    for header in [Some("DE"), Some("XX"), None] {
        let mut request = get_via(&path, "81.2.69.7");
        if let Some(value) = header {
            request
                .headers_mut()
                .insert("cf-ipcountry", axum::http::HeaderValue::from_static(value));
        }
        requests.push(request);
    }
    for request in requests {
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
    }
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let mut clicks = app.store.clicks();
    clicks.sort_by_key(|c| c.id);
    let countries: Vec<_> = clicks
        .iter()
        .map(|c| c.country.map(|c| c.to_string()))
        .collect();
    assert_eq!(
        countries,
        vec![
            Some("DE".to_owned()),
            Some("GB".to_owned()),
            Some("GB".to_owned())
        ],
        "the edge's DE wins; its XX (unknown) and no header leave it to the database"
    );
}

const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const INSTAGRAM_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)";

/// A click from Instagram's in-app browser, or from `user_agent`, referred by Instagram.
fn get_as(path: &str, user_agent: &str) -> Request<Body> {
    Request::get(path)
        .header(header::USER_AGENT, user_agent)
        .header(
            header::REFERER,
            "https://l.instagram.com/?u=https%3A%2F%2Fskn.st",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn without_visitor_headers_a_click_keeps_its_families_but_not_its_user_agent_or_referer() {
    use skinstack_core::tracking::visitor::{Browser, Device, Os, Platform};
    let bare = app_with(|state| state.keep_visitor_headers(false)).await;
    let path = format!("/{}", bare.link.slug);
    for user_agent in [INSTAGRAM_UA, GOOGLEBOT] {
        let response = bare
            .router
            .clone()
            .oneshot(get_as(&path, user_agent))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
    }
    bare.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let mut clicks = bare.store.clicks();
    clicks.sort_by_key(|c| c.id);
    assert!(
        clicks
            .iter()
            .all(|c| c.user_agent.is_none() && c.referer.is_none()),
        "{clicks:?}"
    );
    let shopper = clicks[0].visitor();
    assert_eq!(
        (
            shopper.agent.device,
            shopper.agent.os,
            shopper.agent.browser,
            shopper.agent.platform
        ),
        (
            Device::Mobile,
            Os::Ios,
            Browser::Other,
            Some(Platform::Instagram)
        )
    );
    assert_eq!(shopper.referrer_domain.as_deref(), Some("instagram.com"));
    assert!(!clicks[0].is_bot);
    assert!(
        clicks[1].is_bot,
        "robots are still told apart by their user agent"
    );

    // By default both headers are kept.
    let default = app().await;
    let response = default
        .router
        .clone()
        .oneshot(get_as(&format!("/{}", default.link.slug), INSTAGRAM_UA))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    default
        .flusher
        .shutdown(Duration::from_secs(5))
        .await
        .unwrap();
    let kept = &default.store.clicks()[0];
    assert_eq!(kept.user_agent.as_deref(), Some(INSTAGRAM_UA));
    assert!(kept.referer.is_some());
    assert_eq!(kept.families, None);
}

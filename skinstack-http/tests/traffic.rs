//! Who gets a card and who gets the redirect, through the real router: the in-app browsers of
//! the big apps are shoppers, preview fetchers get the card, a person who lands on a card
//! still goes through the tracked redirect; cards are cached; unknown slugs are limited per
//! address.
#![allow(clippy::unwrap_used)] // a test reports failure by panicking

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use governor::Quota;
use http_body_util::BodyExt;
use skinstack_core::service::links::create_link;
use skinstack_core::store::RepoResult;
use skinstack_core::testkit::Fixture;
use skinstack_core::tracking::redirect::{CacheConfig, LinkSnapshot, PreviewCard};
use skinstack_core::{
    CachedResolver, ClickRecorder, FlushConfig, LinkId, LinkRepo, LinkResolver, MemoryStore, Name,
    ProductPatch, ProductRepo, Slug, SlugPolicy, TrackingLink,
};
use skinstack_http::redirect::{self, MissLimits, RedirectState};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// In-app browsers as the apps send them (iOS and Android, late 2023 to 2024 releases): a
/// WebView's user agent with the app's name appended. Every one is a shopper.
const IN_APP_BROWSERS: &[(&str, &str)] = &[
    ("Instagram iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 541635890)"),
    ("Instagram Android", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.1.0.41.113 Android (34/14; 480dpi; 1080x2115; samsung; SM-S918B; dm3q; qcom; en_US; 541635863)"),
    ("Facebook iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.39.112;FBBV/540063291;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/543177434]"),
    ("Facebook Android", "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/440.0.0.31.105;]"),
    ("Facebook Lite Android", "Mozilla/5.0 (Linux; Android 11; TECNO KF6i Build/RP1A.200720.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 [FBAN/EMA;FBLC/en_US;FBAV/381.0.0.11.115;]"),
    ("Messenger iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 LightSpeed [FBAN/MessengerLiteForiOS;FBAV/440.0.0.27.109;FBBV/536633614;FBDV/iPhone14,7;FBMD/iPhone;FBSN/iOS;FBSV/17.0.3;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/0]"),
    ("Messenger Android", "Mozilla/5.0 (Linux; Android 13; SM-A546B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 [FB_IAB/Orca-Android;FBAV/435.0.0.12.108;]"),
    ("TikTok iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US ByteFullLocale/en isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6 FalconTag/"),
    ("TikTok Android", "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 trill_320204 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/32.2.4 ByteLocale/en ByteFullLocale/en Region/US Spark/1.4.6.3-bugfix AppVersion/32.2.4 BytedanceWebview/d8a21c6"),
    ("Pinterest iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]"),
    ("Pinterest iPad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]"),
    ("Pinterest Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [Pinterest/Android]"),
    ("Snapchat iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.62.0.39 (like Safari/8617.2.4.10.8, panda)"),
    ("Snapchat Android", "Mozilla/5.0 (Linux; Android 12; SM-G991U Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 Snapchat/12.61.0.44 (SM-G991U; Android 12#G991USQS9FWK1#31; gzip; )"),
    ("X iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/10.9"),
    ("X Android", "Mozilla/5.0 (Linux; Android 13; SM-G998B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 TwitterAndroid"),
    ("LinkedIn iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.6830"),
    ("LinkedIn Android", "Mozilla/5.0 (Linux; Android 14; Pixel 7a Build/UQ1A.231205.015; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36 [LinkedInApp]/4.1.881"),
    ("YouTube iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 YouTube/18.45.2 (iPhone14,2; U; CPU iOS 17_1 like Mac OS X; en_US)"),
    ("YouTube Android", "Mozilla/5.0 (Linux; Android 13; SM-S901B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 com.google.android.youtube/18.45.41 (Linux; U; Android 13) gzip"),
    ("Threads iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Barcelona 309.0.0.29.118 (iPhone15,3; iOS 17_1_2; en_US; en; scale=3.00; 1290x2796; 540948146)"),
    ("Threads Android", "Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Barcelona 309.0.0.40.113 Android (34/14; 420dpi; 1080x2340; samsung; SM-S911B; dm1q; qcom; en_US; 540948147)"),
    ("WeChat iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.43(0x18002b2c) NetType/WIFI Language/zh_CN"),
    ("WeChat Android", "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5317 MMWEBSDK/20230805 MMWEBID/2590 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"),
    ("LINE iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.19.0"),
    ("LINE Android", "Mozilla/5.0 (Linux; Android 13; SO-51C Build/61.2.C.0.221; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 Line/13.19.1/IAB"),
    ("Reddit iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Reddit/Version 2023.45.0/Build 1298574/iOS Version 17.1 (Build 21B74)"),
    ("Reddit Android", "Mozilla/5.0 (Linux; Android 14; Pixel 6 Build/UQ1A.231205.015; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36 Reddit/Version 2023.46.0/Build 1176582/Android 14"),
    ("Discord iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Discord/205.0 (iPhone; iOS 17.1; Scale/3.00)"),
    ("Discord Android", "Mozilla/5.0 (Linux; Android 13; M2101K6G Build/TKQ1.221013.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 Discord/205.15"),
    ("Discord desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) discord/1.0.9023 Chrome/108.0.5359.215 Electron/22.3.26 Safari/537.36"),
    ("Google app iOS", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/289.0.577695730 Mobile/15E148 Safari/604.1"),
    ("Google app Android", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.231105.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 GSA/14.46.29.29.arm64"),
    ("Samsung Internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"),
    ("Samsung Internet tablet", "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36"),
    ("Telegram iOS (Safari view)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
    ("Chrome Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"),
];

/// Link-preview fetchers, as each documents or sends it. Every one gets the card.
const PREVIEW_FETCHERS: &[(&str, &str)] = &[
    ("Facebook", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
    ("Meta catalog", "facebookcatalog/1.0"),
    ("LINE", "facebookexternalhit/1.1;line-poker/1.0"),
    ("iMessage", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0"),
    ("X", "Twitterbot/1.0"),
    ("Slack", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
    ("Slack images", "Slack-ImgProxy (+https://api.slack.com/robots)"),
    ("Discord", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"),
    ("WhatsApp Android", "WhatsApp/2.23.20.0 A"),
    ("WhatsApp iOS", "WhatsApp/2.23.18.78 i"),
    ("Telegram", "TelegramBot (like TwitterBot)"),
    ("LinkedIn", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"),
    ("Pinterest", "Pinterest/0.2 (+http://www.pinterest.com/bot.html)"),
    ("Pinterestbot", "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)"),
    ("Skype and Teams", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com"),
    ("Microsoft Preview", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview"),
    ("Reddit", "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)"),
    ("Snapchat", "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; +https://developers.snap.com/robots)"),
    ("KakaoTalk", "facebookexternalhit/1.1 kakaotalk-scrap/1.0; +https://devtalk.kakao.com/"),
    ("Google Chat", "Mozilla/5.0 (Windows NT 6.1; rv:6.0) Gecko/20110814 Firefox/6.0 Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/)"),
    ("VK", "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)"),
    ("Mastodon", "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)"),
    ("Bluesky", "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)"),
    ("Embedly", "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)"),
    ("Iframely", "Iframely/1.3.1 (+https://iframely.com/docs/about)"),
];

/// Counts the store reads the cache lets through.
#[derive(Clone)]
struct Counting {
    store: MemoryStore,
    resolves: Arc<AtomicUsize>,
    previews: Arc<AtomicUsize>,
}

#[async_trait]
impl LinkResolver for Counting {
    async fn resolve(&self, slug: &Slug) -> RepoResult<Option<Arc<LinkSnapshot>>> {
        self.resolves.fetch_add(1, Ordering::SeqCst);
        self.store.resolve(slug).await
    }

    async fn preview(&self, link: LinkId) -> RepoResult<Option<PreviewCard>> {
        self.previews.fetch_add(1, Ordering::SeqCst);
        self.store.preview(link).await
    }
}

struct App {
    store: MemoryStore,
    counting: Counting,
    cache: Arc<CachedResolver<Counting>>,
    router: Router,
    flusher: skinstack_core::tracking::click_flush::ClickFlusher,
    cast: Fixture,
    link: TrackingLink,
}

async fn app(limits: MissLimits) -> App {
    let store = MemoryStore::new();
    let cast = Fixture::create(&store).await;
    let link = create_link(
        &store,
        &SlugPolicy::default(),
        chrono::Utc::now(),
        cast.influencer.id,
        cast.link_request(),
    )
    .await
    .unwrap();
    let counting = Counting {
        store: store.clone(),
        resolves: Arc::default(),
        previews: Arc::default(),
    };
    let cache = Arc::new(CachedResolver::new(
        counting.clone(),
        CacheConfig::default(),
    ));
    let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    let state = RedirectState::new(cache.clone(), recorder).miss_limits(limits);
    App {
        store,
        counting,
        cache,
        router: redirect::router(state),
        flusher,
        cast,
        link,
    }
}

impl App {
    /// Sends `request` through the router.
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers every request")
    }
}

fn request(path: &str, user_agent: &str, from: &str) -> Request<Body> {
    let mut request = Request::get(path)
        .header(header::USER_AGENT, user_agent)
        .body(Body::empty())
        .unwrap();
    let peer: SocketAddr = from.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn body(response: Response<Body>) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

const SHOPPER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const HOME: &str = "198.51.100.20:40000";

#[tokio::test]
async fn in_app_browsers_of_every_big_app_get_the_redirect_and_are_counted_as_shoppers() {
    assert!(IN_APP_BROWSERS.len() >= 30);
    let app = app(MissLimits::default()).await;
    let path = format!("/{}", app.link.slug);
    let mut issued = Vec::new();
    for (name, ua) in IN_APP_BROWSERS {
        let response = app.send(request(&path, ua, HOME)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{name}: {ua}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(
            location.contains("utm_source=skinstack") && location.contains("&ssclid="),
            "{name}: {location}"
        );
        issued.push((*name, location.rsplit('=').next().unwrap().to_owned()));
    }
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let clicks = app.store.clicks();
    for (name, id) in &issued {
        let click = clicks.iter().find(|c| c.id.to_string() == *id);
        assert!(
            click.is_some_and(|c| !c.is_bot),
            "{name}: stored as a human click"
        );
    }
    assert_eq!(
        app.store
            .link_by_id(app.link.id)
            .await
            .unwrap()
            .total_clicks,
        i64::try_from(IN_APP_BROWSERS.len()).unwrap()
    );
}

#[tokio::test]
async fn preview_fetchers_get_the_card_and_no_click() {
    assert!(PREVIEW_FETCHERS.len() >= 15);
    let app = app(MissLimits::default()).await;
    let path = format!("/{}", app.link.slug);
    for (name, ua) in PREVIEW_FETCHERS {
        let response = app.send(request(&path, ua, HOME)).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}: {ua}");
        assert_eq!(response.headers()[header::VARY], "user-agent", "{name}");
        let html = body(response).await;
        assert!(
            html.contains(r#"<meta property="og:title" content="Vitamin C Serum">"#),
            "{name}: {html}"
        );
    }
    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(app.store.clicks().is_empty(), "cards are not clicks");
}

#[tokio::test]
async fn a_person_who_lands_on_a_card_follows_its_link_through_the_tracked_redirect() {
    let app = app(MissLimits::default()).await;
    let path = format!("/{}", app.link.slug);
    // A browser that still says `facebookexternalhit`, as some embedded views do.
    let misread = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0 Mobile Safari/537.36 facebookexternalhit/1.1";
    let card = body(app.send(request(&path, misread, HOME)).await).await;
    assert!(
        card.contains(r#"<a href="?via=card" rel="nofollow">"#),
        "{card}"
    );
    assert!(
        !card.contains("glowco.com/products"),
        "the card names no URL past the redirect: {card}"
    );
    let followed = format!("{path}?via=card");

    // The person taps the link: their browser says so.
    let mut tap = request(&followed, misread, HOME);
    tap.headers_mut()
        .insert("sec-fetch-user", "?1".parse().unwrap());
    let response = app.send(tap).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("https://glowco.com/products/vitamin-c-serum?utm_source=skinstack&utm_medium=affiliate&ssclid="),
        "{location}"
    );
    let person = location.rsplit('=').next().unwrap().to_owned();

    // A fetcher following the same link is redirected too, but is never a counted click.
    let fetched = app
        .send(request(&followed, PREVIEW_FETCHERS[0].1, HOME))
        .await;
    assert_eq!(fetched.status(), StatusCode::FOUND, "never the card again");

    app.flusher.shutdown(Duration::from_secs(5)).await.unwrap();
    let clicks = app.store.clicks();
    assert_eq!(clicks.len(), 2);
    let tapped = clicks.iter().find(|c| c.id.to_string() == person).unwrap();
    assert!(!tapped.is_bot, "the person's tap is a click");
    assert_eq!(clicks.iter().filter(|c| c.is_bot).count(), 1);
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
async fn a_second_card_fetch_does_not_reach_the_store_and_a_link_change_refreshes_it() {
    let app = app(MissLimits::default()).await;
    let path = format!("/{}", app.link.slug);
    let facebook = PREVIEW_FETCHERS[0].1;
    for _ in 0..5 {
        let response = app.send(request(&path, facebook, HOME)).await;
        assert!(body(response).await.contains("Vitamin C Serum"));
    }
    assert_eq!(app.counting.previews.load(Ordering::SeqCst), 1);
    assert_eq!(app.counting.resolves.load(Ordering::SeqCst), 1);

    let patch = ProductPatch {
        name: Some(Name::parse("Vitamin C Serum 2").unwrap()),
        ..ProductPatch::default()
    };
    app.store
        .update_product(app.cast.product.id, patch)
        .await
        .unwrap();
    // What the change feed does when the link's row changes.
    app.cache.invalidate(&app.link.slug);
    let response = app.send(request(&path, facebook, HOME)).await;
    assert!(body(response).await.contains("Vitamin C Serum 2"));
    assert_eq!(app.counting.previews.load(Ordering::SeqCst), 2);
}

fn strict() -> MissLimits {
    MissLimits {
        per_address: Quota::with_period(Duration::from_secs(3600))
            .unwrap()
            .allow_burst(NonZeroU32::new(5).unwrap()),
    }
}

#[tokio::test]
async fn unknown_slugs_from_one_address_are_limited_without_affecting_other_addresses() {
    let app = app(strict()).await;
    let flooder = "203.0.113.7:5000";
    let mut statuses = Vec::new();
    for n in 0..20 {
        let response = app
            .send(request(&format!("/random{n}"), SHOPPER, flooder))
            .await;
        statuses.push(response.status());
    }
    assert_eq!(&statuses[..5], &[StatusCode::NOT_FOUND; 5]);
    assert!(statuses[5..]
        .iter()
        .all(|s| *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(
        app.counting.resolves.load(Ordering::SeqCst),
        6,
        "past the quota the store is not asked"
    );

    // The refusal: a small HTML page, or JSON for a client that asks, with Retry-After.
    let response = app.send(request("/another", SHOPPER, flooder)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let mut json = request("/another", SHOPPER, flooder);
    json.headers_mut()
        .insert(header::ACCEPT, "application/json".parse().unwrap());
    let response = app.send(json).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let error: serde_json::Value = serde_json::from_str(&body(response).await).unwrap();
    assert_eq!(error["error"], "too_many_requests");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Another address: unknown slugs are 404, links redirect.
    let other = "198.51.100.9:5000";
    let response = app.send(request("/random0", SHOPPER, other)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let path = format!("/{}", app.link.slug);
    let response = app.send(request(&path, SHOPPER, other)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    // The flooder itself still reaches a link in the cache: only store lookups are limited.
    let response = app.send(request(&path, SHOPPER, flooder)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64_and_neighbouring_networks_are_not() {
    let app = app(strict()).await;
    for n in 0..5 {
        // A different address of the same /64 each time.
        let from = format!("[2001:db8:1:2::{n:x}]:5000");
        let response = app
            .send(request(&format!("/random{n}"), SHOPPER, &from))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let same_64 = app
        .send(request("/random9", SHOPPER, "[2001:db8:1:2:ffff::1]:5000"))
        .await;
    assert_eq!(same_64.status(), StatusCode::TOO_MANY_REQUESTS);
    let next_64 = app
        .send(request("/random9", SHOPPER, "[2001:db8:1:3::1]:5000"))
        .await;
    assert_eq!(next_64.status(), StatusCode::NOT_FOUND);
}

//! The shopper-facing route: `GET /{slug}` (and `HEAD`) answers `302 Found` to the link's
//! destination with UTM parameters and a click id, and records the click off the request path.
//! Link-preview fetchers (see [`skinstack_core::tracking::robots`]) get a preview card instead; the card's
//! link carries [`CARD_MARKER`], so that a person who lands on a card still goes through the
//! tracked redirect. Store lookups of unknown slugs are limited per client address
//! ([`MissLimits`]).
//!
//! What a click keeps of its visitor is the operator's choice: its country from a trusted edge
//! header ([`RedirectState::country_header`]) or else from a GeoIP database
//! ([`RedirectState::country_database`]), both looked up before the address is anonymised;
//! and its user agent and referer, or only the coarse families derived from them
//! ([`RedirectState::keep_visitor_headers`]).

use crate::client_ip::ClientIpSource;
use crate::geoip::CountryDatabase;
pub use crate::miss_limit::MissLimits;
use crate::miss_limit::MissThrottle;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use skinstack_core::tracking::redirect::{CachedAnswer, LinkStatus};
use skinstack_core::tracking::robots::{self, Agent};
use skinstack_core::{
    Click, ClickId, ClickRecorder, ClickSource, Country, LinkId, LinkResolver, Slug,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts of redirect outcomes, for `/metrics`.
#[derive(Debug, Default)]
pub struct RedirectMetrics {
    /// `302` answers.
    pub redirected: AtomicU64,
    /// `404` answers (unknown or malformed slug).
    pub not_found: AtomicU64,
    /// `410` answers (inactive or expired link, or a link of an unverified merchant).
    pub gone: AtomicU64,
    /// `503` answers (link not cached and the store unreachable).
    pub unavailable: AtomicU64,
    /// Preview cards served to link-preview fetchers (not clicks).
    pub previews: AtomicU64,
    /// Panics caught and answered with the 500 page (a bug: each is logged).
    pub panics: AtomicU64,
    /// `429` answers: an address past its quota of unknown slugs ([`MissLimits`]).
    pub rate_limited: AtomicU64,
}

/// The query pair a preview card's link adds to the short link (`/abc123?via=card`): such a
/// request is always redirected, never answered with the card again. It cannot be used to
/// count clicks that a user agent would not get otherwise: a preview fetcher's user agent
/// following it is a click only when the browser says a person made the navigation
/// (`Sec-Fetch-User: ?1`, which fetchers do not send), and a robot's click otherwise (stored,
/// redirected, never counted nor attributed).
pub const CARD_MARKER: &str = "via=card";

/// What the redirect route needs. Cheap to clone.
#[derive(Clone)]
pub struct RedirectState {
    resolver: Arc<dyn LinkResolver>,
    recorder: ClickRecorder,
    client_ip: ClientIpSource,
    country_header: Option<HeaderName>,
    country_database: Option<Arc<CountryDatabase>>,
    keep_visitor_headers: bool,
    metrics: Arc<RedirectMetrics>,
    misses: Arc<MissThrottle>,
}

impl RedirectState {
    /// Redirects through `resolver` (wrap a store in a
    /// [`CachedResolver`](skinstack_core::CachedResolver) for production) and records clicks
    /// with `recorder`. The client address is the TCP peer; see [`RedirectState::client_ip`].
    pub fn new(resolver: Arc<dyn LinkResolver>, recorder: ClickRecorder) -> Self {
        Self {
            resolver,
            recorder,
            client_ip: ClientIpSource::default(),
            country_header: None,
            country_database: None,
            keep_visitor_headers: true,
            metrics: Arc::default(),
            misses: Arc::new(MissThrottle::new(MissLimits::default())),
        }
    }

    /// Limits unknown slugs per address with `limits` instead of [`MissLimits::default`].
    /// Requests whose address is unknown (served without `ConnectInfo` and without a trusted
    /// `X-Forwarded-For`) are not limited.
    pub fn miss_limits(mut self, limits: MissLimits) -> Self {
        self.misses = Arc::new(MissThrottle::new(limits));
        self
    }

    /// Reads client addresses from `source` instead.
    pub fn client_ip(mut self, source: ClientIpSource) -> Self {
        self.client_ip = source;
        self
    }

    /// Records each click's country from the `header` an edge sets (`CF-IPCountry`,
    /// `CloudFront-Viewer-Country`, `X-Vercel-IP-Country`, ...). Only behind an edge that sets
    /// it on every request, overwriting what the client sent; otherwise clients can claim any
    /// country. A value that names no ISO 3166-1 country (`XX`, `T1`) records none.
    pub fn country_header(mut self, header: HeaderName) -> Self {
        self.country_header = Some(header);
        self
    }

    /// Records the country `database` gives each click's address, looked up in memory on the
    /// full address before it is anonymised. When a [`country_header`](Self::country_header)
    /// is set too, the edge's word wins; the database answers only for requests whose header
    /// is missing or names no country (Cloudflare's `XX`). The address is only as good as
    /// [`client_ip`](Self::client_ip) says: behind a proxy, trust its `X-Forwarded-For`, or
    /// every click gets the proxy's country.
    pub fn country_database(mut self, database: CountryDatabase) -> Self {
        self.country_database = Some(Arc::new(database));
        self
    }

    /// With `false`, no click keeps its user agent or referer: only the families the
    /// analytics read (device, OS, browser, in-app platform and the referring page's
    /// registrable domain) are derived at the redirect and kept, by
    /// [`Click::without_headers`]. The robot flag is decided from the user agent as before.
    /// Default `true`: both headers are kept, truncated.
    pub fn keep_visitor_headers(mut self, keep: bool) -> Self {
        self.keep_visitor_headers = keep;
        self
    }

    /// The outcome counters.
    pub fn metrics(&self) -> &Arc<RedirectMetrics> {
        &self.metrics
    }

    /// The click's country: the trusted edge header's, else the database's for the full
    /// address `ip` (which the click itself only keeps anonymised).
    fn country_of(&self, headers: &HeaderMap, ip: Option<IpAddr>) -> Option<Country> {
        self.country_header
            .as_ref()
            .and_then(|name| headers.get(name))
            .and_then(|code| code.to_str().ok())
            .and_then(|code| Country::parse(code).ok())
            .or_else(|| {
                let database = self.country_database.as_ref()?;
                database.country(ip?)
            })
    }
}

/// The redirect router: `GET /{slug}` and `HEAD /{slug}`. Mount it last (or with
/// `fallback`-free merging), since `/{slug}` matches any single path segment. Other methods
/// on `/{slug}` get a small 405 page (JSON for clients that ask for it), like its 404.
pub fn router(state: RedirectState) -> Router {
    let metrics = state.metrics.clone();
    let router = Router::new()
        .route("/{slug}", get(redirect))
        .method_not_allowed_fallback(method_not_allowed)
        // axum clones the state for every request: one Arc is one atomic increment, where the
        // state's own handles (the recorder's channel, the journal, the metrics...) are ten.
        .with_state(Arc::new(state));
    catch_panics(router, metrics)
}

/// Wraps `router` as [`router`] is wrapped: a panic answers the small HTML `500` page a
/// shopper's browser can show (instead of a dropped connection), counted in `metrics.panics`
/// and logged with its message.
pub fn catch_panics(router: Router, metrics: Arc<RedirectMetrics>) -> Router {
    crate::panic::catch(router, move |cause| {
        metrics.panics.fetch_add(1, Ordering::Relaxed);
        tracing::error!(cause, "redirect handler panicked");
        // The request is gone with the panic, so its Accept header is too: browsers are the
        // audience of `/{slug}`, so they get the page.
        page(
            &HeaderMap::new(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong opening this link. Please try again.",
        )
    })
}

async fn method_not_allowed(headers: HeaderMap) -> Response {
    page(
        &headers,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Short links only open with GET.",
    )
}

// Shoppers' browsers are the audience: no caching (each click must reach us to be counted and
// get its own click id), and only the origin of the page they came from goes on to the shop.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const REFERRER_POLICY: HeaderValue = HeaderValue::from_static("strict-origin-when-cross-origin");

async fn redirect(
    State(state): State<Arc<RedirectState>>,
    slug: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let headers = request.headers();
    // A malformed slug cannot name a link: answer without asking the store.
    let Some(slug) = slug.ok().and_then(|Path(raw)| Slug::parse(&raw).ok()) else {
        return not_found(&state, headers);
    };
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
    let ip = state.client_ip.client_ip(headers, peer);
    let resolved = match state.resolver.cached(&slug) {
        Some(CachedAnswer::Link(snapshot)) => Ok(Some(snapshot)),
        Some(CachedAnswer::Unknown) => Ok(None),
        None => {
            if let Some(wait) = ip.and_then(|ip| state.misses.may_look_up(ip).err()) {
                return too_many(&state, headers, wait);
            }
            let resolved = state.resolver.resolve(&slug).await;
            if let (Ok(None), Some(ip)) = (&resolved, ip) {
                if let Err(wait) = state.misses.missed(ip) {
                    return too_many(&state, headers, wait);
                }
            }
            resolved
        }
    };
    let snapshot = match resolved {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => return not_found(&state, headers),
        Err(error) => {
            tracing::error!(%error, slug = slug.as_str(), "link lookup failed");
            state.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
            let mut response = page(
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "This link cannot be opened right now. Please try again in a moment.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            return response;
        }
    };
    match snapshot.status_at(chrono::Utc::now()) {
        LinkStatus::Live => {}
        LinkStatus::Gone => {
            state.metrics.gone.fetch_add(1, Ordering::Relaxed);
            return page(
                headers,
                StatusCode::GONE,
                "gone",
                "This link has expired or been turned off.",
            );
        }
        LinkStatus::Unverified => {
            state.metrics.gone.fetch_add(1, Ordering::Relaxed);
            return page(
                headers,
                StatusCode::GONE,
                "unverified",
                "This link's shop has not been verified yet, so it does not lead anywhere.",
            );
        }
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let user_agent = text(header::USER_AGENT);
    let mut agent = robots::classify(user_agent);
    if agent == Agent::Preview {
        if !has_card_marker(request.uri().query()) {
            return preview(&state, snapshot.link_id, headers).await;
        }
        agent = if text(SEC_FETCH_USER) == Some("?1") {
            Agent::Shopper
        } else {
            Agent::Robot
        };
    }
    // HEAD comes from link checkers, never from a shopper's navigation: answer it, don't count it.
    let location = if request.method() == Method::HEAD {
        snapshot.location(ClickId::new())
    } else {
        let mut click = Click::by(
            agent,
            snapshot.link_id,
            ip,
            user_agent,
            text(header::REFERER),
        )
        .from_source(ClickSource::from_query(request.uri().query()))
        .in_country(state.country_of(headers, ip));
        if !state.keep_visitor_headers {
            click = click.without_headers();
        }
        let location = snapshot.location(click.id);
        if let Err(error) = state.recorder.record(click).await {
            // Only after shutdown began; the shopper still gets where they were going.
            tracing::warn!(%error, "click not recorded");
        }
        location
    };
    let Ok(location) = HeaderValue::try_from(location) else {
        // URLs are serialised percent-encoded ASCII; this cannot happen for a stored link.
        tracing::error!(link = %snapshot.link_id, "destination is not a valid header value");
        return page(
            headers,
            StatusCode::GONE,
            "gone",
            "This link cannot be opened.",
        );
    };
    state.metrics.redirected.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, NO_STORE),
            (header::REFERRER_POLICY, REFERRER_POLICY),
        ],
    )
        .into_response()
}

/// A preview fetcher gets the link's card instead of a redirect: it is counted as a preview,
/// records no click and so can never attribute a sale.
async fn preview(state: &RedirectState, link: LinkId, headers: &HeaderMap) -> Response {
    state.metrics.previews.fetch_add(1, Ordering::Relaxed);
    match state.resolver.preview(link).await {
        Ok(Some(card)) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                // Apps cache cards anyway; a few minutes keeps a viral link off the database.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=300"),
                ),
                // The same URL is a redirect for everyone else: a shared cache must not hand
                // the card to a shopper.
                (header::VARY, HeaderValue::from_static("user-agent")),
            ],
            crate::preview::render(&card),
        )
            .into_response(),
        Ok(None) => not_found(state, headers),
        Err(error) => {
            tracing::error!(%error, %link, "preview lookup failed");
            state.metrics.unavailable.fetch_add(1, Ordering::Relaxed);
            page(
                headers,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "This link cannot be previewed right now.",
            )
        }
    }
}

/// Sent by browsers on a navigation a person started (a tap, a click); never by fetchers.
const SEC_FETCH_USER: header::HeaderName = header::HeaderName::from_static("sec-fetch-user");

fn has_card_marker(query: Option<&str>) -> bool {
    query.is_some_and(|q| q.split('&').any(|pair| pair == CARD_MARKER))
}

fn too_many(state: &RedirectState, headers: &HeaderMap, wait: std::time::Duration) -> Response {
    state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
    let mut response = page(
        headers,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "Too many unknown links from your address. Please try again in a moment.",
    );
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

fn not_found(state: &RedirectState, headers: &HeaderMap) -> Response {
    state.metrics.not_found.fetch_add(1, Ordering::Relaxed);
    page(
        headers,
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no link at this address.",
    )
}

/// A tiny error page: JSON for API clients that ask for it, HTML for everyone else.
fn page(
    headers: &HeaderMap,
    status: StatusCode,
    error: &'static str,
    message: &'static str,
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    let mut response = if wants_json {
        (
            status,
            axum::Json(serde_json::json!({ "error": error, "message": message })),
        )
            .into_response()
    } else {
        let html = format!(
            "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>{message}</title><p style=\"font:1.1rem system-ui;margin:3rem auto;max-width:30rem\">{message}</p>"
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, NO_STORE);
    response
}

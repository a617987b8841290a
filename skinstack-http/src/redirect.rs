//! The shopper-facing route: `GET /{slug}` (and `HEAD`) answers `302 Found` to the link's
//! destination with UTM parameters and a click id, and records the click off the request path.
//! Link-preview fetchers (see [`skinstack_core::tracking::robots`]) get a preview card instead.

use crate::client_ip::ClientIpSource;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use skinstack_core::tracking::redirect::LinkStatus;
use skinstack_core::tracking::robots::{self, Agent};
use skinstack_core::{Click, ClickId, ClickRecorder, ClickSource, LinkId, LinkResolver, Slug};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts of redirect outcomes, for `/metrics`.
#[derive(Debug, Default)]
pub struct RedirectMetrics {
    /// `302` answers.
    pub redirected: AtomicU64,
    /// `404` answers (unknown or malformed slug).
    pub not_found: AtomicU64,
    /// `410` answers (inactive or expired link).
    pub gone: AtomicU64,
    /// `503` answers (link not cached and the store unreachable).
    pub unavailable: AtomicU64,
    /// Preview cards served to link-preview fetchers (not clicks).
    pub previews: AtomicU64,
    /// Panics caught and answered with the 500 page (a bug: each is logged).
    pub panics: AtomicU64,
}

/// What the redirect route needs. Cheap to clone.
#[derive(Clone)]
pub struct RedirectState {
    resolver: Arc<dyn LinkResolver>,
    recorder: ClickRecorder,
    client_ip: ClientIpSource,
    metrics: Arc<RedirectMetrics>,
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
            metrics: Arc::default(),
        }
    }

    /// Reads client addresses from `source` instead.
    pub fn client_ip(mut self, source: ClientIpSource) -> Self {
        self.client_ip = source;
        self
    }

    /// The outcome counters.
    pub fn metrics(&self) -> &Arc<RedirectMetrics> {
        &self.metrics
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
        .with_state(state);
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
    State(state): State<RedirectState>,
    slug: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let headers = request.headers();
    // A malformed slug cannot name a link: answer without asking the store.
    let Some(slug) = slug.ok().and_then(|Path(raw)| Slug::parse(&raw).ok()) else {
        return not_found(&state, headers);
    };
    let snapshot = match state.resolver.resolve(&slug).await {
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
    if snapshot.status_at(chrono::Utc::now()) == LinkStatus::Gone {
        state.metrics.gone.fetch_add(1, Ordering::Relaxed);
        return page(
            headers,
            StatusCode::GONE,
            "gone",
            "This link has expired or been turned off.",
        );
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let user_agent = text(header::USER_AGENT);
    let agent = robots::classify(user_agent);
    if agent == Agent::Preview {
        return preview(&state, snapshot.link_id, headers).await;
    }
    // HEAD comes from link checkers, never from a shopper's navigation: answer it, don't count it.
    let location = if request.method() == Method::HEAD {
        snapshot.location(ClickId::new())
    } else {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
        let ip = state.client_ip.client_ip(headers, peer);
        let click = Click::by(
            agent,
            snapshot.link_id,
            ip,
            user_agent,
            text(header::REFERER),
        )
        .from_source(ClickSource::from_query(request.uri().query()));
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

//! A thin [axum] adapter for SkinStack: routers to mount in your own app.
//!
//! Handlers only parse the request, call `skinstack-core` and map the result; every rule lives
//! in core. Two routers:
//!
//! - [`api`]: the JSON API under `/v1` (accounts, profiles, programs, products, tracking
//!   links, merchants' API keys, conversions and refunds, statements, administration) with
//!   `/healthz`, `/readyz`, `/metrics` and `/openapi.json`, and the Shopify webhook receiver
//!   `POST /webhooks/shopify/{merchant_id}`.
//! - [`dashboard::router`]: the server-rendered dashboard at `/dashboard`, over the same state.
//! - [`redirect::router`]: the shopper-facing `GET /{slug}`. Merge it after the API: axum
//!   prefers the API's static paths over its `/{slug}` capture.
//!
//! ```no_run
//! use std::sync::Arc;
//! use skinstack_core::{ClickRecorder, FlushConfig, MemoryStore};
//! use skinstack_http::redirect::{self, RedirectState};
//! use skinstack_http::ApiState;
//!
//! # async fn run() -> std::io::Result<()> {
//! let store = MemoryStore::new();
//! let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
//! let redirects = RedirectState::new(Arc::new(store.clone()), recorder.clone());
//! let api = ApiState::new(Arc::new(store))
//!     .with_redirect_metrics(redirects.metrics().clone())
//!     .with_click_recorder(recorder);
//! let app = axum::Router::new()
//!     .route("/hello", axum::routing::get(|| async { "your own route" }))
//!     .merge(skinstack_http::api(api))
//!     .merge(redirect::router(redirects));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! flusher.shutdown(std::time::Duration::from_secs(10)).await.ok();
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client_ip;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod geoip;
pub mod metrics;
mod miss_limit;
pub mod panic;
pub mod preview;
pub mod qr;
pub mod redirect;
pub mod responses;
pub mod routes;
pub mod state;
pub mod throttle;

pub use error::Error;
pub use state::{ApiState, LoginLimits, WallClock};

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

/// Largest JSON body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Gives a request without an `x-request-id` a fresh UUIDv7 (time-ordered, so ids sort by
/// arrival in logs).
#[derive(Debug, Clone, Copy, Default)]
struct RequestIdV7;

impl MakeRequestId for RequestIdV7 {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The OpenAPI 3.1 document of [`api`], as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_routes().split_for_parts().1
}

/// The API router: everything under `/v1`, plus `/healthz`, `/readyz`, `/metrics`,
/// `/openapi.json` and `/webhooks/shopify/{merchant_id}`. Every response carries an
/// `x-request-id` (the client's, or a new UUIDv7), every request is logged on one line and
/// counted by route template, JSON bodies are limited to [`BODY_LIMIT`] (webhooks to
/// [`routes::webhooks::WEBHOOK_BODY_LIMIT`]).
///
/// A path no route matches gets the JSON 404 and a known path asked with another method the
/// JSON 405, like every other API error, instead of axum's empty bodies. That fallback is
/// the merged app's: merge the API into routers without a fallback of their own (or call
/// [`Router::reset_fallback`] on one of the two), since axum refuses to merge two.
pub fn api(state: ApiState) -> Router {
    let (router, doc) = routes::api_routes().split_for_parts();
    let mut state = state;
    state.openapi_json = doc
        .to_json()
        .unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
        .into();
    observed(router.fallback(no_route), state)
}

/// Wraps `router` in the layers of [`api`]: request ids, one log line and metrics per
/// request, the body limit, the JSON 405, and a panic caught and answered with the JSON 500
/// (counted in `/metrics` as `skinstack_http_panics_total{router="api"}`). Use it for routes
/// of your own over the same state.
pub fn observed(router: Router<ApiState>, state: ApiState) -> Router {
    let metrics = state.metrics.clone();
    observed_with(router, state, move |cause| {
        metrics.panicked(metrics::Surface::Api);
        Error::Internal(cause.into()).into_response()
    })
}

/// [`observed`] with another answer to a panic (the dashboard's is an HTML page).
pub(crate) fn observed_with<R>(router: Router<ApiState>, state: ApiState, on_panic: R) -> Router
where
    R: Fn(String) -> axum::response::Response + Clone + Send + Sync + 'static,
{
    // Inside the request log, so that a panic's 500 is logged and counted like any other.
    let router = panic::catch(
        router.method_not_allowed_fallback(method_not_allowed),
        on_panic,
    );
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIdV7))
        .with_state(state)
}

async fn no_route() -> Error {
    Error::NotFound("no route matches this path".to_owned())
}

async fn method_not_allowed(method: axum::http::Method) -> Error {
    Error::MethodNotAllowed(method.to_string())
}

//! Operations: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`. No authentication: put
//! them behind your network's rules if they should not be public.

use crate::error::{Error, ErrorBody, Result};
use crate::metrics;
use crate::state::ApiState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up (liveness). Touches nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "Up", body = Status))
)]
async fn healthz() -> axum::Json<Status> {
    axum::Json(Status { status: "ok" })
}

/// The store answers and its schema is current (readiness).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Store unreachable or schema not current", body = ErrorBody),
    )
)]
async fn readyz(State(state): State<ApiState>) -> Result<axum::Json<Status>> {
    match state.store.check().await {
        Ok(()) => Ok(axum::Json(Status { status: "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            Err(Error::Unavailable("the store is not ready".to_owned()))
        }
    }
}

/// Counters and histograms in Prometheus' text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"))
)]
async fn metrics_text(State(state): State<ApiState>) -> impl IntoResponse {
    let mut text = metrics::render(&state);
    // The store's counts are read per scrape; a store that cannot answer leaves them out
    // rather than failing the request counters with them.
    match state.store.hold_counts().await {
        Ok(counts) => metrics::render_holds(&mut text, &counts),
        Err(err) => tracing::warn!(error = %err, "hold counts unavailable for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// This document: the API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.to_string(),
    )
}

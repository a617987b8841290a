//! A server-rendered dashboard at `/dashboard`, for people rather than programs: influencers
//! see their links (with copy buttons, QR codes, counters and 30-day charts), create links and
//! follow their earnings and ask for coupon codes; merchants see their programs, products, top
//! links, coupon codes (assign, approve, revoke) and the commissions they owe.
//!
//! Mount it like the API (before the `/{slug}` redirect router):
//!
//! ```no_run
//! # fn app(api: skinstack_http::ApiState) -> axum::Router {
//! axum::Router::new()
//!     .merge(skinstack_http::api(api.clone()))
//!     .merge(skinstack_http::dashboard::router(api))
//! # }
//! ```
//!
//! Pages are [maud] templates, so every interpolated string is escaped; charts are SVG drawn on
//! the server; the one small script (copy buttons) and the stylesheet are embedded in the
//! binary and served from `/dashboard/assets/`. Security: the session cookie is the API's
//! session token in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the public URL is
//! https); every form carries a CSRF token (derived from the session, or a double-submit
//! cookie on the login form); a Content-Security-Policy forbids inline script; every read
//! and write goes through the same core services, with the same ownership rules, as the API.

mod assets;
mod auth;
mod breakdowns;
mod chart;
mod coupons;
mod enrollment;
mod influencer;
mod invoices;
mod layout;
mod merchant;
mod page_error;
mod session;

pub use page_error::PageError;

use crate::state::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use session::Viewer;
use skinstack_core::Role;

/// Where the dashboard lives.
pub const BASE: &str = "/dashboard";

/// No inline script or style, no plugins, no framing; images from here or `data:` only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The dashboard's router, over the same state as [`crate::api`], with the API's request ids,
/// request log, metrics and body limit. It has no fallback, so it merges with the API and the
/// redirect router. A panic answers the dashboard's error page (500).
pub fn router(state: ApiState) -> Router {
    let router = Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/", get(|| async { Redirect::to(BASE) }))
        .route("/dashboard/login", get(auth::form).post(auth::login))
        .route("/dashboard/logout", post(auth::logout))
        .route("/dashboard/links", post(influencer::create_link))
        .route(
            "/dashboard/conversions/{id}/release",
            post(merchant::release),
        )
        .route("/dashboard/conversions/{id}/void", post(merchant::void))
        .route("/dashboard/links/{id}", get(influencer::link_page))
        .route("/dashboard/links/{id}/qr.svg", get(influencer::qr_svg))
        .route("/dashboard/links/{id}/qr.png", get(influencer::qr_png))
        .route("/dashboard/programs", get(enrollment::programs_page))
        .route("/dashboard/programs/{id}/apply", post(enrollment::apply))
        .route(
            "/dashboard/programs/{id}/withdraw",
            post(enrollment::withdraw),
        )
        .route(
            "/dashboard/programs/{id}/members/{influencer_id}/{verb}",
            post(enrollment::decide),
        )
        .route(
            "/dashboard/applications",
            get(enrollment::applications_page),
        )
        .route("/dashboard/members", get(enrollment::members_list_page))
        .route("/dashboard/coupon-codes", post(coupons::assign))
        .route("/dashboard/coupon-codes/requests", post(coupons::request))
        .route(
            "/dashboard/coupon-codes/{id}/approve",
            post(coupons::approve),
        )
        .route("/dashboard/coupon-codes/{id}/revoke", post(coupons::revoke))
        .route("/dashboard/statements/{id}/csv", get(invoices::csv))
        .route("/dashboard/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers));
    layered(router, state)
}

/// The API's layers, with the dashboard's error page (500) for a panic.
fn layered(router: Router<ApiState>, state: ApiState) -> Router {
    let metrics = state.metrics.clone();
    crate::observed_with(router, state, move |cause| {
        metrics.panicked(crate::metrics::Surface::Dashboard);
        PageError::Internal(cause.into()).into_response()
    })
}

/// Each role's home page; an administrator is pointed to the API.
async fn home(
    State(state): State<ApiState>,
    viewer: Viewer,
    query: Result<Query<influencer::HomeQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    match viewer.actor.role() {
        Role::Influencer => {
            // A mangled `?created=` only loses the highlight.
            let query = query.map(|Query(q)| q).unwrap_or_default();
            influencer::home(&state, &viewer, query, None).await
        }
        Role::Merchant => merchant::home(&state, &viewer).await,
        Role::Admin => Ok(layout::page(
            "Administration",
            Some(&viewer),
            maud::html! {
                section.card {
                    h1 { "Administration" }
                    p { "Administrators work through the API: see " a href="/openapi.json" { "/openapi.json" } "." }
                }
            },
        )
        .into_response()),
    }
}

/// Headers on every dashboard response: the CSP, no sniffing, no framing, no referrer beyond
/// this origin, and no caching of pages (they show private figures).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::metrics::Surface;
    use skinstack_core::MemoryStore;
    use std::sync::Arc;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_dashboard_page_answers_the_html_500_page_and_is_counted() {
        let state = ApiState::new(Arc::new(MemoryStore::new()));
        let metrics = state.metrics.clone();
        async fn boom() -> &'static str {
            panic!("a bug in a page")
        }
        let boom = Router::new().route("/dashboard/boom", get(boom));
        let app = layered(boom, state);
        let request = axum::http::Request::builder()
            .uri("/dashboard/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("Something went wrong"), "{text}");
        assert!(!text.contains("a bug in a page"), "{text}");
        assert_eq!(metrics.panics(Surface::Dashboard), 1);
        assert_eq!(metrics.panics(Surface::Api), 0);
    }
}

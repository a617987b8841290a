//! [`PageError`]: how the dashboard answers when it cannot show a page — an HTML page, never
//! JSON, and a trip to the login form when there is no session.

use super::layout;
use crate::error::{BoxError, InternalCause};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use skinstack_core::service::ServiceError;

/// Why a dashboard page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session, or an expired one: go to the login form (303).
    #[error("please log in")]
    LoginRequired,
    /// 400: a form that does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// 403: a missing or wrong CSRF token, or a role that may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such thing, or not yours.
    #[error("not found")]
    NotFound,
    /// 500: logged with its source chain, never shown.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl From<ServiceError> for PageError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unauthenticated => PageError::LoginRequired,
            ServiceError::Forbidden(why) => PageError::Forbidden(why),
            ServiceError::NotFound(_) => PageError::NotFound,
            ServiceError::Internal(source) => PageError::Internal(source),
            // Forms turn refusals into messages on the page; one reaching here is a bad request.
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            PageError::LoginRequired => {
                return Redirect::to("/dashboard/login").into_response();
            }
            PageError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            PageError::Forbidden(why) => (StatusCode::FORBIDDEN, (*why).to_owned()),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "There is nothing here, or it is not yours.".to_owned(),
            ),
            PageError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.".to_owned(),
            ),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let mut response = (
            status,
            layout::page(
                title,
                None,
                maud::html! {
                    section.card {
                        h1 { (title) }
                        p { (message) }
                        p { a href="/dashboard" { "Back to the dashboard" } }
                    }
                },
            ),
        )
            .into_response();
        // The request log records the cause next to the request id; the page never shows it.
        if let PageError::Internal(source) = self {
            response
                .extensions_mut()
                .insert(InternalCause::of(&*source));
        }
        response
    }
}

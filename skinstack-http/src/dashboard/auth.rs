//! Logging in and out of the dashboard.

use super::layout;
use super::session::{self, Viewer, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::PageError;
use crate::error::Error;
use crate::extract::ClientIp;
use crate::state::ApiState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use skinstack_core::service::{accounts, ServiceError};
use skinstack_core::{Email, SessionToken};

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// The login form, with a fresh double-submit token; a logged-in visitor goes home.
pub(super) async fn form(
    State(state): State<ApiState>,
    viewer: Result<Viewer, PageError>,
) -> Result<Response, PageError> {
    if viewer.is_ok() {
        return Ok(Redirect::to(super::BASE).into_response());
    }
    login_page(&state, StatusCode::OK, "", None)
}

fn login_page(
    state: &ApiState,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let nonce = SessionToken::generate().map_err(|e| PageError::Internal(Box::new(e)))?;
    let nonce = nonce.expose();
    let markup = layout::page(
        "Log in",
        None,
        html! {
            section.card.narrow {
                h1 { "Log in" }
                p.muted { "Your links, their clicks and what they earned." }
                @if let Some(error) = error {
                    p.notice.error role="alert" { (error) }
                }
                form.stack method="post" action="/dashboard/login" {
                    input type="hidden" name="csrf" value=(nonce);
                    label { "Email"
                        input type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    }
                    label { "Password"
                        input type="password" name="password" autocomplete="current-password" required;
                    }
                    button.primary type="submit" { "Log in" }
                }
            }
        },
    );
    let cookie = session::set_cookie(state, LOGIN_CSRF_COOKIE, nonce, "/dashboard/login", 3600);
    Ok((status, [(header::SET_COOKIE, cookie)], markup).into_response())
}

/// Checks the double-submit token, then the credentials (throttled like the API's login);
/// success sets the session cookie and goes home.
pub(super) async fn login(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE);
    if !expected.is_some_and(|cookie| session::same_secret(&cookie, &form.csrf)) {
        return Err(PageError::Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
        ));
    }
    let logged_in =
        crate::routes::auth::guarded_login(&state, ip, &form.email, &form.password).await;
    let (status, message, retry) = match logged_in {
        Ok(logged_in) => {
            let session = session::set_cookie(
                &state,
                SESSION_COOKIE,
                logged_in.token.expose(),
                "/dashboard",
                state.session_ttl.num_seconds(),
            );
            let spent = session::set_cookie(&state, LOGIN_CSRF_COOKIE, "", "/dashboard/login", 0);
            let mut response = Redirect::to(super::BASE).into_response();
            response.headers_mut().append(header::SET_COOKIE, session);
            response.headers_mut().append(header::SET_COOKIE, spent);
            return Ok(response);
        }
        Err(Error::Unauthorized(_)) => (
            StatusCode::UNAUTHORIZED,
            "Wrong email or password.".to_owned(),
            None,
        ),
        Err(Error::Unprocessable(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "An email address has at most {} characters.",
                Email::MAX_LEN
            ),
            None,
        ),
        Err(Error::TooManyRequests(seconds)) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {seconds} seconds."),
            Some(seconds),
        ),
        Err(Error::Busy(seconds)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("We are very busy right now. Try again in {seconds} seconds."),
            Some(seconds),
        ),
        Err(other) => return Err(PageError::Internal(other.to_string().into())),
    };
    // The address typed is shown again, but never more of it than an address can hold.
    let typed: String = form.email.chars().take(Email::MAX_LEN).collect();
    let mut page = login_page(&state, status, &typed, Some(&message))?;
    if let Some(seconds) = retry {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Ok(page)
}

/// Ends the session (in the store, not just the cookie) and goes to the login form.
pub(super) async fn logout(
    State(state): State<ApiState>,
    viewer: Viewer,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|rejection| PageError::BadRequest(rejection.body_text()))?;
    viewer.check_csrf(&form.csrf)?;
    match accounts::logout(&*state.store, &viewer.token).await {
        Ok(()) | Err(ServiceError::Unauthenticated) => {}
        Err(other) => return Err(other.into()),
    }
    let cleared = session::set_cookie(&state, SESSION_COOKIE, "", "/dashboard", 0);
    Ok((
        [(header::SET_COOKIE, cleared)],
        Redirect::to("/dashboard/login"),
    )
        .into_response())
}

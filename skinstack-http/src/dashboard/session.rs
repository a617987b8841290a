//! The dashboard's session cookie and CSRF tokens.
//!
//! The cookie holds an API session token (from core [`accounts::login`]), so sessions live in
//! the `sessions` table, expire and are revoked exactly like bearer tokens. Forms of a
//! logged-in page carry `HMAC-SHA256(session token, "dashboard csrf")`: a page from another
//! site cannot read it, and it needs no storage. The login form, which has no session yet,
//! uses a double-submit cookie instead.

use super::PageError;
use crate::state::ApiState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use skinstack_core::service::{accounts, Actor};

/// The session cookie.
pub(super) const SESSION_COOKIE: &str = "skinstack_session";
/// The login form's double-submit cookie.
pub(super) const LOGIN_CSRF_COOKIE: &str = "skinstack_login_csrf";

const CSRF_CONTEXT: &[u8] = b"skinstack dashboard csrf v1";

/// The logged-in person looking at the dashboard. Without a valid session cookie the
/// request is sent to the login form.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// Whom the pages show.
    pub(crate) actor: Actor,
    /// The session token, for logout.
    pub(super) token: String,
    /// The CSRF token this session's forms carry.
    pub(crate) csrf: String,
}

impl Viewer {
    /// `Forbidden` unless `presented` is this session's CSRF token. Checked before anything
    /// else a form asks for.
    pub(super) fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        if csrf_matches(&self.token, presented) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "This form has expired or did not come from this site. Reload the page and try again.",
            ))
        }
    }
}

impl FromRequestParts<ApiState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, PageError> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(PageError::LoginRequired)?;
        let actor = accounts::authenticate(&*state.store, &token, chrono::Utc::now()).await?;
        Ok(Viewer {
            actor,
            csrf: csrf_token(&token),
            token,
        })
    }
}

fn mac(session_token: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(CSRF_CONTEXT);
    mac
}

/// The CSRF token of the session `session_token`.
pub(super) fn csrf_token(session_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(session_token).finalize().into_bytes())
}

/// Whether `presented` is the CSRF token of `session_token`, compared in constant time.
fn csrf_matches(session_token: &str, presented: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(presented.trim()) {
        Ok(bytes) => mac(session_token).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Whether two secrets are equal, in time independent of where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name`, if the request has it.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (the link from an email to the dashboard
/// still arrives logged in; cross-site POSTs do not carry it), `Secure` over https.
pub(super) fn set_cookie(
    state: &ApiState,
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: i64,
) -> HeaderValue {
    let secure = if state.is_https() { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}"
    );
    // Tokens are base64url and paths are literals: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session_only() {
        let token = csrf_token("session-a");
        assert!(csrf_matches("session-a", &token));
        assert!(!csrf_matches("session-b", &token));
        assert!(!csrf_matches("session-a", ""));
        assert!(!csrf_matches("session-a", "not base64 !!"));
        assert!(!csrf_matches("session-a", &token[..token.len() - 2]));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; skinstack_session_x=no; skinstack_session=yes"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("yes"));
        assert_eq!(cookie(&headers, LOGIN_CSRF_COOKIE), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}

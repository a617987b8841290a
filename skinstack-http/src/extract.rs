//! Extractors whose rejections are [`Error`]s, and helpers that turn request fields into
//! domain values while collecting every refusal by field.

use crate::error::Error;
use crate::state::ApiState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use skinstack_core::error::Invalid;
use skinstack_core::service::{accounts, api_keys, Actor};
use skinstack_core::{ApiKey, MerchantId};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// A JSON body. Malformed JSON, unknown or missing fields and wrong types are 400; a body over
/// the limit is 413; another content type is 415.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Error::UnsupportedMediaType),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Error::PayloadTooLarge)
            }
            Err(rejection) => Err(Error::BadRequest(rejection.body_text())),
        }
    }
}

/// A path parameter; one that does not parse (say, not a UUID) names nothing: 404.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_: PathRejection| Error::NotFound("not found".to_owned()))
    }
}

/// A query string; one that does not parse is 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| Error::BadRequest(rejection.body_text()))
    }
}

/// The authenticated caller, from `Authorization: Bearer <token>`. A missing, malformed,
/// unknown, expired or revoked token, or a deactivated account, is 401.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// Whom the request acts for.
    pub actor: Actor,
    /// The bearer token, for logout.
    pub(crate) token: String,
}

impl FromRequestParts<ApiState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Error> {
        let token = bearer(parts)?;
        let actor = accounts::authenticate(&*state.store, token, chrono::Utc::now())
            .await
            .map_err(|err| match Error::from(err) {
                Error::Unauthorized(_) => Error::Unauthorized("invalid or expired token"),
                other => other,
            })?;
        Ok(AuthUser {
            actor,
            token: token.to_owned(),
        })
    }
}

/// The merchant a request acts for, from `Authorization: Bearer ssk_...` (a merchant API
/// key). A missing, malformed, unknown or revoked key, a deactivated merchant's key, and a
/// session token, are 401.
#[derive(Debug, Clone, Copy)]
pub struct MerchantKey {
    /// The merchant the key belongs to.
    pub merchant_id: MerchantId,
}

impl FromRequestParts<ApiState> for MerchantKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Error> {
        let token = bearer(parts)?;
        if !ApiKey::is_key_like(token) {
            return Err(Error::Unauthorized(
                "expected a merchant API key (Bearer ssk_...), not a session token",
            ));
        }
        let merchant_id = api_keys::authenticate(&*state.store, token, chrono::Utc::now())
            .await
            .map_err(|err| match Error::from(err) {
                Error::Unauthorized(_) => Error::Unauthorized("invalid or revoked API key"),
                other => other,
            })?;
        Ok(MerchantKey { merchant_id })
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(parts: &Parts) -> Result<&str, Error> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(Error::Unauthorized("missing bearer token"))?;
    header
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or(Error::Unauthorized(
            "expected Authorization: Bearer <token>",
        ))
}

/// The client's address as the state's [`ClientIpSource`](crate::client_ip::ClientIpSource)
/// reads it; `None` when unknown (for example without `ConnectInfo`).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<ApiState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Error> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(state.client_ip.client_ip(&parts.headers, peer)))
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value, for
/// PATCH bodies: use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Collects refused fields while a request is turned into domain values, so one 422 names
/// every bad field at once.
#[derive(Debug, Default)]
pub(crate) struct Check {
    fields: BTreeMap<String, Vec<String>>,
}

impl Check {
    /// Records a refusal of `field`.
    pub(crate) fn refuse(&mut self, field: &str, reason: impl ToString) {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(reason.to_string());
    }

    /// A required value: `Some` if it parsed.
    pub(crate) fn req<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Option<T> {
        parsed.map_err(|reason| self.refuse(field, reason)).ok()
    }

    /// An optional value: `Some(None)` when absent, `Some(Some(v))` when it parsed.
    pub(crate) fn opt<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.req(field, parse(v)).map(Some),
        }
    }

    /// A PATCH value: `None` (keep) when absent, `Some(None)` (clear) for `null`,
    /// `Some(Some(v))` when it parsed. A refusal is recorded and reads as "keep".
    pub(crate) fn patch<T>(
        &mut self,
        field: &str,
        value: Option<Option<impl AsRef<str>>>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<Option<T>> {
        match value {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => self.req(field, parse(v.as_ref())).map(Some),
        }
    }

    /// A PATCH value that cannot be cleared: absent keeps it, `null` is refused.
    pub(crate) fn set<T>(
        &mut self,
        field: &str,
        value: Option<Option<String>>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match value {
            None => None,
            Some(None) => {
                self.refuse(field, "must not be null");
                None
            }
            Some(Some(v)) => self.req(field, parse(&v)),
        }
    }

    /// `Err(422)` naming every refused field, if any.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.fields.is_empty() {
            Ok(())
        } else {
            Err(Error::Unprocessable(self.fields))
        }
    }
}

/// A write-only string from a request body — a password or a credential. `Debug` prints
/// `[redacted]`, so a request struct can derive `Debug` without ever printing one.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct WriteOnly(String);

impl std::ops::Deref for WriteOnly {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for WriteOnly {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WriteOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A decimal given as a JSON string (`"19.99"`, preferred: exact) or number (`19.99`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DecimalInput {
    /// `"19.99"`.
    Text(String),
    /// `19.99`.
    Number(serde_json::Number),
}

impl DecimalInput {
    /// The decimal as text, for `Money::parse` and friends.
    pub fn text(&self) -> String {
        match self {
            DecimalInput::Text(text) => text.clone(),
            DecimalInput::Number(number) => number.to_string(),
        }
    }
}

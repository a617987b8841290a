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
use skinstack_core::error::{Invalid, ValidationError};
use skinstack_core::service::{accounts, api_keys, Actor};
use skinstack_core::{ApiKey, MerchantId};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// A JSON body, which must be an object. Malformed JSON, another JSON value than an object,
/// unknown or missing fields and wrong types are 400; a body over the limit is 413; another
/// content type is 415.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// `T` read only from a JSON object. serde's derived structs also take the array of their
/// fields' values (`[null, null]`), which every request schema says is not a body.
struct JsonObject<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(Object(std::marker::PhantomData))
            .map(JsonObject)
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<JsonObject<T>>::from_request(req, state).await {
            Ok(axum::Json(JsonObject(value))) => Ok(Json(value)),
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

/// Deserialises a whole number from a JSON integer or from a number with no fraction
/// (`402.0`): JSON Schema's `integer` is the mathematical one, so a client may send either.
/// A fraction, or a value outside `T`, is a type error (400), as any wrong type is.
pub fn whole_number<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: TryFrom<i64> + TryFrom<u64>,
    D: Deserializer<'de>,
{
    use serde::de::Error as _;
    let number = serde_json::Number::deserialize(deserializer)?;
    let out_of_range = || {
        D::Error::custom(format!(
            "invalid value: {number}, expected a whole number in range"
        ))
    };
    if let Some(n) = number.as_u64() {
        return T::try_from(n).map_err(|_| out_of_range());
    }
    if let Some(n) = number.as_i64() {
        return T::try_from(n).map_err(|_| out_of_range());
    }
    match number.as_f64() {
        // Beyond 2^53 a float no longer holds every whole number; nothing we take is that big.
        Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
            T::try_from(f as i64).map_err(|_| out_of_range())
        }
        _ => Err(out_of_range()),
    }
}

/// [`whole_number`] for an optional field (`null` or absent is `None`): use with
/// `#[serde(default, deserialize_with = "whole_number_or_null")]`.
pub fn whole_number_or_null<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64> + TryFrom<u64>,
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<i64> + TryFrom<u64>>(#[serde(deserialize_with = "whole_number")] T);
    Ok(Option::<Whole<T>>::deserialize(deserializer)?.map(|Whole(n)| n))
}

/// Deserialises an optional nested object, refusing the array form serde would otherwise
/// take for a struct (`[null, null]` for `{"source": null, "medium": null}`): the schema says
/// object, so only an object is one. Use with `#[serde(default, deserialize_with = "object")]`.
pub fn object<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: DeserializeOwned,
    D: Deserializer<'de>,
{
    use serde::de::Error as _;
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(map) => serde_json::from_value(serde_json::Value::Object(map))
            .map(Some)
            .map_err(D::Error::custom),
    }
}

/// Collects refused fields while a request is turned into domain values, so one 422 names
/// every bad field at once, and hands the values back once nothing was refused.
///
/// Each parsing method returns a [`Checked`] value: the parsed value, or the mark that its
/// refusal is recorded here. [`Check::finish`] takes every `Checked` a handler made and returns
/// the plain values, or the 422; a handler never has to unwrap what it parsed.
#[derive(Debug, Default)]
pub(crate) struct Check {
    fields: BTreeMap<String, Vec<String>>,
}

/// A value parsed from a request, or the mark that it was refused. Only a [`Check`] makes a
/// refused one, and only while recording the refusal, so a `Checked` without a value always
/// comes with a named field in that check's 422.
#[derive(Debug)]
#[must_use = "a checked value is only usable through Check::finish"]
pub(crate) struct Checked<T>(Option<T>);

impl<T> Checked<T> {
    /// A value that needed no check (a default, or one the deserialiser already typed).
    pub(crate) fn ok(value: T) -> Self {
        Checked(Some(value))
    }

    /// The value transformed; a refusal stays a refusal.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Checked<U> {
        Checked(self.0.map(f))
    }

    /// Several checked values as one: the tuple of values if none was refused.
    pub(crate) fn all<P: CheckedParts<Values = T>>(parts: P) -> Self {
        Checked(parts.values())
    }
}

/// A set of [`Checked`] values that [`Check::finish`] can hand back at once: one, a tuple of
/// up to eight, or another set nested.
pub(crate) trait CheckedParts {
    /// The plain values.
    type Values;
    /// The values, if none was refused.
    fn values(self) -> Option<Self::Values>;
}

impl<T> CheckedParts for Checked<T> {
    type Values = T;

    fn values(self) -> Option<T> {
        self.0
    }
}

macro_rules! checked_tuple {
    ($($part:ident),+) => {
        impl<$($part: CheckedParts),+> CheckedParts for ($($part,)+) {
            type Values = ($($part::Values,)+);

            #[allow(non_snake_case)]
            fn values(self) -> Option<Self::Values> {
                let ($($part,)+) = self;
                Some(($($part.values()?,)+))
            }
        }
    };
}

checked_tuple!(A);
checked_tuple!(A, B);
checked_tuple!(A, B, C);
checked_tuple!(A, B, C, D);
checked_tuple!(A, B, C, D, E);
checked_tuple!(A, B, C, D, E, F);
checked_tuple!(A, B, C, D, E, F, G);
checked_tuple!(A, B, C, D, E, F, G, H);
checked_tuple!(A, B, C, D, E, F, G, H, I);

/// Every value of a list, or a refusal if any item was refused (each item's refusal is
/// already recorded under its own field, such as `product_external_ids[3]`).
impl<T> FromIterator<Checked<T>> for Checked<Vec<T>> {
    fn from_iter<I: IntoIterator<Item = Checked<T>>>(items: I) -> Self {
        Checked(items.into_iter().map(|item| item.0).collect())
    }
}

impl Check {
    /// Records a refusal of `field` that rules out no value of its own (a field that must be
    /// absent, a list that is too long).
    pub(crate) fn refuse(&mut self, field: &str, reason: impl ToString) {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(reason.to_string());
    }

    /// Records a refusal of `field` in place of its value.
    pub(crate) fn refused<T>(&mut self, field: &str, reason: impl ToString) -> Checked<T> {
        self.refuse(field, reason);
        Checked(None)
    }

    /// A required value.
    pub(crate) fn req<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Checked<T> {
        match parsed {
            Ok(value) => Checked::ok(value),
            Err(reason) => self.refused(field, reason),
        }
    }

    /// An optional value: `None` when absent.
    pub(crate) fn opt<V, T>(
        &mut self,
        field: &str,
        value: Option<V>,
        parse: impl FnOnce(V) -> Result<T, Invalid>,
    ) -> Checked<Option<T>> {
        match value {
            None => Checked::ok(None),
            Some(v) => self.req(field, parse(v)).map(Some),
        }
    }

    /// A PATCH value: `None` (keep) when absent, `Some(None)` (clear) for `null`,
    /// `Some(Some(v))` when it parsed.
    pub(crate) fn patch<T>(
        &mut self,
        field: &str,
        value: Option<Option<impl AsRef<str>>>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Checked<Option<Option<T>>> {
        match value {
            None => Checked::ok(None),
            Some(None) => Checked::ok(Some(None)),
            Some(Some(v)) => self.req(field, parse(v.as_ref())).map(|v| Some(Some(v))),
        }
    }

    /// A PATCH value that cannot be cleared: `None` (keep) when absent, `null` is refused.
    pub(crate) fn set<T>(
        &mut self,
        field: &str,
        value: Option<Option<String>>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Checked<Option<T>> {
        match value {
            None => Checked::ok(None),
            Some(None) => self.refused(field, "must not be null"),
            Some(Some(v)) => self.req(field, parse(&v)).map(Some),
        }
    }

    /// A rule across values that parsed (say, payout details that must agree): its refusal is
    /// recorded under the field it names. Skipped when a value it needs was refused already.
    pub(crate) fn and_then<T, U>(
        &mut self,
        value: Checked<T>,
        rule: impl FnOnce(T) -> Result<U, ValidationError>,
    ) -> Checked<U> {
        match value.0.map(rule) {
            Some(Ok(value)) => Checked::ok(value),
            Some(Err(err)) => self.refused(err.field, err.reason),
            None => Checked(None),
        }
    }

    /// The values of `parts`, or `Err(422)` naming every refused field.
    pub(crate) fn finish<P: CheckedParts>(self, parts: P) -> Result<P::Values, Error> {
        // A value is missing only where a refusal was recorded, so the 422 below always names
        // a field; one arm covers both conditions so that no state is left unanswered.
        match parts.values() {
            Some(values) if self.fields.is_empty() => Ok(values),
            _ => Err(Error::Unprocessable(self.fields)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn even(text: &str) -> Result<u32, Invalid> {
        match text.parse::<u32>() {
            Ok(n) if n % 2 == 0 => Ok(n),
            Ok(_) => Err(Invalid::OutOfRange("even")),
            Err(_) => Err(Invalid::Format("a number")),
        }
    }

    fn refused_fields(err: Error) -> BTreeMap<String, Vec<String>> {
        match err {
            Error::Unprocessable(fields) => fields,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn the_parsed_values_come_back_when_nothing_is_refused() {
        let mut c = Check::default();
        let a = c.req("a", even("2"));
        let b = c.opt("b", Some("4"), even);
        let absent = c.opt("c", None::<&str>, even);
        let keep = c.patch("d", None::<Option<String>>, even);
        let clear = c.patch("e", Some(None::<String>), even);
        let list: Checked<Vec<u32>> = ["6", "8"].iter().map(|v| c.req("f", even(v))).collect();
        let values = c.finish((a, b, absent, (keep, clear), list)).unwrap();
        assert_eq!(values, (2, Some(4), None, (None, Some(None)), vec![6, 8]));
    }

    #[test]
    fn every_refused_field_is_named_in_one_422() {
        let mut c = Check::default();
        let a = c.req("a", even("3"));
        let b = c.opt("b", Some("x"), even);
        let fine = c.req("fine", even("2"));
        let not_null = c.set("d", Some(None), even);
        let list: Checked<Vec<u32>> = ["6", "7"]
            .iter()
            .enumerate()
            .map(|(i, v)| c.req(&format!("list[{i}]"), even(v)))
            .collect();
        let fields = refused_fields(c.finish((a, b, fine, not_null, list)).unwrap_err());
        assert_eq!(
            fields,
            BTreeMap::from([
                ("a".to_owned(), vec!["must be even".to_owned()]),
                ("b".to_owned(), vec!["must be a number".to_owned()]),
                ("d".to_owned(), vec!["must not be null".to_owned()]),
                ("list[1]".to_owned(), vec!["must be even".to_owned()]),
            ])
        );
    }

    #[test]
    fn a_refusal_without_a_value_of_its_own_still_fails_the_check() {
        let mut c = Check::default();
        let a = c.req("a", even("2"));
        c.refuse("b", "must be absent");
        let fields = refused_fields(c.finish(a).unwrap_err());
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn a_rule_across_values_runs_only_on_values_that_parsed_and_names_its_field() {
        let mut c = Check::default();
        let pair = Checked::all((c.req("a", even("2")), c.req("b", even("4"))));
        let sum = c.and_then(pair, |(a, b)| {
            if a < b {
                Err(ValidationError::new("b", Invalid::OutOfRange("at most a")))
            } else {
                Ok(a + b)
            }
        });
        let fields = refused_fields(c.finish(sum).unwrap_err());
        assert_eq!(fields["b"], ["must be at most a"]);

        let mut c = Check::default();
        let pair = Checked::all((c.req("a", even("1")), c.req("b", even("4"))));
        let mut ran = false;
        let sum = c.and_then(pair, |(a, b): (u32, u32)| {
            ran = true;
            Ok(a + b)
        });
        let fields = refused_fields(c.finish(sum).unwrap_err());
        assert!(!ran, "the rule needs both values");
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["a"]);
    }
}

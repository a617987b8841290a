//! The error responses routes share, for their OpenAPI descriptions: one definition of each,
//! named in a route's `responses(...)` instead of a line per status repeated on every route.
//!
//! # How to document a route
//!
//! ```text
//! #[utoipa::path(
//!     post,
//!     path = "/v1/things",
//!     tag = "things",
//!     security(("bearer" = [])),
//!     request_body = ThingRequest,
//!     responses(
//!         (status = 201, description = "Created", body = ThingView),
//!         JsonBody, Session, Forbidden, NotFound,
//!         (status = 409, description = "A thing of that name exists", body = ErrorBody),
//!     )
//! )]
//! ```
//!
//! - The route's success statuses, with their bodies, come first.
//! - Then the shared sets for what the route does: [`JsonBody`] if it reads a JSON body
//!   (400, 413, 415, 422), [`QueryErrors`] if it reads a query string (400, 422), [`Session`]
//!   for a bearer token (401), [`MerchantKeyAuth`] for a merchant API key (401), [`Forbidden`]
//!   if a role is refused (403), [`NotFound`] if it names something by id or needs a profile
//!   (404), [`Throttled`] if a limiter or a bounded pool can refuse it (429, 503).
//! - Last, a tuple for any status whose meaning is the route's own (a 409's clash, a 422 that
//!   names the rule): a later entry replaces an earlier one for the same status.
//! - Request fields name the validated type they are parsed as, `#[schema(value_type = Name)]`
//!   (`Option<Name>` when optional): its schema, rules included, comes from `skinstack-core`
//!   (feature `openapi`), from the constants its parser reads. A rule no schema can say (a host
//!   that must be the merchant's) goes in the field's doc comment.
//!
//! `scripts/conformance` (run by `scripts/test`) proves it: schemathesis, against the reference
//! server on both stores, fails the run on a request the schema allows and the server refuses,
//! and on a status the document does not list.

use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::IntoResponses;

/// An error response: `description`, with the JSON [`ErrorBody`](crate::error::ErrorBody).
fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

/// [`error`] with the `Retry-After` header (seconds) that 429 and 503 answers carry.
fn retry_after(description: &str) -> ResponseBuilder {
    error(description).header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .description(Some("Seconds to wait before trying again"))
            .build(),
    )
}

fn set(
    responses: impl IntoIterator<Item = (u16, ResponseBuilder)>,
) -> BTreeMap<String, RefOr<Response>> {
    responses
        .into_iter()
        .map(|(status, response)| (status.to_string(), response.build().into()))
        .collect()
}

/// A route that reads a JSON body: 400 (malformed JSON, unknown or missing fields, wrong
/// types), 413 (over [`BODY_LIMIT`](crate::BODY_LIMIT)), 415 (not `application/json`), 422
/// (values refused, by field).
pub struct JsonBody;

impl IntoResponses for JsonBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([
            (
                400,
                error("Malformed JSON, an unknown or missing field, or a wrong type"),
            ),
            (
                413,
                error(&format!(
                    "The body is over {} KiB",
                    crate::BODY_LIMIT / 1024
                )),
            ),
            (415, error("The body is not Content-Type: application/json")),
            (
                422,
                error("Values refused: `fields` names each with its reasons"),
            ),
        ])
    }
}

/// A route that reads a query string: 400 (unknown parameter, wrong type), 422 (values
/// refused, by field).
pub struct QueryErrors;

impl IntoResponses for QueryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([
            (
                400,
                error("Malformed query: an unknown parameter or a wrong type"),
            ),
            (
                422,
                error("Query values refused: `fields` names each with its reasons"),
            ),
        ])
    }
}

/// A route behind a session token: 401 (missing, malformed, unknown, expired or revoked
/// token, or a deactivated account), with `WWW-Authenticate: Bearer`.
pub struct Session;

impl IntoResponses for Session {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([(
            401,
            error("Missing, invalid or expired bearer token").header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .build(),
            ),
        )])
    }
}

/// A route behind a merchant API key: 401 (missing, unknown or revoked key, a deactivated
/// merchant's key, or a session token).
pub struct MerchantKeyAuth;

impl IntoResponses for MerchantKeyAuth {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([(
            401,
            error("Missing, unknown or revoked merchant API key (a session token is refused)"),
        )])
    }
}

/// A route some roles may not use: 403.
pub struct Forbidden;

impl IntoResponses for Forbidden {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([(403, error("The account's role may not use this route"))])
    }
}

/// A route that names something by id, or needs the caller's profile: 404 (no such thing, or
/// not the caller's: the two are not told apart).
pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([(
            404,
            error("No such thing, or not the caller's (or the caller has no profile yet)"),
        )])
    }
}

/// A route a limiter or a bounded pool can refuse: 429 (too many attempts) and 503 (every
/// slot taken), both with `Retry-After`.
pub struct Throttled;

impl IntoResponses for Throttled {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        set([
            (429, retry_after("Too many attempts; see Retry-After")),
            (503, retry_after("The server is busy; see Retry-After")),
        ])
    }
}

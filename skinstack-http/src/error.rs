//! The one error type of the API, and the one place it becomes a response.
//!
//! Every error body is JSON: `{"error": <kind>, "message": <text>}`, plus `"fields"` (field →
//! messages) for 422. A 500 says only "internal error": its cause is logged by the request
//! log with the request id (see [`InternalCause`]), never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use skinstack_core::error::ValidationError;
use skinstack_core::service::conversions::ConversionError;
use skinstack_core::service::shopify_webhooks::WebhookError;
use skinstack_core::service::ServiceError;
use skinstack_core::shopify::PayloadError;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Why a request failed, named for the response it gets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the body or query is not what the route takes (malformed JSON, unknown or missing
    /// fields, wrong types).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no bearer token, or one that opens nothing; also wrong login credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: the account's role may not use this route.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such thing, or not yours.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, but not with this method.
    #[error("this path does not answer {0}")]
    MethodNotAllowed(String),
    /// 409: clashes with something stored.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the API accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 422: values refused, by field.
    #[error("invalid input")]
    Unprocessable(BTreeMap<String, Vec<String>>),
    /// 429: too many failed attempts; retry after this many seconds.
    #[error("too many attempts, retry in {0} seconds")]
    TooManyRequests(u64),
    /// 503: a dependency (the store) is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 503: every slot for this kind of work (password hashing) is taken; retry after this
    /// many seconds.
    #[error("the server is busy, retry in {0} seconds")]
    Busy(u64),
    /// 500: a bug or a failing store. The cause, with its whole source chain, is logged,
    /// never sent.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Any error, as the cause of a 500.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `payload_too_large`, `unsupported_media_type`, `validation`,
    /// `too_many_requests`, `unavailable` or `internal`.
    #[schema(example = "validation")]
    pub error: &'static str,
    /// What went wrong, for people.
    #[schema(example = "invalid input")]
    pub message: String,
    /// For `validation`: each refused field with its messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
}

/// The cause of a 500, attached to the response's extensions so that the request log can
/// record it next to the request id. Never serialised.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl InternalCause {
    /// `err` and every source under it, outermost first, joined by `: `. A source whose text
    /// the chain already ends with is not repeated: some errors (`RepoError::Backend`) write
    /// their source into their own message as well.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let line = cause.to_string();
            if !text.ends_with(&line) {
                text.push_str(": ");
                text.push_str(&line);
            }
            source = cause.source();
        }
        InternalCause(text)
    }
}

impl Error {
    /// The status this error answers with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) | Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::Unprocessable(_) => "validation",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Unavailable(_) | Error::Busy(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// A 422 for one refused value.
    pub fn invalid(err: &ValidationError) -> Self {
        let mut fields = BTreeMap::new();
        fields.insert(err.field.to_owned(), vec![err.reason.to_string()]);
        Error::Unprocessable(fields)
    }
}

impl From<ServiceError> for Error {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unauthenticated => Error::Unauthorized("invalid credentials"),
            ServiceError::Forbidden(why) => Error::Forbidden(why),
            ServiceError::NotFound(entity) => Error::NotFound(format!("{entity} not found")),
            ServiceError::Conflict(conflict) => Error::Conflict(conflict.to_string()),
            ServiceError::Invalid(invalid) => Error::invalid(&invalid),
            ServiceError::Rejected(rejection) => Error::Unprocessable(BTreeMap::from([(
                rejection.field().to_owned(),
                vec![rejection.to_string()],
            )])),
            ServiceError::Internal(source) => Error::Internal(source),
        }
    }
}

impl From<crate::qr::QrError> for Error {
    fn from(err: crate::qr::QrError) -> Self {
        match err {
            crate::qr::QrError::Size => {
                Error::Unprocessable(BTreeMap::from([("size".to_owned(), vec![err.to_string()])]))
            }
            // Short URLs are a few dozen characters: only a misconfigured base URL gets here.
            crate::qr::QrError::TooLong | crate::qr::QrError::Render(_) => {
                Error::Internal(Box::new(err))
            }
        }
    }
}

impl From<ConversionError> for Error {
    fn from(err: ConversionError) -> Self {
        let message = err.to_string();
        match err {
            ConversionError::MerchantNotFound | ConversionError::OrderNotFound { .. } => {
                Error::NotFound(message)
            }
            ConversionError::OrderConflict { .. } | ConversionError::RefundConflict { .. } => {
                Error::Conflict(message)
            }
            ConversionError::WrongCurrency { .. } => {
                Error::Unprocessable(BTreeMap::from([("currency".to_owned(), vec![message])]))
            }
            ConversionError::RefundExceedsOrder(_) => {
                Error::Unprocessable(BTreeMap::from([("amount".to_owned(), vec![message])]))
            }
            ConversionError::Invalid(invalid) => Error::invalid(&invalid),
            ConversionError::Busy => Error::Unavailable(message),
            ConversionError::Storage(source) => Error::Internal(Box::new(source)),
        }
    }
}

impl From<WebhookError> for Error {
    fn from(err: WebhookError) -> Self {
        let message = err.to_string();
        match err {
            WebhookError::Unauthenticated => {
                Error::Unauthorized("the webhook is not signed with this merchant's secret")
            }
            WebhookError::MissingTopic | WebhookError::Payload(PayloadError::NotJson(_)) => {
                Error::BadRequest(message)
            }
            WebhookError::Payload(PayloadError::Missing(field)) => Error::Unprocessable(
                BTreeMap::from([(field.to_owned(), vec!["is missing".to_owned()])]),
            ),
            WebhookError::Payload(PayloadError::Invalid { field, reason }) => Error::Unprocessable(
                BTreeMap::from([(field.to_owned(), vec![reason.to_string()])]),
            ),
            WebhookError::Conversion(err) => err.into(),
            WebhookError::Storage(source) => Error::Internal(Box::new(source)),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let kind = self.kind();
        let retry_after = match &self {
            Error::TooManyRequests(seconds) | Error::Busy(seconds) => Some(*seconds),
            _ => None,
        };
        let (message, fields, cause) = match self {
            Error::Internal(source) => (
                "internal error".to_owned(),
                None,
                Some(InternalCause::of(&*source)),
            ),
            Error::Unprocessable(fields) => ("invalid input".to_owned(), Some(fields), None),
            other => (other.to_string(), None, None),
        };
        let body = ErrorBody {
            error: kind,
            message,
            fields,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(cause) = cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

/// Shorthand for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use skinstack_core::store::RepoError;

    #[derive(Debug, thiserror::Error)]
    #[error("the pool is closed")]
    struct Closed;

    #[derive(Debug, thiserror::Error)]
    #[error("writing the order failed")]
    struct Write(#[source] RepoError);

    #[tokio::test]
    async fn a_500_says_only_internal_error_and_logs_the_whole_source_chain() {
        let err = Error::Internal(Box::new(Write(RepoError::Backend(Box::new(Closed)))));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let cause = response.extensions().get::<InternalCause>().cloned();
        assert_eq!(
            cause.map(|c| c.0).as_deref(),
            // The storage error writes its source into its own message: it is logged once.
            Some("writing the order failed: storage failure: the pool is closed")
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({"error": "internal", "message": "internal error"})
        );
    }

    #[test]
    fn a_failing_store_behind_a_service_is_a_500_with_the_stores_cause() {
        let err = Error::from(ServiceError::from(RepoError::Backend(Box::new(Closed))));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let cause = response.extensions().get::<InternalCause>().cloned();
        assert_eq!(cause.map(|c| c.0).as_deref(), Some("the pool is closed"));
    }
}

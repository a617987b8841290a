//! Shopify webhooks: `POST /webhooks/shopify/{merchant_id}`, where a merchant's shop reports
//! orders and refunds, and `/v1/merchant/shopify-webhook-secret`, where the merchant stores the
//! key the shop signs them with (write-only: no route returns it).

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{AuthUser, Json, WriteOnly};
use crate::state::ApiState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use skinstack_core::service::profiles;
use skinstack_core::service::shopify_webhooks::{self, Delivery, Outcome};
use skinstack_core::shopify::HMAC_HEADER;
use skinstack_core::{MerchantId, Secret, ValidationError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Largest webhook body read. Shopify's order payloads carry every line item, address and
/// tax line, and grow far past the API's 64 KiB; 1 MiB holds orders of hundreds of lines.
/// A larger body is refused as soon as this much has arrived, never buffered whole.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// The header naming the webhook's topic.
const TOPIC_HEADER: &str = "X-Shopify-Topic";

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    // The route's own limit is inside the API's 64 KiB one, so it is the one that applies.
    let receive = OpenApiRouter::new()
        .routes(routes!(shopify_webhook))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(set_secret, delete_secret))
        .merge(receive)
}

/// The answer to an accepted delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReply {
    /// `recorded` (stored now), `duplicate` (stored by an earlier delivery, nothing changed)
    /// or `ignored` (a topic SkinStack does not use).
    #[schema(example = "recorded")]
    pub status: &'static str,
    /// The topic received.
    #[schema(example = "orders/create")]
    pub topic: String,
    /// The conversion of the order (for orders and refunds).
    pub conversion_id: Option<Uuid>,
    /// For an order: whether a tracking link earns a commission on it.
    pub attributed: Option<bool>,
}

impl From<Outcome> for WebhookReply {
    fn from(outcome: Outcome) -> Self {
        let status = |duplicate| if duplicate { "duplicate" } else { "recorded" };
        match outcome {
            Outcome::Order(r) => Self {
                status: status(r.duplicate),
                topic: shopify_webhooks::ORDERS_CREATE.to_owned(),
                conversion_id: Some(r.conversion.id.as_uuid()),
                attributed: Some(r.conversion.attribution.is_some()),
            },
            Outcome::Refund(r) => Self {
                status: status(r.duplicate),
                topic: shopify_webhooks::REFUNDS_CREATE.to_owned(),
                conversion_id: Some(r.refund.conversion_id.as_uuid()),
                attributed: None,
            },
            Outcome::Ignored { topic } => Self {
                status: "ignored",
                topic,
                conversion_id: None,
                attributed: None,
            },
        }
    }
}

/// Receives a Shopify webhook (`orders/create`, `refunds/create`; other topics are answered
/// `ignored`). The signature is checked over the raw body before anything is parsed, and
/// nothing is stored unless the delivery is signed, well formed and recordable.
///
/// Shopify retries every answer but 2xx, so the statuses are chosen for that:
/// - redeliveries answer `200` `duplicate`: one conversion or refund, however often it comes;
/// - a refund of an order not recorded yet (deliveries can arrive out of order) is `404`:
///   Shopify retries it, and it records once its order has. A refund of an order placed
///   before the webhook was set up stays `404` until Shopify gives up;
/// - an unknown merchant, one without a secret, and a missing or wrong signature are one
///   `401`, so merchant ids cannot be probed;
/// - a signed body that is not a payload is `400`/`422`, a non-USD order `422`, a redelivery
///   with another amount `409`: retrying them cannot help, and the failure shows in Shopify's
///   webhook log.
#[utoipa::path(
    post,
    path = "/webhooks/shopify/{merchant_id}",
    tag = "webhooks",
    security(("shopify_hmac" = [])),
    params(
        ("merchant_id" = Uuid, Path, description = "The merchant whose shop sends the webhook"),
        ("X-Shopify-Topic" = String, Header, description = "`orders/create`, `refunds/create`, or another (ignored)"),
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "Base64 HMAC-SHA256 of the raw body under the merchant's webhook secret"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The payload as Shopify sends it, at most 1 MiB"),
    responses(
        (status = 200, description = "Recorded, a duplicate, or an ignored topic", body = WebhookReply),
        (status = 400, description = "Signed, but not JSON or without a topic", body = ErrorBody),
        (status = 401, description = "Not signed with this merchant's secret", body = ErrorBody),
        (status = 404, description = "A refund of an order not recorded (yet): retried by Shopify", body = ErrorBody),
        (status = 409, description = "Redelivered with another amount", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 422, description = "A field in the wrong format, a non-USD order, or refunds beyond the order", body = ErrorBody),
    )
)]
async fn shopify_webhook(
    State(state): State<ApiState>,
    axum::extract::Path(merchant_id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<axum::Json<WebhookReply>> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        _ => Error::BadRequest(rejection.body_text()),
    })?;
    // A malformed id names no merchant: the same 401 as an unknown one.
    let merchant_id = Uuid::parse_str(&merchant_id)
        .map(MerchantId::from_uuid)
        .map_err(|_| Error::from(shopify_webhooks::WebhookError::Unauthenticated))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let delivery = Delivery {
        merchant_id,
        topic: header(TOPIC_HEADER),
        hmac: header(HMAC_HEADER),
        body: &body,
    };
    let outcome = shopify_webhooks::receive(&*state.store, chrono::Utc::now(), delivery).await?;
    Ok(axum::Json(outcome.into()))
}

/// `PUT /v1/merchant/shopify-webhook-secret`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRequest {
    /// The key Shopify signs the shop's webhooks with (Settings › Notifications › Webhooks, or
    /// the app's client secret). Stored encrypted, never returned.
    #[schema(value_type = String)]
    pub secret: WriteOnly,
}

/// Sets the caller's merchant's Shopify webhook secret.
#[utoipa::path(
    put,
    path = "/v1/merchant/shopify-webhook-secret",
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookSecretRequest,
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No merchant profile yet", body = ErrorBody),
        (status = 422, description = "Blank, too long or with control characters", body = ErrorBody),
    )
)]
async fn set_secret(
    State(state): State<ApiState>,
    auth: AuthUser,
    Json(body): Json<WebhookSecretRequest>,
) -> Result<StatusCode> {
    let secret = Secret::parse(&body.secret)
        .map_err(|reason| Error::invalid(&ValidationError::new("secret", reason)))?;
    profiles::set_shopify_webhook_secret(&*state.store, &auth.actor, Some(secret)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the caller's merchant's Shopify webhook secret: its webhooks are refused from now.
#[utoipa::path(
    delete,
    path = "/v1/merchant/shopify-webhook-secret",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or was not set)"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a merchant account", body = ErrorBody),
        (status = 404, description = "No merchant profile yet", body = ErrorBody),
    )
)]
async fn delete_secret(State(state): State<ApiState>, auth: AuthUser) -> Result<StatusCode> {
    profiles::set_shopify_webhook_secret(&*state.store, &auth.actor, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Shopify webhooks: `POST /webhooks/shopify/{merchant_id}`, where a merchant's shop reports
//! orders and refunds; `/v1/merchant/shopify-webhook-secret`, where the merchant stores the
//! key the shop signs them with (write-only: no route returns it); and
//! `GET /v1/merchant/webhook-deliveries`, the deliveries acknowledged but never recorded.

use crate::error::{Error, ErrorBody, Result};
use crate::extract::{AuthUser, Json, Query, WriteOnly};
use crate::responses::{Forbidden, JsonBody, QueryErrors, Session};
use crate::routes::PageQuery;
use crate::state::ApiState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use skinstack_core::domain::{RejectionReason, WebhookDelivery, WEBHOOK_ID_HEADER};
use skinstack_core::service::profiles;
use skinstack_core::service::shopify_webhooks::{self, Delivery, Outcome};
use skinstack_core::shopify::HMAC_HEADER;
use skinstack_core::{DeliveryId, MerchantId, Secret, ValidationError};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Largest webhook body read. Shopify's order payloads carry every line item, address and
/// tax line, and grow far past the API's 64 KiB; 1 MiB holds orders of hundreds of lines.
/// A larger body is refused as soon as this much has arrived, never buffered whole.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// How much of a kept body the listing shows.
pub const BODY_EXCERPT_BYTES: usize = 2048;

/// The header naming the webhook's topic.
const TOPIC_HEADER: &str = "X-Shopify-Topic";

pub(crate) fn router() -> OpenApiRouter<ApiState> {
    // The route's own limit is inside the API's 64 KiB one, so it is the one that applies.
    let receive = OpenApiRouter::new()
        .routes(routes!(shopify_webhook))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(set_secret, delete_secret))
        .routes(routes!(rejected_deliveries))
        .merge(receive)
}

/// Deliveries acknowledged but not recorded, by reason, since the process started.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    rejected: [AtomicU64; RejectionReason::ALL.len()],
}

impl WebhookMetrics {
    fn count(&self, reason: RejectionReason) {
        if let Some(i) = RejectionReason::ALL.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many deliveries were rejected for `reason` (each kept delivery once, whatever
    /// its retries).
    pub fn rejected(&self, reason: RejectionReason) -> u64 {
        RejectionReason::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.rejected[i].load(Ordering::Relaxed))
    }

    pub(crate) fn render(&self, out: &mut String) {
        out.push_str("# HELP skinstack_webhook_deliveries_rejected_total Signed webhook deliveries acknowledged but never recorded, by reason.\n# TYPE skinstack_webhook_deliveries_rejected_total counter\n");
        for reason in RejectionReason::ALL {
            let _ = writeln!(
                out,
                "skinstack_webhook_deliveries_rejected_total{{reason=\"{}\"}} {}",
                reason.code(),
                self.rejected(reason)
            );
        }
    }
}

/// The answer to an authentic delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReply {
    /// `recorded` (stored now), `duplicate` (stored or rejected by an earlier delivery,
    /// nothing changed), `ignored` (a topic SkinStack does not use) or `rejected` (it can
    /// never be recorded: kept with its reason for the merchant, not retried).
    #[schema(example = "recorded")]
    pub status: &'static str,
    /// The topic received.
    #[schema(example = "orders/create")]
    pub topic: String,
    /// The conversion of the order (for orders and refunds).
    pub conversion_id: Option<Uuid>,
    /// For an order: whether a tracking link earns a commission on it.
    pub attributed: Option<bool>,
    /// For a rejected delivery: why, as a short code (`unsupported_currency`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "unsupported_currency")]
    pub reason: Option<&'static str>,
    /// For a rejected delivery: what exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a rejected delivery: the kept delivery, listed by `GET /v1/merchant/webhook-deliveries`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<Uuid>,
}

impl WebhookReply {
    fn new(status: &'static str, topic: String) -> Self {
        Self {
            status,
            topic,
            conversion_id: None,
            attributed: None,
            reason: None,
            message: None,
            delivery_id: None,
        }
    }

    fn kept(status: &'static str, kept: WebhookDelivery) -> Self {
        let topic = kept
            .topic
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default();
        let mut reply = Self::new(status, topic);
        reply.delivery_id = kept.rejection.is_some().then(|| kept.id.as_uuid());
        if let Some(rejection) = kept.rejection {
            reply.reason = Some(rejection.reason.code());
            reply.message = Some(rejection.message);
        }
        reply
    }
}

impl From<Outcome> for WebhookReply {
    fn from(outcome: Outcome) -> Self {
        let status = |duplicate| if duplicate { "duplicate" } else { "recorded" };
        match outcome {
            Outcome::Order(r) => Self {
                conversion_id: Some(r.conversion.id.as_uuid()),
                attributed: Some(r.conversion.attribution.is_some()),
                ..Self::new(
                    status(r.duplicate),
                    shopify_webhooks::ORDERS_CREATE.to_owned(),
                )
            },
            Outcome::Refund(r) => Self {
                conversion_id: Some(r.refund.conversion_id.as_uuid()),
                ..Self::new(
                    status(r.duplicate),
                    shopify_webhooks::REFUNDS_CREATE.to_owned(),
                )
            },
            Outcome::Ignored { topic } => Self::new("ignored", topic),
            Outcome::Rejected(kept) => Self::kept("rejected", kept),
            Outcome::Redelivered(kept) => Self::kept("duplicate", kept),
        }
    }
}

/// Receives a Shopify webhook (`orders/create`, `refunds/create`; other topics are answered
/// `ignored`). The signature is checked over the raw body before anything is parsed, and
/// nothing is recorded unless the delivery is signed, well formed and recordable.
///
/// Shopify retries every answer but 2xx, and deletes a subscription that keeps failing, so
/// the statuses are chosen for that:
/// - a signed delivery that can never be recorded (malformed, without a topic, not in USD,
///   a refund beyond its order, a redelivery with another amount) is `200` `rejected`: kept
///   with its reason for the merchant (`GET /v1/merchant/webhook-deliveries`), counted in
///   `/metrics`, and not retried;
/// - redeliveries answer `200` `duplicate`: by `X-Shopify-Webhook-Id` (the same event again)
///   or by order or refund id, one conversion or refund however often it comes;
/// - a refund of an order not recorded yet (deliveries can arrive out of order) is `404`:
///   Shopify retries it, and it records once its order has. A refund of an order placed
///   before the webhook was set up stays `404` until Shopify gives up;
/// - an unknown merchant, one without a secret, and a missing or wrong signature are one
///   `401`, so merchant ids cannot be probed. For an hour after the secret is replaced, the
///   previous one still signs.
#[utoipa::path(
    post,
    path = "/webhooks/shopify/{merchant_id}",
    tag = "webhooks",
    security(("shopify_hmac" = [])),
    params(
        ("merchant_id" = Uuid, Path, description = "The merchant whose shop sends the webhook"),
        ("X-Shopify-Topic" = String, Header, description = "`orders/create`, `refunds/create`, or another (ignored)"),
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "Base64 HMAC-SHA256 of the raw body under the merchant's webhook secret"),
        ("X-Shopify-Webhook-Id" = Option<String>, Header, description = "Shopify's id of the event, repeated on its retries: a delivery seen before is answered `duplicate`"),
    ),
    request_body(content = Object, content_type = "application/json", description = "The payload as Shopify sends it, at most 1 MiB"),
    responses(
        (status = 200, description = "Recorded, a duplicate, an ignored topic, or rejected for good (kept with its reason)", body = WebhookReply),
        (status = 400, description = "The body could not be read", body = ErrorBody),
        (status = 401, description = "Not signed with this merchant's secret", body = ErrorBody),
        (status = 404, description = "A refund of an order not recorded (yet): retried by Shopify", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 503, description = "Concurrent refunds of the order: retried by Shopify", body = ErrorBody),
    )
)]
async fn shopify_webhook(
    State(state): State<ApiState>,
    merchant_id: std::result::Result<
        axum::extract::Path<String>,
        axum::extract::rejection::PathRejection,
    >,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<axum::Json<WebhookReply>> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        _ => Error::BadRequest(rejection.body_text()),
    })?;
    // A malformed id (not a UUID, or not even UTF-8 once decoded) names no merchant: the same
    // 401 as an unknown one, never axum's plain-text 400.
    let merchant_id = merchant_id
        .ok()
        .and_then(|axum::extract::Path(id)| Uuid::parse_str(&id).ok())
        .map(MerchantId::from_uuid)
        .ok_or_else(|| Error::from(shopify_webhooks::WebhookError::Unauthenticated))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let delivery = Delivery {
        merchant_id,
        topic: header(TOPIC_HEADER),
        hmac: header(HMAC_HEADER),
        webhook_id: header(WEBHOOK_ID_HEADER),
        body: &body,
    };
    let outcome =
        shopify_webhooks::receive_within(&*state.store, state.now(), delivery, state.order_rules)
            .await?;
    if let Outcome::Rejected(kept) = &outcome {
        if let Some(rejection) = &kept.rejection {
            state.webhook_metrics.count(rejection.reason);
        }
    }
    Ok(axum::Json(outcome.into()))
}

/// A delivery acknowledged but never recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedDeliveryView {
    /// The kept delivery.
    pub id: Uuid,
    /// Its `X-Shopify-Webhook-Id`, if it had one.
    pub webhook_id: Option<String>,
    /// Its `X-Shopify-Topic`, if it had one.
    #[schema(example = "orders/create")]
    pub topic: Option<String>,
    /// Why it can never be recorded: `malformed_payload`, `missing_topic`,
    /// `unsupported_currency`, `refund_exceeds_order`, `order_conflict`, `refund_conflict` or
    /// `unrecordable_value`.
    #[schema(example = "unsupported_currency")]
    pub reason: &'static str,
    /// What exactly.
    #[schema(example = "currency EUR is not supported: only USD orders are recorded")]
    pub message: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The body's length in bytes.
    pub body_bytes: u64,
    /// The body's first bytes (up to 2 KiB), as text (invalid UTF-8 replaced).
    pub body_excerpt: String,
}

impl RejectedDeliveryView {
    fn of(kept: WebhookDelivery) -> Option<Self> {
        let rejection = kept.rejection?;
        let excerpt = &kept.body[..kept.body.len().min(BODY_EXCERPT_BYTES)];
        Some(Self {
            id: kept.id.as_uuid(),
            webhook_id: kept.webhook_id.map(|id| id.as_str().to_owned()),
            topic: kept.topic.map(|t| t.as_str().to_owned()),
            reason: rejection.reason.code(),
            message: rejection.message,
            received_at: kept.received_at,
            body_bytes: kept.body_len,
            body_excerpt: String::from_utf8_lossy(excerpt).into_owned(),
        })
    }
}

/// A page of rejected deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedDeliveryPage {
    /// The deliveries.
    pub items: Vec<RejectedDeliveryView>,
    /// Pass as `after` for the next (older) page; `null` on the last page.
    pub next_after: Option<Uuid>,
}

/// The caller's merchant's webhook deliveries that were acknowledged (so Shopify stops
/// retrying them) but can never be recorded, newest first, each with its reason.
#[utoipa::path(
    get,
    path = "/v1/merchant/webhook-deliveries",
    tag = "webhooks",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of rejected deliveries", body = RejectedDeliveryPage),
        QueryErrors, Session, Forbidden,
        (status = 404, description = "No merchant profile", body = ErrorBody),
    )
)]
async fn rejected_deliveries(
    State(state): State<ApiState>,
    auth: AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<RejectedDeliveryPage>> {
    let page = query.page(DeliveryId::from_uuid)?;
    let items = shopify_webhooks::rejected_deliveries(&*state.store, &auth.actor, page).await?;
    let full = items.len() == page.limit() as usize;
    let next_after = full.then(|| items.last().map(|d| d.id.as_uuid())).flatten();
    Ok(axum::Json(RejectedDeliveryPage {
        items: items
            .into_iter()
            .filter_map(RejectedDeliveryView::of)
            .collect(),
        next_after,
    }))
}

/// `PUT /v1/merchant/shopify-webhook-secret`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecretRequest {
    /// The key Shopify signs the shop's webhooks with (Settings › Notifications › Webhooks, or
    /// the app's client secret). Stored encrypted, never returned.
    #[schema(value_type = skinstack_core::Secret)]
    pub secret: WriteOnly,
}

/// Sets the caller's merchant's Shopify webhook secret. The one it replaces keeps signing for
/// an hour, as Shopify signs with both during a rotation; setting the same secret again
/// changes nothing.
#[utoipa::path(
    put,
    path = "/v1/merchant/shopify-webhook-secret",
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookSecretRequest,
    responses(
        (status = 204, description = "Stored"),
        JsonBody, Session, Forbidden,
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
    profiles::set_shopify_webhook_secret(&*state.store, &auth.actor, Some(secret), state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the caller's merchant's Shopify webhook secret (and the previous one): its webhooks
/// are refused from now.
#[utoipa::path(
    delete,
    path = "/v1/merchant/shopify-webhook-secret",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or was not set)"),
        Session, Forbidden,
        (status = 404, description = "No merchant profile yet", body = ErrorBody),
    )
)]
async fn delete_secret(State(state): State<ApiState>, auth: AuthUser) -> Result<StatusCode> {
    profiles::set_shopify_webhook_secret(&*state.store, &auth.actor, None, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! Receiving a Shopify webhook delivery: authenticate it with the merchant's secret, then
//! read and record it.
//!
//! The order of the steps is the guarantee: the signature is checked over the raw body before
//! a byte of it is parsed, and nothing is recorded unless the delivery is authentic, well
//! formed and acceptable. An unknown merchant, a merchant without a secret, and a missing or
//! wrong signature are one error, [`WebhookError::Unauthenticated`], so merchant ids cannot be
//! probed. For an hour after a rotation the previous secret signs too
//! ([`RotatedSecret::accepted_at`]), as Shopify keeps signing with it meanwhile.
//!
//! Recording is idempotent twice over: by the order or refund id ([`super::conversions`]),
//! and by the delivery's `X-Shopify-Webhook-Id`, which Shopify repeats on every retry of one
//! event ([`crate::domain`]). An authentic delivery that can never be recorded is
//! not an error: it is kept with its [`RejectionReason`] and answered as
//! [`Outcome::Rejected`], because Shopify retries every refusal and finally deletes the
//! subscription. Only what may succeed later stays an error (a refund that overtook its
//! order, a store failure).

use super::conversions::{
    record_conversion_within, record_refund, ConversionError, OrderRules, Recorded, RefundRecorded,
};
use crate::domain::{
    DeliveryInsert, MerchantId, Rejection, RejectionReason, RotatedSecret, Secret, Topic,
    WebhookDelivery, WebhookId,
};
use crate::shopify::{parse_order, parse_refund, verify_hmac, PayloadError, CURRENCY_FIELDS};
use crate::store::{
    ConversionRepo, Entity, HoldRepo, MerchantRepo, RepoError, WebhookDeliveries, WebhookSecrets,
};
use chrono::{DateTime, Utc};

/// The `orders/create` topic: an order to record.
pub const ORDERS_CREATE: &str = "orders/create";
/// The `refunds/create` topic: a refund to record.
pub const REFUNDS_CREATE: &str = "refunds/create";

/// One delivery as it arrived: the merchant from the URL, three headers and the raw body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The merchant the webhook URL names (not yet trusted).
    pub merchant_id: MerchantId,
    /// `X-Shopify-Topic`, if sent.
    pub topic: Option<&'a str>,
    /// `X-Shopify-Hmac-Sha256`, if sent.
    pub hmac: Option<&'a str>,
    /// `X-Shopify-Webhook-Id`, if sent: one id per event, repeated on its retries.
    pub webhook_id: Option<&'a str>,
    /// The body exactly as received: the signature covers these bytes.
    pub body: &'a [u8],
}

/// What an authentic delivery did.
#[derive(Debug, Clone, PartialEq)]
// One per delivery, handed straight to the caller: boxing the order would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// An `orders/create` delivery, recorded now or before (`duplicate`).
    Order(Recorded),
    /// A `refunds/create` delivery, recorded now or before (`duplicate`).
    Refund(RefundRecorded),
    /// Another topic: acknowledged so that Shopify stops sending it, nothing stored.
    Ignored {
        /// The topic received.
        topic: String,
    },
    /// Authentic, but it can never be recorded: kept now with its reason, nothing else
    /// stored. Acknowledge it, so that Shopify does not retry it.
    Rejected(WebhookDelivery),
    /// Its webhook id was answered for good before (recorded, or rejected): nothing done again.
    Redelivered(WebhookDelivery),
}

/// Why a delivery was refused. Nothing is stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such merchant, no secret set, or a missing or wrong signature: deliberately one
    /// error.
    #[error("the webhook is not signed with this merchant's secret")]
    Unauthenticated,
    /// Signed, but without `X-Shopify-Topic`.
    #[error("the X-Shopify-Topic header is missing")]
    MissingTopic,
    /// Signed, but the body is not a payload of its topic.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// Signed and well formed, but not recordable (not in the merchant's currency, a refund of an unknown order, a
    /// conflicting redelivery...).
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// The secret could not be read.
    #[error(transparent)]
    Storage(RepoError),
}

impl WebhookError {
    /// The rejection this error is when retrying the delivery can never help; `None` when it
    /// can (a refund of an order not recorded yet, a busy or failing store) or when the
    /// delivery is not authentic.
    pub fn rejection(&self) -> Option<Rejection> {
        let reason = match self {
            WebhookError::Unauthenticated | WebhookError::Storage(_) => return None,
            WebhookError::MissingTopic => RejectionReason::MissingTopic,
            WebhookError::Payload(PayloadError::Invalid { field, .. })
                if CURRENCY_FIELDS.contains(field) =>
            {
                RejectionReason::UnsupportedCurrency
            }
            WebhookError::Payload(_) => RejectionReason::MalformedPayload,
            WebhookError::Conversion(err) => match err {
                ConversionError::WrongCurrency { .. } => RejectionReason::UnsupportedCurrency,
                ConversionError::OrderConflict { .. } => RejectionReason::OrderConflict,
                ConversionError::RefundConflict { .. } => RejectionReason::RefundConflict,
                ConversionError::RefundExceedsOrder(_) => RejectionReason::RefundExceedsOrder,
                ConversionError::Invalid(_) => RejectionReason::UnrecordableValue,
                ConversionError::MerchantNotFound
                | ConversionError::OrderNotFound { .. }
                | ConversionError::Busy
                | ConversionError::Storage(_) => return None,
            },
        };
        Some(Rejection::new(reason, self.to_string()))
    }
}

/// Authenticates `delivery` with its merchant's Shopify secret (or, within the hour after a
/// rotation, the previous one); answers a webhook id seen before from what was kept; then
/// records an `orders/create` or `refunds/create` payload, keeps one that can never be
/// recorded as [`Outcome::Rejected`], and acknowledges any other topic.
pub async fn receive<S>(
    store: &S,
    now: DateTime<Utc>,
    delivery: Delivery<'_>,
) -> Result<Outcome, WebhookError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + WebhookSecrets + WebhookDeliveries + ?Sized,
{
    receive_within(store, now, delivery, OrderRules::default()).await
}

/// [`receive`], recording orders under `rules` instead of the default [`OrderRules`].
pub async fn receive_within<S>(
    store: &S,
    now: DateTime<Utc>,
    delivery: Delivery<'_>,
    rules: OrderRules,
) -> Result<Outcome, WebhookError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + WebhookSecrets + WebhookDeliveries + ?Sized,
{
    let merchant = delivery.merchant_id;
    if !authenticated(store, now, &delivery).await? {
        tracing::info!(%merchant, "webhook refused: not signed with the merchant's secret");
        return Err(WebhookError::Unauthenticated);
    }
    // A header SkinStack cannot keep (over 255 characters, control characters) identifies
    // nothing: the delivery is still handled, deduplicated by its order or refund id alone.
    let webhook_id = delivery.webhook_id.and_then(|id| WebhookId::parse(id).ok());
    if let Some(id) = &webhook_id {
        let seen = store
            .delivery_by_webhook_id(merchant, id)
            .await
            .map_err(WebhookError::Storage)?;
        if let Some(seen) = seen {
            return Ok(Outcome::Redelivered(seen));
        }
    }
    let topic = delivery.topic.and_then(|t| Topic::parse(t).ok());
    let keep = |rejection| {
        WebhookDelivery::new(
            merchant,
            webhook_id.clone(),
            topic.clone(),
            now,
            rejection,
            delivery.body,
        )
    };
    match handle(store, now, &delivery, rules).await {
        Ok(Outcome::Ignored { topic }) => Ok(Outcome::Ignored { topic }),
        Ok(outcome) => {
            if webhook_id.is_some() {
                store
                    .record_delivery(keep(None))
                    .await
                    .map_err(WebhookError::Storage)?;
            }
            Ok(outcome)
        }
        Err(err) => {
            let Some(rejection) = err.rejection() else {
                return Err(err);
            };
            tracing::warn!(
                %merchant,
                topic = delivery.topic,
                reason = rejection.reason.code(),
                error = %err,
                "signed webhook acknowledged but not recorded"
            );
            match store
                .record_delivery(keep(Some(rejection)))
                .await
                .map_err(WebhookError::Storage)?
            {
                DeliveryInsert::Inserted(kept) => Ok(Outcome::Rejected(kept)),
                // A concurrent retry of the same event was kept first.
                DeliveryInsert::Existing(kept) => Ok(Outcome::Redelivered(kept)),
            }
        }
    }
}

/// Reads and records an authentic delivery.
async fn handle<S>(
    store: &S,
    now: DateTime<Utc>,
    delivery: &Delivery<'_>,
    rules: OrderRules,
) -> Result<Outcome, WebhookError>
where
    S: MerchantRepo + ConversionRepo + HoldRepo + ?Sized,
{
    let merchant = delivery.merchant_id;
    match delivery.topic.map(str::trim) {
        None | Some("") => Err(WebhookError::MissingTopic),
        Some(ORDERS_CREATE) => {
            let order = parse_order(merchant, delivery.body)?;
            let recorded = record_conversion_within(store, now, order, rules).await?;
            if let Some(why) = recorded.click_rejected {
                tracing::info!(%merchant, order_id = %recorded.conversion.order_id, ?why, "the order's click did not attribute");
            }
            Ok(Outcome::Order(recorded))
        }
        Some(REFUNDS_CREATE) => {
            let refund = parse_refund(merchant, delivery.body)?;
            Ok(Outcome::Refund(record_refund(store, now, refund).await?))
        }
        Some(other) => Ok(Outcome::Ignored {
            topic: other.to_owned(),
        }),
    }
}

/// Whether the delivery is signed with its merchant's current secret, or with the previous
/// one less than an hour after it was replaced.
async fn authenticated<S>(
    store: &S,
    now: DateTime<Utc>,
    delivery: &Delivery<'_>,
) -> Result<bool, WebhookError>
where
    S: WebhookSecrets + ?Sized,
{
    let merchant = delivery.merchant_id;
    let secret = match store.shopify_webhook_secret(merchant).await {
        Ok(secret) => secret,
        Err(RepoError::NotFound(Entity::Merchant)) => None,
        Err(other) => return Err(WebhookError::Storage(other)),
    };
    if authentic(secret.as_ref(), delivery.body, delivery.hmac) {
        return Ok(true);
    }
    // Removing the secret forgets the previous one too, so only a merchant with a secret can
    // still be signing with the one before it.
    if secret.is_none() {
        return Ok(false);
    }
    let previous: Option<RotatedSecret> =
        match store.previous_shopify_webhook_secret(merchant).await {
            Ok(previous) => previous,
            Err(RepoError::NotFound(Entity::Merchant)) => None,
            Err(other) => return Err(WebhookError::Storage(other)),
        };
    Ok(previous.is_some_and(|previous| {
        previous.accepted_at(now) && authentic(Some(&previous.secret), delivery.body, delivery.hmac)
    }))
}

/// The actor's merchant's rejected deliveries, newest first: `Forbidden` for other roles,
/// `NotFound` before the merchant profile exists. Only the merchant's own are ever listed.
pub async fn rejected_deliveries<S>(
    store: &S,
    actor: &super::Actor,
    page: crate::Page<crate::DeliveryId>,
) -> super::ServiceResult<Vec<WebhookDelivery>>
where
    S: MerchantRepo + WebhookDeliveries + ?Sized,
{
    let merchant = super::profiles::own_merchant(store, actor).await?;
    Ok(store.rejected_deliveries(merchant.id, page).await?)
}

/// Whether `hmac` signs `body` under `secret`. Without a secret the HMAC is still computed
/// (under a throwaway key) so that "no such merchant" and "no secret" take as long as "wrong
/// signature" and cannot be told apart by timing either.
fn authentic(secret: Option<&Secret>, body: &[u8], hmac: Option<&str>) -> bool {
    let Some(hmac) = hmac else {
        return false;
    };
    match secret {
        Some(secret) => verify_hmac(secret, body, hmac).is_ok(),
        None => {
            let throwaway = Secret::from_stored(uuid::Uuid::new_v4().to_string());
            let _ = verify_hmac(&throwaway, body, hmac);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopify::sign;
    use crate::testkit::conversions::t0;
    use crate::testkit::Fixture;
    use crate::MemoryStore;

    const ORDER: &str = r#"{"id": 1001, "created_at": "2025-03-01T12:00:00Z", "currency": "USD",
        "current_subtotal_price": "40.50"}"#;

    async fn setup() -> (MemoryStore, Fixture, Secret) {
        let store = MemoryStore::new();
        let f = Fixture::create(&store).await;
        let secret = Secret::parse("shpss_unit").unwrap();
        store
            .set_shopify_webhook_secret(f.merchant.id, Some(secret.clone()))
            .await
            .unwrap();
        (store, f, secret)
    }

    fn delivery<'a>(
        merchant: MerchantId,
        topic: &'a str,
        hmac: Option<&'a str>,
        body: &'a str,
    ) -> Delivery<'a> {
        Delivery {
            merchant_id: merchant,
            topic: Some(topic),
            hmac,
            webhook_id: None,
            body: body.as_bytes(),
        }
    }

    #[tokio::test]
    async fn a_signed_order_is_recorded_once_and_redelivery_is_a_duplicate() {
        let (store, f, secret) = setup().await;
        let hmac = sign(&secret, ORDER.as_bytes());
        let first = receive(
            &store,
            t0(),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), ORDER),
        )
        .await
        .unwrap();
        assert!(matches!(first, Outcome::Order(ref r) if !r.duplicate));
        let again = receive(
            &store,
            t0(),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), ORDER),
        )
        .await
        .unwrap();
        assert!(matches!(again, Outcome::Order(ref r) if r.duplicate));
    }

    #[tokio::test]
    async fn unknown_merchants_missing_secrets_and_bad_signatures_are_one_error() {
        let (store, f, secret) = setup().await;
        let hmac = sign(&secret, ORDER.as_bytes());
        let other = Fixture::create(&store).await; // no secret set
        let wrong = sign(&Secret::parse("another").unwrap(), ORDER.as_bytes());
        for d in [
            delivery(MerchantId::new(), ORDERS_CREATE, Some(&hmac), ORDER),
            delivery(other.merchant.id, ORDERS_CREATE, Some(&hmac), ORDER),
            delivery(f.merchant.id, ORDERS_CREATE, None, ORDER),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&wrong), ORDER),
            delivery(f.merchant.id, ORDERS_CREATE, Some("not base64!"), ORDER),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), &ORDER[..20]),
        ] {
            assert!(matches!(
                receive(&store, t0(), d).await,
                Err(WebhookError::Unauthenticated)
            ));
        }
        assert!(store
            .conversion_by_order(f.merchant.id, &crate::ShopRef::parse("1001").unwrap())
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn the_signature_is_checked_before_the_topic_and_other_topics_are_ignored() {
        let (store, f, secret) = setup().await;
        let body = "{}";
        let hmac = sign(&secret, body.as_bytes());
        let mut unsigned = delivery(f.merchant.id, "", None, body);
        unsigned.topic = None;
        assert!(matches!(
            receive(&store, t0(), unsigned).await,
            Err(WebhookError::Unauthenticated)
        ));
        let mut no_topic = delivery(f.merchant.id, "", Some(&hmac), body);
        no_topic.topic = None;
        match receive(&store, t0(), no_topic).await.unwrap() {
            Outcome::Rejected(kept) => {
                let rejection = kept.rejection.unwrap();
                assert_eq!(rejection.reason, RejectionReason::MissingTopic);
                assert_eq!(kept.topic, None);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(
            receive(
                &store,
                t0(),
                delivery(f.merchant.id, "products/update", Some(&hmac), body)
            )
            .await
            .unwrap(),
            Outcome::Ignored {
                topic: "products/update".to_owned()
            }
        );
        match receive(
            &store,
            t0(),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), body),
        )
        .await
        .unwrap()
        {
            Outcome::Rejected(kept) => {
                let rejection = kept.rejection.unwrap();
                assert_eq!(rejection.reason, RejectionReason::MalformedPayload);
                assert_eq!(rejection.message, "id is missing");
                assert_eq!(kept.body, body.as_bytes());
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn errors_that_a_retry_may_cure_are_not_rejections() {
        let (store, f, secret) = setup().await;
        let refund = r#"{"id": 9, "order_id": 1001, "refund_line_items": []}"#;
        let hmac = sign(&secret, refund.as_bytes());
        assert!(matches!(
            receive(
                &store,
                t0(),
                delivery(f.merchant.id, REFUNDS_CREATE, Some(&hmac), refund)
            )
            .await,
            Err(WebhookError::Conversion(
                ConversionError::OrderNotFound { .. }
            ))
        ));
        assert!(store
            .rejected_deliveries(f.merchant.id, crate::Page::first())
            .await
            .unwrap()
            .is_empty());
    }
}

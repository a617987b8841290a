//! Receiving a Shopify webhook delivery: authenticate it with the merchant's secret, then
//! read and record it.
//!
//! The order of the steps is the guarantee: the signature is checked over the raw body before
//! a byte of it is parsed, and nothing is stored unless the delivery is authentic, well formed
//! and acceptable. An unknown merchant, a merchant without a secret, and a missing or wrong
//! signature are one error, [`WebhookError::Unauthenticated`], so merchant ids cannot be
//! probed. Recording is idempotent ([`super::conversions`]): Shopify's retries and
//! concurrent redeliveries store one conversion or refund.

use super::conversions::{
    record_conversion, record_refund, ConversionError, Recorded, RefundRecorded,
};
use crate::domain::{MerchantId, Secret};
use crate::shopify::{parse_order, parse_refund, verify_hmac, PayloadError};
use crate::store::{ConversionRepo, WebhookSecrets};
use crate::store::{Entity, MerchantRepo, RepoError};
use chrono::{DateTime, Utc};

/// The `orders/create` topic: an order to record.
pub const ORDERS_CREATE: &str = "orders/create";
/// The `refunds/create` topic: a refund to record.
pub const REFUNDS_CREATE: &str = "refunds/create";

/// One delivery as it arrived: the merchant from the URL, two headers and the raw body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The merchant the webhook URL names (not yet trusted).
    pub merchant_id: MerchantId,
    /// `X-Shopify-Topic`, if sent.
    pub topic: Option<&'a str>,
    /// `X-Shopify-Hmac-Sha256`, if sent.
    pub hmac: Option<&'a str>,
    /// The body exactly as received: the signature covers these bytes.
    pub body: &'a [u8],
}

/// What an authentic delivery did.
#[derive(Debug, Clone, PartialEq)]
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
    /// Signed and well formed, but not recordable (non-USD, a refund of an unknown order, a
    /// conflicting redelivery...).
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// The secret could not be read.
    #[error(transparent)]
    Storage(RepoError),
}

/// Authenticates `delivery` with its merchant's Shopify secret, then records an
/// `orders/create` or `refunds/create` payload and acknowledges any other topic.
pub async fn receive<S>(
    store: &S,
    now: DateTime<Utc>,
    delivery: Delivery<'_>,
) -> Result<Outcome, WebhookError>
where
    S: MerchantRepo + ConversionRepo + WebhookSecrets + ?Sized,
{
    let merchant = delivery.merchant_id;
    let secret = match store.shopify_webhook_secret(merchant).await {
        Ok(secret) => secret,
        Err(RepoError::NotFound(Entity::Merchant)) => None,
        Err(other) => return Err(WebhookError::Storage(other)),
    };
    if !authentic(secret.as_ref(), delivery.body, delivery.hmac) {
        tracing::info!(%merchant, "webhook refused: not signed with the merchant's secret");
        return Err(WebhookError::Unauthenticated);
    }
    let refused = |err: WebhookError| {
        tracing::warn!(%merchant, topic = delivery.topic, error = %err, "signed webhook refused");
        err
    };
    match delivery.topic.map(str::trim) {
        None | Some("") => Err(refused(WebhookError::MissingTopic)),
        Some(ORDERS_CREATE) => {
            let order = parse_order(merchant, delivery.body).map_err(|e| refused(e.into()))?;
            let recorded = record_conversion(store, now, order)
                .await
                .map_err(|e| refused(e.into()))?;
            if let Some(why) = recorded.click_rejected {
                tracing::info!(%merchant, order_id = %recorded.conversion.order_id, ?why, "the order's click did not attribute");
            }
            Ok(Outcome::Order(recorded))
        }
        Some(REFUNDS_CREATE) => {
            let refund = parse_refund(merchant, delivery.body).map_err(|e| refused(e.into()))?;
            let recorded = record_refund(store, now, refund)
                .await
                .map_err(|e| refused(e.into()))?;
            Ok(Outcome::Refund(recorded))
        }
        Some(other) => Ok(Outcome::Ignored {
            topic: other.to_owned(),
        }),
    }
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
            body: body.as_bytes(),
        }
    }

    #[tokio::test]
    async fn a_signed_order_is_recorded_once_and_redelivery_is_a_duplicate() {
        let (store, f, secret) = setup().await;
        let hmac = sign(&secret, ORDER.as_bytes());
        let first = receive(
            &store,
            Utc::now(),
            delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), ORDER),
        )
        .await
        .unwrap();
        assert!(matches!(first, Outcome::Order(ref r) if !r.duplicate));
        let again = receive(
            &store,
            Utc::now(),
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
                receive(&store, Utc::now(), d).await,
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
            receive(&store, Utc::now(), unsigned).await,
            Err(WebhookError::Unauthenticated)
        ));
        let mut no_topic = delivery(f.merchant.id, "", Some(&hmac), body);
        no_topic.topic = None;
        assert!(matches!(
            receive(&store, Utc::now(), no_topic).await,
            Err(WebhookError::MissingTopic)
        ));
        assert_eq!(
            receive(
                &store,
                Utc::now(),
                delivery(f.merchant.id, "products/update", Some(&hmac), body)
            )
            .await
            .unwrap(),
            Outcome::Ignored {
                topic: "products/update".to_owned()
            }
        );
        assert!(matches!(
            receive(
                &store,
                Utc::now(),
                delivery(f.merchant.id, ORDERS_CREATE, Some(&hmac), body)
            )
            .await,
            Err(WebhookError::Payload(PayloadError::Missing("id")))
        ));
    }
}

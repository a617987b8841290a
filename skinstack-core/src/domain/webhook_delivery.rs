//! Shopify webhook deliveries SkinStack has answered for good, and the rotation of the secret
//! they are signed with.
//!
//! Shopify retries every answer but a 2xx for two days and then deletes the subscription, so
//! an authentic delivery SkinStack can never record (a malformed order, a currency not
//! accepted, a refund beyond its order, a redelivery with another amount) is acknowledged with
//! a `200` and *kept* here with its [`RejectionReason`], for the merchant to see. Deliveries
//! that can still succeed later (a refund that overtook its order, a store outage) are not
//! kept: they are refused so that Shopify retries them.
//!
//! Every kept delivery is unique per merchant by its `X-Shopify-Webhook-Id` (Shopify sends the
//! same id with every retry of one event), decided by a unique constraint, so concurrent
//! retries keep one record and are counted once.

use crate::domain::{DeliveryId, MerchantId, Secret, ShopRef};
use chrono::{DateTime, Duration, Utc};

/// `X-Shopify-Webhook-Id`: Shopify's id of one event, the same on each of its retries.
pub type WebhookId = ShopRef;
/// `X-Shopify-Topic`, such as `orders/create`.
pub type Topic = ShopRef;

/// The header naming the event a delivery carries.
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";

/// How much of a rejected delivery's body is kept: enough to read what was wrong, while
/// bounding what one shop can make SkinStack store (bodies may reach 1 MiB).
pub const KEPT_BODY_LIMIT: usize = 64 * 1024;

/// The longest message kept with a rejection, in characters.
pub const MESSAGE_LIMIT: usize = 1000;

/// How long the previous webhook secret keeps being accepted after it was replaced: Shopify
/// signs with the old secret for up to an hour after a rotation.
pub const SECRET_ROTATION_GRACE: Duration = Duration::hours(1);

/// Why an authentic delivery can never be recorded. Stored as [`RejectionReason::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectionReason {
    /// The body is not a payload of its topic: not JSON, a field missing or malformed.
    MalformedPayload,
    /// No `X-Shopify-Topic` header: nothing says what the body is.
    MissingTopic,
    /// An amount in a currency SkinStack does not record (only USD).
    UnsupportedCurrency,
    /// The refunds of an order would add up to more than the order.
    RefundExceedsOrder,
    /// The order id was recorded before with another amount.
    OrderConflict,
    /// The refund id was recorded before for another order or amount.
    RefundConflict,
    /// A value the store cannot hold, such as an order beyond the revenue column.
    UnrecordableValue,
}

impl RejectionReason {
    /// Every reason, in code order (for metrics that list them all).
    pub const ALL: [RejectionReason; 7] = [
        RejectionReason::MalformedPayload,
        RejectionReason::MissingTopic,
        RejectionReason::OrderConflict,
        RejectionReason::RefundConflict,
        RejectionReason::RefundExceedsOrder,
        RejectionReason::UnrecordableValue,
        RejectionReason::UnsupportedCurrency,
    ];

    /// The short, stable code stored and shown (`unsupported_currency`).
    pub const fn code(self) -> &'static str {
        match self {
            RejectionReason::MalformedPayload => "malformed_payload",
            RejectionReason::MissingTopic => "missing_topic",
            RejectionReason::UnsupportedCurrency => "unsupported_currency",
            RejectionReason::RefundExceedsOrder => "refund_exceeds_order",
            RejectionReason::OrderConflict => "order_conflict",
            RejectionReason::RefundConflict => "refund_conflict",
            RejectionReason::UnrecordableValue => "unrecordable_value",
        }
    }

    /// Parses a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }
}

/// A reason with the human explanation shown to the merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why, as a type.
    pub reason: RejectionReason,
    /// What exactly, for a person: at most [`MESSAGE_LIMIT`] characters.
    pub message: String,
}

impl Rejection {
    /// A rejection for `reason`, its message cut to [`MESSAGE_LIMIT`] characters.
    pub fn new(reason: RejectionReason, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if let Some((cut, _)) = message.char_indices().nth(MESSAGE_LIMIT) {
            message.truncate(cut);
        }
        Self { reason, message }
    }
}

/// One delivery answered for good: accepted (recorded, a duplicate or an ignored topic), or
/// rejected with its reason and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Time-ordered.
    pub id: DeliveryId,
    /// The merchant whose secret signed it.
    pub merchant_id: MerchantId,
    /// Its `X-Shopify-Webhook-Id`, if it came with a usable one.
    pub webhook_id: Option<WebhookId>,
    /// Its `X-Shopify-Topic`, if any.
    pub topic: Option<Topic>,
    /// When it was answered (microseconds, as PostgreSQL keeps them).
    pub received_at: DateTime<Utc>,
    /// `None` if accepted.
    pub rejection: Option<Rejection>,
    /// For a rejected delivery, the first [`KEPT_BODY_LIMIT`] bytes of its body; empty for an
    /// accepted one (what it said is recorded elsewhere).
    pub body: Vec<u8>,
    /// The body's full length in bytes.
    pub body_len: u64,
}

impl WebhookDelivery {
    /// The record of a delivery answered at `at`: keeps the start of `body` only if it was
    /// rejected.
    pub fn new(
        merchant_id: MerchantId,
        webhook_id: Option<WebhookId>,
        topic: Option<Topic>,
        at: DateTime<Utc>,
        rejection: Option<Rejection>,
        body: &[u8],
    ) -> Self {
        use chrono::SubsecRound;
        let kept = match rejection {
            Some(_) => body[..body.len().min(KEPT_BODY_LIMIT)].to_vec(),
            None => Vec::new(),
        };
        Self {
            id: DeliveryId::new(),
            merchant_id,
            webhook_id,
            topic,
            received_at: at.trunc_subsecs(6),
            rejection,
            body: kept,
            body_len: u64::try_from(body.len()).unwrap_or(u64::MAX),
        }
    }
}

/// What [`WebhookDeliveries::record_delivery`](crate::WebhookDeliveries::record_delivery) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryInsert {
    /// Stored now.
    Inserted(WebhookDelivery),
    /// The merchant already had a delivery with this webhook id: this one, unchanged.
    Existing(WebhookDelivery),
}

/// A previous webhook secret, kept for [`SECRET_ROTATION_GRACE`] after it was replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedSecret {
    /// The secret replaced (stored encrypted where the store encrypts).
    pub secret: Secret,
    /// When it was replaced.
    pub rotated_at: DateTime<Utc>,
}

impl RotatedSecret {
    /// Whether a delivery signed with it is still authentic at `now`: less than
    /// [`SECRET_ROTATION_GRACE`] after the rotation (one made "in the future" by another
    /// process's clock counts as just made).
    pub fn accepted_at(&self, now: DateTime<Utc>) -> bool {
        now - self.rotated_at < SECRET_ROTATION_GRACE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_parses_back_from_its_code_and_codes_are_unique() {
        let mut codes: Vec<&str> = RejectionReason::ALL.iter().map(|r| r.code()).collect();
        for reason in RejectionReason::ALL {
            assert_eq!(RejectionReason::parse(reason.code()), Some(reason));
        }
        let sorted = codes.clone();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, sorted, "ALL is in code order, each code once");
        assert_eq!(RejectionReason::parse("Malformed_Payload"), None);
    }

    #[test]
    fn only_rejected_deliveries_keep_the_start_of_their_body() {
        let body = vec![b'x'; KEPT_BODY_LIMIT + 10];
        let why = Rejection::new(RejectionReason::MalformedPayload, "id is missing");
        let rejected =
            WebhookDelivery::new(MerchantId::new(), None, None, Utc::now(), Some(why), &body);
        assert_eq!(rejected.body.len(), KEPT_BODY_LIMIT);
        assert_eq!(rejected.body_len, (KEPT_BODY_LIMIT + 10) as u64);
        let accepted = WebhookDelivery::new(MerchantId::new(), None, None, Utc::now(), None, &body);
        assert!(accepted.body.is_empty());
        assert_eq!(accepted.body_len, (KEPT_BODY_LIMIT + 10) as u64);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let rejection = Rejection::new(RejectionReason::MalformedPayload, "é".repeat(2000));
        assert_eq!(rejection.message.chars().count(), MESSAGE_LIMIT);
    }

    #[test]
    fn the_previous_secret_is_accepted_for_one_hour_and_not_a_second_more() {
        let at = Utc::now();
        let old = RotatedSecret {
            secret: Secret::parse("old").unwrap(),
            rotated_at: at,
        };
        assert!(old.accepted_at(at));
        assert!(old.accepted_at(at - Duration::minutes(5)));
        assert!(old.accepted_at(at + Duration::minutes(59) + Duration::seconds(59)));
        assert!(!old.accepted_at(at + Duration::hours(1)));
        assert!(!old.accepted_at(at + Duration::days(3)));
    }
}

//! Conversions: orders a merchant's shop reports, the link they are attributed to, and the
//! refunds that follow.
//!
//! A conversion is identified by `(merchant, order id)`: recording the same order again is a
//! no-op (see [`crate::service::conversions`]). Its commission is decided once, when it is
//! recorded, with [`crate::Program::split`]'s math, and stored with it so refunds reverse
//! exactly what was accrued ([`crate::CommissionSplit::reversal`]).

use crate::domain::{
    CampaignCode, ConversionId, EventId, ExternalId, FraudSignal, HoldReason, InfluencerId, LinkId,
    MerchantId, Money, ProgramId,
};
use crate::domain::{ClickId, Currency};
use crate::earning::commission::CommissionSplit;
use crate::error::Invalid;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::fmt;

/// An identifier chosen by the merchant's shop (an order id, a refund id): 1–255 characters,
/// trimmed, no control characters. Compared exactly (shops' ids are case-sensitive).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ShopRef(String);

impl ShopRef {
    /// Most characters in an id.
    pub const MAX_LEN: usize = 255;

    /// Trims and checks `value`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::Empty);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(Invalid::TooLong { max: Self::MAX_LEN });
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ShopRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ShopRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shop's order id, unique per merchant.
pub type OrderId = ShopRef;
/// The shop's refund id, unique per merchant.
pub type RefundId = ShopRef;

/// How long an accrued commission is held before it is approved for payout (returns and
/// chargebacks settle meanwhile): 0–365 days, 30 by default (`programs.hold_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct HoldDays(u16);

impl HoldDays {
    /// Checks the 0..=365 range.
    pub fn new(days: i64) -> Result<Self, Invalid> {
        match u16::try_from(days) {
            Ok(d @ 0..=365) => Ok(Self(d)),
            _ => Err(Invalid::OutOfRange("between 0 and 365 days")),
        }
    }

    /// The hold in days.
    pub const fn days(&self) -> u16 {
        self.0
    }

    /// The hold as a duration.
    pub fn duration(&self) -> Duration {
        Duration::days(i64::from(self.0))
    }
}

impl Default for HoldDays {
    fn default() -> Self {
        Self(30)
    }
}

/// What attributed an order to a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum AttributedBy {
    /// The shopper's last click (`ssclid`) on the link, within the program's cookie window.
    Click {
        /// The click.
        click_id: ClickId,
    },
    /// The order's coupon matched the link's campaign code.
    Coupon {
        /// The code.
        code: CampaignCode,
    },
}

impl Serialize for ClickId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The link an order was attributed to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The link credited.
    pub link_id: LinkId,
    /// Its influencer, who earns the commission.
    pub influencer_id: InfluencerId,
    /// Its program, whose terms set the commission.
    pub program_id: ProgramId,
    /// The rule that decided it.
    pub by: AttributedBy,
}

/// A conversion ready to be stored: built by [`crate::service::conversions::record_conversion`],
/// which has attributed it and computed its commission.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversion {
    /// Its id.
    pub id: ConversionId,
    /// The merchant whose shop reported it.
    pub merchant_id: MerchantId,
    /// The shop's order id; `(merchant_id, order_id)` is unique.
    pub order_id: OrderId,
    /// The subtotal the commission is computed on.
    pub amount: Money,
    /// Always [`Currency::USD`] in this version.
    pub currency: Currency,
    /// When the shopper ordered.
    pub ordered_at: DateTime<Utc>,
    /// When SkinStack recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The click id the shop reported, attributed or not.
    pub click_id: Option<ClickId>,
    /// The coupon the shop reported, attributed or not.
    pub coupon_code: Option<CampaignCode>,
    /// The products ordered, by the shop's ids.
    pub product_external_ids: Vec<ExternalId>,
    /// The link credited; `None` for an unattributed order (kept, earns nothing).
    pub attribution: Option<Attribution>,
    /// The commission accrued: zero when unattributed.
    pub commission: CommissionSplit,
    /// When the commission may be approved; `None` when unattributed.
    pub hold_until: Option<DateTime<Utc>>,
    /// Why the commission is held from the start (sorted, no repeats); empty for most orders.
    /// A held conversion is stored with `held_at = recorded_at`.
    pub hold_reasons: Vec<HoldReason>,
    /// The fraud signals that fired (sorted, no repeats).
    pub signals: Vec<FraudSignal>,
    /// For an order attributed by click, which of the click's uses it takes (1 for the first
    /// order a click attributes). The store keeps each `(click, use)` once and answers
    /// [`ConversionInsert::ClickSpent`] when another order took it first, so concurrent orders
    /// with one click never attribute more than the limit.
    pub click_use: Option<u32>,
    /// The id of the `accrued` ledger event the store writes with an attributed conversion.
    pub accrual_event_id: EventId,
    /// For an order attributed by click, what that click said for every click dimension:
    /// stored with the conversion, which breaks down by it ([`crate::tracking::breakdown`]).
    pub visit: Option<crate::tracking::breakdown::Visit>,
}

/// A stored conversion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversion {
    /// Its id.
    pub id: ConversionId,
    /// The merchant.
    pub merchant_id: MerchantId,
    /// The shop's order id.
    pub order_id: OrderId,
    /// The subtotal the commission was computed on.
    pub amount: Money,
    /// The currency (USD).
    pub currency: Currency,
    /// When the shopper ordered.
    pub ordered_at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The reported click id.
    pub click_id: Option<ClickId>,
    /// The reported coupon.
    pub coupon_code: Option<CampaignCode>,
    /// The products ordered.
    #[serde(serialize_with = "external_ids")]
    pub product_external_ids: Vec<ExternalId>,
    /// The link credited, if any.
    pub attribution: Option<Attribution>,
    /// The commission accrued when it was recorded (before refunds).
    pub commission: CommissionSplit,
    /// When the commission may be approved.
    pub hold_until: Option<DateTime<Utc>>,
    /// When it was approved, once it is.
    pub approved_at: Option<DateTime<Utc>>,
    /// The total refunded so far; never more than `amount`.
    pub refunded_amount: Money,
    /// Every reason it was ever held for (sorted, no repeats): kept after a release or a void
    /// so the decision can be read back.
    pub hold_reasons: Vec<HoldReason>,
    /// The fraud signals that fired when it was recorded (sorted, no repeats).
    pub signals: Vec<FraudSignal>,
    /// Since when it is held, while it is: `approve-due` skips it until it is released.
    pub held_at: Option<DateTime<Utc>>,
    /// When its commission was voided (reversed in full by a `voided` event); never approved
    /// afterwards, and later refunds reverse nothing more.
    pub voided_at: Option<DateTime<Utc>>,
}

fn external_ids<S: serde::Serializer>(ids: &[ExternalId], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(ExternalId::as_str))
}

impl Conversion {
    /// Whether a hold may be put on it now: attributed, not approved, not voided. A held
    /// conversion may be held again (another reason is added).
    pub fn can_be_held(&self) -> bool {
        self.attribution.is_some() && self.approved_at.is_none() && self.voided_at.is_none()
    }

    /// Whether its commission is held now.
    pub fn is_held(&self) -> bool {
        self.held_at.is_some()
    }

    /// Whether `approve-due` may approve it as of `now`: attributed, neither approved, held
    /// nor voided, and its hold period over.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.attribution.is_some()
            && self.approved_at.is_none()
            && self.held_at.is_none()
            && self.voided_at.is_none()
            && self.hold_until.is_some_and(|t| t <= now)
    }

    /// The commission still carried: the accrual net of every refund's reversal so far
    /// (reversals telescope, so this equals the sum of the ledger's `accrued` and `reversed`
    /// events of this conversion); zero once voided.
    pub fn open_commission(&self) -> CommissionSplit {
        if self.voided_at.is_some() {
            return CommissionSplit::default();
        }
        // refunded_amount ≤ amount is kept by every store, so the reversal cannot fail.
        let reversed = self
            .commission
            .reversal(
                self.amount,
                Money::ZERO,
                self.refunded_amount,
                self.currency,
            )
            .unwrap_or_default();
        self.commission.plus(&reversed)
    }

    /// The order amount net of refunds ([`net_of_refunds`]).
    pub fn net_amount(&self) -> Money {
        // refunded_amount ≤ amount is kept by every store (and a CHECK in PostgreSQL).
        Money::new(net_of_refunds(
            self.amount.amount(),
            self.refunded_amount.amount(),
        ))
        .unwrap_or(Money::ZERO)
    }
}

/// Sales net of refunds: `ordered` less `refunded`. The one definition behind
/// [`Conversion::net_amount`] and every sum of orders a store aggregates (which hands in
/// Σ amount and Σ refunded, so that the rule is not restated in SQL).
pub fn net_of_refunds(
    ordered: rust_decimal::Decimal,
    refunded: rust_decimal::Decimal,
) -> rust_decimal::Decimal {
    ordered - refunded
}

/// A refund ready to be stored, with the reversal computed by
/// [`crate::service::conversions::record_refund`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRefund {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// The shop's refund id; `(merchant_id, refund_id)` is unique.
    pub refund_id: RefundId,
    /// The refunded conversion.
    pub conversion_id: ConversionId,
    /// How much of the order is refunded.
    pub amount: Money,
    /// The conversion's refunded total the reversal was computed from. The store applies the
    /// refund only if it still is (compare-and-set), else answers [`RefundInsert::Stale`].
    pub refunded_before: Money,
    /// The `reversed` ledger event for an attributed conversion: its id and its split (≤ 0;
    /// zero for a voided commission, whose refunds reverse sales only).
    pub reversal: Option<(EventId, CommissionSplit)>,
    /// Whether the conversion's commission was voided when the reversal was computed. The
    /// store applies the refund only if this is still so (compare-and-set with
    /// `refunded_before`), else answers [`RefundInsert::Stale`].
    pub voided_before: bool,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refund {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// The shop's refund id.
    pub refund_id: RefundId,
    /// The refunded conversion.
    pub conversion_id: ConversionId,
    /// The amount refunded.
    pub amount: Money,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// What inserting a conversion did.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversionInsert {
    /// It was new: stored, with its ledger event and totals.
    Inserted(Conversion),
    /// The merchant already had this order id: nothing changed; here is the stored one.
    Existing(Conversion),
    /// Another order took the click's use ([`NewConversion::click_use`]) first: nothing
    /// changed; decide the attribution again.
    ClickSpent,
    /// The order is not in the merchant's settlement currency (it changed since the order
    /// was checked): nothing changed. Holds the merchant's currency.
    WrongCurrency(Currency),
}

/// What inserting a refund did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundInsert {
    /// It was new: stored, with its reversal and totals.
    Inserted(Refund),
    /// The merchant already had this refund id: nothing changed; here is the stored one.
    Existing(Refund),
    /// The conversion's refunded total changed since the reversal was computed: nothing
    /// changed; compute again.
    Stale,
}

schema!(
    ShopRef,
    "ShopRef",
    trimmed_text(ShopRef::MAX_LEN, false).description(Some(format!(
        "An id from the merchant's shop: trimmed, then 1–{} characters without control characters; compared exactly.",
        ShopRef::MAX_LEN
    )))
);
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_refs_are_trimmed_and_refuse_blank_long_or_control_text() {
        assert_eq!(ShopRef::parse(" 5012345 ").unwrap().as_str(), "5012345");
        assert_eq!(ShopRef::parse(" "), Err(Invalid::Empty));
        assert_eq!(ShopRef::parse("a\nb"), Err(Invalid::ControlCharacter));
        assert!(ShopRef::parse(&"x".repeat(256)).is_err());
        assert!(ShopRef::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn hold_days_are_zero_to_365_defaulting_to_30() {
        assert_eq!(HoldDays::default().days(), 30);
        assert!(HoldDays::new(0).is_ok());
        assert!(HoldDays::new(365).is_ok());
        assert!(HoldDays::new(366).is_err());
        assert!(HoldDays::new(-1).is_err());
    }
}

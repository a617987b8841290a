//! Commission holds: why an unapproved commission is kept from approval until a person
//! decides, and the bounds every reported order must keep (its date, its size).
//!
//! A held commission is never approved by `approve-due`; the merchant or an administrator
//! releases it (it is approved once its hold period has passed, as any other) or voids it
//! (the ledger reverses it exactly). Both decisions are ledger events
//! ([`crate::earning::EventKind::Released`], [`crate::earning::EventKind::Voided`]).

use crate::domain::Money;
use crate::error::Invalid;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// Why a commission is held. Stored by [`HoldReason::as_str`]; a new reason is one more
/// variant here (appended: lists are kept sorted by this order) and in the
/// `conversions_hold_reasons_check` constraint. The fraud signals that hold say so in
/// [`FraudSignal::hold_reason`](crate::domain::FraudSignal::hold_reason); click reuse holds
/// nothing (the click simply does not attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// The influencer was banned from the program the commission was earned in.
    MemberBanned,
    /// The order is above its merchant's maximum order amount ([`MaxOrderAmount`]).
    OrderAboveMaximum,
    /// A merchant or an administrator held it by hand.
    Manual,
    /// The order's customer email is the influencer's own mailbox.
    SelfReferral,
    /// The buyer's network prefix differs from the clicker's.
    ShopperMismatch,
}

impl HoldReason {
    /// Every reason, in stored order.
    pub const ALL: [HoldReason; 5] = [
        HoldReason::MemberBanned,
        HoldReason::OrderAboveMaximum,
        HoldReason::Manual,
        HoldReason::SelfReferral,
        HoldReason::ShopperMismatch,
    ];

    /// The value stored in `conversions.hold_reasons` and shown by the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            HoldReason::MemberBanned => "member_banned",
            HoldReason::OrderAboveMaximum => "order_above_maximum",
            HoldReason::Manual => "manual",
            HoldReason::SelfReferral => "self_referral",
            HoldReason::ShopperMismatch => "shopper_mismatch",
        }
    }

    /// Parses a stored value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

schema!(
    HoldReason,
    "HoldReason",
    string()
        .enum_values(Some(HoldReason::ALL.map(HoldReason::as_str)))
        .description(Some(
            "Why a commission is (or was) held: a ban, an order above the merchant's maximum, \
             a hold by hand, or a fraud signal (self-referral, shopper mismatch)."
        ))
);

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Adds `reason` to `reasons`, kept sorted and without repeats, so that both stores list a
/// conversion's reasons alike.
pub fn add_hold_reason(reasons: &mut Vec<HoldReason>, reason: HoldReason) {
    if let Err(at) = reasons.binary_search(&reason) {
        reasons.insert(at, reason);
    }
}

/// The largest order amount a merchant's commissions are approved on without review
/// (`merchants.max_order_amount`): an order above it is still recorded, its commission held
/// with [`HoldReason::OrderAboveMaximum`]. Positive; 10 000.00 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MaxOrderAmount(Money);

impl MaxOrderAmount {
    /// Checks that `amount` is positive and fits the column (DECIMAL(10,2)).
    pub fn new(amount: Money) -> Result<Self, Invalid> {
        if amount.amount() <= Decimal::ZERO {
            return Err(Invalid::OutOfRange("greater than zero"));
        }
        Ok(Self(amount.fit_digits(Self::DIGITS)?))
    }

    /// The maximum.
    pub const fn amount(&self) -> Money {
        self.0
    }

    /// Whether an order of `amount` is above it (an order of exactly the maximum is not).
    pub fn exceeded_by(&self, amount: Money) -> bool {
        amount > self.0
    }
}

impl MaxOrderAmount {
    /// Significant digits of `merchants.max_order_amount`, `DECIMAL(10,2)`.
    pub const DIGITS: u32 = 10;
}

schema!(
    MaxOrderAmount,
    "MaxOrderAmount",
    decimal(
        // Above zero, at most two places, below 10^(DIGITS-2): 1–99999999.99 or 0.01–0.99.
        trimmed(&format!(
            r"(?:[1-9][0-9]{{0,{}}}(?:\.[0-9]{{1,2}})?|0\.(?:0[1-9]|[1-9][0-9]?))",
            MaxOrderAmount::DIGITS - 3
        )),
        utoipa::openapi::schema::ObjectBuilder::new()
            .exclusive_minimum(Some(0))
            .maximum(Some(super::money::bound(
                Decimal::from(10u64.pow(MaxOrderAmount::DIGITS - 2)) - Decimal::new(1, 2)
            ))),
        "The largest order amount whose commission is approved without review: a decimal string (preferred: exact) or number, above 0 and below 100000000.00, at most two decimal places.",
    )
);

impl Default for MaxOrderAmount {
    fn default() -> Self {
        Self(Money::new(Decimal::new(1_000_000, 2)).unwrap_or(Money::ZERO))
    }
}

/// How far from the time it is reported an order's `ordered_at` may lie: at most `max_age`
/// in the past (30 days by default) and at most [`OrderWindow::MAX_AHEAD`] ahead (clock skew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderWindow {
    max_age: Duration,
}

impl OrderWindow {
    /// How far ahead of SkinStack's clock a shop's clock may run.
    pub const MAX_AHEAD: Duration = Duration::minutes(5);

    /// Orders at most `days` old (1–365).
    pub fn new(days: i64) -> Result<Self, Invalid> {
        match days {
            1..=365 => Ok(Self {
                max_age: Duration::days(days),
            }),
            _ => Err(Invalid::OutOfRange("between 1 and 365 days")),
        }
    }

    /// The oldest order accepted.
    pub const fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Checks that `ordered_at` lies between `now − max_age` and `now + 5 minutes`, both
    /// included.
    pub fn check(&self, ordered_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Invalid> {
        let out = Invalid::OutOfRange(
            "within the order window: no older than the configured maximum age (30 days by \
             default) and no more than 5 minutes ahead",
        );
        // The shop's date is anything: compare without arithmetic that could leave chrono's
        // range.
        let too_old = now
            .checked_sub_signed(self.max_age)
            .is_some_and(|earliest| ordered_at < earliest);
        let too_new = now
            .checked_add_signed(Self::MAX_AHEAD)
            .is_some_and(|latest| ordered_at > latest);
        if too_old || too_new {
            Err(out)
        } else {
            Ok(())
        }
    }
}

impl Default for OrderWindow {
    fn default() -> Self {
        Self {
            max_age: Duration::days(30),
        }
    }
}

/// When an order's hold period starts: the later of when the shopper ordered and when
/// SkinStack received it, so that a back-dated `ordered_at` can never shorten the hold.
pub fn hold_start(ordered_at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> DateTime<Utc> {
    ordered_at.max(recorded_at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(day: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, minute, 0).unwrap()
    }

    #[test]
    fn hold_reasons_round_trip_through_their_stored_names() {
        for reason in HoldReason::ALL {
            assert_eq!(HoldReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(HoldReason::parse("click_reuse"), None);
        assert_eq!(
            HoldReason::OrderAboveMaximum.as_str(),
            "order_above_maximum"
        );
    }

    #[test]
    fn adding_a_hold_reason_keeps_the_list_sorted_and_without_repeats() {
        let mut reasons = Vec::new();
        add_hold_reason(&mut reasons, HoldReason::Manual);
        add_hold_reason(&mut reasons, HoldReason::MemberBanned);
        add_hold_reason(&mut reasons, HoldReason::Manual);
        assert_eq!(reasons, [HoldReason::MemberBanned, HoldReason::Manual]);
    }

    #[test]
    fn the_order_window_accepts_30_days_back_to_5_minutes_ahead_and_nothing_beyond() {
        let window = OrderWindow::default();
        let now = at(31, 0);
        assert!(window.check(now, now).is_ok());
        assert!(window.check(now - Duration::days(30), now).is_ok());
        assert!(window
            .check(now - Duration::days(30) - Duration::seconds(1), now)
            .is_err());
        assert!(window.check(now + Duration::minutes(5), now).is_ok());
        assert!(window
            .check(now + Duration::minutes(5) + Duration::seconds(1), now)
            .is_err());
        assert!(window.check(now - Duration::days(60), now).is_err());
        assert!(window.check(DateTime::<Utc>::MAX_UTC, now).is_err());
        assert!(window.check(DateTime::<Utc>::MIN_UTC, now).is_err());
        let week = OrderWindow::new(7).unwrap();
        assert!(week.check(now - Duration::days(8), now).is_err());
        assert!(OrderWindow::new(0).is_err());
        assert!(OrderWindow::new(366).is_err());
    }

    #[test]
    fn the_hold_starts_at_the_later_of_order_and_receipt() {
        assert_eq!(hold_start(at(1, 0), at(20, 0)), at(20, 0));
        assert_eq!(hold_start(at(20, 3), at(20, 0)), at(20, 3));
    }

    #[test]
    fn the_maximum_order_amount_defaults_to_ten_thousand_and_is_exceeded_only_above_it() {
        let max = MaxOrderAmount::default();
        assert_eq!(max.amount().amount(), dec!(10000.00));
        assert!(!max.exceeded_by(Money::new(dec!(10000.00)).unwrap()));
        assert!(max.exceeded_by(Money::new(dec!(10000.01)).unwrap()));
        assert!(MaxOrderAmount::new(Money::ZERO).is_err());
        assert!(MaxOrderAmount::new(Money::new(dec!(100000000.00)).unwrap()).is_err());
    }
}

//! Fraud signals as they are kept on a conversion: which of the checks of
//! [`crate::earning::signals`] fired when the order was recorded.
//!
//! A signal never refuses an order. Most hold its commission for a person to decide
//! ([`FraudSignal::hold_reason`]); click reuse instead keeps the spent click from attributing,
//! so the order falls back to its coupon or stays unattributed. Either way the conversion lists
//! it, so the merchant sees why a commission is held or why a click did not count.

use crate::domain::HoldReason;
use serde::Serialize;
use std::fmt;

/// A fraud signal that fired on an order. Stored by [`FraudSignal::as_str`] in
/// `conversions.signals` (sorted, no repeats; `conversions_signals_check` lists the values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudSignal {
    /// The order carried a click id that had already attributed its limit of orders: it did
    /// not attribute this one.
    ClickReuse,
    /// The order's amount is above its merchant's maximum order amount.
    OrderAboveMaximum,
    /// The order's customer email is the credited influencer's own mailbox.
    SelfReferral,
    /// The buyer's network prefix differs from that of the click that attributed the order.
    ShopperMismatch,
}

impl FraudSignal {
    /// Every signal, in stored order.
    pub const ALL: [FraudSignal; 4] = [
        FraudSignal::ClickReuse,
        FraudSignal::OrderAboveMaximum,
        FraudSignal::SelfReferral,
        FraudSignal::ShopperMismatch,
    ];

    /// The value stored in `conversions.signals`, shown by the API and labelling `/metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FraudSignal::ClickReuse => "click_reuse",
            FraudSignal::OrderAboveMaximum => "order_above_maximum",
            FraudSignal::SelfReferral => "self_referral",
            FraudSignal::ShopperMismatch => "shopper_mismatch",
        }
    }

    /// Parses a stored value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The reason the commission is held for when this signal fires; `None` for click reuse,
    /// which changes the attribution instead of holding a commission.
    pub const fn hold_reason(self) -> Option<HoldReason> {
        match self {
            FraudSignal::ClickReuse => None,
            FraudSignal::OrderAboveMaximum => Some(HoldReason::OrderAboveMaximum),
            FraudSignal::SelfReferral => Some(HoldReason::SelfReferral),
            FraudSignal::ShopperMismatch => Some(HoldReason::ShopperMismatch),
        }
    }
}

impl fmt::Display for FraudSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

schema!(
    FraudSignal,
    "FraudSignal",
    string()
        .enum_values(Some(FraudSignal::ALL.map(FraudSignal::as_str)))
        .description(Some(
            "A fraud signal that fired when the order was recorded: `click_reuse` (its click id \
             had already attributed its limit of orders, so it did not attribute this one), \
             `order_above_maximum`, `self_referral` (the customer is the influencer), \
             `shopper_mismatch` (the buyer's network differs from the clicker's). All but \
             `click_reuse` hold the commission."
        ))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_through_their_stored_names_and_all_but_click_reuse_hold() {
        for signal in FraudSignal::ALL {
            assert_eq!(FraudSignal::parse(signal.as_str()), Some(signal));
        }
        assert_eq!(FraudSignal::parse("manual"), None);
        assert_eq!(FraudSignal::ClickReuse.hold_reason(), None);
        assert_eq!(
            FraudSignal::SelfReferral.hold_reason(),
            Some(HoldReason::SelfReferral)
        );
        assert_eq!(
            FraudSignal::ShopperMismatch.hold_reason(),
            Some(HoldReason::ShopperMismatch)
        );
        assert_eq!(
            FraudSignal::OrderAboveMaximum.hold_reason(),
            Some(HoldReason::OrderAboveMaximum)
        );
        let mut sorted = FraudSignal::ALL;
        sorted.sort();
        assert_eq!(sorted, FraudSignal::ALL, "stored order is sorted order");
    }
}

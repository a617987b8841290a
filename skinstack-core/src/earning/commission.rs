//! Commission math: what a sale earns, what the platform keeps, what a refund takes back.
//!
//! # Rounding
//! Every amount is rounded to the minor unit of the order's currency (cents for USD and EUR,
//! whole yen for JPY: [`Currency::round`]) with banker's rounding (`MidpointNearestEven`),
//! which does not drift upward over many conversions the way half-up does, and kept at two
//! decimal places as every store keeps money. Only two numbers are ever rounded per split —
//! the gross commission and the platform fee — and the influencer's earnings are the
//! difference, so `platform_fee + influencer_earnings == gross` exactly, in every currency.

use crate::domain::{Commission, Currency, FeeRate, Money};
use rust_decimal::Decimal;
use serde::Serialize;

/// How one commission divides between the platform and the influencer.
///
/// For an accrual all three are ≥ 0; for a refund reversal all three are ≤ 0. In both cases
/// `platform_fee + influencer_earnings == gross`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CommissionSplit {
    /// The whole commission the merchant owes.
    pub gross: Decimal,
    /// The platform's share of `gross`.
    pub platform_fee: Decimal,
    /// The influencer's share of `gross`.
    pub influencer_earnings: Decimal,
}

/// Why a refund cannot be reversed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommissionError {
    /// The refunds would add up to more than the order.
    #[error("refunds of {refunded} would exceed the order amount {order}")]
    RefundExceedsOrder {
        /// The order amount.
        order: Money,
        /// What the refunds would total.
        refunded: Decimal,
    },
}

impl Commission {
    /// The split for an order of `amount` in `currency`.
    ///
    /// - percentage: `gross = round(amount × rate / 100)`;
    /// - fixed: `gross = round(min(fixed, amount))` — a commission never exceeds the sale;
    /// - `platform_fee = round(gross × fee_rate)`, `influencer_earnings = gross − platform_fee`;
    ///
    /// where `round` is [`Currency::round`], half to even at the currency's minor unit.
    pub fn split(&self, amount: Money, fee_rate: FeeRate, currency: Currency) -> CommissionSplit {
        let gross = currency.round(match self {
            Commission::Percentage(rate) => amount.amount() * rate.percent() / Decimal::ONE_HUNDRED,
            Commission::Fixed(fixed) => fixed.amount().min(amount.amount()),
        });
        let platform_fee = currency.round(gross * fee_rate.fraction());
        CommissionSplit {
            gross,
            platform_fee,
            influencer_earnings: gross - platform_fee,
        }
    }
}

impl CommissionSplit {
    /// The reversal owed when `refund` more of an order of `order_amount` in `currency` is
    /// refunded, after `refunded_before` was refunded earlier. The result is ≤ 0 in every
    /// component.
    ///
    /// Each refund reverses the difference between the share reversed after it and the share
    /// reversed before it, where the share for a refunded total `r` rounds the fee and the
    /// earnings each to `round(component × r / order_amount)` at the currency's minor unit and
    /// takes their sum as gross. Because both rounded parts only grow with `r`, every reversal
    /// is ≤ 0 in every component; because the share at `r = order_amount` is the whole split,
    /// refunding the whole order — in one refund or many — nets every component to exactly
    /// zero.
    pub fn reversal(
        &self,
        order_amount: Money,
        refunded_before: Money,
        refund: Money,
        currency: Currency,
    ) -> Result<CommissionSplit, CommissionError> {
        let after = refunded_before.amount() + refund.amount();
        if after > order_amount.amount() {
            return Err(CommissionError::RefundExceedsOrder {
                order: order_amount,
                refunded: after,
            });
        }
        let before = self.share_refunded(order_amount.amount(), refunded_before.amount(), currency);
        let after = self.share_refunded(order_amount.amount(), after, currency);
        Ok(CommissionSplit {
            gross: before.gross - after.gross,
            platform_fee: before.platform_fee - after.platform_fee,
            influencer_earnings: before.influencer_earnings - after.influencer_earnings,
        })
    }

    /// The part of this split reversed once `refunded` of `order` has been refunded in total.
    fn share_refunded(
        &self,
        order: Decimal,
        refunded: Decimal,
        currency: Currency,
    ) -> CommissionSplit {
        if refunded >= order {
            return *self;
        }
        let share = |component: Decimal| currency.round(component * refunded / order);
        let platform_fee = share(self.platform_fee);
        let influencer_earnings = share(self.influencer_earnings);
        CommissionSplit {
            gross: platform_fee + influencer_earnings,
            platform_fee,
            influencer_earnings,
        }
    }

    /// The same split with every component's sign flipped: what exactly undoes it.
    pub fn negated(&self) -> CommissionSplit {
        CommissionSplit {
            gross: -self.gross,
            platform_fee: -self.platform_fee,
            influencer_earnings: -self.influencer_earnings,
        }
    }

    /// Component-wise sum, for totals and balances.
    pub fn plus(&self, other: &CommissionSplit) -> CommissionSplit {
        CommissionSplit {
            gross: self.gross + other.gross,
            platform_fee: self.platform_fee + other.platform_fee,
            influencer_earnings: self.influencer_earnings + other.influencer_earnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommissionRate;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn pct(rate: Decimal) -> Commission {
        Commission::Percentage(CommissionRate::new(rate).unwrap())
    }

    fn money(v: Decimal) -> Money {
        Money::new(v).unwrap()
    }

    fn split_of(c: Commission, amount: Decimal) -> CommissionSplit {
        c.split(money(amount), FeeRate::default(), USD)
    }

    const USD: Currency = Currency::USD;

    fn jpy() -> Currency {
        Currency::parse("JPY").unwrap()
    }

    #[test]
    fn twenty_percent_of_45_00_is_9_00_of_which_fee_1_80_and_earnings_7_20() {
        let s = split_of(pct(dec!(20)), dec!(45.00));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(9.00), dec!(1.80), dec!(7.20))
        );
    }

    #[test]
    fn fifteen_percent_of_38_50_is_5_78_of_which_fee_1_16_and_earnings_4_62() {
        // 38.50 × 15 % = 5.775 → 5.78 (half to even: 7 is odd, so up); fee 5.78 × 0.2 = 1.156 → 1.16
        let s = split_of(pct(dec!(15)), dec!(38.50));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(5.78), dec!(1.16), dec!(4.62))
        );
    }

    #[test]
    fn twenty_five_percent_of_24_50_rounds_half_to_even_6_12() {
        // 24.50 × 25 % = 6.125 → 6.12 (2 is even); fee 6.12 × 0.2 = 1.224 → 1.22
        let s = split_of(pct(dec!(25)), dec!(24.50));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(6.12), dec!(1.22), dec!(4.90))
        );
    }

    #[test]
    fn thirty_percent_of_89_99_is_27_00_of_which_fee_5_40() {
        // 89.99 × 30 % = 26.997 → 27.00; fee 5.40; earnings 21.60
        let s = split_of(pct(dec!(30)), dec!(89.99));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(27.00), dec!(5.40), dec!(21.60))
        );
    }

    #[test]
    fn fixed_commission_of_10_on_a_60_order_is_10_with_fee_2() {
        let fixed = Commission::fixed(money(dec!(10))).unwrap();
        let s = split_of(fixed, dec!(60));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(10.00), dec!(2.00), dec!(8.00))
        );
    }

    #[test]
    fn fixed_commission_is_capped_at_the_order_amount() {
        let fixed = Commission::fixed(money(dec!(10))).unwrap();
        let s = split_of(fixed, dec!(7.50));
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(7.50), dec!(1.50), dec!(6.00))
        );
    }

    #[test]
    fn half_refund_of_a_20_percent_45_00_order_reverses_half() {
        let s = split_of(pct(dec!(20)), dec!(45.00));
        let r = s
            .reversal(money(dec!(45)), Money::ZERO, money(dec!(22.50)), USD)
            .unwrap();
        assert_eq!(
            (r.gross, r.platform_fee, r.influencer_earnings),
            (dec!(-4.50), dec!(-0.90), dec!(-3.60))
        );
    }

    #[test]
    fn refund_of_a_fixed_commission_is_proportional_too() {
        let s = split_of(Commission::fixed(money(dec!(10))).unwrap(), dec!(100));
        let r = s
            .reversal(money(dec!(100)), Money::ZERO, money(dec!(25)), USD)
            .unwrap();
        assert_eq!(
            (r.gross, r.platform_fee, r.influencer_earnings),
            (dec!(-2.50), dec!(-0.50), dec!(-2.00))
        );
    }

    #[test]
    fn three_thirds_of_a_refund_net_to_exactly_zero() {
        let s = split_of(pct(dec!(20)), dec!(10.00)); // 2.00 / 0.40 / 1.60
        let third = money(dec!(3.33));
        let r1 = s
            .reversal(money(dec!(10)), Money::ZERO, third, USD)
            .unwrap();
        let r2 = s
            .reversal(money(dec!(10)), money(dec!(3.33)), third, USD)
            .unwrap();
        let r3 = s
            .reversal(money(dec!(10)), money(dec!(6.66)), money(dec!(3.34)), USD)
            .unwrap();
        assert_eq!(
            s.plus(&r1).plus(&r2).plus(&r3),
            CommissionSplit {
                gross: dec!(0),
                platform_fee: dec!(0),
                influencer_earnings: dec!(0)
            }
        );
    }

    #[test]
    fn refunding_more_than_the_order_is_refused() {
        let s = split_of(pct(dec!(20)), dec!(10.00));
        let err = s
            .reversal(money(dec!(10)), money(dec!(6)), money(dec!(4.01)), USD)
            .unwrap_err();
        assert_eq!(
            err,
            CommissionError::RefundExceedsOrder {
                order: money(dec!(10)),
                refunded: dec!(10.01)
            }
        );
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop_oneof![
            Just(USD),
            Just(jpy()),
            Just(Currency::parse("EUR").unwrap()),
            Just(Currency::parse("KRW").unwrap()),
        ]
    }

    /// Zero to `max` minor units of `currency` (cents, or whole yen).
    fn units(currency: Currency, max: i64) -> impl Strategy<Value = Decimal> {
        (0..=max).prop_map(move |u| Decimal::new(u, currency.minor_units()))
    }

    fn commission(currency: Currency) -> impl Strategy<Value = Commission> {
        prop_oneof![
            (1i64..=10_000).prop_map(|bp| pct(Decimal::new(bp, 2))),
            (1i64..=100_000).prop_map(move |u| Commission::fixed(money(Decimal::new(
                u,
                currency.minor_units()
            )))
            .unwrap()),
        ]
    }

    fn fee_rate() -> impl Strategy<Value = FeeRate> {
        (0i64..=100).prop_map(|p| FeeRate::new(Decimal::new(p, 2)).unwrap())
    }

    /// A currency, a commission in it, and an order amount with a sequence of partial refunds
    /// that add up to all of it, all in whole minor units of the currency.
    fn order_and_refunds() -> impl Strategy<Value = (Currency, Commission, Decimal, Vec<Decimal>)> {
        currency().prop_flat_map(|cur| {
            (
                Just(cur),
                commission(cur),
                1i64..=2_000_000,
                prop::collection::vec(1u32..1000, 1..8),
            )
                .prop_map(|(cur, c, total, weights)| {
                    let places = cur.minor_units();
                    let sum: u64 = weights.iter().map(|w| u64::from(*w)).sum();
                    let mut left = total;
                    let mut parts: Vec<Decimal> = weights[..weights.len() - 1]
                        .iter()
                        .map(|w| {
                            let part = (total as u64 * u64::from(*w) / sum) as i64;
                            left -= part;
                            Decimal::new(part, places)
                        })
                        .collect();
                    parts.push(Decimal::new(left, places));
                    (cur, c, Decimal::new(total, places), parts)
                })
        })
    }

    /// A currency, a commission in it and an order amount in it.
    fn order() -> impl Strategy<Value = (Currency, Commission, Decimal)> {
        currency().prop_flat_map(|cur| (Just(cur), commission(cur), units(cur, 100_000_000)))
    }

    /// Whether `value` is a whole number of `currency`'s minor units, kept at two places.
    fn in_minor_units(value: Decimal, currency: Currency) -> bool {
        value.scale() == 2 && value.normalize().scale() <= currency.minor_units()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn fee_plus_earnings_is_gross_and_fee_is_within_gross((cur, c, amount) in order(), f in fee_rate()) {
            let s = c.split(money(amount), f, cur);
            prop_assert_eq!(s.platform_fee + s.influencer_earnings, s.gross);
            prop_assert!(Decimal::ZERO <= s.platform_fee && s.platform_fee <= s.gross);
            prop_assert!(s.gross <= amount, "commission above the sale");
            prop_assert!(in_minor_units(s.gross, cur) && in_minor_units(s.platform_fee, cur), "{s:?} in {cur}");
            prop_assert!(in_minor_units(s.influencer_earnings, cur));
        }

        #[test]
        fn percentage_100_with_fee_0_returns_the_amount(cur in currency(), amount in units(USD, 100_000_000)) {
            let amount = cur.round(amount);
            let s = pct(dec!(100)).split(money(amount), FeeRate::new(dec!(0)).unwrap(), cur);
            prop_assert_eq!(s.gross, amount);
            prop_assert_eq!(s.influencer_earnings, amount);
            prop_assert_eq!(s.platform_fee, Decimal::ZERO);
        }

        #[test]
        fn refunding_the_whole_order_in_parts_nets_every_component_to_zero((cur, c, total, parts) in order_and_refunds(), f in fee_rate()) {
            let order = money(total);
            let accrued = c.split(order, f, cur);
            let mut net = accrued;
            let mut refunded = Money::ZERO;
            for part in parts {
                let r = accrued.reversal(order, refunded, money(part), cur).unwrap();
                prop_assert_eq!(r.platform_fee + r.influencer_earnings, r.gross);
                prop_assert!(r.gross <= Decimal::ZERO && r.platform_fee <= Decimal::ZERO && r.influencer_earnings <= Decimal::ZERO);
                prop_assert!(in_minor_units(r.platform_fee, cur) && in_minor_units(r.influencer_earnings, cur), "{r:?} in {cur}");
                net = net.plus(&r);
                prop_assert!(net.gross >= Decimal::ZERO && net.platform_fee >= Decimal::ZERO && net.influencer_earnings >= Decimal::ZERO);
                refunded = money(refunded.amount() + part);
            }
            prop_assert_eq!(net, CommissionSplit { gross: Decimal::ZERO, platform_fee: Decimal::ZERO, influencer_earnings: Decimal::ZERO });
        }
    }

    #[test]
    fn a_zero_refund_reverses_zero_at_the_stored_scale() {
        let accrued = pct(dec!(1)).split(money(dec!(1)), FeeRate::new(dec!(0)).unwrap(), jpy());
        let r = accrued
            .reversal(money(dec!(1)), Money::ZERO, money(dec!(0)), jpy())
            .unwrap();
        assert_eq!(r, CommissionSplit::default());
        for component in [r.gross, r.platform_fee, r.influencer_earnings] {
            assert_eq!(component.to_string(), "0.00");
        }
    }

    #[test]
    fn a_yen_split_rounds_to_whole_yen_half_to_even() {
        // 15 % of ¥1,250 = 187.5 → 188 (half to even); fee 188 × 0.2 = 37.6 → 38; earnings 150.
        let s = pct(dec!(15)).split(money(dec!(1250)), FeeRate::default(), jpy());
        assert_eq!(
            (s.gross, s.platform_fee, s.influencer_earnings),
            (dec!(188), dec!(38), dec!(150))
        );
        // 25 % of ¥1,250 = 312.5 → 312 (2 is even).
        assert_eq!(
            pct(dec!(25))
                .split(money(dec!(1250)), FeeRate::default(), jpy())
                .gross,
            dec!(312)
        );
        // A third of ¥1,000 refunded reverses whole yen.
        let accrued = pct(dec!(10)).split(money(dec!(1000)), FeeRate::default(), jpy()); // 100 / 20 / 80
        let r = accrued
            .reversal(money(dec!(1000)), Money::ZERO, money(dec!(333)), jpy())
            .unwrap();
        assert_eq!(
            (r.platform_fee, r.influencer_earnings),
            (dec!(-7), dec!(-27))
        );
    }
}

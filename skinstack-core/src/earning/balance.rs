//! Where the ledger's money stands: the one rule that buckets events into pending, approved
//! and paid, for an influencer's [`EarningsSummary`] and a merchant's [`MerchantCommissions`].
//!
//! | event | its conversion | settled by a `paid` event | standing |
//! | --- | --- | --- | --- |
//! | `accrued`, `reversed`, `voided` | in its hold or held for review (not approved) | — | pending |
//! | `accrued`, `reversed` | approved | no | approved |
//! | `accrued`, `reversed` | approved | yes | none: counted by the `paid` event |
//! | `paid` | — | — | paid |
//! | `approved`, `released` | — | — | none: it moves no money |
//!
//! A voided conversion is never approved: its `accrued`, `reversed` and `voided` events net to
//! zero in pending.
//!
//! A store hands every event (the memory store) or every group of events alike in these
//! three facts with its summed split (PostgreSQL's `GROUP BY`) to [`Balance::add`]; the
//! summaries take the influencer's earnings or the gross commission of the same [`Balance`].

use crate::domain::{net_of_refunds, Conversion};
use crate::earning::commission::CommissionSplit;
use crate::earning::ledger::{EarningsSummary, EventKind, MerchantCommissions};
use rust_decimal::Decimal;

/// Where an event's money stands in a balance (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// The conversion is in its hold period.
    Pending,
    /// Approved and not yet settled by a payout.
    Approved,
    /// Paid out.
    Paid,
}

impl Standing {
    /// The standing of an event of `kind` whose conversion is approved or not, and which a
    /// `paid` event settles or not; `None` when the event counts in no bucket.
    pub const fn of(kind: EventKind, conversion_approved: bool, settled: bool) -> Option<Self> {
        match kind {
            EventKind::Paid => Some(Standing::Paid),
            EventKind::Approved | EventKind::Released => None,
            EventKind::Accrued | EventKind::Reversed | EventKind::Voided => {
                match (conversion_approved, settled) {
                    (false, _) => Some(Standing::Pending),
                    (true, false) => Some(Standing::Approved),
                    (true, true) => None,
                }
            }
        }
    }
}

/// Ledger events summed by [`Standing`], each bucket a whole split so that the influencer's
/// earnings and the merchant's gross commission come from the same sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    /// Events of conversions still in their hold period.
    pub pending: CommissionSplit,
    /// Events approved and not yet settled; negative when reversals after a payout exceed
    /// new approvals.
    pub approved: CommissionSplit,
    /// `paid` events.
    pub paid: CommissionSplit,
}

impl Balance {
    /// Adds `split`, the sum of one or more events of `kind` alike in whether their
    /// conversion is approved and whether they are settled, to the bucket [`Standing::of`]
    /// names (or to none).
    pub fn add(
        &mut self,
        kind: EventKind,
        conversion_approved: bool,
        settled: bool,
        split: &CommissionSplit,
    ) {
        let bucket = match Standing::of(kind, conversion_approved, settled) {
            Some(Standing::Pending) => &mut self.pending,
            Some(Standing::Approved) => &mut self.approved,
            Some(Standing::Paid) => &mut self.paid,
            None => return,
        };
        *bucket = bucket.plus(split);
    }

    /// The influencer's side: the earnings of each bucket, and `balance = pending + approved`.
    pub fn earnings(&self) -> EarningsSummary {
        let pending = self.pending.influencer_earnings;
        let approved = self.approved.influencer_earnings;
        EarningsSummary {
            pending,
            approved,
            paid: self.paid.influencer_earnings,
            balance: pending + approved,
        }
    }

    /// The merchant's side: the gross commission of each bucket, `owed = pending + approved`,
    /// and the merchant's `unattributed` orders.
    pub fn commissions(&self, unattributed: &UnattributedOrders) -> MerchantCommissions {
        let pending = self.pending.gross;
        let approved = self.approved.gross;
        MerchantCommissions {
            pending,
            approved,
            owed: pending + approved,
            paid: self.paid.gross,
            unattributed_orders: unattributed.orders,
            unattributed_sales: unattributed.net_sales(),
        }
    }
}

/// A merchant's orders recorded without attribution: how many, and the sums of their amounts
/// and of their refunds (a store may sum them in SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnattributedOrders {
    /// How many.
    pub orders: i64,
    /// Σ order amounts.
    pub ordered: Decimal,
    /// Σ refunded amounts.
    pub refunded: Decimal,
}

impl UnattributedOrders {
    /// Counts `conversion` in (the caller decides it is unattributed).
    pub fn add(&mut self, conversion: &Conversion) {
        self.orders += 1;
        self.ordered += conversion.amount.amount();
        self.refunded += conversion.refunded_amount.amount();
    }

    /// Their amounts net of refunds, by [`net_of_refunds`], the rule
    /// [`Conversion::net_amount`] uses.
    pub fn net_sales(&self) -> Decimal {
        net_of_refunds(self.ordered, self.refunded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn split(gross: Decimal, fee: Decimal) -> CommissionSplit {
        CommissionSplit {
            gross,
            platform_fee: fee,
            influencer_earnings: gross - fee,
        }
    }

    #[test]
    fn each_event_stands_where_the_table_says() {
        use EventKind::*;
        for kind in [Accrued, Reversed] {
            assert_eq!(Standing::of(kind, false, false), Some(Standing::Pending));
            assert_eq!(Standing::of(kind, false, true), Some(Standing::Pending));
            assert_eq!(Standing::of(kind, true, false), Some(Standing::Approved));
            assert_eq!(Standing::of(kind, true, true), None);
        }
        for (approved, settled) in [(false, false), (true, false), (true, true)] {
            assert_eq!(Standing::of(Paid, approved, settled), Some(Standing::Paid));
            assert_eq!(Standing::of(Approved, approved, settled), None);
        }
    }

    #[test]
    fn earnings_take_the_influencers_share_and_commissions_the_gross_of_one_balance() {
        let mut b = Balance::default();
        // Pending 20.00 gross (16.00 earned), then a pending reversal of 5.00 (4.00).
        b.add(EventKind::Accrued, false, false, &split(dec!(20), dec!(4)));
        b.add(
            EventKind::Reversed,
            false,
            false,
            &split(dec!(-5), dec!(-1)),
        );
        // Approved, unsettled 10.00 (8.00); an approved, settled 30.00 counts only as paid.
        b.add(EventKind::Accrued, true, false, &split(dec!(10), dec!(2)));
        b.add(EventKind::Accrued, true, true, &split(dec!(30), dec!(6)));
        b.add(EventKind::Paid, true, false, &split(dec!(30), dec!(6)));
        // An approval moves nothing.
        b.add(EventKind::Approved, true, false, &split(dec!(10), dec!(2)));
        assert_eq!(
            b.earnings(),
            EarningsSummary {
                pending: dec!(12),
                approved: dec!(8),
                paid: dec!(24),
                balance: dec!(20),
            }
        );
        let unattributed = UnattributedOrders {
            orders: 2,
            ordered: dec!(80.00),
            refunded: dec!(30.00),
        };
        assert_eq!(
            b.commissions(&unattributed),
            MerchantCommissions {
                pending: dec!(15),
                approved: dec!(10),
                owed: dec!(25),
                paid: dec!(30),
                unattributed_orders: 2,
                unattributed_sales: dec!(50.00),
            }
        );
    }
}

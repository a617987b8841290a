//! Where the ledger's money stands: the one rule that buckets events into pending, awaiting
//! the merchant, approved and paid, for an influencer's [`EarningsSummary`] and a merchant's
//! [`MerchantCommissions`].
//!
//! | event | its conversion | funded | settled by a `paid` event | standing |
//! | --- | --- | --- | --- | --- |
//! | `accrued`, `reversed`, `voided` | in its hold or held for review (not approved) | — | — | pending |
//! | `accrued`, `reversed` | approved | no | no | awaiting the merchant |
//! | `accrued`, `reversed` | approved | yes | no | approved (payable) |
//! | `accrued`, `reversed` | approved | — | yes | none: counted by the `paid` event |
//! | `paid` | — | — | — | paid |
//! | `approved`, `released` | — | — | — | none: it moves no money |
//!
//! A voided conversion is never approved, so never billed: its `accrued`, `reversed` and
//! `voided` events net to zero in pending.
//!
//! *Funded* means billed on a merchant statement (invoice) marked paid
//! ([`crate::earning::invoice`]). The merchant's side reads the same facts differently: what
//! is approved and not funded is what it owes beyond its hold, what is funded is what it paid
//! for (`merchants.total_commissions_paid`).
//!
//! A store hands every event (the memory store) or every group of events alike in these
//! four facts with its summed split (PostgreSQL's `GROUP BY`) to [`Balance::add`]; the
//! summaries take the influencer's earnings or the gross commission of the same [`Balance`].

use crate::domain::{net_of_refunds, Conversion, Currency};
use crate::earning::commission::CommissionSplit;
use crate::earning::ledger::{EarningsSummary, EventKind, MerchantCommissions};
use rust_decimal::Decimal;

/// Where an event's money stands in a balance (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// The conversion is in its hold period.
    Pending,
    /// Approved, but the merchant has not paid for it yet: not payable.
    AwaitingMerchant,
    /// Approved, funded and not yet settled by a payout: payable.
    Approved,
    /// Paid out.
    Paid,
}

impl Standing {
    /// The standing of an event of `kind` whose conversion is approved or not, which is
    /// funded or not and which a `paid` event settles or not; `None` when the event counts in
    /// no bucket.
    pub const fn of(
        kind: EventKind,
        conversion_approved: bool,
        funded: bool,
        settled: bool,
    ) -> Option<Self> {
        match kind {
            EventKind::Paid => Some(Standing::Paid),
            EventKind::Approved | EventKind::Released => None,
            EventKind::Accrued | EventKind::Reversed | EventKind::Voided => {
                match (conversion_approved, funded, settled) {
                    (false, _, _) => Some(Standing::Pending),
                    (true, _, true) => None,
                    (true, false, false) => Some(Standing::AwaitingMerchant),
                    (true, true, false) => Some(Standing::Approved),
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
    /// Events approved, not funded and not settled.
    pub awaiting_merchant: CommissionSplit,
    /// Events approved, funded and not yet settled; negative when reversals after a payout
    /// exceed new approvals.
    pub approved: CommissionSplit,
    /// `paid` events.
    pub paid: CommissionSplit,
    /// The merchant's side: `accrued` and `reversed` events approved and not funded, settled
    /// or not.
    pub unfunded: CommissionSplit,
    /// The merchant's side: `accrued` and `reversed` events funded.
    pub funded: CommissionSplit,
}

impl Balance {
    /// Adds `split`, the sum of one or more events of `kind` alike in whether their
    /// conversion is approved, whether they are funded and whether they are settled, to the
    /// bucket [`Standing::of`] names (or to none), and to the merchant's side.
    pub fn add(
        &mut self,
        kind: EventKind,
        conversion_approved: bool,
        funded: bool,
        settled: bool,
        split: &CommissionSplit,
    ) {
        if kind.carries_commission() && conversion_approved {
            let side = if funded {
                &mut self.funded
            } else {
                &mut self.unfunded
            };
            *side = side.plus(split);
        }
        let bucket = match Standing::of(kind, conversion_approved, funded, settled) {
            Some(Standing::Pending) => &mut self.pending,
            Some(Standing::AwaitingMerchant) => &mut self.awaiting_merchant,
            Some(Standing::Approved) => &mut self.approved,
            Some(Standing::Paid) => &mut self.paid,
            None => return,
        };
        *bucket = bucket.plus(split);
    }

    /// The influencer's side: the earnings of each bucket, and
    /// `balance = pending + awaiting_merchant + approved`, for events all in `currency`.
    pub fn earnings(&self, currency: Currency) -> EarningsSummary {
        let pending = self.pending.influencer_earnings;
        let awaiting_merchant = self.awaiting_merchant.influencer_earnings;
        let approved = self.approved.influencer_earnings;
        EarningsSummary {
            currency,
            pending,
            approved,
            paid: self.paid.influencer_earnings,
            balance: pending + awaiting_merchant + approved,
            awaiting_merchant,
        }
    }

    /// The merchant's side: the gross commission pending, approved and not paid for
    /// (`approved`), `owed = pending + approved`, paid for (`paid`), and the merchant's
    /// `unattributed` orders, all in the merchant's `currency`.
    pub fn commissions(
        &self,
        currency: Currency,
        unattributed: &UnattributedOrders,
    ) -> MerchantCommissions {
        let pending = self.pending.gross;
        let approved = self.unfunded.gross;
        MerchantCommissions {
            currency,
            pending,
            approved,
            owed: pending + approved,
            paid: self.funded.gross,
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
        for kind in [Accrued, Reversed, Voided] {
            for funded in [false, true] {
                assert_eq!(
                    Standing::of(kind, false, funded, false),
                    Some(Standing::Pending)
                );
                assert_eq!(
                    Standing::of(kind, false, funded, true),
                    Some(Standing::Pending)
                );
                assert_eq!(Standing::of(kind, true, funded, true), None);
            }
            assert_eq!(
                Standing::of(kind, true, false, false),
                Some(Standing::AwaitingMerchant)
            );
            assert_eq!(
                Standing::of(kind, true, true, false),
                Some(Standing::Approved)
            );
        }
        for (approved, settled) in [(false, false), (true, false), (true, true)] {
            for funded in [false, true] {
                assert_eq!(
                    Standing::of(Paid, approved, funded, settled),
                    Some(Standing::Paid)
                );
                assert_eq!(Standing::of(Approved, approved, funded, settled), None);
                assert_eq!(Standing::of(Released, approved, funded, settled), None);
            }
        }
    }

    #[test]
    fn earnings_take_the_influencers_share_and_commissions_the_gross_of_one_balance() {
        let mut b = Balance::default();
        // Pending 20.00 gross (16.00 earned), then a pending reversal of 5.00 (4.00).
        b.add(
            EventKind::Accrued,
            false,
            false,
            false,
            &split(dec!(20), dec!(4)),
        );
        b.add(
            EventKind::Reversed,
            false,
            false,
            false,
            &split(dec!(-5), dec!(-1)),
        );
        // Approved, funded, unsettled 10.00 (8.00); a funded, settled 30.00 counts only as paid.
        b.add(
            EventKind::Accrued,
            true,
            true,
            false,
            &split(dec!(10), dec!(2)),
        );
        b.add(
            EventKind::Accrued,
            true,
            true,
            true,
            &split(dec!(30), dec!(6)),
        );
        b.add(
            EventKind::Paid,
            true,
            false,
            false,
            &split(dec!(30), dec!(6)),
        );
        // Approved but unfunded 50.00 (40.00): awaiting the merchant.
        b.add(
            EventKind::Accrued,
            true,
            false,
            false,
            &split(dec!(50), dec!(10)),
        );
        // An approval moves nothing.
        b.add(
            EventKind::Approved,
            true,
            false,
            false,
            &split(dec!(10), dec!(2)),
        );
        assert_eq!(
            b.earnings(Currency::USD),
            EarningsSummary {
                currency: Currency::USD,
                pending: dec!(12),
                approved: dec!(8),
                paid: dec!(24),
                balance: dec!(60),
                awaiting_merchant: dec!(40),
            }
        );
        let unattributed = UnattributedOrders {
            orders: 2,
            ordered: dec!(80.00),
            refunded: dec!(30.00),
        };
        assert_eq!(
            b.commissions(Currency::USD, &unattributed),
            MerchantCommissions {
                currency: Currency::USD,
                pending: dec!(15),
                approved: dec!(50),
                owed: dec!(65),
                paid: dec!(40),
                unattributed_orders: 2,
                unattributed_sales: dec!(50.00),
            }
        );
    }
}

//! Payouts: who is paid what, and the [`PayoutProvider`] that pays them.
//!
//! A payout run groups each influencer's approved, unsettled earnings — every `accrued` and
//! `reversed` event of an approved conversion not yet settled, so a refund after an earlier
//! payout is netted here, never lost — and pays those whose balance reaches the minimum and
//! who chose a payout method. The others are reported and stay payable for a later run.
//! [`plan_payouts`] decides; [`crate::service::payouts::create_payouts`] commits the plan and
//! hands the batch to the provider.

use crate::domain::{ConversionId, Currency, EventId, PayoutBatchId, PayoutItemId};
use crate::domain::{Influencer, InfluencerId, MerchantId, Money, PayoutMethod};
use crate::earning::commission::CommissionSplit;
use crate::store::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// An `accrued` or `reversed` event of an approved conversion, not yet settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsettledEvent {
    /// The event.
    pub event_id: EventId,
    /// Its conversion.
    pub conversion_id: ConversionId,
    /// Who earns it.
    pub influencer_id: InfluencerId,
    /// Who pays it.
    pub merchant_id: MerchantId,
    /// Its split (≤ 0 for a reversal).
    pub split: CommissionSplit,
}

/// One influencer's line of a payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutItem {
    /// Its id.
    pub id: PayoutItemId,
    /// Who is paid.
    pub influencer_id: InfluencerId,
    /// Their display name, for the payer's eyes.
    pub display_name: String,
    /// How.
    pub method: PayoutMethod,
    /// Where: the Stripe account id or PayPal email; empty for ACH, whose bank details are
    /// kept outside SkinStack.
    pub account: String,
    /// How much (> 0, at least the batch's minimum).
    pub amount: Money,
    /// In what.
    pub currency: Currency,
    /// A unique, stable reference: the idempotency key for a payment API.
    pub reference: String,
}

/// A committed payout batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutBatch {
    /// Its id.
    pub id: PayoutBatchId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The minimum payout it applied.
    pub minimum: Money,
    /// One line per influencer paid, by influencer id.
    pub items: Vec<PayoutItem>,
}

impl PayoutBatch {
    /// The sum of its items.
    pub fn total(&self) -> Decimal {
        self.items.iter().map(|i| i.amount.amount()).sum()
    }
}

/// A line of a plan: the item and the events it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    /// The item to store.
    pub item: PayoutItem,
    /// The events it settles; their earnings sum to `item.amount`.
    pub events: Vec<EventId>,
}

/// A payout ready to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPlan {
    /// The batch's id.
    pub batch_id: PayoutBatchId,
    /// When it is created.
    pub created_at: DateTime<Utc>,
    /// The minimum applied.
    pub minimum: Money,
    /// The lines, by influencer id.
    pub items: Vec<PlannedItem>,
}

impl PayoutPlan {
    /// The batch this plan stores.
    pub fn batch(&self) -> PayoutBatch {
        PayoutBatch {
            id: self.batch_id,
            created_at: self.created_at,
            minimum: self.minimum,
            items: self.items.iter().map(|p| p.item.clone()).collect(),
        }
    }
}

/// Why an influencer with unsettled earnings was left out of a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The balance is below the minimum.
    BelowMinimum,
    /// The balance is zero or negative (refunds after a payout): carried forward.
    NotPositive,
    /// No payout method chosen.
    NoPayoutMethod,
    /// The influencer's profile no longer exists.
    UnknownInfluencer,
}

/// An influencer left out of a payout; their earnings stay payable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedPayout {
    /// Who.
    pub influencer_id: InfluencerId,
    /// Their approved, unsettled balance.
    pub balance: Decimal,
    /// Why.
    pub reason: SkipReason,
}

/// Decides a payout: one item per influencer whose approved, unsettled balance is positive,
/// at least `minimum`, and who has a payout method; every other influencer is skipped with
/// the reason. `influencers` holds the profiles of those in `events`.
pub fn plan_payouts(
    batch_id: PayoutBatchId,
    created_at: DateTime<Utc>,
    minimum: Money,
    events: &[UnsettledEvent],
    influencers: &HashMap<InfluencerId, Influencer>,
) -> (PayoutPlan, Vec<SkippedPayout>) {
    let mut by_influencer: BTreeMap<InfluencerId, Vec<&UnsettledEvent>> = BTreeMap::new();
    for event in events {
        by_influencer
            .entry(event.influencer_id)
            .or_default()
            .push(event);
    }
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (influencer_id, events) in by_influencer {
        let balance: Decimal = events.iter().map(|e| e.split.influencer_earnings).sum();
        let skip = |reason| SkippedPayout {
            influencer_id,
            balance,
            reason,
        };
        let Some(influencer) = influencers.get(&influencer_id) else {
            skipped.push(skip(SkipReason::UnknownInfluencer));
            continue;
        };
        let Some(method) = influencer.payout.preferred() else {
            skipped.push(skip(SkipReason::NoPayoutMethod));
            continue;
        };
        if balance <= Decimal::ZERO {
            skipped.push(skip(SkipReason::NotPositive));
            continue;
        }
        let Ok(amount) = Money::new(balance) else {
            skipped.push(skip(SkipReason::NotPositive));
            continue;
        };
        if amount < minimum {
            skipped.push(skip(SkipReason::BelowMinimum));
            continue;
        }
        let account = match method {
            PayoutMethod::Stripe => influencer
                .payout
                .stripe_account_id()
                .map(|a| a.as_str().to_owned()),
            PayoutMethod::PayPal => influencer
                .payout
                .paypal_email()
                .map(|e| e.as_str().to_owned()),
            PayoutMethod::Ach => Some(String::new()),
        };
        // PayoutSettings guarantees the preferred method's details; a profile read back
        // without them is skipped rather than paid to nowhere.
        let Some(account) = account else {
            skipped.push(skip(SkipReason::NoPayoutMethod));
            continue;
        };
        let id = PayoutItemId::new();
        items.push(PlannedItem {
            item: PayoutItem {
                id,
                influencer_id,
                display_name: influencer.display_name.as_str().to_owned(),
                method,
                account,
                amount,
                currency: Currency::USD,
                reference: format!("skinstack-{}", id.as_uuid().simple()),
            },
            events: events.iter().map(|e| e.event_id).collect(),
        });
    }
    (
        PayoutPlan {
            batch_id,
            created_at,
            minimum,
            items,
        },
        skipped,
    )
}

/// Why a provider could not deliver a batch.
#[derive(Debug, thiserror::Error)]
#[error("payout delivery failed: {0}")]
pub struct DeliveryError(#[source] pub BoxError);

/// Pays a committed batch: a CSV file for a person to act on, or a payment API (Stripe
/// Connect, PayPal Payouts). Called after the batch is committed, so a failed delivery pays
/// nothing twice: deliver the same batch again (see [`crate::PayoutRepo::payout_batches`]);
/// providers calling an API pass each item's `reference` as its idempotency key.
#[async_trait]
pub trait PayoutProvider: Send + Sync {
    /// Delivers `batch`; returns a line per thing produced (a file, a transfer id).
    async fn deliver(&self, batch: &PayoutBatch) -> Result<Vec<String>, DeliveryError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Followers, Name, PayoutSettings, StripeAccountId, UserId};
    use rust_decimal_macros::dec;

    fn influencer(preferred: Option<PayoutMethod>) -> Influencer {
        Influencer {
            id: InfluencerId::new(),
            user_id: UserId::new(),
            display_name: Name::parse("Ana").unwrap(),
            instagram_handle: None,
            tiktok_handle: None,
            youtube_handle: None,
            payout: PayoutSettings::new(
                Some(StripeAccountId::parse("acct_123").unwrap()),
                Some(Email::parse("ana@example.com").unwrap()),
                preferred,
            )
            .unwrap(),
            total_followers: Followers::default(),
            total_earned: Decimal::ZERO,
            total_paid: Decimal::ZERO,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn event(influencer: InfluencerId, earnings: Decimal) -> UnsettledEvent {
        UnsettledEvent {
            event_id: EventId::new(),
            conversion_id: ConversionId::new(),
            influencer_id: influencer,
            merchant_id: MerchantId::new(),
            split: CommissionSplit {
                gross: earnings,
                platform_fee: Decimal::ZERO,
                influencer_earnings: earnings,
            },
        }
    }

    #[test]
    fn influencers_are_paid_their_net_balance_or_skipped_with_a_reason() {
        let paid = influencer(Some(PayoutMethod::Stripe));
        let small = influencer(Some(PayoutMethod::PayPal));
        let negative = influencer(Some(PayoutMethod::Ach));
        let undecided = influencer(None);
        let gone = InfluencerId::new();
        let events = vec![
            event(paid.id, dec!(40.00)),
            event(paid.id, dec!(15.00)),
            event(paid.id, dec!(-5.00)), // a refund after an earlier payout, netted
            event(small.id, dec!(49.99)),
            event(negative.id, dec!(-3.00)),
            event(undecided.id, dec!(80.00)),
            event(gone, dec!(80.00)),
        ];
        let profiles: HashMap<_, _> = [&paid, &small, &negative, &undecided]
            .into_iter()
            .map(|i| (i.id, i.clone()))
            .collect();
        let min = Money::new(dec!(50.00)).unwrap();
        let (plan, skipped) =
            plan_payouts(PayoutBatchId::new(), Utc::now(), min, &events, &profiles);
        assert_eq!(plan.items.len(), 1);
        let item = &plan.items[0];
        assert_eq!(item.item.influencer_id, paid.id);
        assert_eq!(
            item.item.amount.amount(),
            dec!(50.00),
            "exactly the minimum is paid"
        );
        assert_eq!(item.item.account, "acct_123");
        assert_eq!(item.events.len(), 3);
        let mut reasons: Vec<_> = skipped
            .iter()
            .map(|s| (s.influencer_id, s.reason))
            .collect();
        reasons.sort();
        let mut expected = vec![
            (small.id, SkipReason::BelowMinimum),
            (negative.id, SkipReason::NotPositive),
            (undecided.id, SkipReason::NoPayoutMethod),
            (gone, SkipReason::UnknownInfluencer),
        ];
        expected.sort();
        assert_eq!(reasons, expected);
    }
}

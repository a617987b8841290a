//! Payouts: who is paid what, and the [`PayoutProvider`] that pays them.
//!
//! A payout run groups each influencer's approved, funded, unsettled earnings — every
//! `accrued` and `reversed` event of an approved conversion that a paid merchant statement
//! billed ([`crate::earning::invoice`]) and no payout settled yet, so a refund after an
//! earlier payout is netted here, never lost — and pays those whose balance reaches the
//! minimum and who chose a payout method. The others are reported and stay payable for a
//! later run; earnings the merchant has not paid for yet are reported as awaiting the
//! merchant and never paid: a merchant that never pays can mint no payout.
//! [`plan_payouts`] decides; [`crate::service::payouts::create_payouts`] commits the plan and
//! hands the batch to the provider.

use crate::domain::{ConversionId, Currency, EventId, PayoutBatchId, PayoutItemId};
use crate::domain::{Influencer, InfluencerId, MerchantId, Money, PayoutMethod};
use crate::earning::commission::CommissionSplit;
use crate::earning::ledger::CommissionEvent;
use crate::store::BoxError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// The currency of its split.
    pub currency: Currency,
    /// Its split (≤ 0 for a reversal).
    pub split: CommissionSplit,
    /// Whether a merchant statement marked paid billed it: only funded events are paid out.
    pub funded: bool,
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
    /// The minimum payout it applied to currencies without one of their own.
    pub minimum: Money,
    /// One line per influencer and currency paid, by influencer id and currency.
    pub items: Vec<PayoutItem>,
}

impl PayoutBatch {
    /// The sum of its items per currency, by code: amounts of two currencies are never added.
    pub fn totals(&self) -> BTreeMap<Currency, Decimal> {
        let mut totals = BTreeMap::new();
        for item in &self.items {
            *totals.entry(item.currency).or_default() += item.amount.amount();
        }
        totals
    }

    /// [`PayoutBatch::totals`] as text: `64.00 USD` or `7.20 EUR, 1975.00 JPY`.
    pub fn totals_text(&self) -> String {
        let totals: Vec<String> = self
            .totals()
            .iter()
            .map(|(currency, total)| format!("{total} {currency}"))
            .collect();
        totals.join(", ")
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

/// Why a [`PayoutPlan`] cannot be committed as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    /// A planned event is unknown, settled already, of an unapproved conversion, of another
    /// influencer than its item's, not an `accrued` or `reversed` event, or planned twice:
    /// the ledger moved since the plan was made; plan again.
    #[error("a planned event can no longer be settled; plan again")]
    Stale,
    /// An item's amount is not the earnings of the events it settles: the plan is wrong.
    #[error("payout item {0} does not match the events it settles")]
    Mismatch(PayoutItemId),
}

impl PayoutPlan {
    /// The `paid` events that commit this plan, each with its item, built by
    /// [`CommissionEvent::payment`] with fresh ids. `lookup` finds a planned event that is not
    /// settled yet, with whether its conversion is approved (`None` if unknown or settled).
    /// Both stores commit exactly these events, so that what may be settled is decided here.
    pub fn payments<'a>(
        &self,
        lookup: impl Fn(EventId) -> Option<(&'a CommissionEvent, bool)>,
    ) -> Result<Vec<(PayoutItemId, CommissionEvent)>, SettleError> {
        let mut planned_once = HashSet::new();
        let mut payments = Vec::new();
        for planned in &self.items {
            let mut earnings = Decimal::ZERO;
            for id in &planned.events {
                let (settled, approved) = lookup(*id).ok_or(SettleError::Stale)?;
                if !approved
                    || settled.influencer_id != planned.item.influencer_id
                    || settled.currency != planned.item.currency
                    || !planned_once.insert(*id)
                {
                    return Err(SettleError::Stale);
                }
                let paid = CommissionEvent::payment(
                    EventId::new(),
                    settled,
                    self.batch_id,
                    self.created_at,
                )
                .ok_or(SettleError::Stale)?;
                earnings += paid.split.influencer_earnings;
                payments.push((planned.item.id, paid));
            }
            if earnings != planned.item.amount.amount() {
                return Err(SettleError::Mismatch(planned.item.id));
            }
        }
        Ok(payments)
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
    /// Approved earnings the merchant has not paid for yet (its statement is not paid): the
    /// `balance` reported is those earnings; they are paid once funded.
    AwaitingMerchant,
}

/// An influencer's balance in one currency left out of a payout; it stays payable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedPayout {
    /// Who.
    pub influencer_id: InfluencerId,
    /// The currency of the balance.
    pub currency: Currency,
    /// Their approved, unsettled balance.
    pub balance: Decimal,
    /// Why.
    pub reason: SkipReason,
}

/// The minimum payout per currency: `default` unless the currency has its own (a minimum
/// of 50 means $50 but only ¥50, so a JPY payout wants its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutMinimums {
    /// The minimum of every currency not in `by_currency`.
    pub default: Money,
    /// Minimums of their own.
    pub by_currency: BTreeMap<Currency, Money>,
}

impl PayoutMinimums {
    /// The minimum payout in `currency`.
    pub fn of(&self, currency: Currency) -> Money {
        self.by_currency
            .get(&currency)
            .copied()
            .unwrap_or(self.default)
    }
}

impl From<Money> for PayoutMinimums {
    fn from(default: Money) -> Self {
        PayoutMinimums {
            default,
            by_currency: BTreeMap::new(),
        }
    }
}

/// Decides a payout: one item per influencer and currency whose approved, funded, unsettled
/// balance is positive, at least that currency's minimum, and whose influencer has a payout
/// method; every other balance is skipped with the reason, and unfunded earnings are reported
/// as [`SkipReason::AwaitingMerchant`] with their sum. No item adds two currencies.
/// `influencers` holds the profiles of those in `events`.
pub fn plan_payouts(
    batch_id: PayoutBatchId,
    created_at: DateTime<Utc>,
    minimums: &PayoutMinimums,
    events: &[UnsettledEvent],
    influencers: &HashMap<InfluencerId, Influencer>,
) -> (PayoutPlan, Vec<SkippedPayout>) {
    type Key = (InfluencerId, Currency);
    let mut by_balance: BTreeMap<Key, Vec<&UnsettledEvent>> = BTreeMap::new();
    let mut awaiting: BTreeMap<Key, Decimal> = BTreeMap::new();
    for event in events {
        let key = (event.influencer_id, event.currency);
        if !event.funded {
            *awaiting.entry(key).or_default() += event.split.influencer_earnings;
            continue;
        }
        by_balance.entry(key).or_default().push(event);
    }
    let mut items = Vec::new();
    let mut skipped: Vec<SkippedPayout> = awaiting
        .into_iter()
        .map(|((influencer_id, currency), balance)| SkippedPayout {
            influencer_id,
            currency,
            balance,
            reason: SkipReason::AwaitingMerchant,
        })
        .collect();
    for ((influencer_id, currency), events) in by_balance {
        let balance: Decimal = events.iter().map(|e| e.split.influencer_earnings).sum();
        let minimum = minimums.of(currency);
        let skip = |reason| SkippedPayout {
            influencer_id,
            currency,
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
                currency,
                reference: format!("skinstack-{}", id.as_uuid().simple()),
            },
            events: events.iter().map(|e| e.event_id).collect(),
        });
    }
    (
        PayoutPlan {
            batch_id,
            created_at,
            minimum: minimums.default,
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
    use crate::earning::ledger::EventKind;
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
            primary_currency: None,
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
            currency: Currency::USD,
            split: CommissionSplit {
                gross: earnings,
                platform_fee: Decimal::ZERO,
                influencer_earnings: earnings,
            },
            funded: true,
        }
    }

    #[test]
    fn each_currency_is_its_own_item_with_its_own_minimum_and_none_adds_two() {
        let ana = influencer(Some(PayoutMethod::Stripe));
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let in_currency = |amount, currency| UnsettledEvent {
            currency,
            ..event(ana.id, amount)
        };
        let events = vec![
            in_currency(dec!(30.00), Currency::USD),
            in_currency(dec!(40.00), Currency::USD),
            in_currency(dec!(80.00), eur),
            in_currency(dec!(4000), jpy),
        ];
        let profiles: HashMap<_, _> = [(ana.id, ana.clone())].into_iter().collect();
        let minimums = PayoutMinimums {
            default: Money::new(dec!(50.00)).unwrap(),
            by_currency: [(jpy, Money::new(dec!(5000)).unwrap())]
                .into_iter()
                .collect(),
        };
        let (plan, skipped) = plan_payouts(
            PayoutBatchId::new(),
            Utc::now(),
            &minimums,
            &events,
            &profiles,
        );
        let paid: Vec<(Currency, Decimal)> = plan
            .items
            .iter()
            .map(|p| (p.item.currency, p.item.amount.amount()))
            .collect();
        assert_eq!(
            paid,
            [(eur, dec!(80.00)), (Currency::USD, dec!(70.00))],
            "by currency code"
        );
        assert_eq!(
            skipped,
            [SkippedPayout {
                influencer_id: ana.id,
                currency: jpy,
                balance: dec!(4000),
                reason: SkipReason::BelowMinimum,
            }],
            "¥4,000 is below the yen minimum of ¥5,000, though far above 50"
        );
    }

    #[test]
    fn unfunded_earnings_are_never_paid_and_are_reported_as_awaiting_the_merchant() {
        let ana = influencer(Some(PayoutMethod::Stripe));
        let mut unfunded = event(ana.id, dec!(500.00));
        unfunded.funded = false;
        let mut unfunded_too = event(ana.id, dec!(20.00));
        unfunded_too.funded = false;
        let events = vec![event(ana.id, dec!(60.00)), unfunded, unfunded_too];
        let profiles: HashMap<_, _> = [(ana.id, ana.clone())].into_iter().collect();
        let min = Money::new(dec!(50.00)).unwrap();
        let (plan, skipped) = plan_payouts(
            PayoutBatchId::new(),
            Utc::now(),
            &min.into(),
            &events,
            &profiles,
        );
        assert_eq!(plan.items.len(), 1);
        assert_eq!(plan.items[0].item.amount.amount(), dec!(60.00));
        assert_eq!(plan.items[0].events, [events[0].event_id]);
        assert_eq!(
            skipped,
            [SkippedPayout {
                influencer_id: ana.id,
                currency: Currency::USD,
                balance: dec!(520.00),
                reason: SkipReason::AwaitingMerchant,
            }]
        );
        // Nothing funded at all: nothing is paid, however large the unfunded balance.
        let (plan, skipped) = plan_payouts(
            PayoutBatchId::new(),
            Utc::now(),
            &min.into(),
            &events[1..],
            &profiles,
        );
        assert!(plan.items.is_empty());
        assert_eq!(skipped.len(), 1);
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
        let (plan, skipped) = plan_payouts(
            PayoutBatchId::new(),
            Utc::now(),
            &min.into(),
            &events,
            &profiles,
        );
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

    /// The ledger event behind an [`UnsettledEvent`], as a store would hold it.
    fn ledger_event(u: &UnsettledEvent, kind: EventKind) -> CommissionEvent {
        CommissionEvent {
            id: u.event_id,
            conversion_id: u.conversion_id,
            kind,
            split: u.split,
            sales: Decimal::ZERO,
            link_id: crate::domain::LinkId::new(),
            influencer_id: u.influencer_id,
            merchant_id: u.merchant_id,
            currency: Currency::USD,
            refund_id: None,
            payout_batch_id: None,
            settles: None,
            occurred_at: Utc::now(),
        }
    }

    #[test]
    fn a_plan_pays_only_approved_unsettled_commission_of_its_items_influencer_once() {
        let ana = influencer(Some(PayoutMethod::Stripe));
        let bo = influencer(Some(PayoutMethod::Stripe));
        let events = vec![event(ana.id, dec!(40.00)), event(ana.id, dec!(-5.00))];
        let profiles: HashMap<_, _> = [(ana.id, ana.clone())].into_iter().collect();
        let (plan, _) = plan_payouts(
            PayoutBatchId::new(),
            Utc::now(),
            &Money::new(dec!(1.00)).unwrap().into(),
            &events,
            &profiles,
        );
        let ledger: HashMap<EventId, CommissionEvent> = events
            .iter()
            .map(|u| (u.event_id, ledger_event(u, EventKind::Accrued)))
            .collect();
        let payments = plan
            .payments(|id| ledger.get(&id).map(|e| (e, true)))
            .unwrap();
        assert_eq!(payments.len(), 2);
        for (item, paid) in &payments {
            assert_eq!(*item, plan.items[0].item.id);
            assert_eq!(paid.kind, EventKind::Paid);
            assert_eq!(paid.payout_batch_id, Some(plan.batch_id));
            assert_eq!(paid.occurred_at, plan.created_at);
            let settled = &ledger[&paid.settles.unwrap()];
            assert_eq!(paid.split, settled.split);
        }

        // Unknown or settled already, not approved, another influencer's, not commission.
        let stale = |lookup: &dyn Fn(EventId) -> Option<(CommissionEvent, bool)>| {
            let found: HashMap<EventId, (CommissionEvent, bool)> = ledger
                .keys()
                .filter_map(|id| lookup(*id).map(|found| (*id, found)))
                .collect();
            plan.payments(|id| found.get(&id).map(|(e, a)| (e, *a)))
        };
        let first = events[0].event_id;
        let without_first = |id: EventId| (id != first).then(|| (ledger[&id].clone(), true));
        assert_eq!(stale(&without_first), Err(SettleError::Stale));
        let unapproved = |id: EventId| Some((ledger[&id].clone(), id != first));
        assert_eq!(stale(&unapproved), Err(SettleError::Stale));
        let someone_elses = |id: EventId| {
            let mut e = ledger[&id].clone();
            if id == first {
                e.influencer_id = bo.id;
            }
            Some((e, true))
        };
        assert_eq!(stale(&someone_elses), Err(SettleError::Stale));
        let an_approval = |id: EventId| {
            let mut e = ledger[&id].clone();
            if id == first {
                e.kind = EventKind::Approved;
            }
            Some((e, true))
        };
        assert_eq!(stale(&an_approval), Err(SettleError::Stale));

        // Planned twice, or an item that is not what its events earn.
        let mut twice = plan.clone();
        twice.items[0].events.push(first);
        assert_eq!(
            twice.payments(|id| ledger.get(&id).map(|e| (e, true))),
            Err(SettleError::Stale)
        );
        let mut wrong = plan.clone();
        wrong.items[0].item.amount = Money::new(dec!(36.00)).unwrap();
        assert_eq!(
            wrong.payments(|id| ledger.get(&id).map(|e| (e, true))),
            Err(SettleError::Mismatch(wrong.items[0].item.id))
        );
    }
}

//! The commission ledger: an append-only list of events per attributed conversion, and the
//! storage traits for conversions, refunds, approvals, payouts and their read side.
//!
//! # Events
//! Every event carries a [`CommissionSplit`] from [`crate::earning::commission`] and a `sales` amount:
//!
//! | kind | split | sales |
//! | --- | --- | --- |
//! | `accrued` (one per attributed conversion) | the program's split of the order | + order amount |
//! | `reversed` (one per refund) | [`CommissionSplit::reversal`], ≤ 0 | − refunded amount |
//! | `approved` (one per conversion, once its hold has passed) | the net split at approval, for information only | 0 |
//! | `paid` (one per settled `accrued` or `reversed` event) | a copy of the settled event's split | 0 |
//! | `released` (a held commission let through to approval) | zero, for information only | 0 |
//! | `voided` (at most one per conversion, of a held commission) | minus the commission still carried, ≤ 0 | 0 |
//!
//! Each kind is built by one constructor here, [`CommissionEvent::accrual`],
//! [`CommissionEvent::reversal`], [`CommissionEvent::approval`],
//! [`CommissionEvent::payment`], [`CommissionEvent::release`] and [`CommissionEvent::void`];
//! both stores write what these return and build no event by hand.
//!
//! A void reverses the commission exactly: `accrued + reversed… + voided` nets to zero in
//! every component. The sale itself stands (it moves no `sales`): the order was placed, only
//! its commission is refused.
//!
//! # Totals
//! The seed's denormalized totals are exactly these sums of the ledger (see [`TotalsDelta`]),
//! updated in the same transaction (PostgreSQL) or under the same lock (memory) as the event:
//!
//! - `tracking_links.total_conversions`: attributed conversions (refunded ones still count);
//! - `tracking_links.total_revenue`, `merchants.total_sales`: attributed order amounts net of
//!   refunds (Σ `sales`); unattributed orders count in neither;
//! - `tracking_links.total_commission`: gross commission net of reversals and voids (Σ
//!   `gross` of `accrued` + `reversed` + `voided`);
//! - `influencers.total_earned`: the influencer's earnings net of reversals and voids (Σ
//!   `influencer_earnings` of `accrued` + `reversed` + `voided`), paid or not, in their
//!   *primary currency* ([`SeedTotals`]);
//! - `influencers.total_paid`: earnings paid out (Σ `influencer_earnings` of `paid`), in the
//!   primary currency;
//! - `merchants.total_commissions_paid`: gross commission the merchant has paid for: Σ `gross`
//!   of the lines of its merchant statements (invoices) marked paid, moved by
//!   [`TotalsDelta::funding`] when the payment is recorded (not by influencer payouts).
//!
//! # Billing and funding
//! What a merchant owes is the gross commission of its *approved* commissions: each approved
//! conversion's `accrued` event is billed once as a charge, each `reversed` event once as a
//! credit, on a merchant statement (invoice) by the rule in [`crate::earning::invoice`]. An
//! event on a statement marked paid is *funded*; only funded events are paid out to
//! influencers.
//!
//! # Currencies
//! Every event is in its conversion's currency, which is its merchant's settlement currency,
//! so a link's and a merchant's totals are all in that one currency. An influencer may earn in
//! several: the seed's single-number `total_earned` and `total_paid` hold only the events of
//! the influencer's *primary currency*, the currency of the first event that moved them
//! (`influencers.primary_currency`, set then and never changed); no two currencies are ever
//! added. The exact sums in every currency are the ledger's, per currency
//! ([`EarningsSummary`]). [`SeedTotals`] is the one rule both stores apply.
//!
//! An influencer's earned total splits into pending + awaiting the merchant + approved + paid
//! ([`EarningsSummary`]), by the one rule in [`crate::earning::balance`].

use crate::domain::*;
use crate::earning::commission::CommissionSplit;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// What a ledger event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Commission earned on a new attributed conversion.
    Accrued,
    /// The hold passed: the conversion's commission may be paid.
    Approved,
    /// A refund took back part of the commission.
    Reversed,
    /// An accrued or reversed event was settled in a payout.
    Paid,
    /// A held commission was released: it is approved once its hold period has passed.
    Released,
    /// A held commission was voided: its remaining commission is reversed in full.
    Voided,
}

impl EventKind {
    /// The value stored in `commission_events.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Accrued => "accrued",
            EventKind::Approved => "approved",
            EventKind::Reversed => "reversed",
            EventKind::Paid => "paid",
            EventKind::Released => "released",
            EventKind::Voided => "voided",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "accrued" => EventKind::Accrued,
            "approved" => EventKind::Approved,
            "reversed" => EventKind::Reversed,
            "paid" => EventKind::Paid,
            "released" => EventKind::Released,
            "voided" => EventKind::Voided,
            _ => return None,
        })
    }

    /// Whether events of this kind carry the conversion's commission: `accrued`, `reversed`
    /// and `voided` do (their sum is the net commission, and they are what a payout settles);
    /// `approved` only records the net at approval, `released` moves nothing and `paid`
    /// copies what it settles.
    pub const fn carries_commission(self) -> bool {
        matches!(
            self,
            EventKind::Accrued | EventKind::Reversed | EventKind::Voided
        )
    }

    /// Every kind, in stored order.
    pub const ALL: [EventKind; 6] = [
        EventKind::Accrued,
        EventKind::Approved,
        EventKind::Reversed,
        EventKind::Paid,
        EventKind::Released,
        EventKind::Voided,
    ];
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommissionEvent {
    /// Its id (time-ordered).
    pub id: EventId,
    /// The conversion it is about.
    pub conversion_id: ConversionId,
    /// What happened.
    pub kind: EventKind,
    /// The commission moved (see the module's table).
    pub split: CommissionSplit,
    /// The attributed sales moved: the order amount, or minus a refund.
    pub sales: Decimal,
    /// The link credited.
    pub link_id: LinkId,
    /// The influencer earning.
    pub influencer_id: InfluencerId,
    /// The merchant paying.
    pub merchant_id: MerchantId,
    /// Its conversion's currency, which every amount of the event is in.
    pub currency: Currency,
    /// For `reversed`: the refund.
    pub refund_id: Option<RefundId>,
    /// For `paid`: the payout batch.
    pub payout_batch_id: Option<PayoutBatchId>,
    /// For `paid`: the accrued or reversed event settled.
    pub settles: Option<EventId>,
    /// When it was written.
    pub occurred_at: DateTime<Utc>,
}

impl CommissionEvent {
    /// The accrual a newly recorded `conversion` books under `id`: its whole commission and
    /// amount, at the moment it was recorded; `None` for an unattributed order, which earns none.
    pub fn accrual(id: EventId, conversion: &Conversion) -> Option<Self> {
        let attribution = conversion.attribution.as_ref()?;
        Some(Self::of_conversion(
            id,
            conversion,
            attribution,
            EventKind::Accrued,
            conversion.commission,
            conversion.amount.amount(),
            conversion.recorded_at,
        ))
    }

    /// The reversal `refund` books on `conversion` (as stored with the refund applied): the
    /// refund's split (≤ 0) and minus its amount in sales, tied to the refund, at the moment it
    /// was recorded; `None` when the refund reverses nothing (an unattributed order).
    pub fn reversal(conversion: &Conversion, refund: &NewRefund) -> Option<Self> {
        let attribution = conversion.attribution.as_ref()?;
        let (id, split) = refund.reversal?;
        let mut event = Self::of_conversion(
            id,
            conversion,
            attribution,
            EventKind::Reversed,
            split,
            -refund.amount.amount(),
            refund.recorded_at,
        );
        event.refund_id = Some(refund.refund_id.clone());
        Some(event)
    }

    /// The approval of `conversion` at `at` under `id`: for information, the commission net of
    /// every reversal so far (the sum of `events`' accrued and reversed splits of this
    /// conversion; others are ignored), moving no sales; `None` for an unattributed order.
    pub fn approval<'a>(
        id: EventId,
        conversion: &Conversion,
        events: impl IntoIterator<Item = &'a CommissionEvent>,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        let attribution = conversion.attribution.as_ref()?;
        let net = sum_splits(
            events
                .into_iter()
                .filter(|e| e.conversion_id == conversion.id && e.kind.carries_commission())
                .map(|e| &e.split),
        );
        Some(Self::of_conversion(
            id,
            conversion,
            attribution,
            EventKind::Approved,
            net,
            Decimal::ZERO,
            at,
        ))
    }

    /// The `paid` event under `id` that settles `settled` in payout `batch` at `at`: a copy of
    /// its split, on the same conversion, link, influencer and merchant, moving no sales;
    /// `None` if `settled` carries no commission (an approval or a payment cannot be settled).
    pub fn payment(
        id: EventId,
        settled: &CommissionEvent,
        batch: PayoutBatchId,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        if !settled.kind.carries_commission() {
            return None;
        }
        Some(CommissionEvent {
            id,
            conversion_id: settled.conversion_id,
            kind: EventKind::Paid,
            split: settled.split,
            sales: Decimal::ZERO,
            link_id: settled.link_id,
            influencer_id: settled.influencer_id,
            merchant_id: settled.merchant_id,
            currency: settled.currency,
            refund_id: None,
            payout_batch_id: Some(batch),
            settles: Some(settled.id),
            occurred_at: at,
        })
    }

    /// The release of `conversion`'s hold at `at` under `id`: zero, for the record; `None` for
    /// an unattributed order.
    pub fn release(id: EventId, conversion: &Conversion, at: DateTime<Utc>) -> Option<Self> {
        let attribution = conversion.attribution.as_ref()?;
        Some(Self::of_conversion(
            id,
            conversion,
            attribution,
            EventKind::Released,
            CommissionSplit::default(),
            Decimal::ZERO,
            at,
        ))
    }

    /// The void of `conversion` (as stored, before the void) at `at` under `id`: minus the
    /// commission it still carries ([`Conversion::open_commission`]), so that its events net
    /// to zero; no sales move. `None` for an unattributed order or one voided already.
    pub fn void(id: EventId, conversion: &Conversion, at: DateTime<Utc>) -> Option<Self> {
        let attribution = conversion.attribution.as_ref()?;
        if conversion.voided_at.is_some() {
            return None;
        }
        Some(Self::of_conversion(
            id,
            conversion,
            attribution,
            EventKind::Voided,
            conversion.open_commission().negated(),
            Decimal::ZERO,
            at,
        ))
    }

    /// An event of `kind` for `conversion`, attributed as `attribution` says, moving `split` of
    /// commission and `sales` of attributed sales; not yet tied to a refund or a payout.
    pub fn of_conversion(
        id: EventId,
        conversion: &Conversion,
        attribution: &Attribution,
        kind: EventKind,
        split: CommissionSplit,
        sales: Decimal,
        at: DateTime<Utc>,
    ) -> Self {
        CommissionEvent {
            id,
            conversion_id: conversion.id,
            kind,
            split,
            sales,
            link_id: attribution.link_id,
            influencer_id: attribution.influencer_id,
            merchant_id: conversion.merchant_id,
            currency: conversion.currency,
            refund_id: None,
            payout_batch_id: None,
            settles: None,
            occurred_at: at,
        }
    }
}

/// How one event changes the denormalized totals of its link, influencer and merchant. Both
/// stores apply exactly these deltas with the event, atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TotalsDelta {
    /// `tracking_links.total_conversions`.
    pub conversions: i64,
    /// `tracking_links.total_revenue` and `merchants.total_sales`.
    pub sales: Decimal,
    /// `tracking_links.total_commission`.
    pub commission: Decimal,
    /// `influencers.total_earned`.
    pub earned: Decimal,
    /// `influencers.total_paid`.
    pub paid: Decimal,
    /// `merchants.total_commissions_paid`.
    pub commissions_paid: Decimal,
}

impl TotalsDelta {
    /// The effect of an event of `kind` with `split` and `sales`.
    pub fn of(kind: EventKind, split: &CommissionSplit, sales: Decimal) -> Self {
        match kind {
            EventKind::Accrued => TotalsDelta {
                conversions: 1,
                sales,
                commission: split.gross,
                earned: split.influencer_earnings,
                ..Self::default()
            },
            EventKind::Reversed | EventKind::Voided => TotalsDelta {
                sales,
                commission: split.gross,
                earned: split.influencer_earnings,
                ..Self::default()
            },
            // Releasing moves no money; what the merchant paid for moves with its statements
            // (`funding`), not here.
            EventKind::Approved | EventKind::Released => Self::default(),
            EventKind::Paid => TotalsDelta {
                paid: split.influencer_earnings,
                ..Self::default()
            },
        }
    }

    /// The effect of recording the payment of `statement`: the merchant has paid for its
    /// lines' gross commission (`merchants.total_commissions_paid`). Links and influencers
    /// are not moved.
    pub fn funding(statement: &MerchantStatement) -> Self {
        TotalsDelta {
            commissions_paid: statement.total().gross,
            ..Self::default()
        }
    }

    /// The effect of `event`.
    pub fn of_event(event: &CommissionEvent) -> Self {
        Self::of(event.kind, &event.split, event.sales)
    }

    /// The effect of both, field by field: several events' deltas applied as one.
    pub fn plus(&self, other: &TotalsDelta) -> TotalsDelta {
        TotalsDelta {
            conversions: self.conversions + other.conversions,
            sales: self.sales + other.sales,
            commission: self.commission + other.commission,
            earned: self.earned + other.earned,
            paid: self.paid + other.paid,
            commissions_paid: self.commissions_paid + other.commissions_paid,
        }
    }
}

/// The influencer's seed totals (`total_earned`, `total_paid`) and the primary currency they
/// are in: the first currency that moved them, fixed from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedTotals {
    /// The primary currency; `None` until an event moves the totals.
    pub primary_currency: Option<Currency>,
    /// `influencers.total_earned`.
    pub earned: Decimal,
    /// `influencers.total_paid`.
    pub paid: Decimal,
}

impl SeedTotals {
    /// Applies `delta`, the effect of an event in `currency`: it counts only in the primary
    /// currency, which becomes `currency` if the totals had none and `delta` moves them.
    pub fn apply(&mut self, currency: Currency, delta: &TotalsDelta) {
        if delta.earned.is_zero() && delta.paid.is_zero() {
            return;
        }
        let primary = *self.primary_currency.get_or_insert(currency);
        if primary == currency {
            self.earned += delta.earned;
            self.paid += delta.paid;
        }
    }
}

/// Where a conversion's commission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionStatus {
    /// No link credited: no commission.
    Unattributed,
    /// In its hold period.
    Pending,
    /// Held for review ([`Conversion::hold_reasons`]): never approved until released.
    Held,
    /// Its commission was voided: it earns nothing.
    Voided,
    /// Approved; some of it not yet paid out.
    Approved,
    /// Approved and every event settled in a payout.
    Paid,
}

/// A conversion with where its commission stands, for listings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionView {
    /// The conversion.
    #[serde(flatten)]
    pub conversion: Conversion,
    /// Its commission net of reversals.
    pub net_commission: CommissionSplit,
    /// What of it was paid out.
    pub paid_commission: CommissionSplit,
    /// Where it stands.
    pub status: ConversionStatus,
}

impl ConversionView {
    /// Derives the status from the conversion and its sums: unattributed, voided, held, or
    /// pending until approved, then paid once no accrued or reversed event is left unsettled.
    pub fn new(
        conversion: Conversion,
        net: CommissionSplit,
        paid: CommissionSplit,
        unsettled: bool,
    ) -> Self {
        let status = match (&conversion.attribution, conversion.approved_at) {
            (None, _) => ConversionStatus::Unattributed,
            (Some(_), None) if conversion.voided_at.is_some() => ConversionStatus::Voided,
            (Some(_), None) if conversion.held_at.is_some() => ConversionStatus::Held,
            (Some(_), None) => ConversionStatus::Pending,
            (Some(_), Some(_)) if unsettled => ConversionStatus::Approved,
            (Some(_), Some(_)) => ConversionStatus::Paid,
        };
        Self {
            conversion,
            net_commission: net,
            paid_commission: paid,
            status,
        }
    }
}

/// An influencer's earnings in one currency, net of reversals: `pending + awaiting_merchant +
/// approved + paid` is what they earned in it (`influencers.total_earned` for their
/// [`primary currency`](SeedTotals)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EarningsSummary {
    /// The currency of every amount.
    pub currency: Currency,
    /// Earnings on conversions not yet approved: in their hold period, or held for review.
    pub pending: Decimal,
    /// Earnings approved and funded (their merchant statement is paid), not yet paid out:
    /// what the next payout pays; negative when refunds after a payout exceed new approvals
    /// (carried into the next payout).
    pub approved: Decimal,
    /// Earnings paid out (`influencers.total_paid`).
    pub paid: Decimal,
    /// Everything earned and not yet paid: `pending + awaiting_merchant + approved`.
    pub balance: Decimal,
    /// Earnings approved but awaiting the merchant: not yet on a merchant statement marked
    /// paid, so not payable yet.
    pub awaiting_merchant: Decimal,
}

/// A merchant's commissions (gross, net of reversals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MerchantCommissions {
    /// The merchant's settlement currency, which every amount is in.
    pub currency: Currency,
    /// Still in the hold period.
    pub pending: Decimal,
    /// Approved, and not yet paid for by the merchant (billed or not).
    pub approved: Decimal,
    /// Owed in all: `pending + approved`.
    pub owed: Decimal,
    /// Paid for by the merchant: on statements marked paid (`merchants.total_commissions_paid`).
    pub paid: Decimal,
    /// Orders recorded without attribution.
    pub unattributed_orders: i64,
    /// Their amounts, net of refunds.
    pub unattributed_sales: Decimal,
}

/// One UTC day of a link's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DailyLinkStats {
    /// The day (UTC).
    pub day: NaiveDate,
    /// Human clicks that day.
    pub clicks: i64,
    /// Conversions ordered that day.
    pub conversions: i64,
    /// Their amounts net of refunds.
    pub revenue: Decimal,
    /// Their gross commission net of reversals.
    pub commission: Decimal,
    /// The influencer's share of that commission, net of reversals.
    pub earnings: Decimal,
}

/// Which of a merchant's conversions to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConversionFilter {
    /// All of them.
    #[default]
    All,
    /// Only those attributed to no link.
    Unattributed,
    /// Only those whose commission is held for review now.
    Held,
    /// Only those on which a fraud signal fired, held or not.
    Signalled,
}

impl ConversionFilter {
    /// Whether `conversion` is listed under this filter.
    pub fn keeps(&self, conversion: &Conversion) -> bool {
        match self {
            ConversionFilter::All => true,
            ConversionFilter::Unattributed => conversion.attribution.is_none(),
            ConversionFilter::Held => conversion.is_held(),
            ConversionFilter::Signalled => !conversion.signals.is_empty(),
        }
    }
}

/// Sums of splits, for the stores' summaries.
pub(crate) fn sum_splits<'a>(
    splits: impl IntoIterator<Item = &'a CommissionSplit>,
) -> CommissionSplit {
    splits
        .into_iter()
        .fold(CommissionSplit::default(), |acc, s| acc.plus(s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
    }

    fn split(gross: Decimal, fee: Decimal) -> CommissionSplit {
        CommissionSplit {
            gross,
            platform_fee: fee,
            influencer_earnings: gross - fee,
        }
    }

    fn attributed() -> Conversion {
        Conversion {
            id: ConversionId::new(),
            merchant_id: MerchantId::new(),
            order_id: ShopRef::parse("1001").unwrap(),
            amount: Money::new(dec!(100.00)).unwrap(),
            currency: Currency::USD,
            ordered_at: at(1),
            recorded_at: at(2),
            click_id: None,
            coupon_code: None,
            product_external_ids: Vec::new(),
            attribution: Some(Attribution {
                link_id: LinkId::new(),
                influencer_id: InfluencerId::new(),
                program_id: ProgramId::new(),
                by: AttributedBy::Coupon {
                    code: CampaignCode::parse("ANA20").unwrap(),
                },
            }),
            commission: split(dec!(20.00), dec!(4.00)),
            hold_until: Some(at(3)),
            approved_at: None,
            refunded_amount: Money::ZERO,
            hold_reasons: Vec::new(),
            signals: Vec::new(),
            held_at: None,
            voided_at: None,
        }
    }

    fn refund_of(conversion: &Conversion, amount: Decimal, reversal: CommissionSplit) -> NewRefund {
        NewRefund {
            merchant_id: conversion.merchant_id,
            refund_id: ShopRef::parse("r-1").unwrap(),
            conversion_id: conversion.id,
            amount: Money::new(amount).unwrap(),
            refunded_before: Money::ZERO,
            reversal: Some((EventId::new(), reversal)),
            voided_before: false,
            recorded_at: at(4),
        }
    }

    #[test]
    fn a_reversal_takes_back_the_refunds_split_and_amount_tied_to_the_refund() {
        let conversion = attributed();
        let refund = refund_of(&conversion, dec!(25.00), split(dec!(-5.00), dec!(-1.00)));
        let event = CommissionEvent::reversal(&conversion, &refund).unwrap();
        let attribution = conversion.attribution.as_ref().unwrap();
        assert_eq!(event.id, refund.reversal.unwrap().0);
        assert_eq!(event.kind, EventKind::Reversed);
        assert_eq!(event.split, split(dec!(-5.00), dec!(-1.00)));
        assert_eq!(event.sales, dec!(-25.00));
        assert_eq!(event.refund_id, Some(refund.refund_id.clone()));
        assert_eq!(
            (event.link_id, event.influencer_id, event.merchant_id),
            (
                attribution.link_id,
                attribution.influencer_id,
                conversion.merchant_id
            )
        );
        assert_eq!(event.occurred_at, at(4));
        assert_eq!((event.payout_batch_id, event.settles), (None, None));

        let mut unattributed = attributed();
        unattributed.attribution = None;
        assert_eq!(CommissionEvent::reversal(&unattributed, &refund), None);
        let mut nothing_to_reverse = refund.clone();
        nothing_to_reverse.reversal = None;
        assert_eq!(
            CommissionEvent::reversal(&conversion, &nothing_to_reverse),
            None
        );
    }

    #[test]
    fn an_approval_records_the_net_of_this_conversions_accruals_and_reversals_only() {
        let conversion = attributed();
        let accrued = CommissionEvent::accrual(EventId::new(), &conversion).unwrap();
        let refund = refund_of(&conversion, dec!(25.00), split(dec!(-5.00), dec!(-1.00)));
        let reversed = CommissionEvent::reversal(&conversion, &refund).unwrap();
        let paid = CommissionEvent::payment(EventId::new(), &accrued, PayoutBatchId::new(), at(5))
            .unwrap();
        let other = CommissionEvent::accrual(EventId::new(), &attributed()).unwrap();
        let id = EventId::new();
        let events = [accrued, reversed, paid, other];
        let approved = CommissionEvent::approval(id, &conversion, &events, at(6)).unwrap();
        assert_eq!(approved.id, id);
        assert_eq!(approved.kind, EventKind::Approved);
        assert_eq!(approved.split, split(dec!(15.00), dec!(3.00)));
        assert_eq!(approved.sales, Decimal::ZERO);
        assert_eq!(approved.occurred_at, at(6));
        assert_eq!(TotalsDelta::of_event(&approved), TotalsDelta::default());

        let mut unattributed = attributed();
        unattributed.attribution = None;
        assert_eq!(
            CommissionEvent::approval(id, &unattributed, &events, at(6)),
            None
        );
    }

    #[test]
    fn a_payment_copies_the_split_it_settles_and_only_commission_can_be_settled() {
        let conversion = attributed();
        let accrued = CommissionEvent::accrual(EventId::new(), &conversion).unwrap();
        let batch = PayoutBatchId::new();
        let id = EventId::new();
        let paid = CommissionEvent::payment(id, &accrued, batch, at(7)).unwrap();
        assert_eq!(paid.id, id);
        assert_eq!(paid.kind, EventKind::Paid);
        assert_eq!(paid.split, accrued.split);
        assert_eq!(paid.sales, Decimal::ZERO);
        assert_eq!(paid.settles, Some(accrued.id));
        assert_eq!(paid.payout_batch_id, Some(batch));
        assert_eq!(paid.occurred_at, at(7));
        assert_eq!(
            (paid.conversion_id, paid.link_id, paid.influencer_id),
            (
                accrued.conversion_id,
                accrued.link_id,
                accrued.influencer_id
            )
        );
        assert_eq!(
            TotalsDelta::of_event(&paid),
            TotalsDelta {
                paid: dec!(16.00),
                ..TotalsDelta::default()
            },
            "what the merchant paid for moves with its statements, not with payouts"
        );
        let approved =
            CommissionEvent::approval(EventId::new(), &conversion, [&accrued], at(6)).unwrap();
        assert_eq!(CommissionEvent::payment(id, &approved, batch, at(7)), None);
        assert_eq!(CommissionEvent::payment(id, &paid, batch, at(7)), None);
    }

    #[test]
    fn a_void_takes_back_exactly_what_the_accrual_and_refunds_left_and_moves_no_sales() {
        let mut conversion = attributed();
        let accrued = CommissionEvent::accrual(EventId::new(), &conversion).unwrap();
        let refund = refund_of(&conversion, dec!(33.33), split(dec!(0), dec!(0)));
        let reversal = conversion
            .commission
            .reversal(
                conversion.amount,
                Money::ZERO,
                refund.amount,
                conversion.currency,
            )
            .unwrap();
        conversion.refunded_amount = refund.amount;
        let voided = CommissionEvent::void(EventId::new(), &conversion, at(8)).unwrap();
        assert_eq!(voided.kind, EventKind::Voided);
        assert_eq!(voided.sales, Decimal::ZERO);
        assert_eq!(
            accrued.split.plus(&reversal).plus(&voided.split),
            CommissionSplit::default(),
            "accrual, reversal and void net to zero in every component"
        );
        let delta = TotalsDelta::of_event(&voided);
        assert_eq!(delta.earned, voided.split.influencer_earnings);
        assert_eq!((delta.conversions, delta.sales), (0, Decimal::ZERO));

        conversion.voided_at = Some(at(8));
        assert_eq!(
            CommissionEvent::void(EventId::new(), &conversion, at(9)),
            None
        );
        assert_eq!(conversion.open_commission(), CommissionSplit::default());
    }

    #[test]
    fn a_release_moves_nothing_and_held_or_voided_conversions_say_so_in_their_status() {
        let mut conversion = attributed();
        let released = CommissionEvent::release(EventId::new(), &conversion, at(8)).unwrap();
        assert_eq!(released.kind, EventKind::Released);
        assert_eq!(TotalsDelta::of_event(&released), TotalsDelta::default());
        let zero = CommissionSplit::default();
        conversion.held_at = Some(at(2));
        assert_eq!(
            ConversionView::new(conversion.clone(), zero, zero, true).status,
            ConversionStatus::Held
        );
        assert!(!conversion.is_due(at(23)));
        conversion.held_at = None;
        assert!(conversion.is_due(at(3)));
        assert!(!conversion.is_due(at(2)));
        conversion.voided_at = Some(at(2));
        assert_eq!(
            ConversionView::new(conversion.clone(), zero, zero, true).status,
            ConversionStatus::Voided
        );
        assert!(!conversion.is_due(at(23)));
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
    }
}

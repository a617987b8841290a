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
//!
//! # Totals
//! The seed's denormalized totals are exactly these sums of the ledger (see [`TotalsDelta`]),
//! updated in the same transaction (PostgreSQL) or under the same lock (memory) as the event:
//!
//! - `tracking_links.total_conversions`: attributed conversions (refunded ones still count);
//! - `tracking_links.total_revenue`, `merchants.total_sales`: attributed order amounts net of
//!   refunds (Σ `sales`); unattributed orders count in neither;
//! - `tracking_links.total_commission`: gross commission net of reversals (Σ `gross` of
//!   `accrued` + `reversed`);
//! - `influencers.total_earned`: the influencer's earnings net of reversals (Σ
//!   `influencer_earnings` of `accrued` + `reversed`), paid or not;
//! - `influencers.total_paid`: earnings paid out (Σ `influencer_earnings` of `paid`);
//! - `merchants.total_commissions_paid`: gross commission paid out (Σ `gross` of `paid`).
//!
//! An influencer's earned total splits into pending + approved + paid ([`EarningsSummary`]).

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
}

impl EventKind {
    /// The value stored in `commission_events.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Accrued => "accrued",
            EventKind::Approved => "approved",
            EventKind::Reversed => "reversed",
            EventKind::Paid => "paid",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "accrued" => EventKind::Accrued,
            "approved" => EventKind::Approved,
            "reversed" => EventKind::Reversed,
            "paid" => EventKind::Paid,
            _ => return None,
        })
    }
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
            EventKind::Reversed => TotalsDelta {
                sales,
                commission: split.gross,
                earned: split.influencer_earnings,
                ..Self::default()
            },
            EventKind::Approved => Self::default(),
            EventKind::Paid => TotalsDelta {
                paid: split.influencer_earnings,
                commissions_paid: split.gross,
                ..Self::default()
            },
        }
    }

    /// The effect of `event`.
    pub fn of_event(event: &CommissionEvent) -> Self {
        Self::of(event.kind, &event.split, event.sales)
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
    /// Derives the status from the conversion and its sums: unattributed, pending until
    /// approved, then paid once no accrued or reversed event is left unsettled.
    pub fn new(
        conversion: Conversion,
        net: CommissionSplit,
        paid: CommissionSplit,
        unsettled: bool,
    ) -> Self {
        let status = match (&conversion.attribution, conversion.approved_at) {
            (None, _) => ConversionStatus::Unattributed,
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

/// An influencer's earnings, net of reversals: `pending + approved + paid` is
/// `influencers.total_earned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EarningsSummary {
    /// Earnings on conversions still in their hold period.
    pub pending: Decimal,
    /// Earnings approved and not yet paid out; negative when refunds after a payout exceed
    /// new approvals (carried into the next payout).
    pub approved: Decimal,
    /// Earnings paid out (`influencers.total_paid`).
    pub paid: Decimal,
    /// Everything earned and not yet paid: `pending + approved`.
    pub balance: Decimal,
}

/// A merchant's commissions (gross, net of reversals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct MerchantCommissions {
    /// Still in the hold period.
    pub pending: Decimal,
    /// Approved, not yet paid out.
    pub approved: Decimal,
    /// Owed in all: `pending + approved`.
    pub owed: Decimal,
    /// Paid out (`merchants.total_commissions_paid`).
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
}

/// Sums of splits, for the stores' summaries.
pub(crate) fn sum_splits<'a>(
    splits: impl IntoIterator<Item = &'a CommissionSplit>,
) -> CommissionSplit {
    splits
        .into_iter()
        .fold(CommissionSplit::default(), |acc, s| acc.plus(s))
}

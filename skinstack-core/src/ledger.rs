//! The commission ledger: an append-only list of events per attributed conversion, and the
//! storage traits for conversions, refunds, approvals, payouts and their read side.
//!
//! # Events
//! Every event carries a [`CommissionSplit`] from [`crate::commission`] and a `sales` amount:
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

use crate::attribution::{ClickFacts, LinkTerms};
use crate::click::ClickId;
use crate::commission::CommissionSplit;
use crate::conversion::*;
use crate::domain::{CampaignCode, InfluencerId, LinkId, MerchantId, ProgramId, Secret};
use crate::payout::{PayoutBatch, PayoutPlan, UnsettledEvent};
use crate::repo::{RepoResult, Store};
use crate::webhook_deliveries::{RotatedSecret, WebhookDeliveries};
use async_trait::async_trait;
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

/// A page of a list ordered by conversion id (creation order): at most `limit` (1–100) after
/// `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversionPage {
    limit: u32,
    /// The last id of the previous page.
    pub after: Option<ConversionId>,
}

impl ConversionPage {
    /// A page of `limit` (clamped to 1–100) after `after`.
    pub fn new(limit: u32, after: Option<ConversionId>) -> Self {
        Self {
            limit: limit.clamp(1, 100),
            after,
        }
    }

    /// The page size.
    pub const fn limit(&self) -> u32 {
        self.limit
    }
}

impl Default for ConversionPage {
    fn default() -> Self {
        Self::new(50, None)
    }
}

/// Conversions, refunds and approvals. Each write is atomic with its ledger event and the
/// totals it changes ([`TotalsDelta`]).
#[async_trait]
pub trait ConversionRepo: Send + Sync {
    /// The click `id` with its link's terms, if stored.
    async fn click_facts(&self, id: ClickId) -> RepoResult<Option<ClickFacts>>;
    /// `merchant`'s links whose campaign code is `code`, with their terms.
    async fn links_by_campaign_code(
        &self,
        merchant: MerchantId,
        code: &CampaignCode,
    ) -> RepoResult<Vec<LinkTerms>>;
    /// The terms of `link`'s program (`NotFound(Link)` if missing).
    async fn link_terms(&self, link: LinkId) -> RepoResult<LinkTerms>;
    /// Stores a conversion unless the merchant already has its order id; with an attribution,
    /// also its `accrued` event and the totals, atomically. Decided by a unique constraint, so
    /// concurrent calls with one order id store it once.
    async fn insert_conversion(&self, new: NewConversion) -> RepoResult<ConversionInsert>;
    /// The merchant's conversion for `order`.
    async fn conversion_by_order(
        &self,
        merchant: MerchantId,
        order: &OrderId,
    ) -> RepoResult<Option<Conversion>>;
    /// The merchant's refund `refund`.
    async fn refund_by_id(
        &self,
        merchant: MerchantId,
        refund: &RefundId,
    ) -> RepoResult<Option<Refund>>;
    /// Stores a refund unless its id is known ([`RefundInsert::Existing`]) or the conversion's
    /// refunded total is no longer `refunded_before` ([`RefundInsert::Stale`]); with a
    /// reversal, also the `reversed` event and the totals, atomically.
    async fn insert_refund(&self, new: NewRefund) -> RepoResult<RefundInsert>;
    /// Approves every attributed, unapproved conversion whose `hold_until` ≤ `now`: sets
    /// `approved_at` and writes its `approved` event. Idempotent; returns those approved.
    async fn approve_due(&self, now: DateTime<Utc>) -> RepoResult<Vec<ConversionId>>;
    /// A program's hold before approval (`NotFound(Program)` if missing).
    async fn program_hold_days(&self, program: ProgramId) -> RepoResult<HoldDays>;
    /// Sets a program's hold; applies to conversions recorded afterwards.
    async fn set_program_hold_days(&self, program: ProgramId, days: HoldDays) -> RepoResult<()>;
}

/// Payout batches.
#[async_trait]
pub trait PayoutRepo: Send + Sync {
    /// Every `accrued` or `reversed` event of an approved conversion not yet settled, oldest
    /// first.
    async fn unsettled_approved_events(&self) -> RepoResult<Vec<UnsettledEvent>>;
    /// Stores the batch, its items, one `paid` event per settled event and the totals
    /// (`total_paid`, `total_commissions_paid`), atomically. `Ok(None)` (nothing stored) if
    /// any planned event was settled meanwhile: plan again.
    async fn commit_payout(&self, plan: &PayoutPlan) -> RepoResult<Option<PayoutBatch>>;
    /// Every batch, newest first.
    async fn payout_batches(&self) -> RepoResult<Vec<PayoutBatch>>;
}

/// The ledger's read side, for dashboards and statements.
#[async_trait]
pub trait LedgerQueries: Send + Sync {
    /// The merchant's ledger events, oldest first.
    async fn events_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<CommissionEvent>>;
    /// The merchant's conversions, in id order, one page at a time.
    async fn conversions_by_merchant(
        &self,
        merchant: MerchantId,
        filter: ConversionFilter,
        page: ConversionPage,
    ) -> RepoResult<Vec<ConversionView>>;
    /// The conversions attributed to the influencer's links, in id order.
    async fn conversions_by_influencer(
        &self,
        influencer: InfluencerId,
        page: ConversionPage,
    ) -> RepoResult<Vec<ConversionView>>;
    /// The influencer's earnings.
    async fn earnings_summary(&self, influencer: InfluencerId) -> RepoResult<EarningsSummary>;
    /// The merchant's commissions.
    async fn merchant_commissions(&self, merchant: MerchantId) -> RepoResult<MerchantCommissions>;
    /// One row per UTC day from `from` to `to` (inclusive; empty if `to < from`), zeros
    /// included. Clicks count by click time; conversions, revenue, commission and earnings by
    /// order time, net of refunds and reversals recorded so far.
    async fn link_daily_stats(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyLinkStats>>;
}

/// Merchants' Shopify webhook secrets (stored encrypted where the store encrypts).
#[async_trait]
pub trait WebhookSecrets: Send + Sync {
    /// The merchant's secret, if set (`NotFound(Merchant)` if missing).
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>>;
    /// Sets or clears the merchant's secret, and forgets the previous one: from now only
    /// `secret` signs.
    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()>;
    /// The secret the current one replaced, with when, if kept (`NotFound(Merchant)` if
    /// missing). Whether it still signs is [`RotatedSecret::accepted_at`]'s rule.
    async fn previous_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
    ) -> RepoResult<Option<RotatedSecret>>;
    /// Stores `current` as the merchant's secret and `previous` (or none) as the one it
    /// replaced, in one write.
    async fn replace_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        current: Secret,
        previous: Option<RotatedSecret>,
    ) -> RepoResult<()>;
}

/// Everything a store provides once it keeps the ledger, with the merchants' API keys that
/// report orders into it and the webhook deliveries it acknowledged without recording.
pub trait LedgerStore:
    Store
    + crate::ClickSink
    + ConversionRepo
    + PayoutRepo
    + LedgerQueries
    + WebhookSecrets
    + crate::ApiKeyRepo
    + WebhookDeliveries
{
}

impl<T> LedgerStore for T where
    T: Store
        + crate::ClickSink
        + ConversionRepo
        + PayoutRepo
        + LedgerQueries
        + WebhookSecrets
        + crate::ApiKeyRepo
        + WebhookDeliveries
{
}

/// Sums of splits, for the stores' summaries.
pub(crate) fn sum_splits<'a>(
    splits: impl IntoIterator<Item = &'a CommissionSplit>,
) -> CommissionSplit {
    splits
        .into_iter()
        .fold(CommissionSplit::default(), |acc, s| acc.plus(s))
}

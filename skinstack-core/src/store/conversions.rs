//! Conversions, refunds and approvals, and the ledger's read side.

use crate::domain::*;
use crate::earning::{
    ClickFacts, CommissionEvent, ConversionFilter, ConversionView, CouponFacts, DailyLinkStats,
    EarningsSummary, LinkTerms, MerchantCommissions,
};
use crate::store::{Page, RepoResult};
use crate::tracking::breakdown::{Dimension, Scope, ValueConversions};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

/// Conversions, refunds and approvals. Each write is atomic with its ledger event and the
/// totals it changes ([`TotalsDelta`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ConversionRepo: Send + Sync {
    /// The click `id` with its link's terms and the number of conversions it attributed, if
    /// stored.
    async fn click_facts(&self, id: ClickId) -> RepoResult<Option<ClickFacts>>;
    /// `merchant`'s coupon codes whose [`key`](crate::CodeText::key) is `code` and that were
    /// ever assigned (revoked ones included: they still own the orders placed before their
    /// revocation), each with its owning link's terms. Requested codes are not among them.
    async fn coupon_facts(
        &self,
        merchant: MerchantId,
        code: &CampaignCode,
    ) -> RepoResult<Vec<CouponFacts>>;
    /// The terms of `link`'s program (`NotFound(Link)` if missing).
    async fn link_terms(&self, link: LinkId) -> RepoResult<LinkTerms>;
    /// The email of `influencer`'s account, which self-referral compares orders with; `None`
    /// if the profile is gone.
    async fn influencer_email(&self, influencer: InfluencerId) -> RepoResult<Option<Email>>;
    /// Stores a conversion unless the merchant already has its order id; with an attribution,
    /// also its `accrued` event and the totals, atomically. Decided by a unique constraint, so
    /// concurrent calls with one order id store it once. An order attributed by click takes
    /// the click's use [`NewConversion::click_use`] unless another conversion holds it
    /// ([`ConversionInsert::ClickSpent`]), also by a unique constraint, so concurrent orders
    /// with one click never take one use twice.
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

/// The ledger's read side, for dashboards and statements.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LedgerQueries: Send + Sync {
    /// The merchant's ledger events, oldest first.
    async fn events_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<CommissionEvent>>;
    /// The merchant's conversions, in id order, one page at a time.
    async fn conversions_by_merchant(
        &self,
        merchant: MerchantId,
        filter: ConversionFilter,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>>;
    /// The conversions attributed to the influencer's links, in id order.
    async fn conversions_by_influencer(
        &self,
        influencer: InfluencerId,
        page: Page<ConversionId>,
    ) -> RepoResult<Vec<ConversionView>>;
    /// The influencer's earnings: one summary per currency they have ledger events in, by
    /// currency code; none before their first.
    async fn earnings_summary(&self, influencer: InfluencerId) -> RepoResult<Vec<EarningsSummary>>;
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

    /// The scope's attributed conversions ordered from `from` to `to` (inclusive, UTC days)
    /// split by `dimension`, by the rule of [`crate::tracking::breakdown`]: one row per value
    /// and currency, in no particular order, counted and summed as [`Self::link_daily_stats`]
    /// counts them (so the rows sum to its days). Empty when `to < from`.
    async fn conversion_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueConversions>>;
}

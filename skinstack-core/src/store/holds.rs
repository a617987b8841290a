//! Commission holds: putting a hold on unapproved commissions, releasing or voiding them, the
//! merchant's maximum order amount, and the counts `/metrics` reports.
//!
//! Whether a conversion may be held, released or voided is decided by core
//! ([`Conversion::can_be_held`], [`Conversion::is_held`]) on the row as stored, under the
//! store's lock or row lock, so a decision never races an approval or a refund.

use crate::domain::*;
use crate::store::RepoResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What a hold, release or void did.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldChange {
    /// Done; the conversion as stored now.
    Changed(Conversion),
    /// Nothing changed: the conversion is not in a state that allows it (not attributed,
    /// approved, voided, or for a release or void not held); the conversion as stored.
    Refused(Conversion),
}

/// How many conversions stand held or voided, and on how many each fraud signal fired, for
/// `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HoldCounts {
    /// Conversions held now.
    pub held: i64,
    /// Conversions held now with each reason (every reason listed, zeros included; a
    /// conversion held for two reasons counts under both).
    pub held_by_reason: Vec<(HoldReason, i64)>,
    /// Conversions whose commission was voided.
    pub voided: i64,
    /// Conversions on which each fraud signal fired (every signal listed, zeros included),
    /// held now or not: click reuse holds nothing, and a released hold stays a signal.
    pub signals: Vec<(FraudSignal, i64)>,
}

/// Holds on commissions. Each change is atomic with its ledger event and totals.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HoldRepo: Send + Sync {
    /// The conversion `id`, whoever's it is (callers check ownership).
    async fn conversion_by_id(&self, id: ConversionId) -> RepoResult<Option<Conversion>>;
    /// Holds conversion `id` for `reason` at `at` if [`Conversion::can_be_held`]: adds the
    /// reason, and sets `held_at` unless it is held already (`NotFound(Conversion)` if
    /// missing). Writes no ledger event: a hold moves no money.
    async fn hold_conversion(
        &self,
        id: ConversionId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange>;
    /// Holds for `reason` every conversion attributed to `influencer` in `program` that can
    /// be held (not approved, not voided), as [`HoldRepo::hold_conversion`] does one; returns
    /// those it held or added the reason to, in id order. What a ban calls.
    async fn hold_open_commissions(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<Vec<ConversionId>>;
    /// Releases held conversion `id` at `at`, writing the `released` event `event` built by
    /// [`crate::CommissionEvent::release`]; it is approved once its hold period has passed.
    async fn release_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange>;
    /// Voids held conversion `id` at `at`, writing the `voided` event `event` built by
    /// [`crate::CommissionEvent::void`] and its totals; its reasons are kept.
    async fn void_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange>;
    /// How many conversions stand held or voided, and the fraud signals' counts.
    async fn hold_counts(&self) -> RepoResult<HoldCounts>;
    /// The merchant's maximum order amount (`NotFound(Merchant)` if missing).
    async fn max_order_amount(&self, merchant: MerchantId) -> RepoResult<MaxOrderAmount>;
    /// Sets the merchant's maximum; applies to orders recorded afterwards.
    async fn set_max_order_amount(
        &self,
        merchant: MerchantId,
        max: MaxOrderAmount,
    ) -> RepoResult<()>;
}

//! Payout batches.

use crate::earning::{PayoutBatch, PayoutPlan, UnsettledEvent};
use crate::store::RepoResult;
use async_trait::async_trait;

/// Payout batches.
#[cfg_attr(feature = "mock", mockall::automock)]
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

//! Creating payouts: plan ([`crate::earning::payout::plan_payouts`]), commit atomically, deliver.

use crate::domain::InfluencerId;
use crate::domain::PayoutBatchId;
use crate::earning::payout::{
    plan_payouts, DeliveryError, PayoutBatch, PayoutMinimums, PayoutProvider, SkippedPayout,
};
use crate::store::PayoutRepo;
use crate::store::{Entity, InfluencerRepo, RepoError};
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::{BTreeSet, HashMap};

/// What a payout run did.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutRun {
    /// The batch committed and delivered; `None` when nobody was payable.
    pub batch: Option<PayoutBatch>,
    /// Influencers left out, with their balance and why; they stay payable.
    pub skipped: Vec<SkippedPayout>,
    /// What the provider produced (files, transfer ids).
    pub delivered: Vec<String>,
}

/// Why a payout run failed.
#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    /// The store failed; nothing was committed.
    #[error(transparent)]
    Storage(#[from] RepoError),
    /// Concurrent payout runs kept settling the same events; nothing was committed.
    #[error("other payout runs kept settling the same events; retry")]
    Busy,
    /// The batch was committed (its events are paid) but the provider failed: deliver it
    /// again, never create it again.
    #[error("payout batch {} was committed but not delivered: {error}", batch.id)]
    Delivery {
        /// The committed batch.
        batch: Box<PayoutBatch>,
        /// The provider's failure.
        #[source]
        error: DeliveryError,
    },
}

const ATTEMPTS: usize = 3;

/// Pays every influencer whose approved, unsettled earnings in a currency (net of any negative
/// balance) reach that currency's minimum and who chose a payout method, one item per
/// currency: commits one batch — settling the events,
/// updating `total_paid` and `total_commissions_paid` in the same transaction — then hands it
/// to `provider`. Running it again pays nothing twice: settled events are never settled again
/// (a unique constraint in PostgreSQL).
pub async fn create_payouts<S, P>(
    store: &S,
    provider: &P,
    now: DateTime<Utc>,
    minimum: impl Into<PayoutMinimums>,
) -> Result<PayoutRun, PayoutError>
where
    S: PayoutRepo + InfluencerRepo + ?Sized,
    P: PayoutProvider + ?Sized,
{
    // The batch's time as PostgreSQL keeps it (microseconds), whichever store holds it.
    let now = now.trunc_subsecs(6);
    let minimums = minimum.into();
    for _ in 0..ATTEMPTS {
        let events = store.unsettled_approved_events().await?;
        let ids: BTreeSet<InfluencerId> = events.iter().map(|e| e.influencer_id).collect();
        let mut influencers = HashMap::new();
        for id in ids {
            match store.influencer_by_id(id).await {
                Ok(influencer) => {
                    influencers.insert(id, influencer);
                }
                Err(RepoError::NotFound(Entity::Influencer)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        let (plan, skipped) =
            plan_payouts(PayoutBatchId::new(), now, &minimums, &events, &influencers);
        if plan.items.is_empty() {
            return Ok(PayoutRun {
                batch: None,
                skipped,
                delivered: Vec::new(),
            });
        }
        let Some(batch) = store.commit_payout(&plan).await? else {
            continue; // another run settled some of these events first: plan again
        };
        return match provider.deliver(&batch).await {
            Ok(delivered) => Ok(PayoutRun {
                batch: Some(batch),
                skipped,
                delivered,
            }),
            Err(error) => Err(PayoutError::Delivery {
                batch: Box::new(batch),
                error,
            }),
        };
    }
    Err(PayoutError::Busy)
}

//! Payout batches.

use super::*;
use crate::earning::{CommissionEvent, PayoutBatch, PayoutPlan, SettleError, UnsettledEvent};

#[async_trait]
impl PayoutRepo for MemoryStore {
    async fn unsettled_approved_events(&self) -> RepoResult<Vec<UnsettledEvent>> {
        let state = self.lock();
        Ok(state
            .ledger
            .events
            .iter()
            .filter(|e| {
                e.kind.carries_commission()
                    && !state.ledger.settled.contains(&e.id)
                    && state.approved(e.conversion_id)
            })
            .map(|e| UnsettledEvent {
                event_id: e.id,
                conversion_id: e.conversion_id,
                influencer_id: e.influencer_id,
                merchant_id: e.merchant_id,
                currency: e.currency,
                split: e.split,
                funded: state.funded(e.id),
            })
            .collect())
    }

    async fn commit_payout(&self, plan: &PayoutPlan) -> RepoResult<Option<PayoutBatch>> {
        let mut state = self.lock();
        let by_id: HashMap<EventId, &CommissionEvent> =
            state.ledger.events.iter().map(|e| (e.id, e)).collect();
        // Every payment is built before anything changes: the batch is all or nothing.
        let payments = plan.payments(|id| {
            let event = *by_id.get(&id)?;
            let unsettled = !state.ledger.settled.contains(&id);
            unsettled.then(|| (event, state.approved(event.conversion_id)))
        });
        let payments = match payments {
            Ok(payments) => payments,
            Err(SettleError::Stale) => return Ok(None),
            Err(mismatch) => return Err(RepoError::Backend(mismatch.into())),
        };
        for (_, paid) in payments {
            state.ledger.settled.extend(paid.settles);
            state.append(paid);
        }
        let batch = plan.batch();
        state.ledger.batches.push(batch.clone());
        Ok(Some(batch))
    }

    async fn payout_batches(&self) -> RepoResult<Vec<PayoutBatch>> {
        let state = self.lock();
        let mut batches = state.ledger.batches.clone();
        batches.sort_by_key(|b| std::cmp::Reverse((b.created_at, b.id)));
        Ok(batches)
    }
}

//! Payout batches.

use super::*;
use crate::earning::{CommissionEvent, EventKind, PayoutBatch, PayoutPlan, UnsettledEvent};

#[async_trait]
impl PayoutRepo for MemoryStore {
    async fn unsettled_approved_events(&self) -> RepoResult<Vec<UnsettledEvent>> {
        let state = self.lock();
        Ok(state
            .ledger
            .events
            .iter()
            .filter(|e| {
                matches!(e.kind, EventKind::Accrued | EventKind::Reversed)
                    && !state.ledger.settled.contains(&e.id)
                    && state.approved(e.conversion_id)
            })
            .map(|e| UnsettledEvent {
                event_id: e.id,
                conversion_id: e.conversion_id,
                influencer_id: e.influencer_id,
                merchant_id: e.merchant_id,
                split: e.split,
            })
            .collect())
    }

    async fn commit_payout(&self, plan: &PayoutPlan) -> RepoResult<Option<PayoutBatch>> {
        let mut state = self.lock();
        let by_id: HashMap<EventId, CommissionEvent> = state
            .ledger
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Accrued | EventKind::Reversed))
            .map(|e| (e.id, e.clone()))
            .collect();
        // Check everything before changing anything: the batch is all or nothing.
        for planned in &plan.items {
            for id in &planned.events {
                if state.ledger.settled.contains(id) || !by_id.contains_key(id) {
                    return Ok(None);
                }
            }
        }
        for planned in &plan.items {
            for id in &planned.events {
                let settled = &by_id[id];
                let paid = CommissionEvent {
                    id: EventId::new(),
                    kind: EventKind::Paid,
                    sales: Decimal::ZERO,
                    refund_id: None,
                    payout_batch_id: Some(plan.batch_id),
                    settles: Some(*id),
                    occurred_at: plan.created_at,
                    ..settled.clone()
                };
                state.ledger.settled.insert(*id);
                state.append(paid);
            }
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

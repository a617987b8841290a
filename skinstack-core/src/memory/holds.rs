//! The in-memory store's holds, under the store's one lock like every ledger write.

use super::{MemoryStore, State};
use crate::domain::*;
use crate::earning::ledger::CommissionEvent;
use crate::store::{Entity, HoldChange, HoldCounts, HoldRepo, RepoError, RepoResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

impl State {
    /// Holds `id` for `reason` at `at` if core allows it; `None` if no such conversion.
    fn hold(
        &mut self,
        id: ConversionId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> Option<HoldChange> {
        let conversion = self.ledger.conversions.get_mut(&id)?;
        if !conversion.can_be_held() {
            return Some(HoldChange::Refused(conversion.clone()));
        }
        add_hold_reason(&mut conversion.hold_reasons, reason);
        conversion.held_at.get_or_insert(at);
        Some(HoldChange::Changed(conversion.clone()))
    }

    fn stored(&self, id: ConversionId) -> RepoResult<Conversion> {
        self.ledger
            .conversions
            .get(&id)
            .cloned()
            .ok_or(RepoError::NotFound(Entity::Conversion))
    }
}

#[async_trait]
impl HoldRepo for MemoryStore {
    async fn conversion_by_id(&self, id: ConversionId) -> RepoResult<Option<Conversion>> {
        Ok(self.lock().ledger.conversions.get(&id).cloned())
    }

    async fn hold_conversion(
        &self,
        id: ConversionId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        self.lock()
            .hold(id, reason, at)
            .ok_or(RepoError::NotFound(Entity::Conversion))
    }

    async fn hold_open_commissions(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
        reason: HoldReason,
        at: DateTime<Utc>,
    ) -> RepoResult<Vec<ConversionId>> {
        let mut state = self.lock();
        let mut ids: Vec<ConversionId> = state
            .ledger
            .conversions
            .values()
            .filter(|c| {
                c.attribution
                    .as_ref()
                    .is_some_and(|a| a.program_id == program && a.influencer_id == influencer)
            })
            .map(|c| c.id)
            .collect();
        ids.sort();
        ids.retain(|id| matches!(state.hold(*id, reason, at), Some(HoldChange::Changed(_))));
        Ok(ids)
    }

    async fn release_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        let mut state = self.lock();
        let conversion = state.stored(id)?;
        let Some(released) =
            CommissionEvent::release(event, &conversion, at).filter(|_| conversion.is_held())
        else {
            return Ok(HoldChange::Refused(conversion));
        };
        let stored = state
            .ledger
            .conversions
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Conversion))?;
        stored.held_at = None;
        let stored = stored.clone();
        state.append(released);
        Ok(HoldChange::Changed(stored))
    }

    async fn void_conversion(
        &self,
        id: ConversionId,
        event: EventId,
        at: DateTime<Utc>,
    ) -> RepoResult<HoldChange> {
        let mut state = self.lock();
        let conversion = state.stored(id)?;
        let Some(voided) =
            CommissionEvent::void(event, &conversion, at).filter(|_| conversion.is_held())
        else {
            return Ok(HoldChange::Refused(conversion));
        };
        let stored = state
            .ledger
            .conversions
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Conversion))?;
        stored.held_at = None;
        stored.voided_at = Some(at);
        let stored = stored.clone();
        state.append(voided);
        Ok(HoldChange::Changed(stored))
    }

    async fn hold_counts(&self) -> RepoResult<HoldCounts> {
        let state = self.lock();
        let conversions = || state.ledger.conversions.values();
        let held = || conversions().filter(|c| c.is_held());
        Ok(HoldCounts {
            held: held().count() as i64,
            held_by_reason: HoldReason::ALL
                .into_iter()
                .map(|r| {
                    (
                        r,
                        held().filter(|c| c.hold_reasons.contains(&r)).count() as i64,
                    )
                })
                .collect(),
            voided: conversions().filter(|c| c.voided_at.is_some()).count() as i64,
            signals: FraudSignal::ALL
                .into_iter()
                .map(|s| {
                    (
                        s,
                        conversions().filter(|c| c.signals.contains(&s)).count() as i64,
                    )
                })
                .collect(),
        })
    }

    async fn max_order_amount(&self, merchant: MerchantId) -> RepoResult<MaxOrderAmount> {
        let state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(state
            .ledger
            .max_order_amounts
            .get(&merchant)
            .copied()
            .unwrap_or_default())
    }

    async fn set_max_order_amount(
        &self,
        merchant: MerchantId,
        max: MaxOrderAmount,
    ) -> RepoResult<()> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        state.ledger.max_order_amounts.insert(merchant, max);
        Ok(())
    }
}

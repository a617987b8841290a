//! The in-memory store's webhook deliveries.

use super::MemoryStore;
use crate::domain::*;
use crate::store::{Entity, Page, RepoError, RepoResult, WebhookDeliveries};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};

/// Deliveries by id, and the unique (merchant, webhook id) index the schema also has.
#[derive(Default)]
pub(super) struct DeliveryState {
    deliveries: BTreeMap<DeliveryId, WebhookDelivery>,
    by_webhook_id: HashMap<(MerchantId, WebhookId), DeliveryId>,
}

impl DeliveryState {
    /// Deletes the merchant's deliveries (they go with their merchant, as in the schema).
    pub(super) fn remove_merchant(&mut self, merchant: MerchantId) {
        self.deliveries.retain(|_, d| d.merchant_id != merchant);
        self.by_webhook_id.retain(|(m, _), _| *m != merchant);
    }
}

#[async_trait]
impl WebhookDeliveries for MemoryStore {
    async fn record_delivery(&self, delivery: WebhookDelivery) -> RepoResult<DeliveryInsert> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&delivery.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        let kept = &mut state.webhook_deliveries;
        if let Some(webhook_id) = &delivery.webhook_id {
            let key = (delivery.merchant_id, webhook_id.clone());
            if let Some(existing) = kept.by_webhook_id.get(&key) {
                if let Some(existing) = kept.deliveries.get(existing) {
                    return Ok(DeliveryInsert::Existing(existing.clone()));
                }
            }
            kept.by_webhook_id.insert(key, delivery.id);
        }
        kept.deliveries.insert(delivery.id, delivery.clone());
        Ok(DeliveryInsert::Inserted(delivery))
    }

    async fn delivery_by_webhook_id(
        &self,
        merchant: MerchantId,
        id: &WebhookId,
    ) -> RepoResult<Option<WebhookDelivery>> {
        let state = self.lock();
        let kept = &state.webhook_deliveries;
        Ok(kept
            .by_webhook_id
            .get(&(merchant, id.clone()))
            .and_then(|id| kept.deliveries.get(id))
            .cloned())
    }

    async fn rejected_deliveries(
        &self,
        merchant: MerchantId,
        page: Page<DeliveryId>,
    ) -> RepoResult<Vec<WebhookDelivery>> {
        let state = self.lock();
        Ok(state
            .webhook_deliveries
            .deliveries
            .values()
            .rev()
            .filter(|d| d.merchant_id == merchant && d.rejection.is_some())
            .filter(|d| page.after.is_none_or(|after| d.id < after))
            .take(page.limit() as usize)
            .cloned()
            .collect())
    }
}

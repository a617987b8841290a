//! Merchants' Shopify webhook secrets, the current one and the one it replaced.

use super::*;

#[async_trait]
impl WebhookSecrets for MemoryStore {
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>> {
        let state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(state.ledger.webhook_secrets.get(&merchant).cloned())
    }

    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        match secret {
            Some(secret) => state.ledger.webhook_secrets.insert(merchant, secret),
            None => state.ledger.webhook_secrets.remove(&merchant),
        };
        state.ledger.previous_webhook_secrets.remove(&merchant);
        Ok(())
    }

    async fn previous_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
    ) -> RepoResult<Option<RotatedSecret>> {
        let state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(state
            .ledger
            .previous_webhook_secrets
            .get(&merchant)
            .cloned())
    }

    async fn replace_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        current: Secret,
        previous: Option<RotatedSecret>,
    ) -> RepoResult<()> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&merchant) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        state.ledger.webhook_secrets.insert(merchant, current);
        match previous {
            Some(previous) => state
                .ledger
                .previous_webhook_secrets
                .insert(merchant, previous),
            None => state.ledger.previous_webhook_secrets.remove(&merchant),
        };
        Ok(())
    }
}

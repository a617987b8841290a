//! Merchants' Shopify webhook secrets.

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
        Ok(())
    }
}

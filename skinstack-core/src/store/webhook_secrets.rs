//! Merchants' Shopify webhook secrets.

use crate::domain::{MerchantId, Secret};
use crate::store::RepoResult;
use async_trait::async_trait;

/// Merchants' Shopify webhook secrets (stored encrypted where the store encrypts).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookSecrets: Send + Sync {
    /// The merchant's secret, if set (`NotFound(Merchant)` if missing).
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>>;
    /// Sets or clears the merchant's secret.
    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()>;
}

//! Merchants' Shopify webhook secrets.

use crate::domain::{MerchantId, RotatedSecret, Secret};
use crate::store::RepoResult;
use async_trait::async_trait;

/// Merchants' Shopify webhook secrets (stored encrypted where the store encrypts).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookSecrets: Send + Sync {
    /// The merchant's secret, if set (`NotFound(Merchant)` if missing).
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>>;
    /// Sets or clears the merchant's secret, and forgets the previous one: from now only
    /// `secret` signs.
    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()>;
    /// The secret the current one replaced, with when, if kept (`NotFound(Merchant)` if
    /// missing). Whether it still signs is [`RotatedSecret::accepted_at`]'s rule.
    async fn previous_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
    ) -> RepoResult<Option<RotatedSecret>>;
    /// Stores `current` as the merchant's secret and `previous` (or none) as the one it
    /// replaced, in one write.
    async fn replace_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        current: Secret,
        previous: Option<RotatedSecret>,
    ) -> RepoResult<()>;
}

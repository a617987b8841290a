//! Merchants' API keys.

use crate::auth::TokenHash;
use crate::domain::{ApiKeyId, ApiKeyInfo, MerchantId, NewApiKey};
use crate::store::RepoResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Merchants' API keys, kept by the SHA-256 of the key.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a key; `NotFound(Merchant)` if the merchant does not exist.
    async fn create_api_key(&self, key: NewApiKey) -> RepoResult<ApiKeyInfo>;
    /// The merchant's keys, revoked ones included, oldest first.
    async fn api_keys_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<ApiKeyInfo>>;
    /// Revokes the merchant's key `id` at `at` (a key revoked before keeps its first
    /// `revoked_at`) and returns it; `NotFound(ApiKey)` if the merchant has no such key.
    async fn revoke_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> RepoResult<ApiKeyInfo>;
    /// The unrevoked key with this hash, if any.
    async fn active_api_key(&self, hash: &TokenHash) -> RepoResult<Option<ApiKeyInfo>>;
    /// Sets the key's `last_used_at` to `at` unless it is already later.
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> RepoResult<()>;
}

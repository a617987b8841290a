//! The in-memory store's merchant API keys.

use super::MemoryStore;
use crate::auth::TokenHash;
use crate::domain::MerchantId;
use crate::domain::{ApiKeyId, ApiKeyInfo, NewApiKey};
use crate::store::ApiKeyRepo;
use crate::store::{Entity, RepoError, RepoResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A key as kept: its description and its hash.
pub(super) struct StoredKey {
    pub(super) info: ApiKeyInfo,
    hash: TokenHash,
}

/// Two generated keys never share a hash; the database's unique constraint says the same.
#[derive(Debug, thiserror::Error)]
#[error("an API key with this hash is already stored")]
struct DuplicateKeyHash;

#[async_trait]
impl ApiKeyRepo for MemoryStore {
    async fn create_api_key(&self, new: NewApiKey) -> RepoResult<ApiKeyInfo> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&new.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        if state.api_keys.values().any(|k| k.hash == new.key_hash) {
            return Err(RepoError::Backend(Box::new(DuplicateKeyHash)));
        }
        let info = ApiKeyInfo {
            id: new.id,
            merchant_id: new.merchant_id,
            name: new.name,
            prefix: new.prefix,
            created_at: new.created_at,
            last_used_at: None,
            revoked_at: None,
        };
        state.api_keys.insert(
            info.id,
            StoredKey {
                info: info.clone(),
                hash: new.key_hash,
            },
        );
        Ok(info)
    }

    async fn api_keys_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<ApiKeyInfo>> {
        let state = self.lock();
        let mut keys: Vec<ApiKeyInfo> = state
            .api_keys
            .values()
            .filter(|k| k.info.merchant_id == merchant)
            .map(|k| k.info.clone())
            .collect();
        keys.sort_by_key(|k| k.id);
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> RepoResult<ApiKeyInfo> {
        let mut state = self.lock();
        let key = state
            .api_keys
            .get_mut(&id)
            .filter(|k| k.info.merchant_id == merchant)
            .ok_or(RepoError::NotFound(Entity::ApiKey))?;
        key.info.revoked_at.get_or_insert(at);
        Ok(key.info.clone())
    }

    async fn active_api_key(&self, hash: &TokenHash) -> RepoResult<Option<ApiKeyInfo>> {
        let state = self.lock();
        Ok(state
            .api_keys
            .values()
            .find(|k| &k.hash == hash && k.info.revoked_at.is_none())
            .map(|k| k.info.clone()))
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> RepoResult<()> {
        let mut state = self.lock();
        if let Some(key) = state.api_keys.get_mut(&id) {
            if key.info.last_used_at.is_none_or(|used| used < at) {
                key.info.last_used_at = Some(at);
            }
        }
        Ok(())
    }
}

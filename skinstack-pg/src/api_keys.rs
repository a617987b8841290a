//! `merchant_api_keys`: merchants' API keys by the SHA-256 of the key.

use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::auth::TokenHash;
use skinstack_core::domain::{ApiKeyId, ApiKeyInfo, NewApiKey};
use skinstack_core::store::ApiKeyRepo;
use skinstack_core::store::RepoResult;
use skinstack_core::{Entity, MerchantId, Name, RepoError};
use uuid::Uuid;

const COLUMNS: &str = "id, merchant_id, name, prefix, created_at, last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    merchant_id: Uuid,
    name: String,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for ApiKeyInfo {
    type Error = RepoError;

    fn try_from(row: KeyRow) -> RepoResult<ApiKeyInfo> {
        let p = RowParser::new("merchant_api_keys", row.id);
        Ok(ApiKeyInfo {
            id: ApiKeyId::from_uuid(row.id),
            merchant_id: MerchantId::from_uuid(row.merchant_id),
            name: p.field("name", Name::parse(&row.name))?,
            prefix: row.prefix,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[async_trait]
impl ApiKeyRepo for PgStore {
    async fn create_api_key(&self, new: NewApiKey) -> RepoResult<ApiKeyInfo> {
        let row: KeyRow = sqlx::query_as(&format!(
            "INSERT INTO merchant_api_keys (id, merchant_id, name, prefix, key_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(new.id.as_uuid())
        .bind(new.merchant_id.as_uuid())
        .bind(new.name.as_str())
        .bind(&new.prefix)
        .bind(&new.key_hash.as_bytes()[..])
        .bind(new.created_at)
        .fetch_one(&self.pool)
        .await
        .repo()?;
        row.try_into()
    }

    async fn api_keys_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<ApiKeyInfo>> {
        let rows: Vec<KeyRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM merchant_api_keys WHERE merchant_id = $1 ORDER BY id"
        ))
        .bind(merchant.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn revoke_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> RepoResult<ApiKeyInfo> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "UPDATE merchant_api_keys SET revoked_at = COALESCE(revoked_at, $3) \
             WHERE id = $1 AND merchant_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(merchant.as_uuid())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.ok_or(RepoError::NotFound(Entity::ApiKey))?.try_into()
    }

    async fn active_api_key(&self, hash: &TokenHash) -> RepoResult<Option<ApiKeyInfo>> {
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM merchant_api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(&hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        row.map(TryInto::try_into).transpose()
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> RepoResult<()> {
        sqlx::query(
            "UPDATE merchant_api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(id.as_uuid())
        .bind(at)
        .execute(&self.pool)
        .await
        .repo()?;
        Ok(())
    }
}

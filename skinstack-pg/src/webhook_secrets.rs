//! Merchants' Shopify webhook secrets, kept encrypted like their other credentials.

use crate::error::SqlxResultExt;
use crate::merchants::SECRET_COLUMNS;
use crate::PgStore;
use async_trait::async_trait;
use skinstack_core::store::{RepoResult, WebhookSecrets};
use skinstack_core::{Entity, MerchantId, RepoError, Secret};

#[async_trait]
impl WebhookSecrets for PgStore {
    async fn shopify_webhook_secret(&self, merchant: MerchantId) -> RepoResult<Option<Secret>> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT shopify_webhook_secret FROM merchants WHERE id = $1")
                .bind(merchant.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .repo()?;
        let stored = row.ok_or(RepoError::NotFound(Entity::Merchant))?;
        self.open(SECRET_COLUMNS[2], merchant, stored)
    }

    async fn set_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        secret: Option<Secret>,
    ) -> RepoResult<()> {
        let sealed = self.seal(SECRET_COLUMNS[2], merchant, secret.as_ref())?;
        let updated = sqlx::query("UPDATE merchants SET shopify_webhook_secret = $2 WHERE id = $1")
            .bind(merchant.as_uuid())
            .bind(sealed)
            .execute(&self.pool)
            .await
            .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }
}

//! Merchants' Shopify webhook secrets, the current one and the one it replaced, kept encrypted
//! like their other credentials.

use crate::error::SqlxResultExt;
use crate::merchants::SECRET_COLUMNS;
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use skinstack_core::store::{RepoResult, WebhookSecrets};
use skinstack_core::{Entity, MerchantId, RepoError, RotatedSecret, Secret};

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
        let updated = sqlx::query(
            "UPDATE merchants SET shopify_webhook_secret = $2, \
             shopify_webhook_previous_secret = NULL, shopify_webhook_secret_rotated_at = NULL \
             WHERE id = $1",
        )
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

    async fn previous_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
    ) -> RepoResult<Option<RotatedSecret>> {
        let row: Option<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT shopify_webhook_previous_secret, shopify_webhook_secret_rotated_at \
             FROM merchants WHERE id = $1",
        )
        .bind(merchant.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        let (stored, rotated_at) = row.ok_or(RepoError::NotFound(Entity::Merchant))?;
        let secret = self.open(SECRET_COLUMNS[3], merchant, stored)?;
        // The schema's CHECK keeps the two columns set together.
        Ok(secret
            .zip(rotated_at)
            .map(|(secret, rotated_at)| RotatedSecret { secret, rotated_at }))
    }

    async fn replace_shopify_webhook_secret(
        &self,
        merchant: MerchantId,
        current: Secret,
        previous: Option<RotatedSecret>,
    ) -> RepoResult<()> {
        let sealed = self.seal(SECRET_COLUMNS[2], merchant, Some(&current))?;
        let sealed_previous = self.seal(
            SECRET_COLUMNS[3],
            merchant,
            previous.as_ref().map(|p| &p.secret),
        )?;
        let updated = sqlx::query(
            "UPDATE merchants SET shopify_webhook_secret = $2, \
             shopify_webhook_previous_secret = $3, shopify_webhook_secret_rotated_at = $4 \
             WHERE id = $1",
        )
        .bind(merchant.as_uuid())
        .bind(sealed)
        .bind(sealed_previous)
        .bind(previous.map(|p| p.rotated_at))
        .execute(&self.pool)
        .await
        .repo()?;
        if updated.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }
}

//! `merchants`: brands, with their integration credentials encrypted at rest.

use crate::crypto::SecretError;
use crate::error::{RowParser, SqlxResultExt};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use skinstack_core::store::{MerchantRepo, RepoResult};
use skinstack_core::{
    Currency, Entity, Merchant, MerchantId, MerchantPatch, Name, NewMerchant, RepoError, Secret,
    ShopifyDomain, SiteUrl, UserId, Verification,
};
use uuid::Uuid;

/// The columns holding ciphertext, in the order [`crate::PgStore::check_secrets`] tries them.
pub(crate) const SECRET_COLUMNS: [&str; 4] = [
    "shopify_api_key",
    "refersion_secret_key",
    "shopify_webhook_secret",
    "shopify_webhook_previous_secret",
];

/// The columns a `MerchantRow` reads; the seed's totals are nullable with DEFAULT 0.
macro_rules! columns {
    () => {
        "id, user_id, business_name, website_url, shopify_shop_domain, shopify_api_key, \
         refersion_public_key, refersion_secret_key, currency, \
         COALESCE(total_sales, 0) AS total_sales, \
         COALESCE(total_commissions_paid, 0) AS total_commissions_paid, \
         is_active, verified_at, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct MerchantRow {
    id: Uuid,
    user_id: Option<Uuid>,
    business_name: String,
    website_url: String,
    shopify_shop_domain: Option<String>,
    shopify_api_key: Option<String>,
    refersion_public_key: Option<String>,
    refersion_secret_key: Option<String>,
    currency: String,
    total_sales: Decimal,
    total_commissions_paid: Decimal,
    is_active: bool,
    verified_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PgStore {
    fn merchant_from_row(&self, row: MerchantRow) -> RepoResult<Merchant> {
        let p = RowParser::new("merchants", row.id);
        let id = MerchantId::from_uuid(row.id);
        Ok(Merchant {
            id,
            user_id: row.user_id.map(UserId::from_uuid),
            business_name: p.field("business_name", Name::parse(&row.business_name))?,
            website_url: p.field("website_url", SiteUrl::parse(&row.website_url))?,
            shopify_shop_domain: p.optional(
                "shopify_shop_domain",
                row.shopify_shop_domain.as_deref(),
                ShopifyDomain::parse,
            )?,
            shopify_api_key: self.open(SECRET_COLUMNS[0], id, row.shopify_api_key)?,
            refersion_public_key: p.optional(
                "refersion_public_key",
                row.refersion_public_key.as_deref(),
                Name::parse,
            )?,
            refersion_secret_key: self.open(SECRET_COLUMNS[1], id, row.refersion_secret_key)?,
            currency: p.field("currency", Currency::parse(&row.currency))?,
            total_sales: row.total_sales,
            total_commissions_paid: row.total_commissions_paid,
            is_active: row.is_active,
            verification: Verification::from_verified_at(row.verified_at),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    fn found_merchant(&self, row: Option<MerchantRow>) -> RepoResult<Merchant> {
        self.merchant_from_row(row.ok_or(RepoError::NotFound(Entity::Merchant))?)
    }

    /// Encrypts a credential for its column and row; refused without a key.
    pub(crate) fn seal(
        &self,
        column: &'static str,
        merchant: MerchantId,
        secret: Option<&Secret>,
    ) -> RepoResult<Option<String>> {
        secret
            .map(|s| Ok(self.cipher()?.encrypt(column, merchant, s)))
            .transpose()
            .map_err(secret_error)
    }

    /// Decrypts a stored credential; the error never contains the value.
    pub(crate) fn open(
        &self,
        column: &'static str,
        merchant: MerchantId,
        stored: Option<String>,
    ) -> RepoResult<Option<Secret>> {
        stored
            .map(|s| self.cipher()?.decrypt(column, merchant, &s))
            .transpose()
            .map_err(secret_error)
    }
}

/// A credential that cannot be sealed or opened is a failure of the store's configuration or
/// of its data, not of the caller's input.
fn secret_error(err: SecretError) -> RepoError {
    RepoError::Backend(Box::new(err))
}

#[async_trait]
impl MerchantRepo for PgStore {
    async fn create_merchant(&self, new: NewMerchant) -> RepoResult<Merchant> {
        // The id is chosen here because it is part of each credential's associated data.
        let id = MerchantId::new();
        let shopify_api_key = self.seal(SECRET_COLUMNS[0], id, new.shopify_api_key.as_ref())?;
        let refersion_secret_key =
            self.seal(SECRET_COLUMNS[1], id, new.refersion_secret_key.as_ref())?;
        let row = sqlx::query_as(concat!(
            "INSERT INTO merchants (id, user_id, business_name, website_url, shopify_shop_domain, \
             shopify_api_key, refersion_public_key, refersion_secret_key, currency) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(new.user_id.map(|u| u.as_uuid()))
        .bind(new.business_name.as_str())
        .bind(new.website_url.as_str())
        .bind(new.shopify_shop_domain.as_ref().map(ShopifyDomain::as_str))
        .bind(shopify_api_key)
        .bind(new.refersion_public_key.as_ref().map(Name::as_str))
        .bind(refersion_secret_key)
        .bind(new.currency.as_str())
        .fetch_one(&self.pool)
        .await
        .repo()?;
        self.merchant_from_row(row)
    }

    async fn merchant_by_id(&self, id: MerchantId) -> RepoResult<Merchant> {
        let row = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM merchants WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        self.found_merchant(row)
    }

    async fn merchants_by_user(&self, user: UserId) -> RepoResult<Vec<Merchant>> {
        let rows: Vec<MerchantRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM merchants WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await
        .repo()?;
        rows.into_iter()
            .map(|row| self.merchant_from_row(row))
            .collect()
    }

    async fn set_merchant_active(&self, id: MerchantId, active: bool) -> RepoResult<Merchant> {
        let row = sqlx::query_as(concat!(
            "UPDATE merchants SET is_active = $2 WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(active)
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        self.found_merchant(row)
    }

    async fn delete_merchant(&self, id: MerchantId) -> RepoResult<()> {
        // Programs and products go by ON DELETE CASCADE, their links with the programs.
        let deleted = sqlx::query("DELETE FROM merchants WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .repo()?;
        if deleted.rows_affected() == 0 {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        Ok(())
    }

    async fn update_merchant(&self, id: MerchantId, patch: MerchantPatch) -> RepoResult<Merchant> {
        // Credentials are sealed for this row before the statement; a cleared one is NULL.
        let seal =
            |column, secret: &Option<Option<Secret>>| -> RepoResult<(bool, Option<String>)> {
                match secret {
                    None => Ok((false, None)),
                    Some(value) => Ok((true, self.seal(column, id, value.as_ref())?)),
                }
            };
        let (api_key_set, api_key) = seal(SECRET_COLUMNS[0], &patch.shopify_api_key)?;
        let (secret_set, secret) = seal(SECRET_COLUMNS[1], &patch.refersion_secret_key)?;
        let domain = patch.shopify_shop_domain.as_ref();
        let public_key = patch.refersion_public_key.as_ref();
        // The verification after the patch is core's rule on the row as it is; the row is
        // locked from reading it to writing the result, so a concurrent change of website
        // cannot slip between.
        let mut tx = self.pool.begin().await.repo()?;
        if patch.currency.is_some() {
            // Waits for every conversion insert in flight and holds new ones back until this
            // commits: each insert checks the currency after its INSERT took ROW EXCLUSIVE.
            // Taken before the merchant row, so that an insert waiting here holds no row of it.
            sqlx::query("LOCK TABLE conversions IN SHARE MODE")
                .execute(&mut *tx)
                .await
                .repo()?;
        }
        let current: Option<(Uuid, String, Option<DateTime<Utc>>, String)> = sqlx::query_as(
            "SELECT id, website_url, verified_at, currency FROM merchants WHERE id = $1 FOR UPDATE",
        )
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .repo()?;
        let (row_id, site, verified_at, currency) =
            current.ok_or(RepoError::NotFound(Entity::Merchant))?;
        // The SHARE lock waited for every conversion insert in flight to commit, so this
        // statement (a new snapshot) sees every order recorded under the old currency.
        if patch.currency.is_some_and(|c| c.as_str() != currency) {
            let recorded: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM conversions WHERE merchant_id = $1)",
            )
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .repo()?;
            if recorded {
                return Err(RepoError::CurrencyLocked);
            }
        }
        let site =
            RowParser::new("merchants", row_id).field("website_url", SiteUrl::parse(&site))?;
        let verification =
            patch.verification_after(&site, Verification::from_verified_at(verified_at));
        let row = sqlx::query_as(concat!(
            "UPDATE merchants SET \
             business_name = COALESCE($2, business_name), \
             website_url = COALESCE($3, website_url), \
             shopify_shop_domain = CASE WHEN $4 THEN $5 ELSE shopify_shop_domain END, \
             shopify_api_key = CASE WHEN $6 THEN $7 ELSE shopify_api_key END, \
             refersion_public_key = CASE WHEN $8 THEN $9 ELSE refersion_public_key END, \
             refersion_secret_key = CASE WHEN $10 THEN $11 ELSE refersion_secret_key END, \
             verified_at = $12, \
             currency = COALESCE($13, currency) \
             WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(patch.business_name.as_ref().map(Name::as_str))
        .bind(patch.website_url.as_ref().map(SiteUrl::as_str))
        .bind(domain.is_some())
        .bind(domain.and_then(|d| d.as_ref().map(ShopifyDomain::as_str)))
        .bind(api_key_set)
        .bind(api_key)
        .bind(public_key.is_some())
        .bind(public_key.and_then(|k| k.as_ref().map(Name::as_str)))
        .bind(secret_set)
        .bind(secret)
        .bind(verification.verified_at())
        .bind(patch.currency.as_ref().map(Currency::as_str))
        .fetch_optional(&mut *tx)
        .await
        .repo()?;
        tx.commit().await.repo()?;
        self.found_merchant(row)
    }

    async fn set_merchant_verification(
        &self,
        id: MerchantId,
        verification: Verification,
    ) -> RepoResult<Merchant> {
        let row = sqlx::query_as(concat!(
            "UPDATE merchants SET verified_at = $2 WHERE id = $1 RETURNING ",
            columns!()
        ))
        .bind(id.as_uuid())
        .bind(verification.verified_at())
        .fetch_optional(&self.pool)
        .await
        .repo()?;
        self.found_merchant(row)
    }
}

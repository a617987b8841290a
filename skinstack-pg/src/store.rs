//! [`PgStore`]: the pool and the credential cipher every repository shares.

use crate::crypto::{Cipher, SecretError};
use crate::error::SqlxResultExt;
use crate::merchants::SECRET_COLUMNS;
use async_trait::async_trait;
use skinstack_core::store::{Health, RepoResult};
use skinstack_core::MerchantId;
use skinstack_core::RepoError;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The PostgreSQL store: implements every repository trait of `skinstack-core` over a
/// migrated database (see [`crate::MIGRATOR`]). Cloning it gives another handle to the same
/// pool.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) cipher: Option<Arc<Cipher>>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
            .field("cipher", &self.cipher.as_ref().map(|_| "configured"))
            .finish()
    }
}

/// Why a store refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be reached or queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database holds encrypted merchant credentials but no key was configured.
    #[error("the database holds encrypted merchant credentials but no secret key is configured (set SKINSTACK_SECRET_KEY)")]
    SecretsWithoutKey,
    /// A stored credential does not decrypt with the configured key.
    #[error("the configured secret key does not decrypt the stored credentials: {0}")]
    WrongKey(#[source] SecretError),
}

impl PgStore {
    /// A store over `pool`. Without a `cipher` the store works for everything except merchants'
    /// credentials: writing or reading one fails with [`SecretError::NoKey`].
    pub fn new(pool: PgPool, cipher: Option<Cipher>) -> Self {
        Self {
            pool,
            cipher: cipher.map(Arc::new),
        }
    }

    /// Connects to `database_url` (giving up after 5 seconds) and checks the stored
    /// credentials against `cipher` with [`PgStore::check_secrets`]. The schema must be
    /// migrated already.
    pub async fn connect_checked(
        database_url: &str,
        cipher: Option<Cipher>,
    ) -> Result<Self, StartupError> {
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .connect(database_url)
            .await?;
        let store = Self::new(pool, cipher);
        store.check_secrets().await?;
        Ok(store)
    }

    /// Refuses to go on if the database holds encrypted credentials that this store cannot
    /// read: none are readable without a key, and one stored value is tried with the key so a
    /// wrong key is found at start-up rather than on the first webhook.
    pub async fn check_secrets(&self) -> Result<(), StartupError> {
        let row = sqlx::query(
            "SELECT id, shopify_api_key, refersion_secret_key, shopify_webhook_secret, \
             shopify_webhook_previous_secret FROM merchants \
             WHERE shopify_api_key IS NOT NULL OR refersion_secret_key IS NOT NULL \
             OR shopify_webhook_secret IS NOT NULL OR shopify_webhook_previous_secret IS NOT NULL \
             LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(()) };
        let Some(cipher) = &self.cipher else {
            return Err(StartupError::SecretsWithoutKey);
        };
        let merchant = MerchantId::from_uuid(row.try_get("id")?);
        for column in SECRET_COLUMNS {
            if let Some(stored) = row.try_get::<Option<String>, _>(column)? {
                cipher
                    .decrypt(column, merchant, &stored)
                    .map_err(StartupError::WrongKey)?;
            }
        }
        Ok(())
    }

    /// The connection pool, for an embedding service's own queries and for
    /// `MIGRATOR.run(store.pool())`.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn cipher(&self) -> Result<&Cipher, SecretError> {
        self.cipher.as_deref().ok_or(SecretError::NoKey)
    }
}

/// The schema is older or newer than this build's migrations.
#[derive(Debug, thiserror::Error)]
#[error("the database schema is at migration {found:?}, this build expects {expected}")]
struct SchemaMismatch {
    found: Option<i64>,
    expected: i64,
}

#[async_trait]
impl Health for PgStore {
    /// Reachable, and every migration this build carries applied successfully (and none newer):
    /// a server started before `migrate up` finished is not ready.
    async fn check(&self) -> RepoResult<()> {
        let expected = crate::MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        let (latest, failed): (Option<i64>, bool) = sqlx::query_as(
            "SELECT MAX(version), COALESCE(bool_or(NOT success), false) FROM _sqlx_migrations",
        )
        .fetch_one(&self.pool)
        .await
        .repo()?;
        if latest != Some(expected) || failed {
            return Err(RepoError::Backend(Box::new(SchemaMismatch {
                found: latest,
                expected,
            })));
        }
        Ok(())
    }
}

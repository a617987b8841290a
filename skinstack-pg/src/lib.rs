//! PostgreSQL storage for SkinStack, on `sqlx`.
//!
//! Its modules mirror `skinstack-core`'s `store/` file for file (`users`, `sessions`, `links`,
//! `clicks`, `conversions`, `payouts`, ...): the SQL behind a trait sits in the file of the
//! trait's name. Database errors become core errors in one place (`error.rs`).
//!
//! - [`MIGRATOR`]: the schema (the workspace's `migrations/`, reversible, applied in order).
//! - [`PgStore`]: implements every repository trait of `skinstack-core` with the same
//!   semantics as its in-memory store (both run the core's contract suite); uniqueness and
//!   cascades come from the schema's constraints and `ON DELETE` rules.
//! - The redirect path: `PgStore` is a [`LinkResolver`](skinstack_core::LinkResolver) (one
//!   indexed query per slug) and a [`ClickSink`](skinstack_core::ClickSink) (one statement per
//!   batch, idempotent by click id); [`ChangeListener`] keeps every process's link cache fresh.
//! - Clicks are partitioned by UTC month (migration 0028): [`PgStore::ensure_click_partitions`]
//!   keeps months ready ([`PartitionMaintenance`] daily), [`PgStore::prune_clicks`] drops old
//!   months; statistics read the daily roll-ups the batch statement keeps (migration 0029).
//! - The commission ledger: `PgStore` implements the core's `ConversionRepo`, `PayoutRepo`,
//!   `LedgerQueries` and `WebhookSecrets`; every event and the totals it changes commit in one
//!   transaction, and unique constraints make orders, refunds and payouts idempotent.
//! - Merchant statements (invoices, `StatementRepo`): issued by core's billing rule in the
//!   transaction that stores them, one per merchant, month and currency; immutable (triggers).
//! - Merchants' API keys (`ApiKeyRepo`): stored by SHA-256, found by a unique index on it.
//! - Coupon codes (`CouponCodeRepo`): unique per merchant in any case by a partial unique index
//!   on `upper(code)`, so concurrent claims of one code store one.
//! - Shopify deliveries acknowledged for good (`WebhookDeliveries`): unique per merchant by
//!   webhook id, decided by a unique constraint.
//! - [`Cipher`]: merchants' integration credentials are stored AES-256-GCM encrypted, bound to
//!   their row and column.
//!
//! ```no_run
//! use skinstack_pg::{Cipher, PgStore, MIGRATOR};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/skinstack").await?;
//! MIGRATOR.run(&pool).await?;
//! let store = PgStore::new(pool, Some(Cipher::from_env()?));
//! // Refuse to start if stored credentials cannot be read with this key.
//! store.check_secrets().await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api_keys;
mod change_feed;
mod clicks;
mod conversions;
mod coupon_codes;
mod crypto;
mod error;
mod holds;
mod influencers;
mod invoices;
mod links;
mod memberships;
mod merchants;
mod partitions;
mod payouts;
mod products;
mod programs;
mod schedule;
mod sessions;
mod store;
mod users;
mod webhook_deliveries;
mod webhook_secrets;

pub use change_feed::{ChangeListener, CHANNEL as LINK_CHANGES_CHANNEL};
pub use clicks::{ClickTotalFolding, FOLD_DAYS_BACK};
pub use crypto::{Cipher, KeyError, SecretError, SECRET_KEY_VAR};
pub use partitions::{PartitionMaintenance, PrunedClicks, MAINTENANCE_INTERVAL, MONTHS_AHEAD};
pub use store::{PgStore, StartupError};

/// The schema's migrations, embedded at build time: `skinstack_pg::MIGRATOR.run(&pool)`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

//! The clicks table's monthly partitions (migration 0028): created ahead of the clicks that
//! need them, and dropped whole when raw clicks age out.
//!
//! The SQL functions live in the migration so every process and `psql` use one definition;
//! this module is when to call them. A server calls [`PgStore::ensure_click_partitions`] at
//! start and then daily ([`PartitionMaintenance`]): with [`MONTHS_AHEAD`] months created in
//! advance, a month's partition exists weeks before its first click, and a server stopped for
//! longer still stores every click, in `clicks_default`, until the next maintenance moves them.

use crate::error::SqlxResultExt;
use crate::schedule::Schedule;
use crate::PgStore;
use chrono::{DateTime, Utc};
use skinstack_core::store::RepoResult;
use skinstack_core::tracking::retention::Retention;
use std::time::Duration;

/// Months after the current one whose partitions are kept ready.
pub const MONTHS_AHEAD: u32 = 2;

/// How often a running server checks its partitions.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// How soon a failed check is tried again (the database may be restarting).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5 * 60);

/// What [`PgStore::prune_clicks`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedClicks {
    /// Raw clicks before this instant are gone (a UTC month start).
    pub cutoff: DateTime<Utc>,
    /// The monthly partitions dropped, oldest first (`clicks_YYYY_MM`).
    pub partitions: Vec<String>,
}

impl PgStore {
    /// Creates the partitions of the current UTC month and the [`MONTHS_AHEAD`] after it, and
    /// of any month whose clicks landed in the default partition (moving them there). Safe to
    /// run at any time from any number of processes; returns how many partitions it created.
    pub async fn ensure_click_partitions(&self) -> RepoResult<u32> {
        let created: i32 = sqlx::query_scalar("SELECT skinstack_ensure_click_partitions($1)")
            .bind(i32::try_from(MONTHS_AHEAD).unwrap_or(i32::MAX))
            .fetch_one(&self.pool)
            .await
            .repo()?;
        Ok(u32::try_from(created).unwrap_or_default())
    }

    /// Drops the raw clicks older than `retention` allows at `now`, a whole monthly partition
    /// at a time (and the default partition's rows before the cutoff). Roll-ups, conversions,
    /// their attributions and the ledger are kept: none of them references a raw click.
    pub async fn prune_clicks(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> RepoResult<PrunedClicks> {
        let cutoff = retention.cutoff(now);
        let partitions: Vec<String> =
            sqlx::query_scalar("SELECT * FROM skinstack_drop_click_partitions($1)")
                .bind(cutoff)
                .fetch_all(&self.pool)
                .await
                .repo()?;
        Ok(PrunedClicks { cutoff, partitions })
    }
}

/// A running partition check: every [`MAINTENANCE_INTERVAL`], sooner again after a failure.
/// Dropping the handle does not stop it; [`PartitionMaintenance::stop`] does.
pub struct PartitionMaintenance {
    schedule: Schedule,
}

impl PartitionMaintenance {
    /// Checks `store`'s partitions every `interval`, the first time one `interval` from now
    /// (the caller checks once at start, where a failure can stop it).
    pub fn spawn(store: PgStore, interval: Duration) -> Self {
        let schedule = Schedule::spawn(interval, move || {
            let store = store.clone();
            async move {
                match store.ensure_click_partitions().await {
                    Ok(created) => {
                        if created > 0 {
                            tracing::info!(created, "click partitions created");
                        }
                        interval
                    }
                    Err(error) => {
                        tracing::warn!(%error, "click partitions not checked; retrying");
                        RETRY_AFTER_FAILURE.min(interval)
                    }
                }
            }
        });
        Self { schedule }
    }

    /// Waits until `count` checks have run since the start (passed or failed): lets a test
    /// observe the schedule without sleeping.
    pub async fn checked(&self, count: u64) {
        self.schedule.ran(count).await;
    }

    /// Stops the checks.
    pub fn stop(self) {
        self.schedule.stop();
    }
}

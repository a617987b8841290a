//! Where the click flusher writes, and the daily roll-ups it keeps alongside.

use crate::domain::{Click, LinkId};
use crate::store::RepoResult;
use crate::tracking::breakdown::{Dimension, Scope, ValueClicks};
use crate::tracking::rollup::DailyClicks;
use async_trait::async_trait;
use chrono::NaiveDate;

/// Where click batches go.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClickSink: Send + Sync + 'static {
    /// Stores `clicks` and adds each link's number of newly stored human (non-bot) clicks to its
    /// `total_clicks`, all in one transaction. Idempotent by click id: a click already stored
    /// is neither stored nor counted again, so a retried batch changes nothing twice. Each
    /// click is kept at [`Click::stored_at`], its id's own time.
    ///
    /// A store that keeps roll-ups ([`ClickRollups`]) adds the newly stored clicks to them in
    /// the same transaction, by the rule of [`crate::tracking::rollup`].
    ///
    /// A failure the same batch would meet again (a constraint or data error) must be
    /// [`ErrorClass::Permanent`](crate::store::ErrorClass::Permanent), so that the flusher
    /// isolates the refused clicks instead of retrying forever; an unreachable store must be
    /// [`ErrorClass::Transient`](crate::store::ErrorClass::Transient).
    async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()>;
}

/// The daily click roll-ups ([`crate::tracking::rollup`]): what statistics read, at a cost
/// that grows with days rather than clicks. They are kept when raw clicks are pruned, and go
/// with their link when it is deleted.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClickRollups: Send + Sync + 'static {
    /// The link's rows from `from` to `to` (inclusive, UTC days), oldest first; days without
    /// a stored click are left out, and so is everything when `to < from`.
    async fn daily_clicks(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyClicks>>;

    /// The scope's clicks from `from` to `to` (inclusive, UTC days) split by `dimension`, by
    /// the rule of [`crate::tracking::breakdown`]: one row per value with any click or robot
    /// hit, in no particular order, every click under exactly one value (so the rows sum to
    /// the scope's [`Self::daily_clicks`]); [`NONE`](crate::tracking::breakdown::NONE) holds
    /// the clicks that carried no value. Empty when `to < from`.
    async fn click_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueClicks>>;
}

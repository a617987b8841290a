//! Where the click flusher writes.

use crate::domain::Click;
use crate::store::RepoResult;
use async_trait::async_trait;

/// Where click batches go.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClickSink: Send + Sync + 'static {
    /// Stores `clicks` and adds each link's number of newly stored human (non-bot) clicks to its
    /// `total_clicks`, all in one transaction. Idempotent by click id: a click already stored
    /// is neither stored nor counted again, so a retried batch changes nothing twice.
    ///
    /// A failure the same batch would meet again (a constraint or data error) must be
    /// [`ErrorClass::Permanent`](crate::store::ErrorClass::Permanent), so that the flusher
    /// isolates the refused clicks instead of retrying forever; an unreachable store must be
    /// [`ErrorClass::Transient`](crate::store::ErrorClass::Transient).
    async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()>;
}

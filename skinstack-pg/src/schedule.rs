//! [`Schedule`]: a background job that a running server repeats (the partition check, the
//! click-total fold), counting its runs so tests can follow it without sleeping.

use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A job run after `first` and then after whatever wait each run returns. Dropping the handle
/// does not stop it; [`Schedule::stop`] does.
pub(crate) struct Schedule {
    task: JoinHandle<()>,
    runs: watch::Receiver<u64>,
}

impl Schedule {
    /// Runs `job` after `first`, then again after the wait each run returns, forever.
    pub(crate) fn spawn<F, Fut>(first: Duration, mut job: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Duration> + Send,
    {
        let (done, runs) = watch::channel(0);
        let task = tokio::spawn(async move {
            let mut wait = first;
            loop {
                tokio::time::sleep(wait).await;
                wait = job().await;
                done.send_modify(|n| *n += 1);
            }
        });
        Self { task, runs }
    }

    /// How many runs have finished (passed or failed).
    pub(crate) fn runs(&self) -> u64 {
        *self.runs.borrow()
    }

    /// Waits until `count` runs have finished since the start.
    pub(crate) async fn ran(&self, count: u64) {
        let mut runs = self.runs.clone();
        // The sender lives as long as the task; if it ended, there is nothing to wait for.
        let _ = runs.wait_for(|n| *n >= count).await;
    }

    /// Stops the job; a run in progress is abandoned.
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

//! Recording clicks off the request path: a bounded in-process buffer and a background flusher
//! that writes batches to a [`ClickSink`].
//!
//! Guarantees: a click accepted by [`ClickRecorder::record`] is written exactly once by the
//! flusher unless the process dies first (at most one buffer's worth is then lost). When the
//! buffer is full, `record` waits for room (counted in [`ClickMetrics::backpressure_waits`])
//! instead of dropping. When the sink fails, the flusher keeps the batch and retries with
//! exponential backoff; sinks are idempotent by click id, so a batch retried after an
//! ambiguous failure is not stored twice. [`ClickFlusher::shutdown`] drains everything.
//!
//! With a [`ClickJournal`] ([`ClickRecorder::start_journaled`]) a click is also appended to the
//! journal before `record` returns, and the journal is told once the sink has stored it; a
//! process killed with clicks in its buffer replays them from the journal when it starts again.

use crate::domain::Click;
use crate::store::ClickSink;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::sleep;

/// A local record of accepted clicks that outlives the process: [`ClickRecorder::record`]
/// appends every click before it returns (so before the redirect answers), and the flusher
/// hands back the click's ticket once the sink has stored it, so the journal can forget it.
/// Replaying what is left after a crash is the journal owner's job, at start-up, through the
/// same idempotent sink.
///
/// `append` runs on the request path of every click: it must be a short, non-blocking-in-
/// practice write (a page-cache `write(2)`), not an fsync.
pub trait ClickJournal: Send + Sync + 'static {
    /// Records `click`; the ticket identifies where, for [`ClickJournal::stored`].
    fn append(&self, click: &Click) -> Result<JournalTicket, JournalError>;

    /// The clicks appended under these tickets are stored by the sink (one call per batch).
    fn stored(&self, tickets: &[JournalTicket]);
}

/// Where a journal put a click (a segment number, say): opaque to the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JournalTicket(pub u64);

/// The journal could not record a click. The recorder still buffers it (the redirect is not
/// refused), counts it in [`ClickMetrics::journal_failures`] and logs it: that click has only
/// the guarantees of an unjournaled one.
#[derive(Debug, thiserror::Error)]
#[error("click journal: {0}")]
pub struct JournalError(#[from] pub std::io::Error);

/// Buffer and flush settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushConfig {
    /// Clicks the buffer holds before `record` waits for room.
    pub capacity: usize,
    /// Most clicks written in one batch.
    pub max_batch: usize,
    /// A non-empty buffer is flushed at least this often.
    pub interval: Duration,
    /// First retry delay after a failed flush; doubles up to `max_retry_delay`.
    pub min_retry_delay: Duration,
    /// Longest retry delay.
    pub max_retry_delay: Duration,
}

impl Default for FlushConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_batch: 2_000,
            interval: Duration::from_millis(250),
            min_retry_delay: Duration::from_millis(50),
            max_retry_delay: Duration::from_secs(2),
        }
    }
}

/// Counters describing the buffer and the flusher, for `/metrics`.
#[derive(Debug, Default)]
pub struct ClickMetrics {
    /// Clicks accepted into the buffer.
    pub enqueued: AtomicU64,
    /// Clicks written by the sink.
    pub flushed: AtomicU64,
    /// Times `record` found the buffer full and waited.
    pub backpressure_waits: AtomicU64,
    /// Batches written.
    pub batches: AtomicU64,
    /// Failed flush attempts (each retried).
    pub flush_failures: AtomicU64,
    /// Size of the last batch written.
    pub last_batch_size: AtomicU64,
    /// Milliseconds between the oldest click of the last batch and its commit.
    pub last_flush_lag_ms: AtomicU64,
    /// Clicks the journal failed to append (buffered all the same).
    pub journal_failures: AtomicU64,
}

impl ClickMetrics {
    /// Clicks accepted but not yet written.
    pub fn pending(&self) -> u64 {
        self.enqueued
            .load(Ordering::Relaxed)
            .saturating_sub(self.flushed.load(Ordering::Relaxed))
    }
}

/// The recorder was shut down; the click was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the click recorder has shut down")]
pub struct RecorderClosed;

/// The request-path handle: cheap to clone, pushes clicks into the buffer.
#[derive(Clone)]
pub struct ClickRecorder {
    tx: mpsc::Sender<Pending>,
    journal: Option<Arc<dyn ClickJournal>>,
    metrics: Arc<ClickMetrics>,
    batch_ready: Arc<Notify>,
    batch_size: usize,
}

/// A buffered click, with its journal ticket when it was journaled.
struct Pending {
    click: Click,
    ticket: Option<JournalTicket>,
}

impl ClickRecorder {
    /// Starts a flusher writing to `sink` on the current tokio runtime.
    pub fn start<S: ClickSink>(sink: S, config: FlushConfig) -> (ClickRecorder, ClickFlusher) {
        Self::start_with(sink, config, None)
    }

    /// As [`ClickRecorder::start`], appending every click to `journal` before `record` returns
    /// and telling it which clicks the sink stored.
    pub fn start_journaled<S: ClickSink>(
        sink: S,
        config: FlushConfig,
        journal: Arc<dyn ClickJournal>,
    ) -> (ClickRecorder, ClickFlusher) {
        Self::start_with(sink, config, Some(journal))
    }

    fn start_with<S: ClickSink>(
        sink: S,
        config: FlushConfig,
        journal: Option<Arc<dyn ClickJournal>>,
    ) -> (ClickRecorder, ClickFlusher) {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let (stop_tx, stop_rx) = oneshot::channel();
        let metrics = Arc::new(ClickMetrics::default());
        let batch_ready = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            sink,
            journal.clone(),
            rx,
            stop_rx,
            Arc::clone(&batch_ready),
            config,
            Arc::clone(&metrics),
        ));
        (
            ClickRecorder {
                tx,
                journal,
                metrics: Arc::clone(&metrics),
                batch_ready,
                batch_size: config.max_batch.max(1),
            },
            ClickFlusher {
                stop: stop_tx,
                task,
                metrics,
            },
        )
    }

    /// Puts `click` in the buffer (and the journal, if any), waiting for room if it is full.
    pub async fn record(&self, click: Click) -> Result<(), RecorderClosed> {
        let ticket = match &self.journal {
            None => None,
            Some(journal) => match journal.append(&click) {
                Ok(ticket) => Some(ticket),
                Err(error) => {
                    self.metrics
                        .journal_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%error, click = %click.id, "click not journaled; buffering it all the same");
                    None
                }
            },
        };
        match self.tx.try_send(Pending { click, ticket }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(click)) => {
                self.metrics
                    .backpressure_waits
                    .fetch_add(1, Ordering::Relaxed);
                self.tx.send(click).await.map_err(|_| RecorderClosed)?;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(RecorderClosed),
        }
        self.metrics.enqueued.fetch_add(1, Ordering::Relaxed);
        if self.depth() >= self.batch_size {
            self.batch_ready.notify_one();
        }
        Ok(())
    }

    /// Clicks waiting in the buffer.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<ClickMetrics> {
        &self.metrics
    }
}

/// The flusher's handle: shut it down to drain the buffer before the process exits.
pub struct ClickFlusher {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    metrics: Arc<ClickMetrics>,
}

/// Clicks still unwritten when a shutdown's grace period ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{unwritten} clicks were not written before the shutdown deadline")]
pub struct ShutdownTimedOut {
    /// How many.
    pub unwritten: u64,
}

impl ClickFlusher {
    /// Stops accepting clicks, writes everything buffered (retrying the sink as usual) and
    /// returns the total written. Gives up after `grace`, reporting what was left.
    pub async fn shutdown(self, grace: Duration) -> Result<u64, ShutdownTimedOut> {
        let _ = self.stop.send(());
        let mut task = self.task;
        match tokio::time::timeout(grace, &mut task).await {
            Ok(_) => Ok(self.metrics.flushed.load(Ordering::Relaxed)),
            Err(_) => {
                task.abort();
                Err(ShutdownTimedOut {
                    unwritten: self.metrics.pending(),
                })
            }
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<ClickMetrics> {
        &self.metrics
    }
}

async fn run<S: ClickSink>(
    sink: S,
    journal: Option<Arc<dyn ClickJournal>>,
    mut rx: mpsc::Receiver<Pending>,
    mut stop: oneshot::Receiver<()>,
    batch_ready: Arc<Notify>,
    config: FlushConfig,
    metrics: Arc<ClickMetrics>,
) {
    let max_batch = config.max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    let mut tickets = Vec::new();
    let mut stopping = false;
    loop {
        // Wake on the interval, a full batch or a stop — never per click, so a busy buffer
        // costs the request path no task wake-up.
        if !stopping {
            tokio::select! {
                biased;
                // A dropped handle counts as a stop too: drain rather than lose clicks.
                _ = &mut stop => {
                    stopping = true;
                    rx.close();
                }
                _ = batch_ready.notified() => {}
                _ = sleep(config.interval) => {}
            }
        }
        // Write everything buffered now, at most max_batch per statement.
        let mut closed = false;
        loop {
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(Pending { click, ticket }) => {
                        batch.push(click);
                        tickets.extend(ticket);
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true; // closed and empty
                        break;
                    }
                }
            }
            if batch.is_empty() {
                break;
            }
            flush(&sink, &batch, &config, &metrics).await;
            if let Some(journal) = &journal {
                journal.stored(&tickets);
            }
            batch.clear();
            tickets.clear();
        }
        if closed {
            return;
        }
    }
}

async fn flush<S: ClickSink>(
    sink: &S,
    batch: &[Click],
    config: &FlushConfig,
    metrics: &ClickMetrics,
) {
    let mut delay = config.min_retry_delay;
    loop {
        match sink.record_clicks(batch).await {
            Ok(()) => {
                let size = batch.len() as u64;
                metrics.flushed.fetch_add(size, Ordering::Relaxed);
                metrics.batches.fetch_add(1, Ordering::Relaxed);
                metrics.last_batch_size.store(size, Ordering::Relaxed);
                if let Some(oldest) = batch.iter().map(|c| c.at).min() {
                    let lag = (chrono::Utc::now() - oldest).num_milliseconds().max(0);
                    metrics
                        .last_flush_lag_ms
                        .store(lag as u64, Ordering::Relaxed);
                }
                return;
            }
            Err(error) => {
                metrics.flush_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, clicks = batch.len(), retry_in_ms = delay.as_millis() as u64, "click flush failed; keeping the batch and retrying");
                sleep(delay).await;
                delay = (delay * 2).min(config.max_retry_delay);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LinkId;
    use crate::store::{RepoError, RepoResult};
    use async_trait::async_trait;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;

    /// A sink that stores ids (idempotently) and can be switched to failing.
    #[derive(Clone, Default)]
    struct TestSink {
        stored: Arc<Mutex<HashSet<crate::domain::ClickId>>>,
        batches: Arc<Mutex<Vec<usize>>>,
        down: Arc<AtomicBool>,
    }

    #[async_trait]
    impl ClickSink for TestSink {
        async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(RepoError::Backend("database unreachable".into()));
            }
            self.batches.lock().unwrap().push(clicks.len());
            self.stored
                .lock()
                .unwrap()
                .extend(clicks.iter().map(|c| c.id));
            Ok(())
        }
    }

    fn click() -> Click {
        Click::new(LinkId::new(), None, Some("Mozilla/5.0"), None)
    }

    fn config() -> FlushConfig {
        FlushConfig {
            capacity: 64,
            max_batch: 10,
            interval: Duration::from_millis(20),
            ..FlushConfig::default()
        }
    }

    #[tokio::test]
    async fn shutdown_writes_every_accepted_click_in_bounded_batches() {
        let sink = TestSink::default();
        let (recorder, flusher) = ClickRecorder::start(sink.clone(), config());
        let clicks: Vec<Click> = (0..500).map(|_| click()).collect();
        for c in &clicks {
            recorder.record(c.clone()).await.unwrap();
        }
        assert_eq!(flusher.shutdown(Duration::from_secs(5)).await, Ok(500));
        let all_stored = {
            let stored = sink.stored.lock().unwrap();
            clicks.iter().all(|c| stored.contains(&c.id))
        };
        assert!(all_stored);
        assert!(sink.batches.lock().unwrap().iter().all(|&n| n <= 10));
        assert!(
            recorder
                .metrics()
                .backpressure_waits
                .load(Ordering::Relaxed)
                > 0,
            "500 clicks through a 64-slot buffer must wait"
        );
        assert_eq!(recorder.record(click()).await, Err(RecorderClosed));
    }

    #[tokio::test]
    async fn a_lone_click_is_flushed_within_the_interval() {
        let sink = TestSink::default();
        let (recorder, _flusher) = ClickRecorder::start(sink.clone(), config());
        let c = click();
        recorder.record(c.clone()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(2), async {
            while !sink.stored.lock().unwrap().contains(&c.id) {
                sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("flushed without a shutdown");
    }

    #[tokio::test]
    async fn a_failing_sink_keeps_the_batch_until_it_recovers() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let (recorder, flusher) = ClickRecorder::start(sink.clone(), config());
        for _ in 0..25 {
            recorder.record(click()).await.unwrap();
        }
        sleep(Duration::from_millis(200)).await;
        assert!(flusher.metrics().flush_failures.load(Ordering::Relaxed) > 0);
        assert!(sink.stored.lock().unwrap().is_empty());
        sink.down.store(false, Ordering::SeqCst);
        assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(25));
        assert_eq!(sink.stored.lock().unwrap().len(), 25);
    }

    /// Remembers what was appended and what was reported stored; fails on demand.
    #[derive(Default)]
    struct TestJournal {
        appended: Mutex<Vec<crate::domain::ClickId>>,
        stored: Mutex<Vec<JournalTicket>>,
        broken: AtomicBool,
    }

    impl ClickJournal for TestJournal {
        fn append(&self, click: &Click) -> Result<JournalTicket, JournalError> {
            if self.broken.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("disk full").into());
            }
            let mut appended = self.appended.lock().unwrap();
            appended.push(click.id);
            Ok(JournalTicket(appended.len() as u64))
        }

        fn stored(&self, tickets: &[JournalTicket]) {
            self.stored.lock().unwrap().extend_from_slice(tickets);
        }
    }

    #[tokio::test]
    async fn journaled_clicks_are_appended_before_record_returns_and_released_once_stored() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let journal = Arc::new(TestJournal::default());
        let (recorder, flusher) = ClickRecorder::start_journaled(
            sink.clone(),
            config(),
            Arc::clone(&journal) as Arc<dyn ClickJournal>,
        );
        let clicks: Vec<Click> = (0..25).map(|_| click()).collect();
        for c in &clicks {
            recorder.record(c.clone()).await.unwrap();
        }
        let ids: Vec<_> = clicks.iter().map(|c| c.id).collect();
        assert_eq!(*journal.appended.lock().unwrap(), ids);
        sleep(Duration::from_millis(100)).await;
        assert!(
            journal.stored.lock().unwrap().is_empty(),
            "nothing is released while the sink fails"
        );

        journal.broken.store(true, Ordering::SeqCst);
        recorder.record(click()).await.unwrap();
        assert_eq!(
            recorder.metrics().journal_failures.load(Ordering::Relaxed),
            1
        );

        sink.down.store(false, Ordering::SeqCst);
        assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(26));
        let mut released = journal.stored.lock().unwrap().clone();
        released.sort();
        assert_eq!(released, (1..=25).map(JournalTicket).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn shutdown_reports_what_it_could_not_write() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let (recorder, flusher) = ClickRecorder::start(sink, config());
        for _ in 0..3 {
            recorder.record(click()).await.unwrap();
        }
        assert_eq!(
            flusher.shutdown(Duration::from_millis(100)).await,
            Err(ShutdownTimedOut { unwritten: 3 })
        );
    }
}

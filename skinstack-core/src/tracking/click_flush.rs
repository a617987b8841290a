//! Recording clicks off the request path: a bounded in-process buffer and a background flusher
//! that writes batches to a [`ClickSink`].
//!
//! Guarantees: a click accepted by [`ClickRecorder::record`] is written exactly once by the
//! flusher unless the process dies first (at most one buffer's worth is then lost). When the
//! buffer is full, `record` waits at most [`FlushConfig::enqueue_wait`] for room (counted in
//! [`ClickMetrics::backpressure_waits`]); after that, with a journal the click is spooled to the
//! journal alone ([`ClickJournal::spool`]) and written from there once the flusher has room,
//! and without one it is dropped ([`ClickMetrics::dropped`], logged at warn). Either way the
//! caller is answered within the wait: a redirect never hangs on a full buffer.
//!
//! When the sink fails transiently ([`ErrorClass::Transient`]), the flusher keeps the batch and
//! retries with exponential backoff; sinks are idempotent by click id, so a batch retried after
//! an ambiguous failure is not stored twice. When it refuses a batch for good
//! ([`ErrorClass::Permanent`]), [`write_isolating`] halves the batch until the refused clicks
//! are alone; every other click is written, and the refused ones are set aside
//! ([`ClickJournal::set_aside`], [`ClickMetrics::set_aside`]) so the flusher goes on.
//! [`ClickFlusher::shutdown`] drains the buffer and the spool.
//!
//! With a [`ClickJournal`] ([`ClickRecorder::start_journaled`]) a click is also appended to the
//! journal before `record` returns, and the journal is told once the sink has stored it; a
//! process killed with clicks in its buffer replays them from the journal when it starts again.

use crate::domain::Click;
use crate::store::{ClickSink, ErrorClass, RepoError, RepoResult};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::sleep;

/// A local record of accepted clicks that outlives the process: [`ClickRecorder::record`]
/// appends every click before it returns (so before the redirect answers), and the flusher
/// hands back the click's ticket once the sink has stored it, so the journal can forget it.
/// Replaying what is left after a crash is the journal owner's job, at start-up, through the
/// same idempotent sink.
///
/// Every click the journal holds is in exactly one place: appended (and in the buffer), or
/// spooled (the journal's copy is the only one). Either way it is released through
/// [`ClickJournal::stored`] only once the sink has stored it, or it was set aside.
///
/// `append` and `spool` run on the request path: each must be a short, non-blocking-in-
/// practice write (a page-cache `write(2)`), not an fsync.
pub trait ClickJournal: Send + Sync + 'static {
    /// Records `click`; the ticket identifies where, for [`ClickJournal::stored`].
    fn append(&self, click: &Click) -> Result<JournalTicket, JournalError>;

    /// The clicks appended or spooled under these tickets are stored (or set aside): the
    /// journal may forget them. One call per batch.
    fn stored(&self, tickets: &[JournalTicket]);

    /// The buffer stayed full: keep `click` as its only copy (instead of [`append`]ing it),
    /// for [`ClickJournal::unspool`] to hand back once the flusher has room.
    ///
    /// [`append`]: ClickJournal::append
    fn spool(&self, click: &Click) -> Result<(), JournalError>;

    /// Up to `max` spooled clicks not handed out before, oldest first, each with the ticket to
    /// release once stored. A click is handed out once per process: what is unreleased when
    /// the process dies is the owner's to replay.
    fn unspool(&self, max: usize) -> Result<Vec<(Click, JournalTicket)>, JournalError>;

    /// The sink refused `click` for good: keep it with `error` (a dead letter) where an
    /// operator can find it. On success the flusher releases its ticket.
    fn set_aside(&self, click: &Click, error: &RepoError) -> Result<(), JournalError>;
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
    /// Longest `record` waits for room in a full buffer before it spools the click to the
    /// journal, or drops it without one.
    pub enqueue_wait: Duration,
}

impl Default for FlushConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_batch: 2_000,
            interval: Duration::from_millis(250),
            min_retry_delay: Duration::from_millis(50),
            max_retry_delay: Duration::from_secs(2),
            // Long enough to ride out a flush in progress on a busy buffer, short enough that
            // a shopper does not notice it in a redirect.
            enqueue_wait: Duration::from_millis(5),
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
    /// Clicks the journal failed to append (buffered all the same) or to spool (dropped).
    pub journal_failures: AtomicU64,
    /// Clicks that found the buffer full past the wait and went to the journal alone.
    pub spooled: AtomicU64,
    /// Spooled clicks the flusher has taken back from the journal.
    pub unspooled: AtomicU64,
    /// Clicks lost because the buffer stayed full and there was no journal to spool them to
    /// (or it failed).
    pub dropped: AtomicU64,
    /// Clicks the sink refused for good, set aside so the flusher could go on.
    pub set_aside: AtomicU64,
}

impl ClickMetrics {
    /// Clicks accepted (buffered or spooled) but not yet written or set aside.
    pub fn pending(&self) -> u64 {
        let load = |v: &AtomicU64| v.load(Ordering::Relaxed);
        (load(&self.enqueued) + load(&self.spooled))
            .saturating_sub(load(&self.flushed) + load(&self.set_aside))
    }
}

/// The recorder was shut down; the click was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the click recorder has shut down")]
pub struct RecorderClosed;

/// What [`ClickRecorder::record`] did with a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// In the buffer (and appended to the journal, if there is one).
    Buffered,
    /// The buffer stayed full: in the journal alone, written once the flusher has room.
    Spooled,
    /// The buffer stayed full and no journal took it: lost, and counted.
    Dropped,
}

/// The request-path handle: cheap to clone, pushes clicks into the buffer.
#[derive(Clone)]
pub struct ClickRecorder {
    tx: mpsc::Sender<Pending>,
    journal: Option<Arc<dyn ClickJournal>>,
    metrics: Arc<ClickMetrics>,
    batch_ready: Arc<Notify>,
    batch_size: usize,
    enqueue_wait: Duration,
    warned: Arc<WarnEvery>,
}

/// A buffered click, with its journal ticket when it was journaled.
struct Pending {
    click: Click,
    ticket: Option<JournalTicket>,
}

/// At most one warning a second: in an outage thousands of clicks a second may be dropped.
struct WarnEvery {
    started: Instant,
    last_ms: AtomicU64,
}

impl WarnEvery {
    fn due(&self) -> bool {
        let now = self.started.elapsed().as_millis() as u64 + 1_000;
        let last = self.last_ms.load(Ordering::Relaxed);
        now >= last + 1_000
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
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
                // A buffer smaller than a batch wakes the flusher half full, not never.
                batch_size: config.max_batch.min(config.capacity / 2).max(1),
                enqueue_wait: config.enqueue_wait,
                warned: Arc::new(WarnEvery {
                    started: Instant::now(),
                    last_ms: AtomicU64::new(0),
                }),
            },
            ClickFlusher {
                stop: stop_tx,
                task,
                metrics,
            },
        )
    }

    /// Puts `click` in the buffer (and the journal, if any). When the buffer is full it waits
    /// at most [`FlushConfig::enqueue_wait`] for room, then spools the click to the journal
    /// or, without one, drops it: it never waits longer.
    pub async fn record(&self, click: Click) -> Result<Recorded, RecorderClosed> {
        // A slot first, the journal second: a click is appended only once it is sure to be in
        // the buffer, and spooled only when it is sure not to be, so each is in one place.
        let permit = match self.tx.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Closed(())) => return Err(RecorderClosed),
            Err(mpsc::error::TrySendError::Full(())) => {
                self.metrics
                    .backpressure_waits
                    .fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(self.enqueue_wait, self.tx.reserve()).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) => return Err(RecorderClosed),
                    Err(_) => return Ok(self.overflow(click)),
                }
            }
        };
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
        permit.send(Pending { click, ticket });
        self.metrics.enqueued.fetch_add(1, Ordering::Relaxed);
        if self.depth() >= self.batch_size {
            self.batch_ready.notify_one();
        }
        Ok(Recorded::Buffered)
    }

    /// The buffer stayed full for the whole wait.
    fn overflow(&self, click: Click) -> Recorded {
        if let Some(journal) = &self.journal {
            match journal.spool(&click) {
                Ok(()) => {
                    let spooled = self.metrics.spooled.fetch_add(1, Ordering::Relaxed) + 1;
                    if self.warned.due() {
                        tracing::warn!(
                            spooled_total = spooled,
                            wait_ms = self.enqueue_wait.as_millis() as u64,
                            "click buffer full; spooling clicks to the journal until the flusher catches up"
                        );
                    }
                    return Recorded::Spooled;
                }
                Err(error) => {
                    self.metrics
                        .journal_failures
                        .fetch_add(1, Ordering::Relaxed);
                    if self.warned.due() {
                        tracing::warn!(%error, click = %click.id, "click buffer full and the journal cannot spool; dropping clicks");
                    }
                }
            }
        }
        let dropped = self.metrics.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if self.warned.due() {
            tracing::warn!(
                click = %click.id,
                dropped_total = dropped,
                wait_ms = self.enqueue_wait.as_millis() as u64,
                "click buffer full; dropping clicks (run with a click journal to keep them)"
            );
        }
        Recorded::Dropped
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
    /// Stops accepting clicks, writes everything buffered and spooled (retrying the sink as
    /// usual) and returns the total written. Gives up after `grace`, reporting what was left.
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
    // Aligned with `batch`: the ticket of each click the journal holds.
    let mut tickets: Vec<Option<JournalTicket>> = Vec::with_capacity(max_batch);
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
        // Write everything buffered now, then what was spooled, at most max_batch per statement.
        let mut closed = false;
        loop {
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(Pending { click, ticket }) => {
                        batch.push(click);
                        tickets.push(ticket);
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true; // closed and empty
                        break;
                    }
                }
            }
            if let Some(journal) = &journal {
                unspool_into(
                    journal.as_ref(),
                    max_batch,
                    &mut batch,
                    &mut tickets,
                    &metrics,
                );
            }
            if batch.is_empty() {
                break;
            }
            let refused = flush(&sink, &batch, &config, &metrics).await;
            let mut release: Vec<JournalTicket> = Vec::with_capacity(tickets.len());
            let mut refused = refused.into_iter().peekable();
            for (i, ticket) in tickets.iter().enumerate() {
                let kept = match refused.next_if(|(at, _)| *at == i) {
                    Some((_, error)) => set_aside(journal.as_deref(), &batch[i], &error, &metrics),
                    None => true,
                };
                if let (true, Some(ticket)) = (kept, ticket) {
                    release.push(*ticket);
                }
            }
            if let Some(journal) = &journal {
                if !release.is_empty() {
                    journal.stored(&release);
                }
            }
            batch.clear();
            tickets.clear();
        }
        if closed {
            return;
        }
    }
}

/// Tops `batch` up with spooled clicks, when the journal has any the flusher has not taken.
fn unspool_into(
    journal: &dyn ClickJournal,
    max_batch: usize,
    batch: &mut Vec<Click>,
    tickets: &mut Vec<Option<JournalTicket>>,
    metrics: &ClickMetrics,
) {
    let room = max_batch.saturating_sub(batch.len());
    let backlog = metrics
        .spooled
        .load(Ordering::Acquire)
        .saturating_sub(metrics.unspooled.load(Ordering::Relaxed));
    if room == 0 || backlog == 0 {
        return;
    }
    match journal.unspool(room.min(usize::try_from(backlog).unwrap_or(usize::MAX))) {
        Ok(spooled) => {
            metrics
                .unspooled
                .fetch_add(spooled.len() as u64, Ordering::Relaxed);
            for (click, ticket) in spooled {
                batch.push(click);
                tickets.push(Some(ticket));
            }
        }
        // The spooled clicks stay in the journal; the next start replays them.
        Err(error) => tracing::warn!(%error, "cannot read spooled clicks back from the journal"),
    }
}

/// Keeps a refused click where an operator can find it; whether its journal ticket may be
/// released (it is kept somewhere, or there is no journal to keep it in).
fn set_aside(
    journal: Option<&dyn ClickJournal>,
    click: &Click,
    error: &RepoError,
    metrics: &ClickMetrics,
) -> bool {
    metrics.set_aside.fetch_add(1, Ordering::Relaxed);
    tracing::error!(click = %click.id, link = %click.link_id, %error, "click refused by the store for good; set aside");
    match journal.map(|journal| journal.set_aside(click, error)) {
        None | Some(Ok(())) => true,
        Some(Err(journal_error)) => {
            tracing::error!(%journal_error, click = %click.id, "cannot write the set-aside click; the journal keeps it for the next start");
            false
        }
    }
}

/// Writes `batch`, retrying transient failures with backoff until they pass; returns the
/// clicks the sink refused for good (by index), which are neither written nor counted.
async fn flush<S: ClickSink>(
    sink: &S,
    batch: &[Click],
    config: &FlushConfig,
    metrics: &ClickMetrics,
) -> Vec<(usize, RepoError)> {
    let mut delay = config.min_retry_delay;
    loop {
        match write_isolating(sink, batch).await {
            Ok(refused) => {
                let size = (batch.len() - refused.len()) as u64;
                metrics.flushed.fetch_add(size, Ordering::Relaxed);
                metrics.batches.fetch_add(1, Ordering::Relaxed);
                metrics.last_batch_size.store(size, Ordering::Relaxed);
                if let Some(oldest) = batch.iter().map(|c| c.at).min() {
                    let lag = (chrono::Utc::now() - oldest).num_milliseconds().max(0);
                    metrics
                        .last_flush_lag_ms
                        .store(lag as u64, Ordering::Relaxed);
                }
                return refused;
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

/// Writes `clicks` through `sink`, isolating the clicks it refuses for good: a batch failing
/// with an [`ErrorClass::Permanent`] error is halved, and each half written or halved again,
/// until every refused click is alone. Returns those (index in `clicks`, error), in order;
/// every other click is written. With `k` refused clicks among `n`, that takes about
/// `2k·log2(n)` writes; with none, one.
///
/// Returns the first [`ErrorClass::Transient`] error instead: retry the whole batch later
/// (sinks are idempotent, so the halves already written are no-ops the second time).
pub async fn write_isolating<S: ClickSink + ?Sized>(
    sink: &S,
    clicks: &[Click],
) -> RepoResult<Vec<(usize, RepoError)>> {
    let mut refused = Vec::new();
    let mut todo: Vec<std::ops::Range<usize>> = Vec::new();
    todo.push(0..clicks.len());
    while let Some(range) = todo.pop() {
        if range.is_empty() {
            continue;
        }
        match sink.record_clicks(&clicks[range.clone()]).await {
            Ok(()) => {}
            Err(error) if error.class() == ErrorClass::Transient => return Err(error),
            Err(error) if range.len() == 1 => refused.push((range.start, error)),
            Err(_) => {
                let mid = range.start + range.len() / 2;
                // Popped first half first, so the writes go in the batch's order.
                todo.push(mid..range.end);
                todo.push(range.start..mid);
            }
        }
    }
    Ok(refused)
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
            // Long: these tests are about waiting for room, not about giving up on it.
            enqueue_wait: Duration::from_secs(30),
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

    /// Spooled clicks' tickets start here, apart from appended ones'.
    const SPOOL_TICKETS: u64 = 1_000_000;

    /// Remembers what was appended, spooled, handed back, set aside and reported stored;
    /// fails on demand.
    #[derive(Default)]
    struct TestJournal {
        appended: Mutex<Vec<crate::domain::ClickId>>,
        spooled: Mutex<Vec<Click>>,
        handed_out: Mutex<usize>,
        set_aside: Mutex<Vec<(crate::domain::ClickId, String)>>,
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

        fn spool(&self, click: &Click) -> Result<(), JournalError> {
            if self.broken.load(Ordering::SeqCst) {
                return Err(std::io::Error::other("disk full").into());
            }
            self.spooled.lock().unwrap().push(click.clone());
            Ok(())
        }

        fn unspool(&self, max: usize) -> Result<Vec<(Click, JournalTicket)>, JournalError> {
            let spooled = self.spooled.lock().unwrap();
            let mut handed_out = self.handed_out.lock().unwrap();
            let from = *handed_out;
            let to = (from + max).min(spooled.len());
            *handed_out = to;
            Ok((from..to)
                .map(|i| (spooled[i].clone(), JournalTicket(SPOOL_TICKETS + i as u64)))
                .collect())
        }

        fn set_aside(&self, click: &Click, error: &RepoError) -> Result<(), JournalError> {
            self.set_aside
                .lock()
                .unwrap()
                .push((click.id, error.to_string()));
            Ok(())
        }
    }

    /// A sink that refuses for good every click whose user agent is `poison`, as PostgreSQL
    /// refuses a whole statement for one bad row, and stores the rest.
    #[derive(Clone, Default)]
    struct PoisonSink {
        stored: Arc<Mutex<Vec<crate::domain::ClickId>>>,
        writes: Arc<AtomicU64>,
    }

    #[async_trait]
    impl ClickSink for PoisonSink {
        async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if clicks
                .iter()
                .any(|c| c.user_agent.as_deref() == Some("poison"))
            {
                return Err(RepoError::Rejected(
                    "violates clicks_user_agent_check".into(),
                ));
            }
            let mut stored = self.stored.lock().unwrap();
            for c in clicks {
                if !stored.contains(&c.id) {
                    stored.push(c.id);
                }
            }
            Ok(())
        }
    }

    fn poison() -> Click {
        Click::new(LinkId::new(), None, Some("poison"), None)
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

    /// Clicks `recorder` answers for, with what it did with each and how long each took on
    /// the (paused, so exact) tokio clock.
    async fn record_all(recorder: &ClickRecorder, clicks: &[Click]) -> Vec<(Recorded, Duration)> {
        let mut out = Vec::new();
        for c in clicks {
            let began = tokio::time::Instant::now();
            let recorded = recorder.record(c.clone()).await.unwrap();
            out.push((recorded, began.elapsed()));
        }
        out
    }

    fn small_buffer(wait: Duration) -> FlushConfig {
        FlushConfig {
            capacity: 4,
            max_batch: 10,
            interval: Duration::from_millis(20),
            enqueue_wait: wait,
            ..FlushConfig::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_buffer_without_a_journal_drops_after_the_wait_and_counts_it() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let wait = Duration::from_millis(7);
        let (recorder, flusher) = ClickRecorder::start(sink.clone(), small_buffer(wait));
        let clicks: Vec<Click> = (0..100).map(|_| click()).collect();
        let answers = record_all(&recorder, &clicks).await;

        // The flusher holds at most one batch (10) while it retries; the buffer holds 4.
        let buffered = answers
            .iter()
            .filter(|(r, _)| *r == Recorded::Buffered)
            .count();
        let dropped = answers
            .iter()
            .filter(|(r, _)| *r == Recorded::Dropped)
            .count();
        assert!((4..=14).contains(&buffered), "{buffered} buffered");
        assert_eq!(
            buffered + dropped,
            100,
            "nothing is spooled without a journal"
        );
        assert_eq!(
            recorder.metrics().dropped.load(Ordering::Relaxed),
            dropped as u64
        );
        for (recorded, took) in &answers {
            assert!(
                *took <= wait,
                "{recorded:?} took {took:?}, past the {wait:?} wait"
            );
            if *recorded == Recorded::Dropped {
                assert!(
                    *took >= wait,
                    "dropped only once the wait ran out: {took:?}"
                );
            }
        }

        sink.down.store(false, Ordering::SeqCst);
        assert_eq!(
            flusher.shutdown(Duration::from_secs(10)).await,
            Ok(buffered as u64)
        );
        let stored = sink.stored.lock().unwrap().clone();
        for (c, (recorded, _)) in clicks.iter().zip(&answers) {
            assert_eq!(
                stored.contains(&c.id),
                *recorded == Recorded::Buffered,
                "{recorded:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_click_finding_the_buffer_full_takes_the_room_freed_within_the_wait() {
        let sink = TestSink::default();
        let (recorder, flusher) =
            ClickRecorder::start(sink.clone(), small_buffer(Duration::from_millis(50)));
        let clicks: Vec<Click> = (0..200).map(|_| click()).collect();
        let answers = record_all(&recorder, &clicks).await;
        assert!(answers.iter().all(|(r, _)| *r == Recorded::Buffered));
        assert!(
            recorder
                .metrics()
                .backpressure_waits
                .load(Ordering::Relaxed)
                > 0
        );
        assert_eq!(recorder.metrics().dropped.load(Ordering::Relaxed), 0);
        assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(200));
    }

    #[tokio::test(start_paused = true)]
    async fn with_a_journal_a_full_buffer_spools_and_every_spooled_click_is_stored_once_then_released(
    ) {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let journal = Arc::new(TestJournal::default());
        let wait = Duration::from_millis(3);
        let (recorder, flusher) = ClickRecorder::start_journaled(
            sink.clone(),
            small_buffer(wait),
            Arc::clone(&journal) as Arc<dyn ClickJournal>,
        );
        let clicks: Vec<Click> = (0..100).map(|_| click()).collect();
        let answers = record_all(&recorder, &clicks).await;
        let spooled: Vec<_> = clicks
            .iter()
            .zip(&answers)
            .filter(|(_, (r, _))| *r == Recorded::Spooled)
            .map(|(c, _)| c.id)
            .collect();
        let appended = journal.appended.lock().unwrap().clone();
        assert!(spooled.len() >= 86, "{} spooled", spooled.len());
        assert_eq!(
            appended.len() + spooled.len(),
            100,
            "each click in one place"
        );
        assert!(answers
            .iter()
            .all(|(r, took)| *r != Recorded::Dropped && *took <= wait));
        assert_eq!(
            journal
                .spooled
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            spooled
        );
        sleep(Duration::from_secs(1)).await;
        assert!(
            journal.stored.lock().unwrap().is_empty(),
            "nothing released while the sink is down"
        );

        sink.down.store(false, Ordering::SeqCst);
        // Written from the journal without a shutdown, once the flusher has room.
        tokio::time::timeout(Duration::from_secs(30), async {
            while sink.stored.lock().unwrap().len() < 100 {
                sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("every click stored once the sink is back");
        assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(100));
        let stored = sink.stored.lock().unwrap().clone();
        assert!(clicks.iter().all(|c| stored.contains(&c.id)));
        let mut released = journal.stored.lock().unwrap().clone();
        released.sort();
        let mut expected: Vec<JournalTicket> =
            (1..=appended.len() as u64).map(JournalTicket).collect();
        expected.extend((0..spooled.len() as u64).map(|i| JournalTicket(SPOOL_TICKETS + i)));
        assert_eq!(released, expected, "every ticket released exactly once");
        assert_eq!(recorder.metrics().pending(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_journal_that_cannot_spool_drops_and_counts_the_click() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let journal = Arc::new(TestJournal::default());
        let (recorder, _flusher) = ClickRecorder::start_journaled(
            sink,
            small_buffer(Duration::from_millis(1)),
            Arc::clone(&journal) as Arc<dyn ClickJournal>,
        );
        let clicks: Vec<Click> = (0..20).map(|_| click()).collect();
        record_all(&recorder, &clicks).await;
        journal.broken.store(true, Ordering::SeqCst);
        assert_eq!(recorder.record(click()).await, Ok(Recorded::Dropped));
        assert_eq!(recorder.metrics().dropped.load(Ordering::Relaxed), 1);
        assert_eq!(
            recorder.metrics().journal_failures.load(Ordering::Relaxed),
            1
        );
    }

    #[tokio::test]
    async fn a_poison_batch_is_split_until_the_refused_clicks_are_alone() {
        let sink = PoisonSink::default();
        let mut clicks: Vec<Click> = (0..64).map(|_| click()).collect();
        clicks[37] = poison();
        let refused = write_isolating(&sink, &clicks).await.unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, 37);
        assert!(matches!(refused[0].1, RepoError::Rejected(_)));
        let stored = sink.stored.lock().unwrap().clone();
        assert_eq!(stored.len(), 63);
        assert!(!stored.contains(&clicks[37].id));
        // One refused click among 64: the whole batch, then two halves per level down.
        assert!(
            sink.writes.load(Ordering::SeqCst) <= 1 + 2 * 6,
            "{:?}",
            sink.writes
        );

        let clean: Vec<Click> = (0..64).map(|_| click()).collect();
        sink.writes.store(0, Ordering::SeqCst);
        assert!(write_isolating(&sink, &clean).await.unwrap().is_empty());
        assert_eq!(
            sink.writes.load(Ordering::SeqCst),
            1,
            "a clean batch is one write"
        );
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_not_split() {
        let sink = TestSink::default();
        sink.down.store(true, Ordering::SeqCst);
        let clicks: Vec<Click> = (0..8).map(|_| click()).collect();
        let error = write_isolating(&sink, &clicks).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Transient);
        assert!(sink.batches.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn poison_clicks_are_set_aside_every_other_click_is_written_and_the_flusher_goes_on() {
        let sink = PoisonSink::default();
        let journal = Arc::new(TestJournal::default());
        let (recorder, flusher) = ClickRecorder::start_journaled(
            sink.clone(),
            config(),
            Arc::clone(&journal) as Arc<dyn ClickJournal>,
        );
        let mut first: Vec<Click> = (0..25).map(|_| click()).collect();
        first[3] = poison();
        first[17] = poison();
        for c in &first {
            recorder.record(c.clone()).await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), async {
            while recorder.metrics().set_aside.load(Ordering::Relaxed) < 2 {
                sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("both poison clicks set aside");
        // The flusher is not stuck: later clicks are written without a shutdown.
        let later: Vec<Click> = (0..10).map(|_| click()).collect();
        for c in &later {
            recorder.record(c.clone()).await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), async {
            while !later
                .iter()
                .all(|c| sink.stored.lock().unwrap().contains(&c.id))
            {
                sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("clicks after the poison batch are written");

        assert_eq!(flusher.shutdown(Duration::from_secs(10)).await, Ok(33));
        let stored = sink.stored.lock().unwrap().clone();
        let good: Vec<_> = first
            .iter()
            .chain(&later)
            .filter(|c| c.user_agent.as_deref() != Some("poison"))
            .map(|c| c.id)
            .collect();
        assert_eq!(stored.len(), 33);
        assert!(good.iter().all(|id| stored.contains(id)));
        let set_aside = journal.set_aside.lock().unwrap().clone();
        assert_eq!(
            set_aside.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![first[3].id, first[17].id]
        );
        assert!(set_aside
            .iter()
            .all(|(_, why)| why.contains("clicks_user_agent_check")));
        let mut released = journal.stored.lock().unwrap().clone();
        released.sort();
        assert_eq!(
            released,
            (1..=35).map(JournalTicket).collect::<Vec<_>>(),
            "set-aside clicks are released too: the dead letter keeps them"
        );
        assert_eq!(recorder.metrics().pending(), 0);
    }

    #[tokio::test]
    async fn a_buffer_smaller_than_a_batch_wakes_the_flusher_half_full_not_on_the_interval() {
        let sink = TestSink::default();
        let config = FlushConfig {
            capacity: 8,
            max_batch: 2_000,
            interval: Duration::from_secs(3_600),
            ..config()
        };
        let (recorder, _flusher) = ClickRecorder::start(sink.clone(), config);
        let clicks: Vec<Click> = (0..4).map(|_| click()).collect();
        for c in &clicks {
            recorder.record(c.clone()).await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(10), async {
            while sink.stored.lock().unwrap().len() < 4 {
                sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("written long before the hour-long interval");
    }
}

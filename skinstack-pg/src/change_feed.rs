//! Keeping every process's link cache fresh: a listener on the `skinstack_link_changes`
//! channel that migration 0008's triggers notify when a redirect-relevant column changes.

use skinstack_core::store::LinkResolver;
use skinstack_core::tracking::redirect::CachedResolver;
use skinstack_core::Slug;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The channel migration 0008's triggers notify.
pub const CHANNEL: &str = "skinstack_link_changes";

/// A running change listener. Dropping the handle does not stop it; [`ChangeListener::stop`]
/// does.
pub struct ChangeListener {
    task: JoinHandle<()>,
    connections: watch::Receiver<u64>,
}

impl ChangeListener {
    /// Listens for link changes on a dedicated connection of `pool` and invalidates `cache`:
    /// one slug per changed link, everything for a program or merchant change. Whenever the
    /// listening connection is (re)established the whole cache is dropped, since changes made
    /// while it was down were not heard; while the database is unreachable, cached links stay
    /// and keep redirecting.
    pub fn spawn<R: LinkResolver>(pool: PgPool, cache: Arc<CachedResolver<R>>) -> Self {
        let (connected, connections) = watch::channel(0);
        let task = tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match listen(&pool, &cache, &connected).await {
                    Ok(()) => delay = Duration::from_millis(100),
                    Err(error) => {
                        tracing::warn!(%error, "link change listener disconnected; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
        Self { task, connections }
    }

    /// Waits until the listener has connected at least once (tests, start-up ordering).
    pub async fn connected(&self) {
        let mut connections = self.connections.clone();
        let _ = connections.wait_for(|n| *n > 0).await;
    }

    /// Stops listening.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// One connection's life: returns `Ok` when the connection was lost, to reconnect.
async fn listen<R: LinkResolver>(
    pool: &PgPool,
    cache: &CachedResolver<R>,
    connected: &watch::Sender<u64>,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    cache.invalidate_all();
    connected.send_modify(|n| *n += 1);
    loop {
        // try_recv: Ok(None) means the connection dropped (notifications may have been lost).
        match listener.try_recv().await? {
            Some(notification) => match notification.payload() {
                "*" => cache.invalidate_all(),
                slug => match Slug::parse(slug) {
                    Ok(slug) => cache.invalidate(&slug),
                    Err(_) => cache.invalidate_all(),
                },
            },
            None => return Ok(()),
        }
    }
}

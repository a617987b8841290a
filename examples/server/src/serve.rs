//! `skinstack-server serve`: the redirect on PostgreSQL (with `DATABASE_URL`) or on the
//! in-memory store, until SIGTERM or Ctrl-C; then it stops accepting, finishes the requests in
//! flight and drains the click buffer before it exits.

use crate::cli::{LogFormat, ServeArgs};
use crate::demo;
use anyhow::Context;
use axum::Router;
use skinstack_core::recorder::ClickFlusher;
use skinstack_core::redirect::CacheConfig;
use skinstack_core::{
    CachedResolver, ClickRecorder, FlushConfig, LinkResolver, MemoryStore, Store,
};
use skinstack_http::client_ip::ClientIpSource;
use skinstack_http::redirect::{self, RedirectState};
use skinstack_http::ApiState;
use skinstack_pg::{ChangeListener, Cipher, PgStore, MIGRATOR, SECRET_KEY_VAR};
use sqlx::postgres::PgPoolOptions;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long the click buffer may take to drain at shutdown before the server gives up and
/// reports what it could not write.
const DRAIN_GRACE: Duration = Duration::from_secs(60);

/// Runs the server until a shutdown signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let Parts {
        store,
        resolver,
        recorder,
        flusher,
        banner,
        change_listener,
    } = match &args.database_url {
        Some(url) => on_postgres(url, !args.no_migrate).await?,
        None => on_memory().await?,
    };
    let client_ip = if args.trust_forwarded_for {
        ClientIpSource::RightmostForwardedFor
    } else {
        ClientIpSource::Peer
    };
    let state = RedirectState::new(resolver, recorder.clone()).client_ip(client_ip);
    let metrics = Arc::clone(state.metrics());
    let api = ApiState::new(store)
        .with_client_ip(client_ip)
        .with_redirect_metrics(Arc::clone(&metrics))
        .with_click_recorder(recorder);
    // The API first: its static paths (/healthz, /metrics, /v1/...) win over `/{slug}`.
    let app = Router::new()
        .merge(skinstack_http::api(api))
        .merge(redirect::router(state));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port when --listen asks for port 0.
    println!("listening on http://{local}");
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    for line in banner {
        println!("{}", line.replace("{base}", base.trim_end_matches('/')));
    }

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error")?;

    if let Some(listener) = change_listener {
        listener.stop();
    }
    let answered = metrics.redirected.load(Ordering::Relaxed);
    match flusher.shutdown(DRAIN_GRACE).await {
        Ok(written) => {
            tracing::info!(
                redirects_answered = answered,
                clicks_written = written,
                "stopped"
            );
            println!("stopped: redirects_answered={answered} clicks_written={written}");
            Ok(())
        }
        Err(timed_out) => Err(timed_out).context(format!(
            "stopped after {answered} redirects, but the click buffer did not drain"
        )),
    }
}

/// What serving needs from a store.
struct Parts {
    store: Arc<dyn Store>,
    resolver: Arc<dyn LinkResolver>,
    recorder: ClickRecorder,
    flusher: ClickFlusher,
    banner: Vec<String>,
    change_listener: Option<ChangeListener>,
}

async fn on_postgres(url: &str, migrate: bool) -> anyhow::Result<Parts> {
    const CONTEXT: &str = "cannot connect to the database at DATABASE_URL";
    let pool = PgPoolOptions::new()
        .max_connections(16)
        // Fail a flush or a lookup fast while the database is away; the flusher retries.
        .acquire_timeout(Duration::from_secs(3))
        .connect(url)
        .await
        .context(CONTEXT)?;
    if migrate {
        MIGRATOR
            .run(&pool)
            .await
            .context("cannot apply migrations")?;
    }
    let cipher = match std::env::var_os(SECRET_KEY_VAR) {
        Some(_) => Some(Cipher::from_env().context("SKINSTACK_SECRET_KEY is not a valid key")?),
        None => None,
    };
    let store = PgStore::new(pool.clone(), cipher);
    store.check_secrets().await?;
    let cache = Arc::new(CachedResolver::new(store.clone(), CacheConfig::default()));
    let listener = ChangeListener::spawn(pool, Arc::clone(&cache));
    if tokio::time::timeout(Duration::from_secs(5), listener.connected())
        .await
        .is_err()
    {
        tracing::warn!("link change listener not connected yet; it keeps trying");
    }
    // After the listener is up, so no change between the two goes unheard.
    match cache.warm().await {
        Ok(count) => tracing::info!(links = count, "link cache warmed"),
        Err(error) => tracing::warn!(%error, "link cache not warmed; misses will fill it"),
    }
    let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    Ok(Parts {
        store: Arc::new(store),
        resolver: cache,
        recorder,
        flusher,
        banner: vec!["storage: PostgreSQL".to_owned()],
        change_listener: Some(listener),
    })
}

async fn on_memory() -> anyhow::Result<Parts> {
    let store = MemoryStore::new();
    let link = demo::seed(&store)
        .await
        .context("cannot create the demo data")?;
    let (recorder, flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
    let banner = vec![
        "storage: in memory only — everything is lost when the server stops (set DATABASE_URL to use PostgreSQL)".to_owned(),
        format!("demo short link: {{base}}/{} -> {}", link.slug, link.destination_url),
    ];
    Ok(Parts {
        store: Arc::new(store.clone()),
        resolver: Arc::new(store),
        recorder,
        flusher,
        banner,
        change_listener: None,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight, then draining clicks");
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // One JSON object per line, for log shippers.
        LogFormat::Json => builder.json().try_init(),
    };
}

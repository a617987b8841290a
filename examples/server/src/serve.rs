//! `skinstack-server serve`: the redirect on PostgreSQL (with `DATABASE_URL`) or on the
//! in-memory store, until SIGTERM or Ctrl-C; then it stops accepting, finishes the requests in
//! flight and drains the click buffer before it exits. On PostgreSQL every click is also
//! journaled on local disk before it is answered (in `--data-dir`, unless
//! `--no-click-journal`), replayed at the next start if the process dies before it is stored,
//! and spooled there alone when an outage outlasts the buffer.

use crate::cli::{LogFormat, ServeArgs};
use crate::demo;
use crate::pools::{PoolArgs, Pools};
use anyhow::Context;
use axum::Router;
use skinstack_core::store::ClickSink;
use skinstack_core::tracking::click_flush::ClickFlusher;
use skinstack_core::tracking::redirect::CacheConfig;
use skinstack_core::{
    CachedResolver, ClickRecorder, FlushConfig, LedgerStore, LinkResolver, MemoryStore, Password,
    WebUrl,
};
use skinstack_http::client_ip::ClientIpSource;
use skinstack_http::geoip::CountryDatabase;
use skinstack_http::redirect::{self, RedirectState};
use skinstack_http::ApiState;
use skinstack_journal::FileJournal;
use skinstack_pg::{
    ChangeListener, Cipher, ClickTotalFolding, PartitionMaintenance, PgStore, MAINTENANCE_INTERVAL,
    MIGRATOR, SECRET_KEY_VAR,
};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The `--geoip-db` database, checked whole.
fn open_country_database(path: &Path) -> anyhow::Result<CountryDatabase> {
    let database =
        CountryDatabase::open(path).with_context(|| format!("--geoip-db {}", path.display()))?;
    tracing::info!(
        path = %path.display(),
        database_type = database.database_type(),
        build_epoch = database.build_epoch(),
        "clicks get their country from a GeoIP database"
    );
    Ok(database)
}

/// How long the click buffer may take to drain at shutdown before the server gives up and
/// reports what it could not write.
const DRAIN_GRACE: Duration = Duration::from_secs(60);

/// Runs the server until a shutdown signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    // Before anything else starts: a wrong --geoip-db is the operator's to fix now.
    let countries = args
        .geoip_db
        .as_deref()
        .map(open_country_database)
        .transpose()?;
    let Parts {
        store,
        resolver,
        recorder,
        flusher,
        banner,
        logins,
        change_listener,
        journal,
        partitions,
        click_totals,
    } = match &args.database_url {
        Some(_) if args.demo_password.is_some() => anyhow::bail!(
            "--demo-password is for the in-memory demo data; PostgreSQL has no demo accounts"
        ),
        Some(url) => {
            let journal = args.journal_dir();
            on_postgres(
                url,
                args.pools,
                !args.no_migrate,
                journal.as_deref(),
                flush_config(&args),
                Duration::from_secs(args.click_total_interval),
            )
            .await?
        }
        None if args.click_journal.is_some() => anyhow::bail!(
            "--click-journal needs DATABASE_URL: the in-memory store loses every click when it stops anyway"
        ),
        None => on_memory(args.demo_password.as_deref(), flush_config(&args)).await?,
    };
    let syncing = journal
        .as_ref()
        .map(|journal| spawn_journal_sync(Arc::clone(journal)));
    let client_ip = if args.trust_forwarded_for {
        ClientIpSource::RightmostForwardedFor
    } else {
        ClientIpSource::Peer
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let public_url = WebUrl::parse(&base).map_err(|reason| {
        anyhow::anyhow!("--public-url {reason}: expected a URL such as https://skin.st")
    })?;
    let mut state = RedirectState::new(resolver, recorder.clone())
        .client_ip(client_ip)
        .keep_visitor_headers(!args.no_visitor_headers);
    if let Some(header) = args.country_header.clone() {
        state = state.country_header(header);
    }
    if let Some(database) = countries {
        state = state.country_database(database);
    }
    let metrics = Arc::clone(state.metrics());
    let order_window = skinstack_core::OrderWindow::new(args.max_order_age_days)
        .map_err(|reason| anyhow::anyhow!("--max-order-age-days must be {reason}"))?;
    let click_reuse = skinstack_core::ClickReuseLimit::new(args.click_reuse_limit)
        .ok_or_else(|| anyhow::anyhow!("--click-reuse-limit must be at least 1"))?;
    let api = ApiState::new(store)
        .with_order_window(order_window)
        .with_click_reuse_limit(click_reuse)
        .with_client_ip(client_ip)
        .with_public_base_url(&public_url)
        .with_redirect_metrics(Arc::clone(&metrics))
        .with_click_recorder(recorder);
    // The API and the dashboard first: their static paths (/healthz, /v1/..., /dashboard)
    // win over `/{slug}`.
    let app = Router::new()
        .merge(skinstack_http::api(api.clone()))
        .merge(skinstack_http::dashboard::router(api))
        .merge(redirect::router(state));

    let shutdown = shutdown_signal()?;
    // Tests and scripts read this line to learn the port when --listen asks for port 0.
    println!("listening on http://{local}");
    for line in banner {
        println!("{}", line.replace("{base}", base.trim_end_matches('/')));
    }
    println!("dashboard: http://{local}/dashboard");
    for line in logins {
        println!("{line}");
    }

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("server error")?;

    if let Some(listener) = change_listener {
        listener.stop();
    }
    if let Some(partitions) = partitions {
        partitions.stop();
    }
    let answered = metrics.redirected.load(Ordering::Relaxed);
    let clicks = Arc::clone(flusher.metrics());
    match flusher.shutdown(DRAIN_GRACE).await {
        Ok(written) => {
            if let Some(syncing) = syncing {
                syncing.abort();
            }
            if let Some(journal) = journal {
                // Everything was stored: the journal is left empty unless a click escaped the
                // flusher (recorded after it stopped), which the next start then replays.
                let left = journal.close().context("cannot close the click journal")?;
                if left > 0 {
                    tracing::warn!(
                        segments = left,
                        "click journal segments left for the next start to replay"
                    );
                }
            }
            if let Some(click_totals) = click_totals {
                // After the last flush: the seed's column is exact for every stored click.
                if let Err(error) = click_totals.finish().await {
                    tracing::warn!(%error, "link click totals not folded at stop; the next start folds them");
                }
            }
            let dropped = clicks.dropped.load(Ordering::Relaxed);
            let set_aside = clicks.set_aside.load(Ordering::Relaxed);
            tracing::info!(
                redirects_answered = answered,
                clicks_written = written,
                clicks_dropped = dropped,
                clicks_set_aside = set_aside,
                "stopped"
            );
            println!("stopped: redirects_answered={answered} clicks_written={written} clicks_dropped={dropped} clicks_set_aside={set_aside}");
            Ok(())
        }
        Err(timed_out) => Err(timed_out).context(format!(
            "stopped after {answered} redirects, but the click buffer did not drain"
        )),
    }
}

/// What serving needs from a store.
struct Parts {
    store: Arc<dyn LedgerStore>,
    resolver: Arc<dyn LinkResolver>,
    recorder: ClickRecorder,
    flusher: ClickFlusher,
    banner: Vec<String>,
    /// Printed right under the dashboard's URL: who can log in there, and with what.
    logins: Vec<String>,
    change_listener: Option<ChangeListener>,
    journal: Option<Arc<FileJournal>>,
    /// The daily check of the clicks table's monthly partitions (PostgreSQL only).
    partitions: Option<PartitionMaintenance>,
    /// The fold of the click roll-ups into `tracking_links.total_clicks` (PostgreSQL only).
    click_totals: Option<ClickTotalFolding>,
}

/// The click buffer's settings from the command line.
fn flush_config(args: &ServeArgs) -> FlushConfig {
    FlushConfig {
        capacity: args.click_buffer as usize,
        enqueue_wait: Duration::from_millis(args.click_wait_ms),
        ..FlushConfig::default()
    }
}

/// Starts the click recorder on `sink`. With a journal directory, first stores what a killed
/// process left there, so that nothing is counted late or twice alongside new clicks.
async fn start_recorder<S: ClickSink + Clone>(
    sink: S,
    journal_dir: Option<&Path>,
    config: FlushConfig,
) -> anyhow::Result<(ClickRecorder, ClickFlusher, Option<Arc<FileJournal>>)> {
    let Some(dir) = journal_dir else {
        let (recorder, flusher) = ClickRecorder::start(sink, config);
        return Ok((recorder, flusher, None));
    };
    let (journal, left_behind) = FileJournal::open(dir)
        .with_context(|| format!("cannot open the click journal in {}", dir.display()))?;
    let replayed = skinstack_journal::replay(&sink, &left_behind, config.max_batch)
        .await
        .context("cannot replay the click journal")?;
    if replayed.segments > 0 {
        tracing::info!(
            segments = replayed.segments,
            clicks = replayed.clicks,
            "click journal replayed"
        );
    }
    if replayed.set_aside > 0 {
        tracing::error!(
            clicks = replayed.set_aside,
            file = %dir.join(skinstack_journal::SET_ASIDE_FILE).display(),
            "replayed clicks refused by the database; set aside"
        );
    }
    if replayed.skipped_lines > 0 {
        tracing::warn!(
            lines = replayed.skipped_lines,
            "click journal lines skipped: torn by a crash, or not clicks"
        );
    }
    let journal = Arc::new(journal);
    let (recorder, flusher) = ClickRecorder::start_journaled(sink, config, journal.clone());
    Ok((recorder, flusher, Some(journal)))
}

/// fdatasyncs the journal every flush interval: an OS crash then loses at most about one
/// interval of clicks, as a killed process without a journal would. Off the request path.
fn spawn_journal_sync(journal: Arc<FileJournal>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FlushConfig::default().interval);
        loop {
            tick.tick().await;
            let journal = Arc::clone(&journal);
            match tokio::task::spawn_blocking(move || journal.sync()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "click journal sync failed"),
                Err(error) => tracing::warn!(%error, "click journal sync panicked"),
            }
        }
    })
}

/// On PostgreSQL, one store per pool ([`Pools`]): the API's, the redirect's reads and the click
/// flusher's, so that a flood of redirect misses cannot hold up clicks or logins.
async fn on_postgres(
    url: &str,
    pools: PoolArgs,
    migrate: bool,
    journal: Option<&Path>,
    config: FlushConfig,
    click_total_interval: Duration,
) -> anyhow::Result<Parts> {
    let Pools {
        api: pool,
        redirect,
        flush,
        listen,
    } = Pools::connect(url, pools).await?;
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
    let store = PgStore::new(pool, cipher.clone());
    store.check_secrets().await?;
    // Before the first click is flushed, and then daily, so no month lacks its partition.
    let created = store
        .ensure_click_partitions()
        .await
        .context("cannot create the clicks table's partitions (is the database migrated?)")?;
    tracing::info!(created, "click partitions ready");
    let partitions = PartitionMaintenance::spawn(store.clone(), MAINTENANCE_INTERVAL);
    let click_totals = ClickTotalFolding::spawn(store.clone(), click_total_interval);
    let cache = Arc::new(CachedResolver::new(
        PgStore::new(redirect, cipher),
        CacheConfig::default(),
    ));
    let listener = ChangeListener::spawn(listen, Arc::clone(&cache));
    if tokio::time::timeout(Duration::from_secs(5), listener.connected())
        .await
        .is_err()
    {
        tracing::warn!("link change listener not connected yet; it keeps trying");
    }
    // The warm-up orders links by the seed's click column: fold it first, for every link, so
    // a stop that could not fold (a crash) leaves no link colder than it is.
    match store.fold_click_totals(None).await {
        Ok(links) => tracing::info!(links, "link click totals folded"),
        Err(error) => {
            tracing::warn!(%error, "link click totals not folded; the cache warms from the column as it is")
        }
    }
    // After the listener is up, so no change between the two goes unheard.
    match cache.warm().await {
        Ok(count) => tracing::info!(links = count, "link cache warmed"),
        Err(error) => tracing::warn!(%error, "link cache not warmed; misses will fill it"),
    }
    // Clicks need no credentials: the flusher's store has no key.
    let (recorder, flusher, journal) =
        start_recorder(PgStore::new(flush, None), journal, config).await?;
    let journal_line = match &journal {
        Some(journal) => format!("click journal: {}", journal.dir().display()),
        None => {
            "click journal: off (--no-click-journal): clicks are dropped when the buffer stays full"
                .to_owned()
        }
    };
    Ok(Parts {
        store: Arc::new(store),
        resolver: cache,
        recorder,
        flusher,
        banner: vec!["storage: PostgreSQL".to_owned(), journal_line],
        logins: Vec::new(),
        change_listener: Some(listener),
        journal,
        partitions: Some(partitions),
        click_totals: Some(click_totals),
    })
}

async fn on_memory(demo_password: Option<&str>, config: FlushConfig) -> anyhow::Result<Parts> {
    let store = MemoryStore::new();
    // Without --demo-password a fresh one, printed once: the demo is usable as printed, and
    // a password nobody chose is one nobody else knows.
    let (password, shown) = match demo_password {
        Some(given) => (given.to_owned(), "the --demo-password".to_owned()),
        None => {
            let generated = demo::generate_password();
            let shown = format!("password: {generated}");
            (generated, shown)
        }
    };
    let password =
        Password::parse(&password).map_err(|reason| anyhow::anyhow!("--demo-password {reason}"))?;
    let link = demo::seed(&store, password)
        .await
        .context("cannot create the demo data")?;
    let (recorder, flusher, journal) = start_recorder(store.clone(), None, config).await?;
    let banner = vec![
        "storage: in memory only — everything is lost when the server stops (set DATABASE_URL to use PostgreSQL)".to_owned(),
        format!("demo short link: {{base}}/{} -> {}", link.slug, link.destination_url),
    ];
    let accounts = demo::ACCOUNTS
        .iter()
        .map(|(email, role)| format!("{email} ({role})"))
        .collect::<Vec<_>>()
        .join(", ");
    let logins = vec![format!("demo logins: {accounts}; {shown}")];
    Ok(Parts {
        store: Arc::new(store.clone()),
        resolver: Arc::new(store),
        recorder,
        flusher,
        banner,
        logins,
        change_listener: None,
        journal,
        partitions: None,
        click_totals: None,
    })
}

/// Installs the SIGTERM handler now — before the server says it is listening, so a stop sent
/// right after start-up is a graceful one — and returns the future that waits for SIGTERM or
/// Ctrl-C.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    Ok(async move {
        #[cfg(unix)]
        let terminated = terminate.recv();
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminated => {},
        }
        tracing::info!("shutting down: finishing requests in flight, then draining clicks");
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: escape codes in a log file or collector are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // One JSON object per line, for log shippers.
        LogFormat::Json => builder.json().try_init(),
    };
}

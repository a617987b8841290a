//! Pool starvation: the real server on PostgreSQL, flooded with anonymous traffic that reaches
//! the database (random slugs from ever new addresses, preview fetchers) while shoppers click.
//! The redirect's reads have a pool of their own, so the click flusher and the API keep theirs.

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

mod common;

use common::load::fetch;
use common::{FreshDatabase, Server, SECRET_KEY};
use skinstack_core::store::LinkRepo;
use skinstack_core::testkit::{new_link, Fixture};
use skinstack_pg::{Cipher, PgStore};
use sqlx::PgPool;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::sleep;
use uuid::Uuid;

/// Prints the test's figures past the harness's capture, where CI logs show them.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// How long the flood lasts.
const FLOOD: Duration = Duration::from_secs(8);
/// Flooding clients and clicking shoppers.
const FLOODERS: usize = 24;
const SHOPPERS: usize = 4;
/// The bound on the flusher's lag this test holds the server to: every click answered longer
/// ago than this is stored, at every sample. Eight flush intervals (250 ms): generous for two
/// cores run flat out by the flood, PostgreSQL and the server at once.
const LAG_BOUND: Duration = Duration::from_secs(2);

const PREVIEW_UA: &str =
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)";

/// `GET path` with `user_agent` claiming to come from `forwarded_for`; the status, or 0.
async fn get_as(addr: SocketAddr, path: &str, user_agent: &str, forwarded_for: &str) -> u16 {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {user_agent}\r\nX-Forwarded-For: {forwarded_for}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    match attempt.await {
        Ok(response) => String::from_utf8_lossy(&response)
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

async fn stored_ids(pool: &PgPool) -> HashSet<Uuid> {
    let ids: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM clicks")
        .fetch_all(pool)
        .await
        .unwrap();
    ids.into_iter().map(|(id,)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_slugs_and_preview_fetches_neither_loses_clicks_nor_stalls_the_flusher() {
    let db = FreshDatabase::create();
    // Small pools, so the flood holds every redirect connection all the time.
    let server = Server::start_with(
        Some(&db.url),
        &[
            "--trust-forwarded-for",
            "--redirect-pool",
            "2",
            "--flush-pool",
            "1",
            "--api-pool",
            "2",
        ],
    );
    let addr = server.addr;
    let pool = PgPool::connect(&db.url).await.unwrap();
    let store = PgStore::new(
        pool.clone(),
        Some(Cipher::from_key_base64(SECRET_KEY).unwrap()),
    );
    let cast = Fixture::create(&store).await;
    let mut links = Vec::new();
    for i in 0..8 {
        let link = store
            .insert_link(new_link(&cast, &format!("pool-{i}")))
            .await
            .unwrap();
        links.push(format!("/{}", link.slug));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flood_answers = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let sent = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for i in 0..FLOODERS {
        let (stop, answers, sent, links) = (
            stop.clone(),
            flood_answers.clone(),
            sent.clone(),
            links.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let k = sent.fetch_add(1, Ordering::Relaxed);
                // Every request from a new address: a botnet, which no per-address limit stops.
                let from = format!("198.18.{}.{}", (k >> 8) & 0xff, k & 0xff);
                let random = format!("/x{i}n{n}k{k}");
                let (path, ua) = match n % 3 {
                    0 => (links[(n as usize) % links.len()].as_str(), PREVIEW_UA),
                    1 => (random.as_str(), PREVIEW_UA),
                    _ => (
                        random.as_str(),
                        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
                    ),
                };
                let status = get_as(addr, path, ua, &from).await;
                *answers.lock().unwrap().entry(status).or_insert(0) += 1;
            }
        }));
    }

    let clicks = Arc::new(Mutex::new(Vec::<(Instant, Uuid)>::new()));
    let not_redirected = Arc::new(AtomicU64::new(0));
    let mut shoppers = Vec::new();
    for i in 0..SHOPPERS {
        let (stop, clicks, not_redirected, links) = (
            stop.clone(),
            clicks.clone(),
            not_redirected.clone(),
            links.clone(),
        );
        shoppers.push(tokio::spawn(async move {
            let mut n = i;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                match fetch(addr, &links[n % links.len()]).await {
                    (302, Some(id)) => clicks.lock().unwrap().push((Instant::now(), id)),
                    _ => {
                        not_redirected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    // Sample the flusher's lag, the API's answer and the pools while the flood runs.
    let started = Instant::now();
    let mut worst_lag = Duration::ZERO;
    let mut samples = 0;
    let mut slowest_api = Duration::ZERO;
    let mut redirect_connections = 0;
    sleep(Duration::from_millis(500)).await;
    while started.elapsed() < FLOOD {
        let now = Instant::now();
        let stored = stored_ids(&pool).await;
        let answered: Vec<(Instant, Uuid)> = clicks.lock().unwrap().clone();
        let oldest_unstored = answered
            .iter()
            .filter(|(at, id)| *at < now && !stored.contains(id))
            .map(|(at, _)| now - *at)
            .max()
            .unwrap_or_default();
        worst_lag = worst_lag.max(oldest_unstored);
        samples += 1;

        let asked = Instant::now();
        let (status, _, body) = common::http(addr, "GET", "/readyz", None, None).await;
        assert_eq!(status, 200, "the API answers through the flood: {body}");
        slowest_api = slowest_api.max(asked.elapsed());

        let (held,): (i64,) = sqlx::query_as(
            // This test's database only: pg_stat_activity is the whole server's, where other
            // tests (and their servers' redirect pools) run at the same time.
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'skinstack-redirect' AND datname = current_database()",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        redirect_connections = redirect_connections.max(held);
        sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for task in flooders.into_iter().chain(shoppers) {
        task.await.unwrap();
    }
    let flood = flood_answers.lock().unwrap().clone();
    let flooded: u64 = flood.values().sum();
    let answered: HashSet<Uuid> = clicks.lock().unwrap().iter().map(|(_, id)| *id).collect();

    // Every click answered is stored (bounded wait: the flusher writes every 250 ms).
    let deadline = Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let stored = stored_ids(&pool).await;
        if answered.is_subset(&stored) || Instant::now() > deadline {
            break stored;
        }
        sleep(Duration::from_millis(100)).await;
    };
    let (clean_exit, stdout) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(clean_exit, "{stdout:?}");
    report!(
        "pool starvation: {flooded} flood requests in {:.1?} ({:.0}/s), answers {flood:?}; {} clicks answered, {} stored; worst flusher lag over {samples} samples {worst_lag:?}; slowest /readyz {slowest_api:?}; redirect connections at most {redirect_connections}",
        started.elapsed(),
        flooded as f64 / started.elapsed().as_secs_f64(),
        answered.len(),
        stored.len()
    );

    assert_eq!(
        not_redirected.load(Ordering::Relaxed),
        0,
        "every shopper was redirected"
    );
    assert!(!answered.is_empty());
    assert_eq!(
        answered.difference(&stored).count(),
        0,
        "no click lost: every 302 has its row"
    );
    assert_eq!(stored.len(), answered.len(), "no row without its 302");
    assert!(
        worst_lag <= LAG_BOUND,
        "the flusher's lag stayed under {LAG_BOUND:?}: worst {worst_lag:?}"
    );
    assert!(
        flood.get(&404).copied().unwrap_or(0) > 1_000,
        "the flood reached the database with misses: {flood:?}"
    );
    assert!(
        (1..=2).contains(&redirect_connections),
        "the redirect's reads held at most their own pool: {redirect_connections}"
    );
}

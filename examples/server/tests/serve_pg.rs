//! `skinstack-server serve` on PostgreSQL, as a real process: no click is lost on a graceful
//! stop or while the database is away.

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

mod common;

use common::{get_status, FreshDatabase, Server, TcpProxy, SECRET_KEY};
use skinstack_core::store::LinkRepo;
use skinstack_core::testkit::{new_link, Fixture};
use skinstack_core::TrackingLink;
use skinstack_pg::{Cipher, PgStore};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn seed_link(pool: &PgPool, slug: &str) -> TrackingLink {
    let store = PgStore::new(
        pool.clone(),
        Some(Cipher::from_key_base64(SECRET_KEY).unwrap()),
    );
    let cast = Fixture::create(&store).await;
    store.insert_link(new_link(&cast, slug)).await.unwrap()
}

async fn counts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM clicks), (SELECT COALESCE(sum(total_clicks), 0) FROM tracking_links)")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_redirect_answered_before_a_graceful_stop_has_its_click() {
    let db = FreshDatabase::create();
    let server = Server::start(Some(&db.url)); // migrates the fresh database
    let pool = PgPool::connect(&db.url).await.unwrap();
    let link = seed_link(&pool, "graceful").await;
    let path = format!("/{}", link.slug);

    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let path = path.clone();
            let addr = server.addr;
            tokio::spawn(async move {
                let mut found = 0;
                for _ in 0..10 {
                    assert_eq!(get_status(addr, &path).await, 302);
                    found += 1;
                }
                found
            })
        })
        .collect();
    let mut answered = 0;
    for task in tasks {
        answered += task.await.unwrap();
    }
    assert_eq!(answered, 400);

    let (clean_exit, stdout) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(clean_exit, "{stdout:?}");
    assert!(
        stdout
            .iter()
            .any(|l| l.contains("redirects_answered=400 clicks_written=400")),
        "{stdout:?}"
    );
    assert_eq!(counts(&pool).await, (400, 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_go_on_and_no_click_is_lost_while_the_database_is_away() {
    let db = FreshDatabase::create();
    let admin: url::Url = db.url.parse().unwrap();
    let upstream = format!(
        "{}:{}",
        admin.host_str().unwrap(),
        admin.port().unwrap_or(5432)
    );
    let proxy = TcpProxy::start(
        tokio::net::lookup_host(upstream)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    let mut through_proxy = admin.clone();
    through_proxy.set_host(Some("127.0.0.1")).unwrap();
    through_proxy.set_port(Some(proxy.addr.port())).unwrap();

    let server = Server::start(Some(through_proxy.as_str()));
    let pool = PgPool::connect(&db.url).await.unwrap();
    let link = seed_link(&pool, "sturdy").await;
    let path = format!("/{}", link.slug);
    assert_eq!(get_status(server.addr, &path).await, 302); // now cached

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(1)), Arc::new(AtomicU64::new(0)));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (stop, ok, failed, path, addr) = (
                stop.clone(),
                ok.clone(),
                failed.clone(),
                path.clone(),
                server.addr,
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match get_status(addr, &path).await {
                        302 => ok.fetch_add(1, Ordering::SeqCst),
                        _ => failed.fetch_add(1, Ordering::SeqCst),
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    let during_before = ok.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answered_while_away = ok.load(Ordering::SeqCst) - during_before;
    proxy.restore();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "every redirect answered 302"
    );
    assert!(
        answered_while_away > 0,
        "cached links kept redirecting while the database was away"
    );
    let (clean_exit, stdout) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(clean_exit, "{stdout:?}");
    let answered = ok.load(Ordering::SeqCst) as i64;
    assert_eq!(
        counts(&pool).await,
        (answered, answered),
        "every click stored exactly once"
    );
}

/// Polls `path` on `addr` until it answers `status`, failing after one second.
async fn answers_within_a_second(addr: std::net::SocketAddr, path: &str, status: u16) {
    let start = std::time::Instant::now();
    loop {
        let got = get_status(addr, path).await;
        if got == status {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{addr}{path} still answers {got}, not {status}, after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_influencers_link_answers_410_within_a_second_on_two_server_processes() {
    use skinstack_core::service::memberships;
    use skinstack_core::service::Actor;

    let db = FreshDatabase::create();
    let first = Server::start(Some(&db.url)); // migrates the fresh database
    let second = Server::start(Some(&db.url));
    let pool = PgPool::connect(&db.url).await.unwrap();
    let store = PgStore::new(
        pool.clone(),
        Some(Cipher::from_key_base64(SECRET_KEY).unwrap()),
    );
    let cast = Fixture::create(&store).await;
    let link = store
        .insert_link(new_link(&cast, "banned-soon"))
        .await
        .unwrap();
    let path = format!("/{}", link.slug);
    // Both processes have the live link cached.
    for server in [&first, &second] {
        assert_eq!(get_status(server.addr, &path).await, 302);
        assert_eq!(get_status(server.addr, &path).await, 302);
    }

    let merchant = Actor::new(cast.merchant_user.clone()).unwrap();
    memberships::ban(
        &store,
        &merchant,
        cast.program.id,
        cast.influencer.id,
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    answers_within_a_second(first.addr, &path, 410).await;
    answers_within_a_second(second.addr, &path, 410).await;
    for server in [first, second] {
        let (clean_exit, stdout) = tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap();
        assert!(clean_exit, "{stdout:?}");
    }
}

/// A GeoLite2-Country-like database file with 81.2.69.0/24 in GB but its upper half in IE,
/// written for the test; deleted on drop.
struct CountryFile(std::path::PathBuf);

impl CountryFile {
    fn write() -> Self {
        use mmdb_writer::{ipnet::IpNet, Value, Writer};
        let mut writer = Writer::builder("GeoLite2-Country")
            .description(&[("en", "Test countries")])
            .build();
        for (network, code) in [("81.2.69.0/24", "GB"), ("81.2.69.128/25", "IE")] {
            let country = Value::map([("iso_code", Value::from(code))]);
            writer
                .insert_value(
                    network.parse::<IpNet>().unwrap(),
                    Value::map([("country", country)]),
                )
                .unwrap();
        }
        let path = std::env::temp_dir().join(format!("countries-{}.mmdb", uuid::Uuid::new_v4()));
        std::fs::write(&path, writer.to_bytes().unwrap()).unwrap();
        Self(path)
    }
}

impl Drop for CountryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_geoip_db_that_is_not_a_country_database_stops_the_server_at_start() {
    let path = std::env::temp_dir().join(format!("not-countries-{}.mmdb", uuid::Uuid::new_v4()));
    std::fs::write(&path, b"GeoLite2-Country, honest").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skinstack-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--geoip-db"])
        .arg(&path)
        .env_remove("DATABASE_URL")
        .env("SKINSTACK_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--geoip-db"), "{stderr}");
    assert!(stderr.contains(&*path.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("not a valid MaxMind DB"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening on"),
        "it never served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_geoip_db_and_no_visitor_headers_a_stored_click_keeps_its_country_and_families_only()
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = FreshDatabase::create();
    let countries = CountryFile::write();
    let geoip = countries.0.to_str().unwrap();
    let server = Server::start_with(
        Some(&db.url),
        &[
            "--trust-forwarded-for",
            "--geoip-db",
            geoip,
            "--no-visitor-headers",
        ],
    );
    let pool = PgPool::connect(&db.url).await.unwrap();
    let link = seed_link(&pool, "private").await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.1.1.28.108 (iPhone14,5; iOS 17_1; en_US; en; scale=3.00; 1170x2532; 541635890)\r\nReferer: https://l.instagram.com/?u=x\r\nX-Forwarded-For: 81.2.69.200\r\nConnection: close\r\n\r\n",
        link.slug, server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 302"), "{response}");

    let (clean_exit, stdout) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(clean_exit, "{stdout:?}");
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Row = sqlx::query_as(
        "SELECT host(c.ip_prefix), c.country, c.user_agent, c.referer, f.device, f.platform, \
                c.referrer_domain \
         FROM clicks c JOIN click_families f ON f.id = c.id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        row,
        (
            some("81.2.69.0"),
            // The anonymised address would say GB: the lookup had the full one.
            some("IE"),
            None,
            None,
            some("mobile"),
            some("instagram"),
            some("instagram.com"),
        )
    );
}

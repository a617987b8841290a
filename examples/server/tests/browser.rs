//! The dashboard in a real browser: headless Chromium (the OS's `chromium` and
//! `chromium-driver` packages, which `scripts/test` installs) driven over WebDriver against
//! `skinstack-server serve`, with no network beyond 127.0.0.1.
//!
//! The demo influencer logs in, creates a link to a local shop, sees it listed, opens its QR
//! code, follows the short link to the shop's page (which records the query string it got)
//! and finds the click counted, sees where its links' clicks come from (apps, devices,
//! countries, QR code or link), opens the demo link's charts and breakdowns, then logs out; the
//! demo merchant logs in and sees the brand's page with its members ranked by revenue.
//! Screenshots at phone and laptop sizes go to `target/browser-test/`. A missing Chromium
//! fails the test: it is never skipped.

#![allow(clippy::unwrap_used)] // a test reports failure by panicking

mod common;

use axum::extract::State;
use axum::http::Uri;
use common::{json_of, Server};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEMO_INFLUENCER: &str = "ana@demo.skinstack.dev";
const DEMO_MERCHANT: &str = "brand@demo.skinstack.dev";
const DEMO_PASSWORD: &str = "demo password for the browser";
/// A shopper's browser: HeadlessChrome's own user agent is (rightly) classified as a robot,
/// and robots' clicks are not counted.
const SHOPPER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";
const WAIT: Duration = Duration::from_secs(15);

/// `path` if it is an executable file, else `name` found on PATH.
fn program(env: &str, path: &str, name: &str) -> PathBuf {
    if let Some(given) = std::env::var_os(env) {
        return PathBuf::from(given);
    }
    if Path::new(path).is_file() {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} not found (looked at {path}, on PATH and in ${env}). Install it with \
                 `apt-get install chromium chromium-driver` (scripts/test does so when run as root)."
            )
        })
}

/// A chromedriver process on a free local port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program(
            "CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        ))
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium that can reach 127.0.0.1 and nothing else.
async fn browser(driver: &Driver, profile: &Path) -> Client {
    let chromium = program("CHROMIUM", "/usr/bin/chromium", "chromium");
    let args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-proxy-server".to_owned(),
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--no-first-run".to_owned(),
        "--hide-scrollbars".to_owned(),
        "--window-size=1280,860".to_owned(),
        format!("--user-agent={SHOPPER_AGENT}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session with Chromium")
}

/// The shop's site: any page answers, and every path and query string it receives is kept
/// (the browser asks for `/favicon.ico` too).
async fn shop() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .fallback(
            |State(seen): State<Arc<Mutex<Vec<String>>>>, uri: Uri| async move {
                seen.lock().unwrap().push(uri.to_string());
                axum::response::Html(
                    "<!doctype html><title>Local Shop</title><h1>Vitamin C Serum</h1>",
                )
            },
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// A merchant whose website is the local shop, with an open program and a product:
/// (program id, product id).
async fn merchant(server: SocketAddr, shop: SocketAddr) -> (String, String) {
    let email = format!("shop-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "correct horse battery";
    json_of(
        server,
        "POST",
        "/v1/auth/register",
        None,
        Some(json!({"email": email, "password": password, "role": "merchant"})),
        201,
    )
    .await;
    let login = json_of(
        server,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
        200,
    )
    .await;
    let token = login["token"].as_str().unwrap();
    let site = format!("http://{shop}");
    let created = json_of(
        server,
        "POST",
        "/v1/merchant",
        Some(token),
        Some(json!({"business_name": "Local Shop", "website_url": site})),
        201,
    )
    .await;
    // The demo administrator verifies it: only a verified merchant's program is open.
    let admin = json_of(
        server,
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": "admin@demo.skinstack.dev", "password": DEMO_PASSWORD})),
        200,
    )
    .await;
    let verify = format!(
        "/v1/admin/merchants/{}/verify",
        created["id"].as_str().unwrap()
    );
    json_of(server, "POST", &verify, admin["token"].as_str(), None, 200).await;
    let program = json_of(
        server,
        "POST",
        "/v1/programs",
        Some(token),
        Some(json!({
            "name": "Local Shop Ambassadors", "network": "shopify_refersion",
            "commission_type": "percentage", "commission_rate": "15", "cookie_window_days": 30,
            "enrollment_mode": "open"
        })),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = json_of(
        server,
        "POST",
        "/v1/products",
        Some(token),
        Some(json!({
            "program_id": program, "external_id": "serum-30", "name": "Vitamin C Serum",
            "price": "38.50", "product_url": format!("{site}/products/vitamin-c-serum"),
            "category": "serum"
        })),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (program, product)
}

async fn screenshot(client: &Client, dir: &Path, name: &str, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    // Let the layout settle at the new width before the capture.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

/// The text of the first element matching `css`, waiting for it.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks the first element matching `css`.
async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Types `text` into the first field matching `css`.
async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Picks the option `value` of the first `<select>` matching `css`.
async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_influencer_makes_a_link_shares_it_and_sees_the_click_in_a_real_browser() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("browser-test");
    std::fs::create_dir_all(&out).unwrap();
    println!("browser test output: {}", out.display());
    let profile = tempdir(&out);

    let (shop_addr, seen) = shop().await;
    let server = Server::start_with(None, &["--demo-password", DEMO_PASSWORD]);
    let base = format!("http://{}", server.addr);
    let (program, product) = merchant(server.addr, shop_addr).await;
    let driver = Driver::start();
    let client = browser(&driver, &profile).await;

    // The steps run in a task of their own so that, should one fail, the browser is still
    // closed (closing the session ends Chromium; killing chromedriver alone would not).
    let steps = tokio::spawn(drive(client.clone(), base, program, product, out, seen));
    let result = steps.await;
    client.close().await.ok();
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    match result {
        Ok(outcome) => outcome.unwrap(),
        Err(failed) => std::panic::resume_unwind(failed.into_panic()),
    }
}

async fn drive(
    client: Client,
    base: String,
    program: String,
    product: String,
    out: PathBuf,
    seen: Arc<Mutex<Vec<String>>>,
) -> Result<(), String> {
    let (client, base, out) = (&client, base.as_str(), out.as_path());
    let (program, product) = (program.as_str(), product.as_str());
    // Logged out, the dashboard sends us to its login form.
    client.goto(&format!("{base}/dashboard")).await.unwrap();
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/dashboard/login"));
    screenshot(client, out, "login-phone", 390, 844).await;
    log_in(client, DEMO_INFLUENCER).await;
    let greeting = text_of(client, ".hello h1").await;
    assert_eq!(greeting, "Hi, Ana Glow");
    // The demo link is there already, with three weeks of orders: those past their 7-day
    // hold approved, the others pending (the influencer's share, 6.16 a serum).
    text_of(client, "#link-glow-demo").await;
    let earnings = text_of(client, "section.stats").await;
    assert!(
        earnings.contains("$43.12") && earnings.contains("$55.44"),
        "{earnings}"
    );

    // A new link to the local shop's serum.
    choose(client, "select[name=program_id]", program).await;
    choose(client, "select[name=product_id]", product).await;
    type_into(client, "input[name=slug]", "ana-serum").await;
    click(client, ".new-link button[type=submit]").await;
    let card = text_of(client, "#link-ana-serum").await;
    assert!(
        text_of(client, ".links .notice")
            .await
            .contains("ana-serum is ready"),
        "the new link is pointed out"
    );
    assert!(
        card.contains("Vitamin C Serum") && card.contains("Local Shop Ambassadors"),
        "{card}"
    );
    let short = client
        .find(Locator::Css("#link-ana-serum input.short"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(short, format!("{base}/ana-serum"));

    // Its QR code, on its own page.
    click(client, "#link-ana-serum a.qr").await;
    text_of(client, "img.qr-large").await;
    let loaded = client
        .execute(
            "const img = document.querySelector('img.qr-large');
             return img.complete ? [img.naturalWidth, img.getAttribute('src')] : [0, ''];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        loaded[0].as_u64().unwrap() >= 240,
        "QR image loaded: {loaded}"
    );
    assert!(
        loaded[1].as_str().unwrap().ends_with("/qr.svg?size=320"),
        "{loaded}"
    );
    let charts = client
        .find_all(Locator::Css("figure.chart svg"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 3, "clicks, conversions and earnings charts");

    // A shopper follows the short link to the shop, with UTM parameters and a click id.
    client.goto(&short).await.unwrap();
    let landed = client.current_url().await.unwrap();
    assert_eq!(landed.path(), "/products/vitamin-c-serum");
    let visits = seen.lock().unwrap().clone();
    let visit = visits
        .iter()
        .find(|uri| uri.starts_with("/products/vitamin-c-serum?"))
        .ok_or(format!("the shop saw no visit to the product: {visits:?}"))?;
    let query = visit.split_once('?').map(|(_, q)| q).unwrap_or_default();
    for expected in ["utm_source=skinstack", "utm_medium=affiliate"] {
        assert!(query.contains(expected), "{expected} in {query}");
    }
    let click_id = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("ssclid="))
        .ok_or(format!("no click id in {query}"))?;
    assert!(uuid::Uuid::try_parse(click_id).is_ok(), "{click_id}");

    // Back on the dashboard the click is counted (once the recorder has flushed it).
    let deadline = Instant::now() + WAIT;
    loop {
        client.goto(&format!("{base}/dashboard")).await.unwrap();
        let counters = text_of(client, "#link-ana-serum dl.counters").await;
        if counters.contains("CLICKS\n1") || counters.contains("Clicks\n1") {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the click never showed: {counters:?}"));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    screenshot(client, out, "dashboard-laptop", 1280, 860).await;
    screenshot(client, out, "dashboard-phone", 390, 844).await;
    // Where all of the influencer's clicks came from: the demo link's apps, countries and
    // QR scans, and the click just made from a computer.
    breakdowns(
        client,
        &[
            "Where your clicks come from",
            "Top platforms",
            "Instagram",
            "TikTok",
            "YouTube",
            "Browser (no app)",
            "Devices",
            "Computer",
            "Countries",
            "United States",
            "QR code or link",
            "QR code",
            "EPC",
        ],
    )
    .await;
    section_screenshot(client, out, "dashboard-breakdowns", 1280, 1000).await;
    section_screenshot(client, out, "dashboard-breakdowns-phone", 390, 844).await;
    click(client, "#link-ana-serum a.more").await;
    text_of(client, "figure.chart").await;
    screenshot(client, out, "link-laptop", 1280, 860).await;
    screenshot(client, out, "link-phone", 390, 844).await;

    // The demo link's page: its three weeks, charted.
    client.goto(&format!("{base}/dashboard")).await.unwrap();
    click(client, "#link-glow-demo a.more").await;
    let charts = text_of(client, ".charts").await;
    assert!(
        charts.contains("Your earnings $98.56"),
        "all of the demo's earnings in the last 30 days: {charts}"
    );
    screenshot(client, out, "demo-link-laptop", 1280, 860).await;
    screenshot(client, out, "demo-link-phone", 390, 844).await;
    breakdowns(
        client,
        &[
            "Where this link's clicks come from",
            "Instagram",
            "Germany",
            "QR code",
        ],
    )
    .await;
    section_screenshot(client, out, "demo-link-breakdowns", 1280, 1000).await;
    section_screenshot(client, out, "demo-link-breakdowns-phone", 390, 844).await;

    // Logging out ends the session; the demo merchant sees the brand's side.
    click(client, ".account button[type=submit]").await;
    text_of(client, "input[name=email]").await;
    client.goto(&format!("{base}/dashboard")).await.unwrap();
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/dashboard/login"));
    log_in(client, DEMO_MERCHANT).await;
    assert_eq!(text_of(client, ".hello h1").await, "Glow Co");
    let page = text_of(client, "main").await;
    assert!(
        page.contains("Glow Ambassadors") && page.contains("Vitamin C Serum"),
        "{page}"
    );
    screenshot(client, out, "merchant-laptop", 1280, 860).await;
    screenshot(client, out, "merchant-phone", 390, 844).await;
    // The members who sell, with their clicks a day, the products and the countries.
    breakdowns(
        client,
        &[
            "Who sells",
            "Members by revenue",
            "Ana Glow",
            "Top products",
            "Vitamin C Serum",
            "Countries",
            "United States",
        ],
    )
    .await;
    let sparklines = client
        .find_all(Locator::Css("#breakdowns svg.spark"))
        .await
        .unwrap();
    assert_eq!(sparklines.len(), 1, "one member, one sparkline");
    section_screenshot(client, out, "dashboard-merchant", 1280, 1000).await;
    section_screenshot(client, out, "dashboard-merchant-phone", 390, 844).await;
    Ok(())
}

/// Checks the page's breakdowns section: shown, every chart an image with an accessible
/// name and a table of its numbers, the `expected` texts in it, and nothing wider than a
/// phone's screen (no scrolling sideways, in the page or in the section).
async fn breakdowns(client: &Client, expected: &[&str]) {
    let section = text_of(client, "#breakdowns").await;
    for text in expected {
        assert!(section.contains(text), "{text:?} in {section}");
    }
    let charts = client
        .find_all(Locator::Css("#breakdowns figure.bars svg.bar-chart"))
        .await
        .unwrap();
    assert!(charts.len() >= 3, "{} charts", charts.len());
    for chart in &charts {
        assert!(chart.is_displayed().await.unwrap(), "a chart is shown");
        assert_eq!(chart.attr("role").await.unwrap().as_deref(), Some("img"));
        let name = chart.attr("aria-label").await.unwrap().unwrap_or_default();
        assert!(
            name.contains(':'),
            "an accessible name with the figures: {name:?}"
        );
    }
    let tables = client
        .find_all(Locator::Css("#breakdowns figure.bars table.figures"))
        .await
        .unwrap();
    assert_eq!(tables.len(), charts.len(), "a table beside every chart");
    client.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let widths = client
        .execute(
            "const s = document.getElementById('breakdowns');
             return [document.documentElement.scrollWidth, window.innerWidth,
                     s.scrollWidth, s.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let w: Vec<u64> = widths
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap_or(u64::MAX))
        .collect();
    assert!(
        w[0] <= w[1],
        "the page scrolls sideways on a phone: {widths}"
    );
    assert!(
        w[2] <= w[3],
        "the section scrolls sideways on a phone: {widths}"
    );
}

/// A screenshot at `width` × `height` with the breakdowns section at the top, below the
/// sticky header.
async fn section_screenshot(client: &Client, dir: &Path, name: &str, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .execute(
            "const s = document.getElementById('breakdowns');
             const header = document.querySelector('header.top').offsetHeight;
             window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - header - 12);",
            vec![],
        )
        .await
        .unwrap();
    screenshot(client, dir, name, width, height).await;
    // Back to the top, so that the sticky header covers nothing the next step clicks.
    client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
}

async fn log_in(client: &Client, email: &str) {
    type_into(client, "input[name=email]", email).await;
    type_into(client, "input[name=password]", DEMO_PASSWORD).await;
    click(client, "form button[type=submit]").await;
}

/// A fresh Chromium profile directory under `out`.
fn tempdir(out: &Path) -> PathBuf {
    let dir = out.join(format!("profile-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

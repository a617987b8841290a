//! Registration and login cannot be used to exhaust the server: registrations are limited per
//! address, every per-address limit counts an IPv6 /64 as one address, only failed logins
//! count against an account, password hashing has a fixed number of slots (503 beyond), and
//! an email over 254 bytes is refused before any of that.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use governor::Quota;
use serde_json::{json, Value};
use skinstack_core::service::accounts;
use skinstack_core::{
    Argon2Hasher, Email, MemoryStore, Password, PasswordHash, PasswordHasher, Role,
};
use skinstack_http::client_ip::ClientIpSource;
use skinstack_http::{ApiState, LoginLimits};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

fn per_hour(burst: u32) -> Quota {
    Quota::with_period(Duration::from_secs(3600))
        .unwrap()
        .allow_burst(NonZeroU32::new(burst).unwrap())
}

/// The API over `store` with `limits` applied, reading client addresses from
/// `X-Forwarded-For` (as behind a proxy).
fn app(store: Arc<MemoryStore>, limits: impl FnOnce(ApiState) -> ApiState) -> TestApp {
    let state = limits(ApiState::new(store.clone()).with_hasher(hasher()))
        .with_client_ip(ClientIpSource::RightmostForwardedFor);
    TestApp {
        router: axum::Router::new().merge(skinstack_http::api(state)),
        store,
    }
}

async fn post_from(app: &TestApp, ip: &str, path: &str, body: Value) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", ip)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

fn sign_up(email: &str) -> Value {
    json!({"email": email, "password": PASSWORD, "role": "influencer"})
}

fn credentials(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

fn retry_after(reply: &Reply) -> u64 {
    reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn fresh_email() -> String {
    format!("ana-{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_an_ipv6_64_is_one_address() {
    let app = app(Arc::new(MemoryStore::new()), |s| {
        s.with_registration_limit(per_hour(3))
    });
    // Three addresses of one /64 share its budget of three.
    for ip in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff:0:0:3",
    ] {
        let reply = post_from(&app, ip, "/v1/auth/register", sign_up(&fresh_email())).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{ip}: {}", reply.text);
    }
    let reply = post_from(
        &app,
        "2001:db8:1:2:abcd:ef01:2345:6789",
        "/v1/auth/register",
        sign_up(&fresh_email()),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text
    );
    assert_eq!(reply.json["error"], "too_many_requests");
    assert!((1..=3600).contains(&retry_after(&reply)));
    // A refused sign-up is refused before the limit, and spends none of another address's.
    let long = format!("{}@example.com", "a".repeat(300));
    let reply = post_from(&app, "2001:db8:1:2::1", "/v1/auth/register", sign_up(&long)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert!(reply.json["fields"]["email"].is_array(), "{}", reply.text);
    // The next /64, and IPv4 addresses, have budgets of their own.
    for ip in ["2001:db8:1:3::1", "203.0.113.7", "203.0.113.8"] {
        let reply = post_from(&app, ip, "/v1/auth/register", sign_up(&fresh_email())).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{ip}: {}", reply.text);
    }
}

#[tokio::test]
async fn login_attempts_per_address_count_an_ipv6_64_as_one_address() {
    let many = Quota::per_second(NonZeroU32::new(10_000).unwrap());
    let app = app(Arc::new(MemoryStore::new()), |s| {
        s.with_login_limits(LoginLimits {
            per_account: many,
            per_ip: per_hour(3),
        })
    });
    let email = fresh_email();
    let reply = post_from(&app, "198.51.100.1", "/v1/auth/register", sign_up(&email)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    for ip in ["2001:db8:9:9::1", "2001:db8:9:9::2", "2001:db8:9:9:1:2:3:4"] {
        let reply = post_from(&app, ip, "/v1/auth/login", credentials(&email, PASSWORD)).await;
        assert_eq!(reply.status, StatusCode::OK, "{ip}: {}", reply.text);
    }
    let reply = post_from(
        &app,
        "2001:db8:9:9::ffff",
        "/v1/auth/login",
        credentials(&email, PASSWORD),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text
    );
    let reply = post_from(
        &app,
        "2001:db8:9:a::1",
        "/v1/auth/login",
        credentials(&email, PASSWORD),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn successful_logins_never_count_against_an_account_but_failures_do() {
    // The real limits: five failures per account, then one a minute. No client address here
    // (no proxy header, no peer), so only the account's limit applies.
    let app = TestApp::api_only(Arc::new(MemoryStore::new()), LoginLimits::default());
    let email = fresh_email();
    let reply = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(sign_up(&email)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let right = credentials(&email, PASSWORD);
    let wrong = credentials(&email, "wrong password!!");
    // Far more logins than the burst: the owner's app logging in all day is never locked out.
    for _ in 0..12 {
        let reply = app
            .call(Method::POST, "/v1/auth/login", None, Some(right.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    // Four failures, a success in between (not counted), one more failure: five in all.
    for _ in 0..4 {
        let reply = app
            .call(Method::POST, "/v1/auth/login", None, Some(wrong.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(right.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(wrong.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // The sixth failure within the minute is throttled, and so is the owner now.
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(wrong))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=60).contains(&retry_after(&reply)));
    // The account is named through `Email`: another spelling of it is the same account.
    let shouted = credentials(&format!("  {}  ", email.to_uppercase()), PASSWORD);
    let reply = app
        .call(Method::POST, "/v1/auth/login", None, Some(shouted))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A hasher that counts its work.
struct Counting {
    inner: Arc<Argon2Hasher>,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl PasswordHasher for Counting {
    async fn hash(
        &self,
        password: Password,
    ) -> Result<PasswordHash, skinstack_core::auth::HashError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password).await
    }
    async fn verify(&self, password: Password, hash: Option<PasswordHash>) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, hash).await
    }
}

#[tokio::test]
async fn an_email_over_254_bytes_is_a_422_before_any_throttle_or_hash() {
    let counting = Arc::new(Counting {
        inner: hasher(),
        calls: AtomicUsize::new(0),
    });
    let app = app(Arc::new(MemoryStore::new()), |s| {
        s.with_hasher(counting.clone())
            .with_registration_limit(per_hour(1))
            .with_login_limits(LoginLimits {
                per_account: per_hour(1),
                per_ip: per_hour(1),
            })
    });
    let ip = "192.0.2.44";
    for bytes in [255, 10_000, 60_000] {
        let long = format!("{}@example.com", "a".repeat(bytes - 12));
        for path in ["/v1/auth/login", "/v1/auth/register"] {
            let body = if path.ends_with("login") {
                credentials(&long, PASSWORD)
            } else {
                sign_up(&long)
            };
            let reply = post_from(&app, ip, path, body).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {}",
                reply.text
            );
            assert!(reply.json["fields"]["email"].is_array(), "{path}");
        }
    }
    assert_eq!(counting.calls.load(Ordering::SeqCst), 0, "no hash was run");
    // The address's single registration and single login are still unspent.
    let email = fresh_email();
    let reply = post_from(&app, ip, "/v1/auth/register", sign_up(&email)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = post_from(&app, ip, "/v1/auth/login", credentials(&email, PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// A hasher whose verifications wait at a gate the test opens, and say when they arrive.
struct Gated {
    inner: Arc<Argon2Hasher>,
    arrived: mpsc::UnboundedSender<()>,
    gate: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl PasswordHasher for Gated {
    async fn hash(
        &self,
        password: Password,
    ) -> Result<PasswordHash, skinstack_core::auth::HashError> {
        let _ = self.arrived.send(());
        self.gate.acquire().await.unwrap().forget();
        self.inner.hash(password).await
    }
    async fn verify(&self, password: Password, hash: Option<PasswordHash>) -> bool {
        let _ = self.arrived.send(());
        self.gate.acquire().await.unwrap().forget();
        self.inner.verify(password, hash).await
    }
}

#[tokio::test]
async fn password_hashing_beyond_its_slots_is_answered_503_with_retry_after() {
    let store = Arc::new(MemoryStore::new());
    let mut emails = Vec::new();
    for _ in 0..2 {
        let email = fresh_email();
        accounts::register(
            &*store,
            &*hasher(),
            accounts::Registration {
                email: Email::parse(&email).unwrap(),
                password: Password::parse(PASSWORD).unwrap(),
                role: Role::Influencer,
            },
        )
        .await
        .unwrap();
        emails.push(email);
    }
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let gated = Arc::new(Gated {
        inner: hasher(),
        arrived,
        gate: gate.clone(),
    });
    let app = app(store, |s| {
        s.with_hasher(gated)
            .with_login_limits(generous_limits())
            .with_hash_concurrency(1)
    });
    // The one slot is taken by a login waiting at the gate...
    let first = {
        let app = app.clone();
        let body = credentials(&emails[0], PASSWORD);
        tokio::spawn(async move { post_from(&app, "192.0.2.1", "/v1/auth/login", body).await })
    };
    tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
        .await
        .expect("the first login reaches the hasher")
        .unwrap();
    // ...so another account's login and a registration are told to come back.
    let second = post_from(
        &app,
        "192.0.2.2",
        "/v1/auth/login",
        credentials(&emails[1], PASSWORD),
    )
    .await;
    assert_eq!(
        second.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        second.text
    );
    assert_eq!(second.json["error"], "unavailable");
    assert_eq!(retry_after(&second), 1);
    let signup = post_from(
        &app,
        "192.0.2.3",
        "/v1/auth/register",
        sign_up(&fresh_email()),
    )
    .await;
    assert_eq!(
        signup.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        signup.text
    );
    assert_eq!(retry_after(&signup), 1);
    assert!(arrivals.try_recv().is_err(), "neither reached the hasher");
    // Once the slot is free, both go through.
    gate.add_permits(1);
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    gate.add_permits(1);
    let again = post_from(
        &app,
        "192.0.2.2",
        "/v1/auth/login",
        credentials(&emails[1], PASSWORD),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}

#[test]
fn the_openapi_document_lists_every_status_registration_and_login_can_answer() {
    let doc = serde_json::to_value(skinstack_http::openapi()).unwrap();
    let statuses = |path: &str| -> Vec<String> {
        let responses = &doc["paths"][path]["post"]["responses"];
        let mut codes: Vec<String> = responses.as_object().unwrap().keys().cloned().collect();
        codes.sort();
        codes
    };
    assert_eq!(
        statuses("/v1/auth/register"),
        ["201", "400", "409", "413", "415", "422", "429", "503"]
    );
    assert_eq!(
        statuses("/v1/auth/login"),
        ["200", "400", "401", "413", "415", "422", "429", "503"]
    );
    let daily = &doc["paths"]["/v1/links/{id}/daily"]["get"]["responses"]["422"]["description"];
    assert!(daily.as_str().unwrap().contains("1970-01-01"), "{daily}");
}

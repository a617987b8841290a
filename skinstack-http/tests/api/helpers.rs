//! Building the app and talking to it.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use governor::Quota;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use skinstack_core::service::accounts;
use skinstack_core::{
    Argon2Hasher, ClickRecorder, Email, FlushConfig, LedgerStore, MemoryStore, Password, WebUrl,
};
use skinstack_http::redirect::{self, RedirectState};
use skinstack_http::{ApiState, LoginLimits, WallClock};
use std::num::NonZeroU32;
use std::sync::Arc;
use tower::ServiceExt;

/// Where the test app says its short links live.
pub const PUBLIC_URL: &str = "https://skin.st";

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// The app under test: the API merged with the redirect router, as the server mounts them.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn LedgerStore>,
}

/// A response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

pub fn hasher() -> Arc<Argon2Hasher> {
    // A tiny cost: the real parameters are tested in core; here only the flow matters.
    Arc::new(Argon2Hasher::with_cost(64, 1, 1).unwrap())
}

/// Login limits no test trips by accident.
pub fn generous_limits() -> LoginLimits {
    let many = NonZeroU32::new(10_000).unwrap();
    LoginLimits {
        per_account: Quota::per_second(many),
        per_ip: Quota::per_second(many),
    }
}

impl TestApp {
    /// The API alone (no redirects) over `store`, with `limits`.
    pub fn api_only(store: Arc<dyn LedgerStore>, limits: LoginLimits) -> Self {
        Self::with_resolver(store, None, limits, None)
    }

    fn with_resolver(
        store: Arc<dyn LedgerStore>,
        redirects: Option<RedirectState>,
        limits: LoginLimits,
        clock: Option<WallClock>,
    ) -> Self {
        let mut api = ApiState::new(store.clone())
            .with_hasher(hasher())
            .with_login_limits(limits)
            .with_public_base_url(&WebUrl::parse(PUBLIC_URL).unwrap());
        if let Some(clock) = clock {
            api = api.with_clock(clock);
        }
        // As the reference server mounts them: the dashboard beside the API.
        let mut router = Router::new().merge(skinstack_http::dashboard::router(api.clone()));
        if let Some(redirects) = redirects {
            api = api.with_redirect_metrics(redirects.metrics().clone());
            router = router
                .merge(skinstack_http::api(api))
                .merge(redirect::router(redirects));
        } else {
            router = router.merge(skinstack_http::api(api));
        }
        Self { router, store }
    }

    /// On a fresh in-memory store, with redirects.
    pub fn memory() -> Self {
        Self::memory_at(None)
    }

    /// On a fresh in-memory store, with redirects, the API reading the time from `clock`.
    pub fn memory_at(clock: Option<WallClock>) -> Self {
        let store = MemoryStore::new();
        let (recorder, _flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
        let redirects = RedirectState::new(Arc::new(store.clone()), recorder);
        Self::with_resolver(Arc::new(store), Some(redirects), generous_limits(), clock)
    }

    /// On PostgreSQL, with redirects.
    pub fn postgres(pool: sqlx::PgPool) -> Self {
        Self::postgres_at(pool, None)
    }

    /// On PostgreSQL, with redirects, the API reading the time from `clock`.
    pub fn postgres_at(pool: sqlx::PgPool, clock: Option<WallClock>) -> Self {
        let store = skinstack_pg::PgStore::new(pool, Some(cipher()));
        let (recorder, _flusher) = ClickRecorder::start(store.clone(), FlushConfig::default());
        let redirects = RedirectState::new(Arc::new(store.clone()), recorder);
        Self::with_resolver(Arc::new(store), Some(redirects), generous_limits(), clock)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    /// Registers an account of `role` and logs it in: (token, user id).
    pub async fn account(&self, role: &str) -> (String, String) {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let reply = self
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"email": email, "password": PASSWORD, "role": role})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.json["id"].as_str().unwrap().to_owned();
        (self.login(&email).await, id)
    }

    pub async fn login(&self, email: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json["token"].as_str().unwrap().to_owned()
    }

    /// An administrator, created as the CLI does, logged in: (token, user id, email).
    pub async fn admin(&self) -> (String, String, String) {
        let email = format!("admin-{}@example.com", uuid::Uuid::new_v4().simple());
        let user = accounts::create_admin(
            &*self.store,
            &*hasher(),
            Email::parse(&email).unwrap(),
            Password::parse(PASSWORD).unwrap(),
        )
        .await
        .unwrap();
        (self.login(&email).await, user.id.to_string(), email)
    }

    /// `POST`s `body` to `path` as `token`, asserting 201; the created resource. A merchant
    /// created at `/v1/merchant` is then verified, as an administrator would, because nearly
    /// every test needs one whose programs are open and links redirect; tests of verification
    /// itself use [`TestApp::create_unverified`].
    pub async fn create(&self, token: &str, path: &str, body: Value) -> Value {
        let created = self.create_unverified(token, path, body).await;
        if path != "/v1/merchant" {
            return created;
        }
        let id = created["id"].as_str().unwrap().parse().unwrap();
        let merchant = self
            .store
            .set_merchant_verification(
                skinstack_core::MerchantId::from_uuid(id),
                skinstack_core::testkit::verified_now(),
            )
            .await
            .unwrap();
        serde_json::to_value(skinstack_http::routes::profiles::MerchantView::from(
            merchant,
        ))
        .unwrap()
    }

    /// `POST`s `body` to `path` as `token`, asserting 201; the created resource as answered.
    pub async fn create_unverified(&self, token: &str, path: &str, body: Value) -> Value {
        let reply = self.call(Method::POST, path, Some(token), Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "POST {path}: {}",
            reply.text
        );
        reply.json
    }
}

pub fn cipher() -> skinstack_pg::Cipher {
    skinstack_pg::Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

pub fn influencer_profile() -> Value {
    json!({
        "display_name": "Ana Glow",
        "instagram_handle": "@ana.glow",
        "paypal_email": "ana@paypal.example.com",
        "preferred_payout_method": "paypal",
        "total_followers": 125000
    })
}

pub fn merchant_profile() -> Value {
    json!({
        "business_name": "Glow Co",
        "website_url": "https://glowco.com",
        "shopify_shop_domain": "glowco.myshopify.com",
        "shopify_api_key": "shpat_secret_value_123",
        "refersion_secret_key": "rfs_secret_value_456"
    })
}

pub fn program_json() -> Value {
    json!({
        "name": "Glow Ambassadors",
        "network": "shopify_refersion",
        "commission_type": "percentage",
        "commission_rate": "20",
        "cookie_window_days": 30,
        // Open: influencers join by linking, as most tests need; enrollment tests choose.
        "enrollment_mode": "open"
    })
}

pub fn product_json(program_id: Option<&str>) -> Value {
    json!({
        "program_id": program_id,
        "external_id": format!("sku-{}", uuid::Uuid::new_v4().simple()),
        "name": "Vitamin C Serum",
        "price": "38.50",
        "product_url": "https://glowco.com/products/vitamin-c-serum",
        "category": "serum"
    })
}

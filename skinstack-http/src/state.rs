//! [`ApiState`]: what every API handler shares. Cheap to clone.

use crate::client_ip::ClientIpSource;
use crate::metrics::HttpMetrics;
use crate::redirect::RedirectMetrics;
pub use crate::throttle::LoginLimits;
use crate::throttle::{default_hash_concurrency, default_registration_limit, Throttle};
use governor::Quota;
use skinstack_core::{
    Argon2Hasher, ClickRecorder, LedgerStore, PasswordHasher, Slug, SlugPolicy, WebUrl,
};
use std::sync::Arc;

/// Everything the API handlers share: the store, the password hasher, the login throttle,
/// and the counters `/metrics` reports.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) store: Arc<dyn LedgerStore>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    pub(crate) slug_policy: Arc<SlugPolicy>,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) client_ip: ClientIpSource,
    pub(crate) session_ttl: chrono::Duration,
    pub(crate) metrics: Arc<HttpMetrics>,
    pub(crate) redirect_metrics: Option<Arc<RedirectMetrics>>,
    pub(crate) clicks: Option<ClickRecorder>,
    pub(crate) openapi_json: Arc<str>,
    /// Where short links are served, without a trailing slash: `https://skin.st`.
    pub(crate) public_base_url: Arc<str>,
    pub(crate) clock: WallClock,
    pub(crate) webhook_metrics: Arc<crate::routes::webhooks::WebhookMetrics>,
    pub(crate) order_rules: skinstack_core::service::conversions::OrderRules,
}

/// The time handlers act at: the system clock unless a test sets its own.
pub type WallClock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// The public base URL when none is given: the reference server's default address.
pub const DEFAULT_PUBLIC_BASE_URL: &str = "http://localhost:8080";

impl ApiState {
    /// An API over `store`, with argon2id at OWASP's cost, the default login and registration
    /// limits and hashing concurrency, slug policy and 30-day sessions, client addresses from
    /// the TCP peer.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self {
            store,
            hasher: Arc::new(Argon2Hasher::default()),
            slug_policy: Arc::new(SlugPolicy::default()),
            throttle: Arc::new(Throttle::new(
                LoginLimits::default(),
                default_registration_limit(),
                default_hash_concurrency(),
            )),
            client_ip: ClientIpSource::default(),
            session_ttl: skinstack_core::service::accounts::SESSION_TTL,
            metrics: Arc::default(),
            redirect_metrics: None,
            clicks: None,
            openapi_json: Arc::from(""),
            public_base_url: Arc::from(DEFAULT_PUBLIC_BASE_URL),
            clock: Arc::new(chrono::Utc::now),
            webhook_metrics: Arc::default(),
            order_rules: Default::default(),
        }
    }

    /// Records orders (API and Shopify webhooks) dated within `window` of their receipt
    /// instead of the default 30 days back to 5 minutes ahead.
    pub fn with_order_window(mut self, window: skinstack_core::OrderWindow) -> Self {
        self.order_rules.window = window;
        self
    }

    /// Lets one click id attribute up to `limit` orders (API and Shopify webhooks) instead of
    /// one; later orders carrying it fall back to their coupon or stay unattributed.
    pub fn with_click_reuse_limit(mut self, limit: skinstack_core::ClickReuseLimit) -> Self {
        self.order_rules.click_reuse = limit;
        self
    }

    /// Reads the time from `clock` (for webhook secret rotation windows) instead of the
    /// system clock, so tests can move time without sleeping.
    pub fn with_clock(mut self, clock: WallClock) -> Self {
        self.clock = clock;
        self
    }

    /// The time now, by this state's clock.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.clock)()
    }

    /// Hashes passwords with `hasher` instead (tests use a cheap argon2 cost).
    pub fn with_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = hasher;
        self
    }

    /// Limits login attempts with `limits` instead.
    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        self.throttle = Arc::new(self.throttle.with(Some(limits), None, None));
        self
    }

    /// Limits registrations per client address (an IPv6 address by its /64) with `quota`
    /// instead of [`default_registration_limit`](crate::throttle::default_registration_limit).
    pub fn with_registration_limit(mut self, quota: Quota) -> Self {
        self.throttle = Arc::new(self.throttle.with(None, Some(quota), None));
        self
    }

    /// Hashes at most `slots` passwords at once (at least one) instead of
    /// [`default_hash_concurrency`](crate::throttle::default_hash_concurrency); a registration
    /// or login that finds them all taken is answered `503` with `Retry-After`.
    pub fn with_hash_concurrency(mut self, slots: usize) -> Self {
        self.throttle = Arc::new(self.throttle.with(None, None, Some(slots)));
        self
    }

    /// Generates slugs with `policy` instead.
    pub fn with_slug_policy(mut self, policy: SlugPolicy) -> Self {
        self.slug_policy = Arc::new(policy);
        self
    }

    /// Reads client addresses (for login limits) from `source`; see [`ClientIpSource`].
    pub fn with_client_ip(mut self, source: ClientIpSource) -> Self {
        self.client_ip = source;
        self
    }

    /// Reports these redirect counters on `/metrics` (from
    /// [`RedirectState::metrics`](crate::redirect::RedirectState::metrics)).
    pub fn with_redirect_metrics(mut self, metrics: Arc<RedirectMetrics>) -> Self {
        self.redirect_metrics = Some(metrics);
        self
    }

    /// Serves short links under `url` (such as `https://skin.st`): QR codes and the dashboard
    /// show `<url>/<slug>`. Defaults to [`DEFAULT_PUBLIC_BASE_URL`].
    pub fn with_public_base_url(mut self, url: &WebUrl) -> Self {
        self.public_base_url = Arc::from(url.as_str().trim_end_matches('/'));
        self
    }

    /// The short URL of `slug`.
    pub fn short_url(&self, slug: &Slug) -> String {
        format!("{}/{}", self.public_base_url, slug.as_str())
    }

    /// Whether short links (and the dashboard beside them) are served over https, so cookies
    /// can be marked `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_base_url.starts_with("https://")
    }

    /// Reports this click recorder's buffer depth and flush counters on `/metrics`.
    pub fn with_click_recorder(mut self, recorder: ClickRecorder) -> Self {
        self.clicks = Some(recorder);
        self
    }
}

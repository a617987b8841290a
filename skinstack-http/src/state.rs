//! [`ApiState`]: what every API handler shares. Cheap to clone.

use crate::client_ip::ClientIpSource;
use crate::metrics::HttpMetrics;
use crate::redirect::RedirectMetrics;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use skinstack_core::{
    Argon2Hasher, ClickRecorder, LedgerStore, PasswordHasher, Slug, SlugPolicy, WebUrl,
};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How many login attempts are let through before answering 429.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Per account (by email): a burst, then one attempt per period.
    pub per_account: Quota,
    /// Per client address.
    pub per_ip: Quota,
}

impl Default for LoginLimits {
    /// 5 attempts per account then one a minute; 20 per address then one every 3 seconds.
    fn default() -> Self {
        const FIVE: NonZeroU32 = NonZeroU32::new(5).expect("5 is not zero");
        const TWENTY: NonZeroU32 = NonZeroU32::new(20).expect("20 is not zero");
        Self {
            per_account: Quota::with_period(Duration::from_secs(60))
                .expect("a non-zero period")
                .allow_burst(FIVE),
            per_ip: Quota::with_period(Duration::from_secs(3))
                .expect("a non-zero period")
                .allow_burst(TWENTY),
        }
    }
}

/// Login rate limiting by account and by address, in this process's memory.
pub(crate) struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    ips: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginThrottle {
    fn new(limits: LoginLimits) -> Self {
        Self {
            accounts: DefaultKeyedRateLimiter::keyed(limits.per_account),
            ips: DefaultKeyedRateLimiter::keyed(limits.per_ip),
        }
    }

    /// Spends one attempt for `account` and `ip`, or says how many seconds to wait. Every
    /// attempt is counted before the password is checked, so a storm is turned away without
    /// running the (deliberately slow) hash. governor has no way to look without spending,
    /// so a successful login spends an attempt too; the quotas leave room for that.
    pub(crate) fn attempt(&self, account: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let wait = |not_until: governor::NotUntil<_>| {
            not_until.wait_time_from(clock.now()).as_secs().max(1)
        };
        if let Some(ip) = ip {
            self.ips.check_key(&ip).map_err(wait)?;
        }
        self.accounts
            .check_key(&account.trim().to_lowercase())
            .map_err(wait)?;
        // Forget keys that have fully recovered, so the maps do not grow without bound.
        if self.accounts.len() > 10_000 {
            self.accounts.retain_recent();
        }
        if self.ips.len() > 10_000 {
            self.ips.retain_recent();
        }
        Ok(())
    }
}

/// Everything the API handlers share: the store, the password hasher, the login throttle,
/// and the counters `/metrics` reports.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) store: Arc<dyn LedgerStore>,
    pub(crate) hasher: Arc<dyn PasswordHasher>,
    pub(crate) slug_policy: Arc<SlugPolicy>,
    pub(crate) throttle: Arc<LoginThrottle>,
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
}

/// The time handlers act at: the system clock unless a test sets its own.
pub type WallClock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// The public base URL when none is given: the reference server's default address.
pub const DEFAULT_PUBLIC_BASE_URL: &str = "http://localhost:8080";

impl ApiState {
    /// An API over `store`, with argon2id at OWASP's cost, the default login limits, slug
    /// policy and 30-day sessions, client addresses from the TCP peer.
    pub fn new(store: Arc<dyn LedgerStore>) -> Self {
        Self {
            store,
            hasher: Arc::new(Argon2Hasher::default()),
            slug_policy: Arc::new(SlugPolicy::default()),
            throttle: Arc::new(LoginThrottle::new(LoginLimits::default())),
            client_ip: ClientIpSource::default(),
            session_ttl: skinstack_core::service::accounts::SESSION_TTL,
            metrics: Arc::default(),
            redirect_metrics: None,
            clicks: None,
            openapi_json: Arc::from(""),
            public_base_url: Arc::from(DEFAULT_PUBLIC_BASE_URL),
            clock: Arc::new(chrono::Utc::now),
            webhook_metrics: Arc::default(),
        }
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
        self.throttle = Arc::new(LoginThrottle::new(limits));
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

//! What registration and login may cost the server, in this process's memory:
//!
//! - per address (an IPv6 address by its /64, see [`limiter_key`]): login attempts and
//!   registrations, each with its own [`Quota`];
//! - per account: only *failed* logins, so its owner logging in often is never locked out;
//! - password hashing: at most a few at once ([`ApiState::with_hash_concurrency`]); a request
//!   that finds every slot taken is answered `503` with `Retry-After` instead of queueing.
//!
//! Every email is first read through [`Email`], which refuses one over 254 bytes before any
//! of this is spent on it.
//!
//! [`ApiState::with_hash_concurrency`]: crate::ApiState::with_hash_concurrency

use crate::client_ip::limiter_key;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use moka::ops::compute::Op;
use skinstack_core::Email;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many login attempts are let through before answering 429.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failed logins per account (by [`Email`]): a burst, then one per period. Successful
    /// logins are never counted.
    pub per_account: Quota,
    /// Login attempts (successful or not) per client address.
    pub per_ip: Quota,
}

impl Default for LoginLimits {
    /// 5 failures per account then one a minute; 20 attempts per address then one every 3
    /// seconds.
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

/// Registrations per client address when none is set: 10, then one a minute. Each costs a
/// password hash and a row.
pub fn default_registration_limit() -> Quota {
    const TEN: NonZeroU32 = NonZeroU32::new(10).expect("10 is not zero");
    Quota::with_period(Duration::from_secs(60))
        .expect("a non-zero period")
        .allow_burst(TEN)
}

/// Concurrent password hashes when none is set: two per CPU (at least two), enough to keep
/// every core busy while the next hash is handed over.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// Keys kept per limiter before the least recently used are forgotten: a flood of made-up
/// emails or addresses cannot grow memory without bound.
const MAX_KEYS: u64 = 100_000;

/// Failed logins per account, as GCRA over governor's [`Quota`] (the algorithm governor uses).
/// Not governor itself: a failure is only known after the password was checked, so the
/// attempt is reserved before hashing (concurrent attempts cannot slip past the limit) and
/// given back when the login succeeds, and governor can neither peek nor give back.
struct FailureLimiter {
    /// The emission interval: one failure per `period` in the long run.
    period: Duration,
    /// How far ahead of now the next allowed time may run: `(burst - 1) × period`.
    slack: Duration,
    /// Each account's theoretical arrival time. An entry is only needed while it is in the
    /// future, so it may expire `burst × period` after its last change.
    next: moka::sync::Cache<Email, Instant>,
}

impl FailureLimiter {
    fn new(quota: Quota) -> Self {
        let period = quota.replenish_interval();
        let burst = quota.burst_size().get();
        Self {
            period,
            slack: period * (burst - 1),
            next: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_live(period * burst)
                .build(),
        }
    }

    /// Reserves one failure for `account`, or says how many seconds to wait.
    fn reserve(&self, account: &Email) -> Result<(), u64> {
        let mut wait = None;
        self.next.entry(account.clone()).and_compute_with(|stored| {
            let now = Instant::now();
            let tat = stored.map_or(now, |e| (*e.value()).max(now));
            let earliest = tat.checked_sub(self.slack).unwrap_or(now);
            if earliest > now {
                wait = Some(earliest - now);
                Op::Nop
            } else {
                Op::Put(tat + self.period)
            }
        });
        match wait {
            None => Ok(()),
            Some(wait) => Err(whole_seconds(wait)),
        }
    }

    /// Gives back the failure reserved for a login that succeeded.
    fn release(&self, account: &Email) {
        self.next
            .entry(account.clone())
            .and_compute_with(|stored| match stored {
                Some(e) => Op::Put(e.value().checked_sub(self.period).unwrap_or(*e.value())),
                None => Op::Nop,
            });
    }
}

/// Rounds a wait up to whole seconds, at least one, for `Retry-After`.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A login attempt let through: say how it ended with [`Throttle::login_ended`].
#[must_use = "a reserved attempt must be settled"]
pub(crate) struct LoginAttempt(Option<Email>);

/// The limits of one [`ApiState`](crate::ApiState).
pub(crate) struct Throttle {
    limits: LoginLimits,
    register_quota: Quota,
    hash_slots: usize,
    accounts: FailureLimiter,
    login_ips: DefaultKeyedRateLimiter<IpAddr>,
    register_ips: DefaultKeyedRateLimiter<IpAddr>,
    hashes: Arc<Semaphore>,
}

impl Throttle {
    pub(crate) fn new(login: LoginLimits, register_per_ip: Quota, hashes: usize) -> Self {
        Self {
            limits: login,
            register_quota: register_per_ip,
            hash_slots: hashes.max(1),
            accounts: FailureLimiter::new(login.per_account),
            login_ips: DefaultKeyedRateLimiter::keyed(login.per_ip),
            register_ips: DefaultKeyedRateLimiter::keyed(register_per_ip),
            hashes: Arc::new(Semaphore::new(hashes.max(1))),
        }
    }

    /// The same limits with another one changed: a new, empty throttle.
    pub(crate) fn with(
        &self,
        login: Option<LoginLimits>,
        register_per_ip: Option<Quota>,
        hashes: Option<usize>,
    ) -> Self {
        Self::new(
            login.unwrap_or(self.limits),
            register_per_ip.unwrap_or(self.register_quota),
            hashes.unwrap_or(self.hash_slots),
        )
    }

    /// Spends one attempt of `ip` and reserves one failure of `account` (a malformed email
    /// names no account: only its address is counted), or says how many seconds to wait.
    pub(crate) fn login(
        &self,
        account: Option<&Email>,
        ip: Option<IpAddr>,
    ) -> Result<LoginAttempt, u64> {
        if let Some(ip) = ip {
            spend(&self.login_ips, ip)?;
        }
        if let Some(account) = account {
            self.accounts.reserve(account)?;
        }
        Ok(LoginAttempt(account.cloned()))
    }

    /// Settles an attempt: one that did not fail (logged in, or never checked) gives its
    /// reserved failure back.
    pub(crate) fn login_ended(&self, attempt: LoginAttempt, failed: bool) {
        if let (Some(account), false) = (attempt.0, failed) {
            self.accounts.release(&account);
        }
    }

    /// Spends one registration of `ip`, or says how many seconds to wait.
    pub(crate) fn register(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        match ip {
            Some(ip) => spend(&self.register_ips, ip),
            None => Ok(()),
        }
    }

    /// A slot to hash a password in, held until the permit is dropped; `Err` with the
    /// seconds to wait when every slot is taken.
    pub(crate) fn hash_slot(&self) -> Result<OwnedSemaphorePermit, u64> {
        self.hashes.clone().try_acquire_owned().map_err(|_| 1)
    }
}

/// Spends one cell of `ip`'s key in `limiter`, or says how many seconds to wait.
fn spend(limiter: &DefaultKeyedRateLimiter<IpAddr>, ip: IpAddr) -> Result<(), u64> {
    let clock = DefaultClock::default();
    limiter
        .check_key(&limiter_key(ip))
        .map_err(|not_until| whole_seconds(not_until.wait_time_from(clock.now())))?;
    // Forget keys that have fully recovered, so the map does not grow without bound.
    if limiter.len() as u64 > MAX_KEYS {
        limiter.retain_recent();
    }
    Ok(())
}

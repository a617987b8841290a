//! Per-address limits on the redirect's store lookups for unknown slugs: random slugs are each
//! a new miss, so without a limit one client could keep the redirect's database pool busy.

use crate::client_ip::limiter_key;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many unknown slugs one address may look up before its store lookups are refused
/// with `429` (cached links keep redirecting for it).
#[derive(Debug, Clone, Copy)]
pub struct MissLimits {
    /// Per address (IPv6 by /64): a burst, then one unknown slug per period.
    pub per_address: Quota,
}

impl Default for MissLimits {
    /// 30 unknown slugs, then two a second: far beyond a person mistyping links, while a
    /// scanner behind one address reaches the database at most twice a second.
    fn default() -> Self {
        const THIRTY: NonZeroU32 = NonZeroU32::new(30).expect("30 is not zero");
        Self {
            per_address: Quota::with_period(Duration::from_millis(500))
                .expect("a non-zero period")
                .allow_burst(THIRTY),
        }
    }
}

/// The limiter: governor's keyed quota, spent by each unknown slug after its lookup (a found
/// link costs nothing), and a note of the addresses whose quota is spent, checked before a
/// lookup. governor has no way to look without spending, hence the note.
pub(crate) struct MissThrottle {
    quota: DefaultKeyedRateLimiter<IpAddr>,
    spent_until: Mutex<std::collections::HashMap<IpAddr, Instant>>,
    last_sweep: AtomicU64,
    started: Instant,
}

/// Beyond this many remembered addresses, recovered ones are forgotten (at most every 10 s,
/// so a crowd of addresses costs one sweep, not one per request).
const SWEEP_ABOVE: usize = 10_000;
const SWEEP_EVERY_SECS: u64 = 10;

impl MissThrottle {
    pub(crate) fn new(limits: MissLimits) -> Self {
        Self {
            quota: DefaultKeyedRateLimiter::keyed(limits.per_address),
            spent_until: Mutex::default(),
            last_sweep: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Whether `ip` may look a slug up in the store now, or how long it must wait.
    pub(crate) fn may_look_up(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = limiter_key(ip);
        let spent = self.spent_until.lock().unwrap_or_else(|e| e.into_inner());
        match spent.get(&key) {
            Some(&until) => {
                let now = Instant::now();
                if now < until {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    /// Spends one unknown slug for `ip`; past the quota, says how long its lookups now wait.
    pub(crate) fn missed(&self, ip: IpAddr) -> Result<(), Duration> {
        let key = limiter_key(ip);
        let outcome = self
            .quota
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()));
        let mut spent = self.spent_until.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(()) => {
                spent.remove(&key);
            }
            Err(wait) => {
                spent.insert(key, Instant::now() + wait);
            }
        }
        self.sweep(&mut spent);
        outcome
    }

    fn sweep(&self, spent: &mut std::collections::HashMap<IpAddr, Instant>) {
        if self.quota.len() <= SWEEP_ABOVE && spent.len() <= SWEEP_ABOVE {
            return;
        }
        let now_secs = self.started.elapsed().as_secs();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now_secs < last + SWEEP_EVERY_SECS && last != 0 {
            return;
        }
        self.last_sweep.store(now_secs.max(1), Ordering::Relaxed);
        self.quota.retain_recent();
        let now = Instant::now();
        spent.retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_past_its_quota_waits_and_others_do_not() {
        let throttle = MissThrottle::new(MissLimits {
            per_address: Quota::with_period(Duration::from_secs(3600))
                .unwrap()
                .allow_burst(NonZeroU32::new(3).unwrap()),
        });
        let flooder: IpAddr = "203.0.113.7".parse().unwrap();
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.may_look_up(flooder), Ok(()));
            assert_eq!(throttle.missed(flooder), Ok(()));
        }
        assert!(
            throttle.missed(flooder).is_err(),
            "the fourth miss is refused"
        );
        let wait = throttle.may_look_up(flooder).unwrap_err();
        assert!(wait > Duration::from_secs(3000), "{wait:?}");
        assert_eq!(throttle.may_look_up(other), Ok(()));
        assert_eq!(throttle.missed(other), Ok(()));
    }
}

//! How long raw clicks are kept: whole UTC months, dropped as partitions, never row by row.
//!
//! Only raw clicks age out. Roll-ups ([`super::rollup`]), conversions (which keep the click id
//! they were attributed by as a plain value) and the ledger are kept for good. A click is
//! needed raw only to attribute an order to it, so retention can never be shorter than the
//! longest cookie window (365 days): [`Retention::new`] refuses fewer than
//! [`MIN_RETENTION_MONTHS`].

use crate::error::Invalid;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

/// The shortest retention accepted: 12 months is at least 365 days, the longest cookie window,
/// so no click an order could still be attributed to is ever pruned.
pub const MIN_RETENTION_MONTHS: u32 = 12;

/// The longest retention accepted (a century), so the cutoff is always a real date.
pub const MAX_RETENTION_MONTHS: u32 = 1200;

/// Keep the current UTC month and this many whole months before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(u32);

impl Retention {
    /// Checks `months` against [`MIN_RETENTION_MONTHS`]..=[`MAX_RETENTION_MONTHS`].
    pub fn new(months: u32) -> Result<Self, Invalid> {
        if (MIN_RETENTION_MONTHS..=MAX_RETENTION_MONTHS).contains(&months) {
            Ok(Self(months))
        } else {
            Err(Invalid::OutOfRange(
                "at least 12 months (the longest cookie window) and at most 1200",
            ))
        }
    }

    /// The months kept before the current one.
    pub const fn months(&self) -> u32 {
        self.0
    }

    /// The first instant kept at `now`: the start of the UTC month `months` before now's.
    /// Every click before it may be dropped; none after it is.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let month_start =
            NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(NaiveDate::MIN);
        month_start
            .checked_sub_months(Months::new(self.0))
            .unwrap_or(NaiveDate::MIN)
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retention_shorter_than_the_longest_cookie_window_is_refused() {
        assert!(Retention::new(11).is_err());
        assert!(Retention::new(0).is_err());
        assert!(Retention::new(12).is_ok());
        assert!(Retention::new(1201).is_err());
    }

    #[test]
    fn the_cutoff_is_the_start_of_the_month_that_many_months_back() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 15, 10, 0, 0)
            .single()
            .unwrap();
        let cutoff = Retention::new(12).unwrap().cutoff(now);
        assert_eq!(
            cutoff,
            Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single().unwrap()
        );
    }

    #[test]
    fn the_cutoff_never_reaches_a_click_still_inside_a_365_day_window() {
        // The worst case: the first instant of a month, after a leap day.
        let now = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single().unwrap();
        let cutoff = Retention::new(MIN_RETENTION_MONTHS).unwrap().cutoff(now);
        assert!(cutoff <= now - chrono::Duration::days(365));
    }
}

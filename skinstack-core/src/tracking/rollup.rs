//! Daily click roll-ups: what statistics read instead of raw clicks, so that their cost grows
//! with days, not clicks, and survives the pruning of raw clicks.
//!
//! The rule, which every store follows (the memory store through [`DailyClicks::tally`], the
//! PostgreSQL store in its batch statement, and the contract suite proves they agree):
//! - a click belongs to the UTC day of [`Click::stored_at`] (its id's own time);
//! - `clicks` counts human clicks from any source: a day's share of a link's `total_clicks`;
//! - `qr_scans` counts the human clicks that came through the QR code (a part of `clicks`);
//! - `robot_hits` counts robots from any source, never part of `clicks`;
//! - a click is rolled up when, and only when, it is stored: a click already stored (a retried
//!   or replayed batch) adds nothing.
//!
//! Each row is also split by the click's closed families ([`VisitKey`]) and by its open ones
//! (country, referring domain), with the same counters tallied by the same
//! [`ClickCounts::tally`]: the rule of [`super::breakdown`].

use crate::domain::{Click, ClickSource, LinkId};
use crate::tracking::breakdown::{Dimension, Visit, VisitKey};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The UTC day a click made at `at` is counted on.
pub fn rollup_day(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// The counters of one roll-up row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ClickCounts {
    /// Human clicks from any source.
    pub clicks: i64,
    /// Human clicks through the link's QR code (included in `clicks`).
    pub qr_scans: i64,
    /// Robots from any source (not in `clicks`).
    pub robot_hits: i64,
}

impl ClickCounts {
    /// Counts one newly stored click.
    pub fn tally(&mut self, click: &Click) {
        if click.is_bot {
            self.robot_hits += 1;
            return;
        }
        self.clicks += 1;
        if click.source == ClickSource::Qr {
            self.qr_scans += 1;
        }
    }

    /// Adds another row's counters (for sums over days).
    pub fn add(&mut self, other: ClickCounts) {
        self.clicks += other.clicks;
        self.qr_scans += other.qr_scans;
        self.robot_hits += other.robot_hits;
    }

    /// Takes away a part's counters (what is left of a total once its parts are listed).
    pub fn remove(&mut self, part: ClickCounts) {
        self.clicks -= part.clicks;
        self.qr_scans -= part.qr_scans;
        self.robot_hits -= part.robot_hits;
    }
}

/// One link's roll-up row for one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DailyClicks {
    /// The UTC day.
    pub day: NaiveDate,
    /// What that day counted.
    #[serde(flatten)]
    pub counts: ClickCounts,
}

/// One link's roll-ups for one UTC day, as the memory store keeps them: the day's counters, and
/// the same split by closed families and by open values (a part of `totals` each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayRollup {
    /// Every click of the day.
    pub totals: ClickCounts,
    /// By source, device, OS, browser and platform together.
    pub visits: HashMap<VisitKey, ClickCounts>,
    /// By open dimension and value, for the clicks that carry one.
    pub values: HashMap<(Dimension, String), ClickCounts>,
}

impl DayRollup {
    /// Counts one newly stored click under every row it belongs to.
    pub fn tally(&mut self, click: &Click) {
        let visit = Visit::of(click);
        self.totals.tally(click);
        self.visits.entry(visit.key).or_default().tally(click);
        for dimension in [Dimension::Country, Dimension::Referrer] {
            if let Some(value) = visit.open_value(dimension) {
                self.values
                    .entry((dimension, value.to_owned()))
                    .or_default()
                    .tally(click);
            }
        }
    }
}

/// Roll-up rows keyed by link and day, in that order: the shape both stores keep.
pub type DailyRollups = BTreeMap<(LinkId, NaiveDate), DayRollup>;

impl DailyClicks {
    /// Adds the newly stored `click` to `rollups`.
    pub fn tally(rollups: &mut DailyRollups, click: &Click) {
        rollups
            .entry((click.link_id, rollup_day(click.stored_at())))
            .or_default()
            .tally(click);
    }

    /// The rows of `link` from `from` to `to` (inclusive), oldest first, days without clicks
    /// left out.
    pub fn of_link(
        rollups: &DailyRollups,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<DailyClicks> {
        if to < from {
            return Vec::new();
        }
        rollups
            .range((link, from)..=(link, to))
            .map(|((_, day), rollup)| DailyClicks {
                day: *day,
                counts: rollup.totals,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, minute, second)
            .single()
            .expect("valid time")
    }

    #[test]
    fn a_click_one_second_before_midnight_utc_counts_on_that_day_and_at_midnight_on_the_next() {
        assert_eq!(
            rollup_day(at(14, 23, 59, 59)),
            NaiveDate::from_ymd_opt(2026, 3, 14).expect("valid")
        );
        assert_eq!(
            rollup_day(at(15, 0, 0, 0)),
            NaiveDate::from_ymd_opt(2026, 3, 15).expect("valid")
        );
    }

    #[test]
    fn qr_scans_are_clicks_too_and_robots_are_only_robot_hits() {
        let link = LinkId::new();
        let human = Click::new(link, None, Some("Mozilla/5.0 (iPhone)"), None);
        let scan = human.clone().from_source(ClickSource::Qr);
        let robot =
            Click::new(link, None, Some("Twitterbot/1.0"), None).from_source(ClickSource::Qr);
        let mut counts = ClickCounts::default();
        for click in [&human, &scan, &robot] {
            counts.tally(click);
        }
        assert_eq!(
            counts,
            ClickCounts {
                clicks: 2,
                qr_scans: 1,
                robot_hits: 1
            }
        );
    }

    #[test]
    fn a_links_rows_are_listed_oldest_first_within_the_range_only() {
        let link = LinkId::new();
        let other = LinkId::new();
        let mut rollups = DailyRollups::new();
        for (l, d) in [(link, 3), (link, 1), (other, 2), (link, 9)] {
            let day = NaiveDate::from_ymd_opt(2026, 3, d).expect("valid");
            rollups.entry((l, day)).or_default().totals.clicks += 1;
        }
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("valid");
        let rows = DailyClicks::of_link(&rollups, link, day(1), day(5));
        assert_eq!(
            rows.iter().map(|r| r.day).collect::<Vec<_>>(),
            vec![day(1), day(3)]
        );
        assert!(DailyClicks::of_link(&rollups, link, day(5), day(1)).is_empty());
    }
}

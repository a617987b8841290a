//! Where the click flusher writes, and the daily roll-ups it keeps alongside.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;
use crate::tracking::breakdown::{Dimension, Scope, ValueClicks, NONE};
use crate::tracking::rollup::{ClickCounts, DailyClicks};
use chrono::NaiveDate;

#[async_trait]
impl ClickSink for MemoryStore {
    async fn record_clicks(&self, clicks: &[Click]) -> RepoResult<()> {
        let mut state = self.lock();
        for click in clicks {
            // The clicks table's link_id references tracking_links ON DELETE CASCADE: a click on
            // a link deleted since is dropped, as the database would drop it with the link.
            if !state.links.contains_key(&click.link_id) {
                continue;
            }
            if let Entry::Vacant(slot) = state.clicks.entry(click.id) {
                let mut stored = click.clone();
                stored.at = click.stored_at();
                slot.insert(stored);
                DailyClicks::tally(&mut state.rollups, click);
                if !click.is_bot {
                    if let Some(link) = state.links.get_mut(&click.link_id) {
                        link.total_clicks += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ClickRollups for MemoryStore {
    async fn daily_clicks(
        &self,
        link: LinkId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<DailyClicks>> {
        Ok(DailyClicks::of_link(&self.lock().rollups, link, from, to))
    }

    async fn click_breakdown(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: NaiveDate,
        to: NaiveDate,
    ) -> RepoResult<Vec<ValueClicks>> {
        let state = self.lock();
        if to < from {
            return Ok(Vec::new());
        }
        let mut sums: HashMap<String, ClickCounts> = HashMap::new();
        let mut add = |value: &str, counts: ClickCounts| {
            sums.entry(value.to_owned()).or_default().add(counts);
        };
        for link in state.links.values().filter(|l| state.in_scope(scope, l)) {
            for day in state
                .rollups
                .range((link.id, from)..=(link.id, to))
                .map(|(_, d)| d)
            {
                if !dimension.is_per_click() {
                    add(&link_value(link, dimension), day.totals);
                } else if dimension.is_open() {
                    let mut rest = day.totals;
                    for ((_, value), counts) in
                        day.values.iter().filter(|((d, _), _)| *d == dimension)
                    {
                        add(value, *counts);
                        rest.remove(*counts);
                    }
                    if rest != ClickCounts::default() {
                        add(NONE, rest);
                    }
                } else {
                    for (key, counts) in &day.visits {
                        add(key.value(dimension).unwrap_or(NONE), *counts);
                    }
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|(value, counts)| ValueClicks { value, counts })
            .collect())
    }
}

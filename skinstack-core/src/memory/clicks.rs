//! Where the click flusher writes, and the daily roll-ups it keeps alongside.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;
use crate::tracking::rollup::DailyClicks;
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
}

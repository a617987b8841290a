-- Migration 0032: Quiet link counters
-- Purpose: take the click counter off the click path's wide row (issue 17). Until now each click
-- batch also updated tracking_links.total_clicks: one row per distinct link per batch, a row
-- with seven indexes and two row triggers, so most of those updates were not HOT and each
-- also bumped updated_at, making a clicked link look edited.
--
-- Deliberate deviation from the seed, keeping its interface: the column tracking_links
-- .total_clicks stays, with its meaning (human clicks on the link), but it is now a mirror
-- folded from click_rollups_daily (0029), which the batch keeps exactly and atomically with
-- the clicks. The library reads a link's click count from the roll-ups, so the API and the
-- dashboard are exact at once; the column lags by at most the server's fold interval
-- (`--click-total-interval`, 60 s by default), is folded again after the last flush of a
-- graceful stop, and folded for every link when a server starts (before its cache warm-up,
-- which orders links by it). SQL readers of the column get
-- that lag. The counter stays INTEGER as in the seed.
--
-- The fold finds the recently clicked links by day: click_rollups_daily_day keeps that a range
-- scan instead of a pass over every roll-up row. A batch adds to it only when it creates a
-- link's row for a new day; the counter updates change no indexed column, so they stay HOT.
--
-- updated_at now moves only when a link is edited: the trigger fires on the columns a person
-- changes, not on the counters the click path and the ledger move. sqlx runs this file in a
-- transaction.

DROP TRIGGER tracking_links_updated_at ON tracking_links;
CREATE TRIGGER tracking_links_updated_at
    BEFORE UPDATE OF slug, influencer_id, program_id, product_id, destination_url,
        campaign_code, utm_source, utm_medium, utm_campaign, is_active, expires_at
    ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

CREATE INDEX click_rollups_daily_day ON click_rollups_daily (day);

-- Migration 0029: Daily click roll-ups
-- Purpose: statistics (the daily series API, the dashboard charts) read one row per link per
-- UTC day instead of counting raw clicks, so their cost is O(days), not O(clicks), and they
-- outlive `clicks prune`. The click flusher's batch statement adds to these rows in the same
-- statement (so the same transaction) that inserts the clicks, counting only the rows it
-- actually inserted: a retried batch adds nothing twice. The rule (UTC day; what counts as a
-- click, a QR scan, a robot hit) is `skinstack_core::tracking::rollup`. sqlx runs this file in a
-- transaction; existing clicks are rolled up.
--
-- Extending: a per-dimension roll-up (referrer, device, country) is a sibling table
-- click_rollups_daily_<dimension> (link_id, day, <dimension>, the same counters) with its own
-- upsert CTE in the batch statement, not more columns here.

CREATE TABLE click_rollups_daily (
    -- No FOREIGN KEY, as for clicks (0007): the batch statement only rolls up clicks of links
    -- that exist, and tracking_links_delete_click_rollups below does the cascade's job.
    link_id UUID NOT NULL,
    day DATE NOT NULL,
    -- Human clicks from any source: the day's share of tracking_links.total_clicks.
    clicks BIGINT NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    -- Human clicks that came through the link's QR code (a part of `clicks`).
    qr_scans BIGINT NOT NULL DEFAULT 0 CHECK (qr_scans >= 0 AND qr_scans <= clicks),
    -- Robots (crawlers, link previews), from any source; never part of `clicks`.
    robot_hits BIGINT NOT NULL DEFAULT 0 CHECK (robot_hits >= 0),
    CONSTRAINT click_rollups_daily_pkey PRIMARY KEY (link_id, day)
);

CREATE FUNCTION skinstack_delete_link_click_rollups()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM click_rollups_daily WHERE link_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracking_links_delete_click_rollups
    AFTER DELETE ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_delete_link_click_rollups();

INSERT INTO click_rollups_daily (link_id, day, clicks, qr_scans, robot_hits)
SELECT link_id, (clicked_at AT TIME ZONE 'UTC')::date,
       count(*) FILTER (WHERE NOT is_bot),
       count(*) FILTER (WHERE NOT is_bot AND source = 'qr'),
       count(*) FILTER (WHERE is_bot)
FROM clicks
GROUP BY 1, 2;

-- Migration 0007: Clicks
-- Purpose: one row per redirect, written in batches by the click flusher (never per request).
-- sqlx runs this file in a transaction.
--
-- Not partitioned yet, on purpose:
--   * idempotent batch writes need ON CONFLICT (id), and a partitioned table can only have a
--     unique index that includes the partition key; we would have to key by (id, clicked_at)
--     and pre-create monthly partitions from a scheduler, which this version does not ship;
--   * ids are UUIDv7 (time-ordered), so the primary key and idx_clicks_link_time grow at their
--     right edge like a time-series table, and old months stay cold on disk.
-- docs/SCALING.md describes the switch to monthly range partitions on clicked_at (and pruning
-- by dropping old partitions) once the table is large enough to need it.

CREATE TABLE clicks (
    -- The click id handed to the shop as ?ssclid=...: a UUIDv7 issued by the redirect.
    id UUID PRIMARY KEY,
    -- No FOREIGN KEY: its per-row check (a trigger taking a KEY SHARE lock on the link) doubled
    -- the cost of every batch insert on the hottest rows. The flusher only inserts clicks of
    -- existing links, and tracking_links_delete_clicks below does the cascade's job.
    link_id UUID NOT NULL,
    clicked_at TIMESTAMPTZ NOT NULL,
    -- Anonymised before it is stored: IPv4 /24, IPv6 /48 (host bits zero).
    ip_prefix INET,
    user_agent TEXT CHECK (length(user_agent) <= 512),
    referer TEXT CHECK (length(referer) <= 1024),
    -- Crawlers and link-preview fetchers: kept for audit, not counted in total_clicks.
    is_bot BOOLEAN NOT NULL DEFAULT false
);

-- "Clicks of a link in a time range" (stats, attribution). "Click by id" is the primary key.
CREATE INDEX idx_clicks_link_time ON clicks(link_id, clicked_at);

-- ON DELETE CASCADE, without a foreign key on the write path.
CREATE FUNCTION skinstack_delete_link_clicks()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM clicks WHERE link_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tracking_links_delete_clicks
    AFTER DELETE ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_delete_link_clicks();

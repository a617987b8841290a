-- Migration 0028: Clicks partitioned by month
-- Purpose: keep the click path's cost flat as clicks grow towards a billion rows, and make
-- retention a matter of dropping whole months (`skinstack-server clicks prune`), never a
-- DELETE of millions of rows. sqlx runs this file in a transaction; existing rows are moved.
--
-- Deliberate changes to the interface of 0007/0010:
--   * the primary key becomes (id, clicked_at): a partitioned table's unique keys must include
--     the partition key. Deduplication by id is unchanged because a click's clicked_at is a
--     function of its id (a UUIDv7 carries its millisecond, and every store writes exactly
--     that time: `Click::stored_at`), so a retried or replayed click always meets its own row
--     in the same partition and ON CONFLICT (id, clicked_at) skips it;
--   * nothing references clicks by foreign key (0007 deliberately has none, and conversions
--     keep click_id / attributed_click_id as plain UUIDs, 0020), so dropping a month of raw
--     clicks never touches an attribution, a conversion or the ledger.
--
-- Partitions are named clicks_YYYY_MM (UTC months). skinstack_ensure_click_partitions(n)
-- creates the current month and the n after it; the server calls it at start and daily
-- (skinstack-pg `partitions`), so months exist long before their first click. We chose a
-- function in our own schema over pg_partman: no extension to install on every host (CI,
-- managed PostgreSQL without it), and the whole policy fits in two short functions.
-- clicks_default is the safety net for a server that was down longer than its look-ahead:
-- a click never fails for want of a partition (a missing partition is SQLSTATE 23514, which
-- the flusher would treat as a permanent refusal and set the clicks aside). The next
-- maintenance moves such rows into their month.

ALTER TABLE clicks RENAME TO clicks_unpartitioned;
ALTER INDEX clicks_pkey RENAME TO clicks_unpartitioned_pkey;
ALTER INDEX idx_clicks_link_time RENAME TO idx_clicks_unpartitioned_link_time;

CREATE TABLE clicks (
    -- The click id handed to the shop as ?ssclid=...: a UUIDv7 issued by the redirect.
    id UUID NOT NULL,
    -- No FOREIGN KEY, as in 0007: tracking_links_delete_clicks does the cascade's job.
    link_id UUID NOT NULL,
    -- Always the id's own timestamp, so (id, clicked_at) is as unique as id.
    clicked_at TIMESTAMPTZ NOT NULL,
    -- Anonymised before it is stored: IPv4 /24, IPv6 /48 (host bits zero).
    ip_prefix INET,
    user_agent TEXT CONSTRAINT clicks_user_agent_check CHECK (length(user_agent) <= 512),
    referer TEXT CONSTRAINT clicks_referer_check CHECK (length(referer) <= 1024),
    -- Crawlers and link-preview fetchers: kept for audit, not counted in total_clicks.
    is_bot BOOLEAN NOT NULL DEFAULT false,
    source TEXT NOT NULL DEFAULT 'link' CONSTRAINT clicks_source_check CHECK (source IN ('link', 'qr')),
    CONSTRAINT clicks_pkey PRIMARY KEY (id, clicked_at)
) PARTITION BY RANGE (clicked_at);

-- "Clicks of a link in a time range" (attribution audits, the link delete cascade).
CREATE INDEX idx_clicks_link_time ON clicks(link_id, clicked_at);

CREATE TABLE clicks_default PARTITION OF clicks DEFAULT;

-- Creates the partition of the UTC month holding `in_month` unless it exists, moving the rows of
-- that month out of clicks_default first (attaching a range the default holds rows of would
-- fail). True if it created one.
CREATE FUNCTION skinstack_create_click_partition(in_month DATE)
RETURNS BOOLEAN AS $$
DECLARE
    month_start TIMESTAMP := date_trunc('month', in_month::timestamp);
    part_name TEXT := format('clicks_%s', to_char(month_start, 'YYYY_MM'));
    lower_bound TIMESTAMPTZ := month_start AT TIME ZONE 'UTC';
    upper_bound TIMESTAMPTZ := (month_start + interval '1 month') AT TIME ZONE 'UTC';
    -- Bounds spelled in UTC, whatever the session's DateStyle and TimeZone.
    lower_text TEXT := to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00';
    upper_text TEXT := to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
    -- Two servers starting at once must not both create the same month.
    PERFORM pg_advisory_xact_lock(hashtext('skinstack_click_partitions'));
    IF EXISTS (
        SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'clicks'::regclass AND c.relname = part_name
    ) THEN
        RETURN false;
    END IF;
    -- Parent first, then the default, as an insert locks them: no lock-order deadlock.
    LOCK TABLE clicks IN SHARE UPDATE EXCLUSIVE MODE;
    IF EXISTS (
        SELECT 1 FROM clicks_default WHERE clicked_at >= lower_bound AND clicked_at < upper_bound
    ) THEN
        LOCK TABLE clicks_default IN ACCESS EXCLUSIVE MODE;
        EXECUTE format('CREATE TABLE %I (LIKE clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name);
        EXECUTE format(
            'WITH moved AS (DELETE FROM clicks_default WHERE clicked_at >= $1 AND clicked_at < $2 RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', part_name)
            USING lower_bound, upper_bound;
        EXECUTE format('ALTER TABLE clicks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            part_name, lower_text, upper_text);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF clicks FOR VALUES FROM (%L) TO (%L)',
            part_name, lower_text, upper_text);
    END IF;
    RETURN true;
END;
$$ LANGUAGE plpgsql;

-- Makes sure the current UTC month and the `months_ahead` after it have partitions, and gives
-- any month that rows landed in clicks_default for its own. Returns how many it created.
CREATE FUNCTION skinstack_ensure_click_partitions(months_ahead INTEGER)
RETURNS INTEGER AS $$
DECLARE
    created INTEGER := 0;
    m DATE;
BEGIN
    FOR m IN
        SELECT date_trunc('month', clicked_at AT TIME ZONE 'UTC')::date FROM clicks_default
        UNION
        SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date
        FROM generate_series(0, GREATEST(months_ahead, 0)) i
        ORDER BY 1
    LOOP
        IF skinstack_create_click_partition(m) THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$ LANGUAGE plpgsql;

-- Drops every monthly partition wholly before `cutoff` (the caller rounds it to a month start)
-- and deletes the default partition's rows before it. Returns the partitions dropped. Only raw
-- clicks go: roll-ups, conversions and the ledger do not reference them.
CREATE FUNCTION skinstack_drop_click_partitions(cutoff TIMESTAMPTZ)
RETURNS SETOF TEXT AS $$
DECLARE
    part TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('skinstack_click_partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'clicks'::regclass AND c.relname ~ '^clicks_[0-9]{4}_[0-9]{2}$'
          AND (to_date(substr(c.relname, 8), 'YYYY_MM') + interval '1 month')::timestamp
              AT TIME ZONE 'UTC' <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
    DELETE FROM clicks_default WHERE clicked_at < cutoff;
END;
$$ LANGUAGE plpgsql;

-- Every month that holds rows, and the next few, before the rows move in.
DO $$
BEGIN
    PERFORM skinstack_create_click_partition(m)
    FROM (SELECT DISTINCT date_trunc('month', clicked_at AT TIME ZONE 'UTC')::date AS m
          FROM clicks_unpartitioned ORDER BY 1) months;
    PERFORM skinstack_ensure_click_partitions(2);
END $$;

INSERT INTO clicks (id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source)
SELECT id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source
FROM clicks_unpartitioned;

DROP TABLE clicks_unpartitioned;

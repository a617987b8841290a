-- Revert 0028: clicks becomes the plain table of 0007 + 0010 again, with every row kept (from
-- every partition, the default included), under the same names as before 0028.
ALTER TABLE clicks RENAME TO clicks_partitioned;
ALTER INDEX clicks_pkey RENAME TO clicks_partitioned_pkey;
ALTER INDEX idx_clicks_link_time RENAME TO idx_clicks_partitioned_link_time;

CREATE TABLE clicks (
    id UUID PRIMARY KEY,
    link_id UUID NOT NULL,
    clicked_at TIMESTAMPTZ NOT NULL,
    ip_prefix INET,
    user_agent TEXT CONSTRAINT clicks_user_agent_check CHECK (length(user_agent) <= 512),
    referer TEXT CONSTRAINT clicks_referer_check CHECK (length(referer) <= 1024),
    is_bot BOOLEAN NOT NULL DEFAULT false,
    source TEXT NOT NULL DEFAULT 'link' CONSTRAINT clicks_source_check CHECK (source IN ('link', 'qr'))
);
CREATE INDEX idx_clicks_link_time ON clicks(link_id, clicked_at);

INSERT INTO clicks (id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source)
SELECT id, link_id, clicked_at, ip_prefix, user_agent, referer, is_bot, source
FROM clicks_partitioned;

-- Drops every partition with it.
DROP TABLE clicks_partitioned;
DROP FUNCTION skinstack_drop_click_partitions(TIMESTAMPTZ);
DROP FUNCTION skinstack_ensure_click_partitions(INTEGER);
DROP FUNCTION skinstack_create_click_partition(DATE);

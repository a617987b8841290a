-- Migration 0008: Link change feed
-- Purpose: every server process caches link snapshots for the redirect; this tells them, via
-- LISTEN/NOTIFY on channel 'skinstack_link_changes', when a cached snapshot may be stale.
-- Payload: the slug of a changed link, or '*' when a program or merchant changed (rare: the
-- listeners then drop their whole cache). Notifications are sent at commit.
-- sqlx runs this file in a transaction.

CREATE FUNCTION skinstack_notify_link_change()
RETURNS TRIGGER AS $$
BEGIN
    IF TG_TABLE_NAME = 'tracking_links' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_notify('skinstack_link_changes', OLD.slug);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.slug IS DISTINCT FROM OLD.slug) THEN
            -- An insert must clear a cached "unknown slug" answer.
            PERFORM pg_notify('skinstack_link_changes', NEW.slug);
        END IF;
    ELSE
        PERFORM pg_notify('skinstack_link_changes', '*');
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Only the columns a redirect reads: the click flusher's counter updates must not flush caches.
CREATE TRIGGER tracking_links_notify_change
    AFTER INSERT OR DELETE OR UPDATE OF slug, destination_url, utm_source, utm_medium, utm_campaign,
        is_active, expires_at, program_id, product_id, influencer_id
    ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_notify_link_change();

CREATE TRIGGER programs_notify_change
    AFTER DELETE OR UPDATE OF is_active, merchant_id
    ON programs
    FOR EACH STATEMENT
    EXECUTE FUNCTION skinstack_notify_link_change();

CREATE TRIGGER merchants_notify_change
    AFTER DELETE OR UPDATE OF is_active
    ON merchants
    FOR EACH STATEMENT
    EXECUTE FUNCTION skinstack_notify_link_change();

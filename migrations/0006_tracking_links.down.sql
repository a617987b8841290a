-- Revert 0006: drop exactly what 0006_tracking_links.up.sql created, in reverse order.

DROP FUNCTION generate_unique_slug();

-- Also drops its indexes (incl. idx_tracking_links_slug), constraints and the tracking_links_updated_at trigger.
DROP TABLE tracking_links;

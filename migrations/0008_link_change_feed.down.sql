-- Revert 0008: drop exactly what 0008_link_change_feed.up.sql created.
DROP TRIGGER merchants_notify_change ON merchants;
DROP TRIGGER programs_notify_change ON programs;
DROP TRIGGER tracking_links_notify_change ON tracking_links;
DROP FUNCTION skinstack_notify_link_change();

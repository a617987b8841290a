-- Revert 0007: drop exactly what 0007_clicks.up.sql created (the index goes with the table).
DROP TRIGGER tracking_links_delete_clicks ON tracking_links;
DROP FUNCTION skinstack_delete_link_clicks();
DROP TABLE clicks;

-- Revert 0029: drop exactly what 0029_click_rollups.up.sql created. Raw clicks are untouched;
-- days whose raw clicks were pruned lose their statistics.
DROP TRIGGER tracking_links_delete_click_rollups ON tracking_links;
DROP FUNCTION skinstack_delete_link_click_rollups();
DROP TABLE click_rollups_daily;

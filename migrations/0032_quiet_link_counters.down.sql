-- Revert 0032: updated_at moves on every update again. The batch of an older build updates
-- total_clicks itself; fold the column once so it starts exact.
DROP INDEX click_rollups_daily_day;
DROP TRIGGER tracking_links_updated_at ON tracking_links;
CREATE TRIGGER tracking_links_updated_at
    BEFORE UPDATE ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

UPDATE tracking_links t SET total_clicks = s.clicks
FROM (SELECT link_id, sum(clicks)::INTEGER AS clicks FROM click_rollups_daily GROUP BY link_id) s
WHERE t.id = s.link_id AND t.total_clicks IS DISTINCT FROM s.clicks;

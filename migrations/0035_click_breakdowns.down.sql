-- Reverts 0035: the breakdowns go; each link's day keeps its sums. Conversions lose their click's
-- dimensions, the country and referring-domain roll-ups are dropped, and each link's day of
-- click_rollups_daily is collapsed back into one row holding the sum of its families' rows.

ALTER TABLE conversions
    DROP CONSTRAINT conversions_visit_check,
    DROP COLUMN country,
    DROP COLUMN referrer_domain,
    DROP COLUMN platform,
    DROP COLUMN browser,
    DROP COLUMN os,
    DROP COLUMN device,
    DROP COLUMN click_source;

-- 0029's body, exactly.
CREATE OR REPLACE FUNCTION skinstack_delete_link_click_rollups()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM click_rollups_daily WHERE link_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TABLE click_rollups_daily_values;

DROP VIEW click_rollups_daily_families;

ALTER TABLE click_rollups_daily
    DROP CONSTRAINT click_rollups_daily_qr_scans_source_check,
    DROP CONSTRAINT click_rollups_daily_pkey;

-- One statement: the inserted sums do not see the rows the same statement deletes.
WITH split AS (DELETE FROM click_rollups_daily RETURNING *)
INSERT INTO click_rollups_daily (link_id, day, clicks, qr_scans, robot_hits)
SELECT link_id, day, sum(clicks), sum(qr_scans), sum(robot_hits) FROM split GROUP BY 1, 2;

ALTER TABLE click_rollups_daily
    DROP COLUMN visit,
    ADD CONSTRAINT click_rollups_daily_pkey PRIMARY KEY (link_id, day);

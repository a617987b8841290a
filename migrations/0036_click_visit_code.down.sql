-- Reverts 0036: clicks get 0034's four family columns back, filled from their visit code, and
-- the code goes; click_rollups_daily_families is 0035's view again.

-- 0035's view, exactly.
CREATE OR REPLACE VIEW click_rollups_daily_families AS
SELECT link_id, day, visit,
       (ARRAY['link', 'qr'])[(visit & 3) + 1] AS source,
       (ARRAY['mobile', 'tablet', 'desktop', 'other'])[((visit >> 2) & 7) + 1] AS device,
       (ARRAY['ios', 'android', 'windows', 'macos', 'linux', 'chromeos', 'other'])
           [((visit >> 5) & 15) + 1] AS os,
       (ARRAY['safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera', 'other'])
           [((visit >> 9) & 15) + 1] AS browser,
       COALESCE((ARRAY['instagram', 'threads', 'facebook', 'tiktok', 'pinterest', 'snapchat',
                       'youtube', 'x', 'linkedin', 'wechat', 'line', 'reddit'])
                    [(visit >> 13) & 31], 'none') AS platform,
       clicks, qr_scans, robot_hits
FROM click_rollups_daily;

DROP VIEW click_families;

-- 0034's columns, exactly.
ALTER TABLE clicks
    ADD COLUMN device TEXT CHECK (device IN ('mobile', 'tablet', 'desktop', 'other')),
    ADD COLUMN os TEXT
        CHECK (os IN ('ios', 'android', 'windows', 'macos', 'linux', 'chromeos', 'other')),
    ADD COLUMN browser TEXT
        CHECK (browser IN ('safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera', 'other')),
    ADD COLUMN platform TEXT CHECK (platform IN ('instagram', 'threads', 'facebook', 'tiktok',
        'pinterest', 'snapchat', 'youtube', 'x', 'linkedin', 'wechat', 'line', 'reddit'));

UPDATE clicks c SET (device, os, browser, platform) = (
    SELECT f.device, f.os, f.browser, NULLIF(f.platform, 'none')
    FROM skinstack_visit_families(c.visit) f
)
WHERE c.visit IS NOT NULL;

ALTER TABLE clicks
    DROP CONSTRAINT clicks_visit_source_check,
    DROP COLUMN visit;

DROP FUNCTION skinstack_visit_families(INTEGER);

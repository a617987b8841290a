-- Migration 0036: A click's closed families as its visit code (issue 19)
-- Purpose: store a click's source, device, OS, browser and in-app platform as the one integer
-- that keys its daily roll-up (skinstack_core's VisitKey::code, 0035), instead of the four
-- text columns of 0034 beside it. The batch statement then rolls a click up by the code it
-- RETURNs, where it had to join every inserted click back to the batch's input by id to find
-- it, and each batch sends one integer array where it sent four text ones.
--
-- Measured (docs/PERFORMANCE.md): in psql, on 2 000-click batches over 10 k links, 0035's
-- statement took about 2.5 µs per click more than the one before issue 19, this one about
-- 0.5 µs; under the load benchmark PostgreSQL's CPU per click went from 1.2 µs above the
-- build before issue 19 to 0.4 µs.
--
-- Deliberate deviation from 0034: its columns device, os, browser and platform go. SQL readers
-- find them by name in the view click_families below, as the roll-ups' names are in
-- click_rollups_daily_families; both views now decode with one function,
-- skinstack_visit_families, so the names live in one place in SQL as in core. The code's
-- source bits must agree with the seed's `source` column (a check), so the two never say
-- different things. Clicks stored before 0034 keep a NULL code: the library derives their
-- families from the user agent they kept, as before.
--
-- The backfill rewrites the clicks stored since 0034 (0034 and 0035 came with the same
-- issue, so few); older clicks are not touched. sqlx runs this file in a transaction.

-- A code's families by name: the arrays are core's `ALL` orders, each family's position in
-- its bit field (source bits 0-1, device 2-4, OS 5-8, browser 9-12, platform 13-17 with 0 for
-- none). A NULL code gives NULL names.
CREATE FUNCTION skinstack_visit_families(visit INTEGER)
RETURNS TABLE (source TEXT, device TEXT, os TEXT, browser TEXT, platform TEXT)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (ARRAY['link', 'qr'])[(visit & 3) + 1],
           (ARRAY['mobile', 'tablet', 'desktop', 'other'])[((visit >> 2) & 7) + 1],
           (ARRAY['ios', 'android', 'windows', 'macos', 'linux', 'chromeos', 'other'])
               [((visit >> 5) & 15) + 1],
           (ARRAY['safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera', 'other'])
               [((visit >> 9) & 15) + 1],
           CASE WHEN visit IS NOT NULL THEN
               COALESCE((ARRAY['instagram', 'threads', 'facebook', 'tiktok', 'pinterest',
                               'snapchat', 'youtube', 'x', 'linkedin', 'wechat', 'line',
                               'reddit'])[(visit >> 13) & 31], 'none')
           END
$$;

ALTER TABLE clicks
    ADD COLUMN visit INTEGER
        CONSTRAINT clicks_visit_check CHECK (visit >= 0 AND visit < 262144),
    ADD CONSTRAINT clicks_visit_source_check
        CHECK ((visit & 3) = CASE source WHEN 'qr' THEN 1 ELSE 0 END);

-- The inverse of the function above, for the backfill only.
UPDATE clicks SET visit = CASE source WHEN 'qr' THEN 1 ELSE 0 END
    | ((array_position(ARRAY['mobile', 'tablet', 'desktop', 'other'], device) - 1) << 2)
    | ((array_position(ARRAY['ios', 'android', 'windows', 'macos', 'linux', 'chromeos',
                             'other'], os) - 1) << 5)
    | ((array_position(ARRAY['safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera',
                             'other'], browser) - 1) << 9)
    | (COALESCE(array_position(ARRAY['instagram', 'threads', 'facebook', 'tiktok', 'pinterest',
                                     'snapchat', 'youtube', 'x', 'linkedin', 'wechat', 'line',
                                     'reddit'], platform), 0) << 13)
WHERE device IS NOT NULL;

ALTER TABLE clicks
    DROP COLUMN platform,
    DROP COLUMN browser,
    DROP COLUMN os,
    DROP COLUMN device;

-- Every click with its families by name; NULL names for a click stored before 0034.
CREATE VIEW click_families AS
SELECT c.id, c.link_id, c.clicked_at, c.visit, f.source, f.device, f.os, f.browser, f.platform
FROM clicks c CROSS JOIN LATERAL skinstack_visit_families(c.visit) f;

CREATE OR REPLACE VIEW click_rollups_daily_families AS
SELECT r.link_id, r.day, r.visit, f.source, f.device, f.os, f.browser, f.platform,
       r.clicks, r.qr_scans, r.robot_hits
FROM click_rollups_daily r CROSS JOIN LATERAL skinstack_visit_families(r.visit) f;

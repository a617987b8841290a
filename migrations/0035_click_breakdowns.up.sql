-- Migration 0035: Click and conversion breakdowns (issue 19)
-- Purpose: split a scope's clicks and conversions by where they came from (source, device, OS,
-- browser, in-app platform, country, referring domain) from roll-ups, never from raw clicks, so
-- a year of a busy link costs O(days × values) and survives `clicks prune`. The rule is
-- skinstack_core::tracking::breakdown; the names below are its stable `as_str()` names.
--
-- Deliberate deviation from 0029's note ("a sibling table per dimension"): the closed families
-- (source, device, OS, browser, platform) key click_rollups_daily itself. Their values are few
-- and fixed, so a link's day still has a handful of rows, and the batch statement keeps ONE
-- roll-up upsert per (link, day, families): the shopper's path pays no extra write for five
-- dimensions. Sibling tables would cost one more upsert each per batch. They key it as one
-- integer code, below, so a missing in-app platform is a value like any other (a NULL in a
-- primary key would never conflict, and the upsert would insert a row per batch).
--
-- The open dimensions (country, referring domain) have values without bound, so they go in
-- click_rollups_daily_values, written only for clicks that carry a value: the clicks without
-- one are the day's totals minus those rows, which the reader computes ('none').
--
-- Existing roll-up rows predate the families, so each is split by what it knows: a 'link' row
-- (its human clicks that were not QR scans, and all its robot hits) and a 'qr' row (its QR
-- scans), either left out when it would count nothing; their device, OS and browser are
-- 'other' and their platform none (unknown), since the raw clicks behind them may be pruned.
-- The check click_rollups_daily_qr_scans_source_check holds the split from now on: a QR row's
-- human clicks are all QR scans, a link row has none.
--
-- Country and referring-domain rows are backfilled from the stored clicks' 0034 columns (clicks
-- stored before 0034 have none and count under 'none'; the domain is not re-derived from their
-- referer, which SQL cannot do by core's rule). Pruned clicks are not counted, as they cannot
-- be: their days' values are 'none'.
--
-- Conversions keep the dimensions of the click that attributed them (NewConversion::visit), so
-- their breakdown outlives the click. Existing conversions take them from their attributing
-- click when it is still stored with its 0034 families; the others keep NULL, read as 'none'
-- for every dimension. sqlx runs this file in a transaction.

-- The closed families key the row as ONE integer, `visit`: skinstack_core's VisitKey::code,
-- which packs each family's position in a bit field of its own (source bits 0-1, device 2-4,
-- OS 5-8, browser 9-12, platform 13-17, 0 for none). Measured in psql on 2 000-click batches
-- over 10 k links, a key of five text columns cost each upserted row about 1.1 µs more than
-- (link_id, day), and this integer about half of that; the batch upserts a row for nearly
-- every click. The view click_rollups_daily_families below gives SQL readers the names; core
-- decodes the code itself (VisitKey::from_code), and its tests pin the two codes used here.
ALTER TABLE click_rollups_daily
    -- A constant default: a catalogue change only, however many rows the table holds. 3276 is
    -- a link click whose families are unknown (device, OS and browser 'other', no platform).
    ADD COLUMN visit INTEGER NOT NULL DEFAULT 3276
        CONSTRAINT click_rollups_daily_visit_check CHECK (visit >= 0 AND visit < 262144),
    DROP CONSTRAINT click_rollups_daily_pkey;

-- Every existing row is a link row by default: its QR scans move to a QR row of their own
-- (3277: the same unknown families, source bit 1).
INSERT INTO click_rollups_daily (link_id, day, visit, clicks, qr_scans, robot_hits)
SELECT link_id, day, 3277, qr_scans, qr_scans, 0 FROM click_rollups_daily WHERE qr_scans > 0;
UPDATE click_rollups_daily SET clicks = clicks - qr_scans, qr_scans = 0
WHERE visit = 3276 AND qr_scans > 0;
DELETE FROM click_rollups_daily WHERE visit = 3276 AND clicks = 0 AND robot_hits = 0;

-- Built once, after the split; click_rollups_daily_day (0032) stays for the fold.
ALTER TABLE click_rollups_daily
    ADD CONSTRAINT click_rollups_daily_pkey PRIMARY KEY (link_id, day, visit),
    ADD CONSTRAINT click_rollups_daily_qr_scans_source_check
        CHECK (qr_scans = CASE visit & 3 WHEN 1 THEN clicks ELSE 0 END);

-- The roll-ups with their families by name, as core's `as_str()` names them (the arrays are
-- the families' ALL orders; index 0 of the platform is none).
CREATE VIEW click_rollups_daily_families AS
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

CREATE TABLE click_rollups_daily_values (
    -- No FOREIGN KEY, as for click_rollups_daily: skinstack_delete_link_click_rollups below
    -- deletes a link's rows with it.
    link_id UUID NOT NULL,
    day DATE NOT NULL,
    dimension TEXT COLLATE "C" NOT NULL CHECK (dimension IN ('country', 'referrer')),
    -- As in clicks (0034): ISO 3166-1 alpha-2, or a DNS name (at most 253 characters).
    value TEXT COLLATE "C" NOT NULL,
    -- The same counters as click_rollups_daily, for the clicks carrying `value`.
    clicks BIGINT NOT NULL DEFAULT 0 CHECK (clicks >= 0),
    qr_scans BIGINT NOT NULL DEFAULT 0 CHECK (qr_scans >= 0 AND qr_scans <= clicks),
    robot_hits BIGINT NOT NULL DEFAULT 0 CHECK (robot_hits >= 0),
    CONSTRAINT click_rollups_daily_values_value_check CHECK (
        CASE dimension WHEN 'country' THEN value ~ '^[A-Z]{2}$' ELSE length(value) <= 253 END
    ),
    CONSTRAINT click_rollups_daily_values_pkey PRIMARY KEY (link_id, day, dimension, value)
);

-- One function deletes every roll-up of a deleted link, whichever table holds it.
CREATE OR REPLACE FUNCTION skinstack_delete_link_click_rollups()
RETURNS TRIGGER AS $$
BEGIN
    DELETE FROM click_rollups_daily WHERE link_id = OLD.id;
    DELETE FROM click_rollups_daily_values WHERE link_id = OLD.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Clicks of a link deleted since have no roll-ups left (the trigger took them): none here.
INSERT INTO click_rollups_daily_values (link_id, day, dimension, value, clicks, qr_scans,
                                        robot_hits)
SELECT c.link_id, (c.clicked_at AT TIME ZONE 'UTC')::date, v.dimension, v.value,
       count(*) FILTER (WHERE NOT c.is_bot),
       count(*) FILTER (WHERE NOT c.is_bot AND c.source = 'qr'),
       count(*) FILTER (WHERE c.is_bot)
FROM clicks c
CROSS JOIN LATERAL (VALUES ('country', c.country), ('referrer', c.referrer_domain))
    AS v(dimension, value)
WHERE v.value IS NOT NULL
  AND EXISTS (SELECT 1 FROM tracking_links t WHERE t.id = c.link_id)
GROUP BY 1, 2, 3, 4;

-- The attributing click's dimensions, as clicks (0034) keeps them; NULL for an order attributed
-- by coupon, unattributed, or whose click's dimensions were never known. Source, device, OS and
-- browser are all known together or not at all.
ALTER TABLE conversions
    ADD COLUMN click_source TEXT
        CONSTRAINT conversions_click_source_check CHECK (click_source IN ('link', 'qr')),
    ADD COLUMN device TEXT
        CONSTRAINT conversions_device_check
        CHECK (device IN ('mobile', 'tablet', 'desktop', 'other')),
    ADD COLUMN os TEXT
        CONSTRAINT conversions_os_check
        CHECK (os IN ('ios', 'android', 'windows', 'macos', 'linux', 'chromeos', 'other')),
    ADD COLUMN browser TEXT
        CONSTRAINT conversions_browser_check
        CHECK (browser IN ('safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera', 'other')),
    ADD COLUMN platform TEXT
        CONSTRAINT conversions_platform_check
        CHECK (platform IN ('instagram', 'threads', 'facebook', 'tiktok', 'pinterest',
            'snapchat', 'youtube', 'x', 'linkedin', 'wechat', 'line', 'reddit')),
    ADD COLUMN referrer_domain TEXT
        CONSTRAINT conversions_referrer_domain_check CHECK (length(referrer_domain) <= 253),
    ADD COLUMN country TEXT
        CONSTRAINT conversions_country_check CHECK (country ~ '^[A-Z]{2}$'),
    ADD CONSTRAINT conversions_visit_check CHECK (
        (click_source IS NULL) = (device IS NULL)
        AND (device IS NULL) = (os IS NULL)
        AND (os IS NULL) = (browser IS NULL)
        AND (device IS NOT NULL OR (platform IS NULL AND referrer_domain IS NULL
                                    AND country IS NULL))
    );

UPDATE conversions v SET click_source = c.source, device = c.device, os = c.os,
    browser = c.browser, platform = c.platform, referrer_domain = c.referrer_domain,
    country = c.country
FROM clicks c
WHERE c.id = v.attributed_click_id AND v.attributed_by = 'click' AND c.device IS NOT NULL;

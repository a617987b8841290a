-- Migration 0034: What a click says about its visitor (issue 19)
-- Purpose: store, per click, the coarse families that analytics break clicks down by: the kind
-- of device, the OS family, the browser family, the app whose in-app browser opened the link,
-- the referring page's registrable domain, and the country an edge reported. The first five
-- are derived by skinstack_core::tracking::visitor from the user agent and referer when the
-- batch is written; their names are that module's stable `as_str()` names, and the checks
-- below keep them to those closed sets, so a breakdown's number of values stays bounded
-- whatever user agents arrive.
--
-- Clicks stored before this migration keep NULL families: the library derives theirs from
-- the user agent and referer they kept, when it reads one. No backfill: it would rewrite every
-- stored click, and adding nullable columns without a default is a catalogue change only,
-- however many rows the table holds. sqlx runs this file in a transaction.

ALTER TABLE clicks
    ADD COLUMN device TEXT CHECK (device IN ('mobile', 'tablet', 'desktop', 'other')),
    ADD COLUMN os TEXT
        CHECK (os IN ('ios', 'android', 'windows', 'macos', 'linux', 'chromeos', 'other')),
    ADD COLUMN browser TEXT
        CHECK (browser IN ('safari', 'chrome', 'firefox', 'edge', 'samsung', 'opera', 'other')),
    ADD COLUMN platform TEXT CHECK (platform IN ('instagram', 'threads', 'facebook', 'tiktok',
        'pinterest', 'snapchat', 'youtube', 'x', 'linkedin', 'wechat', 'line', 'reddit')),
    -- A DNS name is at most 253 characters.
    ADD COLUMN referrer_domain TEXT CHECK (length(referrer_domain) <= 253),
    -- ISO 3166-1 alpha-2, from an edge header the operator trusts (--country-header); the
    -- library accepts only codes assigned to a country (skinstack_core::Country).
    ADD COLUMN country TEXT CHECK (country ~ '^[A-Z]{2}$');

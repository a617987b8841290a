-- Reverts 0034: the families go; the user agent and referer they were derived from stay.
ALTER TABLE clicks
    DROP COLUMN referrer_domain,
    DROP COLUMN platform,
    DROP COLUMN browser,
    DROP COLUMN os,
    DROP COLUMN device;

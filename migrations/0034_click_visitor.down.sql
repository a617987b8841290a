-- Reverts 0034: the families and the country go; the user agent and referer stay.
ALTER TABLE clicks
    DROP COLUMN country,
    DROP COLUMN referrer_domain,
    DROP COLUMN platform,
    DROP COLUMN browser,
    DROP COLUMN os,
    DROP COLUMN device;

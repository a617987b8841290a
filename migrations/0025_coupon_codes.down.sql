-- Revert 0025: drop exactly what 0025_coupon_codes.up.sql created (its indexes go with the
-- table). tracking_links.campaign_code was never changed, so nothing else is restored; codes
-- requested or assigned after 0025 are lost with the table.
DROP TABLE coupon_codes;

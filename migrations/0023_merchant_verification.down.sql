-- Revert 0023: drop exactly what 0023_merchant_verification.up.sql created. Merchants the up
-- migration detached from a duplicate account stay detached (which account they had is not
-- kept); every merchant redirects again as before verification existed.
DROP TRIGGER merchants_notify_change ON merchants;
CREATE TRIGGER merchants_notify_change
    AFTER DELETE OR UPDATE OF is_active
    ON merchants
    FOR EACH STATEMENT
    EXECUTE FUNCTION skinstack_notify_link_change();

ALTER TABLE merchants DROP CONSTRAINT merchants_user_id_key;
ALTER TABLE merchants DROP COLUMN verified_at;

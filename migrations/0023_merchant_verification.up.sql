-- Migration 0023: Merchant verification, and one merchant per account
-- Purpose: a self-registered merchant with someone else's website must not turn short links
-- into an open redirect. A merchant is unverified (verified_at IS NULL) until an administrator
-- verifies it; meanwhile its programs are closed to influencers, its links answer 410 and its
-- API keys are refused. A new website_url puts it back to unverified (a rule of the library,
-- applied in the same UPDATE). sqlx runs this file in a transaction.
--
-- Existing merchants are marked verified, at their creation time: they were created by the
-- operator before verification existed, and their links must keep redirecting.
--
-- Deliberate deviation from the seed (core-schemas-v1 lets one account manage several
-- merchants): merchants.user_id is UNIQUE, so two concurrent POST /v1/merchant for one account
-- give one merchant and one 409. NULLs stay distinct: merchants that outlived their account are
-- not limited. Existing duplicates: the account keeps its oldest merchant (created_at, then
-- id); its other merchants are detached (user_id NULL, the seed's own state for a merchant whose
-- account was deleted). Nothing is deleted: their programs, products, links and totals stay,
-- and an operator can give them accounts of their own. A detached merchant has no owner, so its
-- API keys stop working until it has one.

ALTER TABLE merchants ADD COLUMN verified_at TIMESTAMPTZ;

UPDATE merchants SET verified_at = COALESCE(created_at, NOW());

WITH ranked AS (
    SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS rank
    FROM merchants
    WHERE user_id IS NOT NULL
)
UPDATE merchants m SET user_id = NULL
FROM ranked r
WHERE m.id = r.id AND r.rank > 1;

ALTER TABLE merchants ADD CONSTRAINT merchants_user_id_key UNIQUE (user_id);

-- Verification decides whether a merchant's links redirect, exactly as is_active does: every
-- process's cached snapshots must hear of it through the change feed (migration 0008).
DROP TRIGGER merchants_notify_change ON merchants;
CREATE TRIGGER merchants_notify_change
    AFTER DELETE OR UPDATE OF is_active, verified_at
    ON merchants
    FOR EACH STATEMENT
    EXECUTE FUNCTION skinstack_notify_link_change();

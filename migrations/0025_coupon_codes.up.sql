-- Migration 0025: Coupon codes that belong to one influencer
-- Purpose: until now an order's coupon attributed to any of the merchant's links whose free-text
-- campaign_code matched, so influencer B could copy Ana's public code ANA20 onto a link of hers
-- and take every coupon sale. A code is now a row of its own, owned by ONE tracking link (which
-- names the influencer and the program), requested by the member or assigned by the merchant,
-- and it attributes only orders placed from assigned_at until revoked_at. The seed's
-- tracking_links.campaign_code column is kept as it is (a campaign label) and no longer
-- attributes anything. sqlx runs this file in a transaction.
--
-- Existing links: for every link with a campaign code, this creates an assigned code with
-- assigned_at = the link's created_at, so every order a code could attribute yesterday it still
-- attributes. When several links of one merchant carry one code (in any case), only the OLDEST
-- link (by created_at, then id) gets it: the others lose coupon attribution, and their
-- campaign_code stays on the link untouched. Campaign codes the library would not have accepted
-- (outside 1-64 of [A-Za-z0-9_-]) are not turned into codes.
-- Deliberate deviation from "unique per merchant": uniqueness holds among the codes not revoked
-- (a partial unique index), so a revoked code stays as history (it still owns the orders placed
-- before its revocation) while its spelling can be given to someone else.

CREATE TABLE coupon_codes (
    id UUID PRIMARY KEY,
    -- Whose shop honours the code; the codes go with the merchant.
    merchant_id UUID NOT NULL REFERENCES merchants(id) ON DELETE CASCADE,
    -- As spelled by its owner; compared upper-cased (shops compare discount codes that way).
    code TEXT NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,64}$'),
    -- The owning link; a deleted link takes its codes with it, freeing their spelling.
    link_id UUID NOT NULL REFERENCES tracking_links(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('requested', 'assigned', 'revoked')),
    created_at TIMESTAMPTZ NOT NULL,
    assigned_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    -- The instants agree with the state, and an assignment never ends before it began.
    CONSTRAINT coupon_codes_dates_check CHECK (
        (state = 'requested' AND assigned_at IS NULL AND revoked_at IS NULL)
        OR (state = 'assigned' AND assigned_at IS NOT NULL AND revoked_at IS NULL)
        OR (state = 'revoked' AND revoked_at IS NOT NULL
            AND (assigned_at IS NULL OR assigned_at <= revoked_at)))
);

-- One live code per spelling per merchant, whatever its case: ANA20 and ana20 collide, and of
-- two concurrent claims exactly one is stored (the other gets RepoError::CodeTaken).
CREATE UNIQUE INDEX coupon_codes_merchant_id_code_key ON coupon_codes (merchant_id, upper(code))
    WHERE state <> 'revoked';
-- Attribution reads every assigned code of a spelling, revoked ones included.
CREATE INDEX idx_coupon_codes_merchant_code ON coupon_codes (merchant_id, upper(code))
    WHERE assigned_at IS NOT NULL;
CREATE INDEX idx_coupon_codes_link ON coupon_codes (link_id);

INSERT INTO coupon_codes (id, merchant_id, code, link_id, state, created_at, assigned_at)
SELECT DISTINCT ON (p.merchant_id, upper(btrim(l.campaign_code)))
       gen_random_uuid(), p.merchant_id, btrim(l.campaign_code), l.id, 'assigned',
       COALESCE(l.created_at, 'epoch'::timestamptz), COALESCE(l.created_at, 'epoch'::timestamptz)
FROM tracking_links l
JOIN programs p ON p.id = l.program_id
WHERE btrim(l.campaign_code) ~ '^[A-Za-z0-9_-]{1,64}$'
ORDER BY p.merchant_id, upper(btrim(l.campaign_code)),
         COALESCE(l.created_at, 'epoch'::timestamptz), l.id;

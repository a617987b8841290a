-- Migration 0026: Commission holds and each merchant's maximum order amount
-- Purpose: a commission can be held for review with one or more reasons (`approve-due` never
-- approves a held one); the merchant or an administrator releases it or voids it, and the
-- ledger records either as an event (`released` moves nothing, `voided` reverses the remaining
-- commission exactly). Orders above a merchant's maximum are recorded with their commission
-- held, never refused. Additive only: the seed's columns are untouched.

-- The largest order amount approved without review; 10000.00 by default.
ALTER TABLE merchants ADD COLUMN max_order_amount DECIMAL(10,2) NOT NULL DEFAULT 10000.00
    CONSTRAINT merchants_max_order_amount_check CHECK (max_order_amount > 0);

-- Every reason a conversion was ever held for (kept after a release or a void, for the record);
-- held_at is set while it is held; voided_at once its commission is voided (final).
ALTER TABLE conversions
    ADD COLUMN hold_reasons TEXT[] NOT NULL DEFAULT '{}'
        CONSTRAINT conversions_hold_reasons_check
        CHECK (hold_reasons <@ ARRAY['member_banned', 'order_above_maximum', 'manual']::text[]),
    ADD COLUMN held_at TIMESTAMPTZ,
    ADD COLUMN voided_at TIMESTAMPTZ,
    -- Only an attributed, unapproved commission is held or voided, never both at once, and a
    -- hold always says why.
    ADD CONSTRAINT conversions_hold_check CHECK (
        (held_at IS NULL OR (link_id IS NOT NULL AND approved_at IS NULL AND voided_at IS NULL
                             AND cardinality(hold_reasons) > 0))
        AND (voided_at IS NULL OR (link_id IS NOT NULL AND approved_at IS NULL))
    );

ALTER TABLE commission_events DROP CONSTRAINT commission_events_kind_check;
ALTER TABLE commission_events ADD CONSTRAINT commission_events_kind_check
    CHECK (kind IN ('accrued', 'approved', 'reversed', 'paid', 'released', 'voided'));
-- A commission is voided at most once.
CREATE UNIQUE INDEX commission_events_voided_key ON commission_events(conversion_id) WHERE kind = 'voided';

-- approve-due's scan skips held and voided conversions.
DROP INDEX idx_conversions_due;
CREATE INDEX idx_conversions_due ON conversions(hold_until)
    WHERE approved_at IS NULL AND link_id IS NOT NULL AND held_at IS NULL AND voided_at IS NULL;
-- The merchant's review queue.
CREATE INDEX idx_conversions_held ON conversions(merchant_id, id) WHERE held_at IS NOT NULL;

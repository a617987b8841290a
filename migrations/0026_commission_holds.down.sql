-- Revert 0026: drop exactly what 0026_commission_holds.up.sql added, in reverse order.
-- The ledger is append-only: while it holds `released` or `voided` events, restoring the old
-- kind check fails and the whole revert rolls back, rather than forgetting a decision on money.
DROP INDEX idx_conversions_held;
DROP INDEX idx_conversions_due;
CREATE INDEX idx_conversions_due ON conversions(hold_until) WHERE approved_at IS NULL AND link_id IS NOT NULL;
DROP INDEX commission_events_voided_key;
ALTER TABLE commission_events DROP CONSTRAINT commission_events_kind_check;
ALTER TABLE commission_events ADD CONSTRAINT commission_events_kind_check
    CHECK (kind IN ('accrued', 'approved', 'reversed', 'paid'));
ALTER TABLE conversions
    DROP CONSTRAINT conversions_hold_check,
    DROP COLUMN voided_at,
    DROP COLUMN held_at,
    DROP COLUMN hold_reasons;
ALTER TABLE merchants DROP COLUMN max_order_amount;

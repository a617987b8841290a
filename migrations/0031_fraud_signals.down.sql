-- Revert 0031: drop exactly what 0031_fraud_signals.up.sql added, in reverse order.
-- While a conversion is held (or was ever held) for a reason 0031 added, restoring the old
-- reason check fails and the whole revert rolls back, rather than forgetting why money was held.
DROP INDEX conversions_click_use_key;
ALTER TABLE conversions
    DROP COLUMN attributed_click_use,
    DROP COLUMN signals;
ALTER TABLE conversions DROP CONSTRAINT conversions_hold_reasons_check;
ALTER TABLE conversions ADD CONSTRAINT conversions_hold_reasons_check
    CHECK (hold_reasons <@ ARRAY['member_banned', 'order_above_maximum', 'manual']::text[]);

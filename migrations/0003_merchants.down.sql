-- Revert 0003: drop exactly what 0003_merchants.up.sql created.
-- Also drops its indexes, constraints and the merchants_updated_at trigger.
DROP TABLE merchants;

-- Revert 0020: drop exactly what 0020_commission_ledger.up.sql created, in reverse order.
DROP TABLE commission_events;
DROP FUNCTION skinstack_ledger_append_only();
DROP TABLE payout_items;
DROP TABLE payout_batches;
DROP TABLE refunds;
DROP TABLE conversions;
ALTER TABLE merchants DROP COLUMN shopify_webhook_secret;
ALTER TABLE programs DROP COLUMN hold_days;

-- Revert 0022: drop exactly what 0022_webhook_deliveries.up.sql created (its index goes with the table).
DROP TABLE webhook_deliveries;
ALTER TABLE merchants DROP CONSTRAINT merchants_webhook_previous_secret_check;
ALTER TABLE merchants DROP COLUMN shopify_webhook_secret_rotated_at;
ALTER TABLE merchants DROP COLUMN shopify_webhook_previous_secret;

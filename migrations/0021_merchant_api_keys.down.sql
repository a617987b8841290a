-- Revert 0021: drop exactly what 0021_merchant_api_keys.up.sql created (its indexes go with the table).
DROP TABLE merchant_api_keys;

-- Revert 0005: drop exactly what 0005_products.up.sql created.
-- Also drops its indexes, constraints and the products_updated_at trigger.
DROP TABLE products;

-- Revert 0027: back to the seed's precisions. Fails (and rolls back) if a total no longer fits,
-- rather than truncating money.
ALTER TABLE payout_items ALTER COLUMN amount TYPE DECIMAL(10,2);
ALTER TABLE merchants
    ALTER COLUMN total_sales TYPE DECIMAL(12,2),
    ALTER COLUMN total_commissions_paid TYPE DECIMAL(10,2);
ALTER TABLE influencers
    ALTER COLUMN total_earned TYPE DECIMAL(10,2),
    ALTER COLUMN total_paid TYPE DECIMAL(10,2);
ALTER TABLE tracking_links
    ALTER COLUMN total_revenue TYPE DECIMAL(10,2),
    ALTER COLUMN total_commission TYPE DECIMAL(10,2);

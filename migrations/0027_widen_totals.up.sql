-- Migration 0027: Widen the denormalized totals
-- Purpose: a conversion must never be refused because a running total would overflow. The seed
-- keeps tracking_links.total_revenue/total_commission, influencers.total_earned/total_paid and
-- merchants.total_commissions_paid as DECIMAL(10,2) and merchants.total_sales as DECIMAL(12,2):
-- a merchant with a 100 % program reporting orders of 99,999,999.99 could push a victim's
-- total_earned to the limit, after which every later conversion credited to that influencer,
-- from any merchant, failed. DELIBERATE DEVIATION from the seed schema: these columns become
-- DECIMAL(28,2), the widest that rust_decimal reads back exactly (every single order stays
-- within conversions.amount, DECIMAL(10,2)). Same names, same defaults, same meaning.
-- payout_items.amount sums an influencer's approved balance, so it widens to DECIMAL(12,2),
-- the most one payout amount (core's Money) holds.
ALTER TABLE tracking_links
    ALTER COLUMN total_revenue TYPE DECIMAL(28,2),
    ALTER COLUMN total_commission TYPE DECIMAL(28,2);
ALTER TABLE influencers
    ALTER COLUMN total_earned TYPE DECIMAL(28,2),
    ALTER COLUMN total_paid TYPE DECIMAL(28,2);
ALTER TABLE merchants
    ALTER COLUMN total_sales TYPE DECIMAL(28,2),
    ALTER COLUMN total_commissions_paid TYPE DECIMAL(28,2);
ALTER TABLE payout_items ALTER COLUMN amount TYPE DECIMAL(12,2);

-- Revert 0033: back to USD only. Fails, changing nothing, while any row is in another currency
-- or a batch pays one influencer in two: those rows cannot be kept under the old checks.
ALTER TABLE influencers DROP COLUMN primary_currency;
ALTER TABLE commission_events DROP COLUMN currency;
ALTER TABLE payout_items DROP CONSTRAINT payout_items_batch_influencer_key,
    ADD CONSTRAINT payout_items_batch_influencer_key UNIQUE (batch_id, influencer_id),
    DROP CONSTRAINT payout_items_currency_check,
    ADD CONSTRAINT payout_items_currency_check CHECK (currency = 'USD');
ALTER TABLE merchant_statements DROP CONSTRAINT merchant_statements_currency_check,
    ADD CONSTRAINT merchant_statements_currency_check CHECK (currency = 'USD');
ALTER TABLE conversions DROP CONSTRAINT conversions_currency_check,
    ADD CONSTRAINT conversions_currency_check CHECK (currency = 'USD');
ALTER TABLE merchants DROP COLUMN currency;

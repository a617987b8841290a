-- Migration 0033: Currencies
-- Purpose: record orders in every currency a shop sells in. Each merchant settles in one
-- ISO 4217 currency (USD unless chosen), fixed once it has conversions; its conversions, ledger
-- events, statements and totals are in it. Influencers may earn in several: payouts get one item
-- per influencer and currency, and the seed's single-number influencer totals hold their primary
-- currency (the first they earned in). Amounts stay DECIMAL(…,2): currencies of 0 and 2 decimal
-- places fit; three-decimal currencies (KWD, BHD, OMR) are refused by the library, by name.
-- The code's validity (ISO 4217, at most two decimals) is the library's rule; the checks here
-- only keep the column's shape. sqlx runs this file in a transaction.

ALTER TABLE merchants ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD'
    CONSTRAINT merchants_currency_check CHECK (currency ~ '^[A-Z]{3}$');

ALTER TABLE conversions DROP CONSTRAINT conversions_currency_check,
    ADD CONSTRAINT conversions_currency_check CHECK (currency ~ '^[A-Z]{3}$');

ALTER TABLE merchant_statements DROP CONSTRAINT merchant_statements_currency_check,
    ADD CONSTRAINT merchant_statements_currency_check CHECK (currency ~ '^[A-Z]{3}$');

-- One item per influencer and currency in a batch: a payout never adds two currencies.
ALTER TABLE payout_items DROP CONSTRAINT payout_items_currency_check,
    ADD CONSTRAINT payout_items_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    DROP CONSTRAINT payout_items_batch_influencer_key,
    ADD CONSTRAINT payout_items_batch_influencer_key UNIQUE (batch_id, influencer_id, currency);

-- Every event carries its conversion's currency, so balances and payouts group by it without
-- a join. Every row so far is USD; new rows must name theirs.
ALTER TABLE commission_events ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD'
    CONSTRAINT commission_events_currency_check CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE commission_events ALTER COLUMN currency DROP DEFAULT;

-- The currency of influencers.total_earned and total_paid: the first one earned in, then fixed.
ALTER TABLE influencers ADD COLUMN primary_currency TEXT
    CONSTRAINT influencers_primary_currency_check CHECK (primary_currency ~ '^[A-Z]{3}$');
UPDATE influencers i SET primary_currency = 'USD'
WHERE EXISTS (SELECT 1 FROM commission_events e
              WHERE e.influencer_id = i.id AND e.influencer_earnings <> 0);

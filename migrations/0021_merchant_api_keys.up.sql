-- Migration 0021: Merchant API keys
-- Purpose: keys a merchant's own back end presents to report orders and refunds. sqlx runs this file
-- in a transaction.
--
-- Only the SHA-256 of each key is stored (the key has 256 random bits, so a plain hash cannot be
-- reversed), with its first characters so the merchant can tell keys apart. Revoked keys are kept
-- for the listing; they authenticate nothing. Keys go with their merchant.

CREATE TABLE merchant_api_keys (
    id UUID PRIMARY KEY,
    merchant_id UUID NOT NULL REFERENCES merchants(id) ON DELETE CASCADE,
    name VARCHAR(200) NOT NULL CHECK (length(trim(name)) > 0),
    prefix TEXT NOT NULL CHECK (length(prefix) BETWEEN 1 AND 32),
    key_hash BYTEA NOT NULL CHECK (length(key_hash) = 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    -- Authentication looks keys up by hash: this constraint's index serves it.
    CONSTRAINT merchant_api_keys_key_hash_key UNIQUE (key_hash)
);

-- "A merchant's keys, oldest first" (listing) and the cascade on delete.
CREATE INDEX idx_merchant_api_keys_merchant ON merchant_api_keys(merchant_id, id);

-- Migration 0022: Webhook deliveries acknowledged for good, and the previous webhook secret
-- Purpose: Shopify retries every answer but a 2xx and then deletes the subscription, so a signed
-- delivery that can never be recorded is answered 200 and kept here with its reason, for the
-- merchant to see. Deliveries are unique per merchant by Shopify's X-Shopify-Webhook-Id, so the
-- retries of one event are handled once. sqlx runs this file in a transaction.

-- The secret the current one replaced and when: Shopify signs with both for an hour after a
-- rotation. Holds AES-256-GCM ciphertext written by the SkinStack library, never the plaintext.
ALTER TABLE merchants ADD COLUMN shopify_webhook_previous_secret TEXT;
ALTER TABLE merchants ADD COLUMN shopify_webhook_secret_rotated_at TIMESTAMPTZ;
ALTER TABLE merchants ADD CONSTRAINT merchants_webhook_previous_secret_check
    CHECK ((shopify_webhook_previous_secret IS NULL) = (shopify_webhook_secret_rotated_at IS NULL));

CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY,
    -- Operational records, not financial history: they go with their merchant.
    merchant_id UUID NOT NULL REFERENCES merchants(id) ON DELETE CASCADE,
    -- X-Shopify-Webhook-Id; NULL when the delivery came without a usable one.
    webhook_id TEXT CHECK (length(webhook_id) BETWEEN 1 AND 1024),
    topic TEXT CHECK (length(topic) BETWEEN 1 AND 1024),
    received_at TIMESTAMPTZ NOT NULL,
    -- The rejection's short code and message; both NULL for an accepted delivery.
    reason TEXT CHECK (reason IN ('malformed_payload', 'missing_topic', 'unsupported_currency',
        'refund_exceeds_order', 'order_conflict', 'refund_conflict', 'unrecordable_value')),
    message TEXT CHECK (length(message) <= 4000),
    -- The start of a rejected delivery's body (64 KiB at most), and the whole body's length.
    body BYTEA NOT NULL DEFAULT '\x' CHECK (length(body) <= 65536),
    body_len BIGINT NOT NULL CHECK (body_len >= 0),
    CONSTRAINT webhook_deliveries_rejection_check CHECK ((reason IS NULL) = (message IS NULL)),
    -- One delivery per event: concurrent retries of one webhook id keep one row. NULLs differ.
    CONSTRAINT webhook_deliveries_merchant_id_webhook_id_key UNIQUE (merchant_id, webhook_id)
);

-- "A merchant's rejected deliveries, newest first" (the listing).
CREATE INDEX idx_webhook_deliveries_rejected ON webhook_deliveries(merchant_id, id DESC)
    WHERE reason IS NOT NULL;

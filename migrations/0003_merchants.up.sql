-- Migration 0003: Merchants table
-- Purpose: Brands that offer affiliate programs.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 3). sqlx runs this file in a transaction.

CREATE TABLE merchants (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES users(id) ON DELETE SET NULL,
    business_name TEXT NOT NULL,
    website_url TEXT NOT NULL,

    -- Integration credentials
    shopify_shop_domain TEXT,
    -- Holds AES-256-GCM ciphertext written by the SkinStack library, never the plaintext key.
    shopify_api_key TEXT,
    refersion_public_key TEXT,
    -- Holds AES-256-GCM ciphertext written by the SkinStack library, never the plaintext secret.
    refersion_secret_key TEXT,

    -- Business metrics
    total_sales DECIMAL(12,2) DEFAULT 0,
    total_commissions_paid DECIMAL(10,2) DEFAULT 0,

    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- Indexes
CREATE INDEX idx_merchants_active ON merchants(is_active);
CREATE INDEX idx_merchants_shopify ON merchants(shopify_shop_domain) WHERE shopify_shop_domain IS NOT NULL;

-- Trigger
CREATE TRIGGER merchants_updated_at
    BEFORE UPDATE ON merchants
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

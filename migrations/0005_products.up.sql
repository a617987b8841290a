-- Migration 0005: Products table
-- Purpose: Skincare products available for promotion.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 5). sqlx runs this file in a transaction.

CREATE TABLE products (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    merchant_id UUID NOT NULL REFERENCES merchants(id) ON DELETE CASCADE,
    program_id UUID REFERENCES programs(id) ON DELETE SET NULL,

    -- Product details
    external_id TEXT NOT NULL, -- Shopify/Amazon product ID
    name TEXT NOT NULL,
    description TEXT,
    price DECIMAL(10,2) NOT NULL,
    image_url TEXT,
    product_url TEXT NOT NULL,

    -- Categories for skincare
    category TEXT CHECK(category IN (
        'cleanser', 'serum', 'moisturizer', 'sunscreen',
        'mask', 'toner', 'eye_cream', 'treatment', 'set'
    )),

    -- Inventory
    in_stock BOOLEAN DEFAULT true,

    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),

    UNIQUE(merchant_id, external_id)
);

-- Indexes
CREATE INDEX idx_products_merchant ON products(merchant_id);
CREATE INDEX idx_products_program ON products(program_id);
CREATE INDEX idx_products_external ON products(external_id);
CREATE INDEX idx_products_category ON products(category);

-- Trigger
CREATE TRIGGER products_updated_at
    BEFORE UPDATE ON products
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

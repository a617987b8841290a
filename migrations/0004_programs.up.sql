-- Migration 0004: Programs table
-- Purpose: Define commission structures and rules.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 4). sqlx runs this file in a transaction.

CREATE TABLE programs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    merchant_id UUID NOT NULL REFERENCES merchants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    network TEXT NOT NULL CHECK(network IN ('shopify_refersion', 'impact', 'amazon', 'levanta')),

    -- Commission structure
    commission_type TEXT CHECK(commission_type IN ('percentage', 'fixed')) DEFAULT 'percentage',
    commission_rate DECIMAL(5,2) CHECK(commission_rate > 0 AND commission_rate <= 100),
    fixed_amount DECIMAL(10,2),

    -- Attribution settings
    cookie_window_days INTEGER DEFAULT 30,

    -- Platform fee (SkinStack takes 20%)
    platform_fee_rate DECIMAL(3,2) DEFAULT 0.20,

    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),

    CONSTRAINT valid_commission CHECK (
        (commission_type = 'percentage' AND commission_rate IS NOT NULL) OR
        (commission_type = 'fixed' AND fixed_amount IS NOT NULL)
    )
);

-- Indexes
CREATE INDEX idx_programs_merchant ON programs(merchant_id);
CREATE INDEX idx_programs_network ON programs(network);
CREATE INDEX idx_programs_active ON programs(is_active);

-- Trigger
CREATE TRIGGER programs_updated_at
    BEFORE UPDATE ON programs
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

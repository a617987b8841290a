-- Migration 0002: Influencers table
-- Purpose: Track influencer-specific data for payouts.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 2). sqlx runs this file in a transaction.

CREATE TABLE influencers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID UNIQUE NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    instagram_handle TEXT,
    tiktok_handle TEXT,
    youtube_handle TEXT,

    -- Payout info
    stripe_account_id TEXT,
    paypal_email TEXT,
    preferred_payout_method TEXT CHECK(preferred_payout_method IN ('stripe', 'paypal', 'ach')),

    -- Metrics
    total_followers INTEGER DEFAULT 0,
    total_earned DECIMAL(10,2) DEFAULT 0,
    total_paid DECIMAL(10,2) DEFAULT 0,

    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- Indexes for quick lookups
CREATE INDEX idx_influencers_user_id ON influencers(user_id);
CREATE INDEX idx_influencers_instagram ON influencers(instagram_handle) WHERE instagram_handle IS NOT NULL;

-- Trigger for updated_at
CREATE TRIGGER influencers_updated_at
    BEFORE UPDATE ON influencers
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

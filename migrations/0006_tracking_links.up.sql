-- Migration 0006: Tracking Links table
-- Purpose: The CORE table - tracks affiliate links.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 6). sqlx runs this file in a transaction.

CREATE TABLE tracking_links (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- The unique short slug (e.g., 'abc123' for skin.st/abc123)
    -- Kept UNIQUE as in the seed (constraint tracking_links_slug_key); the library stores slugs lower-case.
    slug TEXT UNIQUE NOT NULL,

    -- Relationships
    influencer_id UUID NOT NULL REFERENCES influencers(id) ON DELETE CASCADE,
    program_id UUID NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    product_id UUID REFERENCES products(id) ON DELETE SET NULL,

    -- Where it goes
    destination_url TEXT NOT NULL,

    -- Campaign tracking
    campaign_code TEXT,
    utm_source TEXT DEFAULT 'skinstack',
    utm_medium TEXT DEFAULT 'affiliate',
    utm_campaign TEXT,

    -- Performance metrics (denormalized for speed)
    total_clicks INTEGER DEFAULT 0,
    total_conversions INTEGER DEFAULT 0,
    total_revenue DECIMAL(10,2) DEFAULT 0,
    total_commission DECIMAL(10,2) DEFAULT 0,

    -- Status
    is_active BOOLEAN DEFAULT true,
    expires_at TIMESTAMPTZ,

    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- CRITICAL: Index on slug for fast redirects (must be < 20ms)
-- Duplicates the UNIQUE constraint's index but is kept for fidelity with the seed; redirect lookups use
-- idx_tracking_links_slug, and slugs are stored lower-case by the library so equality lookups suffice.
CREATE UNIQUE INDEX idx_tracking_links_slug ON tracking_links(slug);

-- Other indexes
CREATE INDEX idx_tracking_links_influencer ON tracking_links(influencer_id);
CREATE INDEX idx_tracking_links_program ON tracking_links(program_id);
CREATE INDEX idx_tracking_links_active ON tracking_links(is_active) WHERE is_active = true;
CREATE INDEX idx_tracking_links_campaign ON tracking_links(campaign_code) WHERE campaign_code IS NOT NULL;

-- Slug generator kept for SQL compatibility only: the SkinStack library generates slugs itself and
-- retries on unique violation. Uniqueness is decided by the unique slug index at INSERT time, so there is
-- no check-then-insert loop here (the seed's loop raced with concurrent inserts and could never be sure).
-- Randomness comes from gen_random_uuid() (built in since PG13, CSPRNG-backed) instead of random()/md5,
-- which is predictable; output is 6 chars over the 31-char alphabet without look-alikes (0/o/1/l/i),
-- using rejection sampling (bytes >= 248 are discarded) so every character is equally likely.
-- Plain CREATE (not OR REPLACE) so the down never drops a function this migration did not create.
CREATE FUNCTION generate_unique_slug()
RETURNS TEXT AS $$
DECLARE
    alphabet CONSTANT TEXT := 'abcdefghjkmnpqrstuvwxyz23456789';
    slug TEXT := '';
    bytes BYTEA;
    b INTEGER;
BEGIN
    WHILE length(slug) < 6 LOOP
        bytes := uuid_send(gen_random_uuid());
        FOR i IN 0..15 LOOP
            -- Bytes 6 and 8 carry the UUID version/variant bits, so they are not uniformly random.
            CONTINUE WHEN i = 6 OR i = 8;
            b := get_byte(bytes, i);
            -- 248 = 8 * 31: accepting only bytes below it keeps b % 31 unbiased.
            CONTINUE WHEN b >= 248;
            slug := slug || substr(alphabet, (b % 31) + 1, 1);
            EXIT WHEN length(slug) = 6;
        END LOOP;
    END LOOP;

    RETURN slug;
END;
$$ LANGUAGE plpgsql VOLATILE;

-- Trigger
CREATE TRIGGER tracking_links_updated_at
    BEFORE UPDATE ON tracking_links
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

-- Migration 0001: Users table (Foundation)
-- Purpose: Authentication and role-based access.
-- Source: /work/shared/seed/core-schemas-v1.txt (Table 1). sqlx runs this file in a transaction.

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT CHECK(role IN ('influencer', 'merchant', 'admin')) NOT NULL,
    is_active BOOLEAN DEFAULT true,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

-- Index for fast login lookups
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_role ON users(role) WHERE is_active = true;

-- Shared updated_at trigger function, used by every table in 0001..0006; dropped only in 0001's down.
-- Plain CREATE (not OR REPLACE) so the down never drops a function this migration did not create.
CREATE FUNCTION update_updated_at()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW
    EXECUTE FUNCTION update_updated_at();

-- The seed recorded migrations with INSERT INTO schema_migrations (version, name); sqlx keeps its own
-- bookkeeping in _sqlx_migrations (created before this file runs), so schema_migrations is a read-only
-- view over it. sqlx turns '_' in the file name into ' ' in description ("tracking links"), so
-- replace() restores the seed's names (tracking_links); only successfully applied rows are listed.
CREATE VIEW schema_migrations AS
SELECT
    version::INTEGER AS version,
    replace(description, ' ', '_') AS name
FROM _sqlx_migrations
WHERE success = true;

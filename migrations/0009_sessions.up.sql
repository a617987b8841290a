-- Migration 0009: Sessions
-- Purpose: login sessions for the HTTP API's bearer tokens. sqlx runs this file in a transaction.
--
-- Only the SHA-256 of each token is stored: the token itself has 256 random bits, so a plain hash
-- cannot be reversed, and a copy of this table logs nobody in. Sessions go with their user.

CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ NOT NULL
);

-- "A user's sessions" (cascade on delete) and "expired sessions" (purge).
CREATE INDEX idx_sessions_user ON sessions(user_id);
CREATE INDEX idx_sessions_expires ON sessions(expires_at);

-- Migration 0024: Program memberships
-- Purpose: programs say how influencers join them (enrollment_mode), and each influencer's
-- standing in a program is one membership row: invited, pending, approved, rejected or banned.
-- Links can only be created by approved members (the rule lives in skinstack-core's
-- service/links.rs); a banned member's links stop redirecting at once in every process: the
-- redirect's resolver reads the membership with the link, and the trigger below notifies the
-- link change feed (0008's channel) with the slug of each of the member's links in the program.
-- Merchants invite by email: only the SHA-256 of the invitation token is stored, as for sessions
-- and API keys. sqlx runs this file in a transaction.
--
-- Existing data: every influencer who already has a link on a program becomes an approved member
-- of it, so nothing that redirects today stops. The seed schema's tables keep their interface;
-- programs only gains a column with a default.

ALTER TABLE programs
    ADD COLUMN enrollment_mode TEXT NOT NULL DEFAULT 'approval'
        CONSTRAINT programs_enrollment_mode_check
        CHECK (enrollment_mode IN ('open', 'approval', 'invite'));

CREATE TABLE program_memberships (
    id UUID PRIMARY KEY,
    program_id UUID NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    influencer_id UUID NOT NULL REFERENCES influencers(id) ON DELETE CASCADE,
    state TEXT NOT NULL
        CHECK (state IN ('invited', 'pending', 'approved', 'rejected', 'banned')),
    message TEXT CHECK (message IS NULL OR length(message) BETWEEN 1 AND 1000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- One membership per influencer and program: two concurrent applications give one row.
    -- Its index also serves the resolver's join from a link to its membership.
    CONSTRAINT program_memberships_program_id_influencer_id_key UNIQUE (program_id, influencer_id)
);

-- "An influencer's memberships" (their Programs page) and the cascade from influencers.
CREATE INDEX idx_program_memberships_influencer ON program_memberships(influencer_id, id);

CREATE TABLE program_invitations (
    id UUID PRIMARY KEY,
    program_id UUID NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    -- Lower-cased by the library (skinstack-core's Email), as users.email is.
    email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    token_hash BYTEA NOT NULL CHECK (length(token_hash) = 32),
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Acceptance looks invitations up by hash: this constraint's index serves it.
    CONSTRAINT program_invitations_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX idx_program_invitations_program ON program_invitations(program_id);

INSERT INTO program_memberships (id, program_id, influencer_id, state)
SELECT gen_random_uuid(), l.program_id, l.influencer_id, 'approved'
FROM tracking_links l
GROUP BY l.program_id, l.influencer_id;

-- Tells the link caches about every link of the member in the program whenever the membership
-- changes (a ban stops them redirecting; any other change is rare and cheap to announce).
CREATE FUNCTION skinstack_notify_membership_change()
RETURNS TRIGGER AS $$
DECLARE
    member RECORD;
    link RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN
        member := OLD;
    ELSE
        member := NEW;
    END IF;
    FOR link IN
        SELECT slug FROM tracking_links
        WHERE program_id = member.program_id AND influencer_id = member.influencer_id
    LOOP
        PERFORM pg_notify('skinstack_link_changes', link.slug);
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER program_memberships_notify_change
    AFTER INSERT OR DELETE OR UPDATE OF state
    ON program_memberships
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_notify_membership_change();

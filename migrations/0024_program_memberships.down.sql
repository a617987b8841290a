-- Revert 0024: drop exactly what 0024_program_memberships.up.sql created. The memberships are
-- lost; links stay and redirect as before (banned members' links included).
DROP TRIGGER program_memberships_notify_change ON program_memberships;
DROP FUNCTION skinstack_notify_membership_change();
DROP TABLE program_invitations;
DROP TABLE program_memberships;
ALTER TABLE programs DROP COLUMN enrollment_mode;

-- Revert 0004: drop exactly what 0004_programs.up.sql created.
-- Also drops its indexes, constraints (incl. valid_commission) and the programs_updated_at trigger.
DROP TABLE programs;

-- Revert 0002: drop exactly what 0002_influencers.up.sql created.
-- Also drops its indexes, constraints and the influencers_updated_at trigger (update_updated_at() belongs to 0001).
DROP TABLE influencers;

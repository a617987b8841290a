-- Revert 0009: drop exactly what 0009_sessions.up.sql created (its indexes go with the table).
DROP TABLE sessions;

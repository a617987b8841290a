-- Revert 0007: drop exactly what 0007_clicks.up.sql created (its index goes with it).
DROP TABLE clicks;

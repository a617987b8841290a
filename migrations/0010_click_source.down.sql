-- Revert 0010: drop exactly what 0010_click_source.up.sql added (its CHECK goes with it).
ALTER TABLE clicks DROP COLUMN source;

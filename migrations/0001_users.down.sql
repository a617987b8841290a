-- Revert 0001: drop exactly what 0001_users.up.sql created, in reverse dependency order.
-- Every later migration has been reverted by now, so nothing else uses update_updated_at().

DROP VIEW schema_migrations;

-- Also drops users' indexes, constraints and the users_updated_at trigger.
DROP TABLE users;

DROP FUNCTION update_updated_at();

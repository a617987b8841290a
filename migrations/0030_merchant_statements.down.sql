-- Revert 0030: drop exactly what 0030_merchant_statements.up.sql created, in reverse order, and
-- give merchants.total_commissions_paid its former meaning (gross commission paid out).
UPDATE merchants m SET total_commissions_paid = COALESCE(
    (SELECT sum(e.gross) FROM commission_events e WHERE e.kind = 'paid' AND e.merchant_id = m.id), 0);
DROP TRIGGER merchant_statements_issued_once ON merchant_statements;
DROP FUNCTION skinstack_statements_issued_once();
DROP TRIGGER merchant_statement_lines_immutable ON merchant_statement_lines;
DROP FUNCTION skinstack_statement_lines_immutable();
DROP TABLE merchant_statement_lines;
DROP TABLE merchant_statements;

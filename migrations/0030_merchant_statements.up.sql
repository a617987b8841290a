-- Migration 0030: Merchant statements (invoices), and funding before payouts
-- Purpose: the platform bills each merchant, per calendar month and currency, for the gross
-- commission of its approved commissions; the operator records the merchant's payment; only
-- commissions on a paid statement ("funded") are paid out to influencers. The rule of what a
-- statement bills lives in skinstack-core (earning::invoice::build_statement); these tables
-- keep what it decided.
--
-- Deliberate change of meaning (not of the seed's interface): merchants.total_commissions_paid
-- now means the gross commission the merchant has paid for (the lines of its statements marked
-- paid), no longer the gross commission paid out to influencers. No statement exists yet, so it
-- is reset to 0 here; the events paid out before this migration are billed on the merchant's
-- first statement like any other unbilled event. The down migration restores the old meaning.
--
-- Like the ledger, statements keep merchant ids as plain UUIDs (no cascade): billing history
-- outlives the merchant row.

CREATE TABLE merchant_statements (
    id UUID PRIMARY KEY,
    merchant_id UUID NOT NULL,
    -- The month billed, as its first day.
    period DATE NOT NULL CONSTRAINT merchant_statements_period_check CHECK (EXTRACT(DAY FROM period) = 1),
    currency TEXT NOT NULL CONSTRAINT merchant_statements_currency_check CHECK (currency = 'USD'),
    issued_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL DEFAULT 'issued'
        CONSTRAINT merchant_statements_status_check CHECK (status IN ('issued', 'paid')),
    paid_at TIMESTAMPTZ,
    payment_reference TEXT CHECK (length(payment_reference) BETWEEN 1 AND 200),
    -- One statement per merchant, month and currency: issuing a month twice bills nothing twice.
    CONSTRAINT merchant_statements_period_key UNIQUE (merchant_id, period, currency),
    CONSTRAINT merchant_statements_paid_check CHECK (
        (status = 'paid') = (paid_at IS NOT NULL AND payment_reference IS NOT NULL)
    )
);

CREATE INDEX idx_merchant_statements_merchant ON merchant_statements(merchant_id, id);

-- A line is a ledger event billed; its amounts are the event's (the ledger is append-only).
CREATE TABLE merchant_statement_lines (
    -- Each event is billed on exactly one statement, ever.
    event_id UUID PRIMARY KEY REFERENCES commission_events(id),
    statement_id UUID NOT NULL REFERENCES merchant_statements(id)
);

CREATE INDEX idx_merchant_statement_lines_statement ON merchant_statement_lines(statement_id);

-- Issued statements are immutable: lines are never updated or deleted, and a statement only
-- ever changes from issued to paid (with its payment's time and reference), once.
CREATE FUNCTION skinstack_statement_lines_immutable()
RETURNS TRIGGER AS $$
BEGIN
    RAISE EXCEPTION 'merchant_statement_lines are immutable: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER merchant_statement_lines_immutable
    BEFORE UPDATE OR DELETE ON merchant_statement_lines
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_statement_lines_immutable();

CREATE FUNCTION skinstack_statements_issued_once()
RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'issued' OR NEW.status <> 'paid'
        OR NEW.id <> OLD.id OR NEW.merchant_id <> OLD.merchant_id OR NEW.period <> OLD.period
        OR NEW.currency <> OLD.currency OR NEW.issued_at <> OLD.issued_at THEN
        RAISE EXCEPTION 'merchant_statements only change from issued to paid: % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER merchant_statements_issued_once
    BEFORE UPDATE OR DELETE ON merchant_statements
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_statements_issued_once();

UPDATE merchants SET total_commissions_paid = 0 WHERE total_commissions_paid IS DISTINCT FROM 0;

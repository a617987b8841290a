-- Migration 0020: Conversions, refunds, the commission ledger and payouts
-- Purpose: make the seed's totals (tracking_links.total_conversions/total_revenue/total_commission,
-- influencers.total_earned/total_paid, merchants.total_sales/total_commissions_paid) exact sums of an
-- append-only ledger, written in the same transaction as each event.
-- Numbered from 0020 so it never collides with other branches' 0009..0019. sqlx runs this file in a
-- transaction.
--
-- Financial history outlives the rows it mentions: conversions and ledger rows keep merchant, link
-- and influencer ids as plain UUIDs (no foreign keys, no cascades), so deleting a link, a profile or a
-- merchant never deletes or rewrites what was earned or paid.

-- How long a commission is held before approval (returns settle meanwhile). 30 days by default.
ALTER TABLE programs ADD COLUMN hold_days INTEGER NOT NULL DEFAULT 30
    CONSTRAINT programs_hold_days_check CHECK (hold_days BETWEEN 0 AND 365);

-- Holds AES-256-GCM ciphertext written by the SkinStack library, never the plaintext secret.
ALTER TABLE merchants ADD COLUMN shopify_webhook_secret TEXT;

CREATE TABLE conversions (
    id UUID PRIMARY KEY,
    merchant_id UUID NOT NULL,
    -- The shop's order id: one conversion per (merchant, order), whatever the deliveries.
    order_id TEXT NOT NULL CHECK (length(order_id) BETWEEN 1 AND 1024),
    -- The subtotal the commission is computed on; DECIMAL(10,2) like tracking_links.total_revenue.
    amount DECIMAL(10,2) NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL CHECK (currency = 'USD'),
    ordered_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    -- As reported by the shop, attributed or not.
    click_id UUID,
    coupon_code TEXT,
    product_external_ids TEXT[] NOT NULL DEFAULT '{}',
    -- The attribution: all three set, or none (unattributed: kept, earns nothing).
    link_id UUID,
    influencer_id UUID,
    program_id UUID,
    attributed_by TEXT CHECK (attributed_by IN ('click', 'coupon')),
    attributed_click_id UUID,
    -- The commission accrued when recorded: the base every refund reverses from.
    commission_gross DECIMAL(10,2) NOT NULL DEFAULT 0,
    commission_fee DECIMAL(10,2) NOT NULL DEFAULT 0,
    commission_earnings DECIMAL(10,2) NOT NULL DEFAULT 0,
    hold_until TIMESTAMPTZ,
    approved_at TIMESTAMPTZ,
    refunded_amount DECIMAL(10,2) NOT NULL DEFAULT 0,
    CONSTRAINT conversions_merchant_order_key UNIQUE (merchant_id, order_id),
    CONSTRAINT conversions_refunded_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    CONSTRAINT conversions_attribution_check CHECK (
        (link_id IS NULL AND influencer_id IS NULL AND program_id IS NULL AND attributed_by IS NULL
            AND hold_until IS NULL AND approved_at IS NULL)
        OR (link_id IS NOT NULL AND influencer_id IS NOT NULL AND program_id IS NOT NULL
            AND attributed_by IS NOT NULL AND hold_until IS NOT NULL)
    ),
    CONSTRAINT conversions_split_check CHECK (commission_fee + commission_earnings = commission_gross)
);

CREATE INDEX idx_conversions_influencer ON conversions(influencer_id, id) WHERE influencer_id IS NOT NULL;
CREATE INDEX idx_conversions_link_ordered ON conversions(link_id, ordered_at) WHERE link_id IS NOT NULL;
-- approve-due's scan: attributed, not yet approved.
CREATE INDEX idx_conversions_due ON conversions(hold_until) WHERE approved_at IS NULL AND link_id IS NOT NULL;

CREATE TABLE refunds (
    merchant_id UUID NOT NULL,
    refund_id TEXT NOT NULL CHECK (length(refund_id) BETWEEN 1 AND 1024),
    conversion_id UUID NOT NULL REFERENCES conversions(id),
    amount DECIMAL(10,2) NOT NULL CHECK (amount >= 0),
    recorded_at TIMESTAMPTZ NOT NULL,
    -- One refund per (merchant, refund id), whatever the deliveries.
    PRIMARY KEY (merchant_id, refund_id)
);

CREATE INDEX idx_refunds_conversion ON refunds(conversion_id);

CREATE TABLE payout_batches (
    id UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    minimum DECIMAL(10,2) NOT NULL CHECK (minimum >= 0)
);

CREATE TABLE payout_items (
    id UUID PRIMARY KEY,
    batch_id UUID NOT NULL REFERENCES payout_batches(id),
    influencer_id UUID NOT NULL,
    display_name TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('stripe', 'paypal', 'ach')),
    account TEXT NOT NULL,
    amount DECIMAL(10,2) NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL CHECK (currency = 'USD'),
    reference TEXT NOT NULL UNIQUE,
    CONSTRAINT payout_items_batch_influencer_key UNIQUE (batch_id, influencer_id)
);

-- The ledger. Append-only: the trigger below refuses UPDATE and DELETE.
CREATE TABLE commission_events (
    id UUID PRIMARY KEY,
    conversion_id UUID NOT NULL REFERENCES conversions(id),
    kind TEXT NOT NULL CHECK (kind IN ('accrued', 'approved', 'reversed', 'paid')),
    -- The exact split from the core's commission math.
    gross DECIMAL(10,2) NOT NULL,
    platform_fee DECIMAL(10,2) NOT NULL,
    influencer_earnings DECIMAL(10,2) NOT NULL,
    -- Attributed sales moved: + order amount (accrued), - refund (reversed), else 0.
    sales DECIMAL(10,2) NOT NULL DEFAULT 0,
    link_id UUID NOT NULL,
    influencer_id UUID NOT NULL,
    merchant_id UUID NOT NULL,
    refund_id TEXT,
    payout_batch_id UUID REFERENCES payout_batches(id),
    payout_item_id UUID REFERENCES payout_items(id),
    -- For 'paid': the accrued or reversed event this payment settles.
    settles_event_id UUID REFERENCES commission_events(id),
    occurred_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT commission_events_split_check CHECK (platform_fee + influencer_earnings = gross),
    CONSTRAINT commission_events_refund_check CHECK ((kind = 'reversed') = (refund_id IS NOT NULL)),
    CONSTRAINT commission_events_paid_check CHECK (
        (kind = 'paid') = (payout_batch_id IS NOT NULL AND payout_item_id IS NOT NULL AND settles_event_id IS NOT NULL)
    )
);

-- One accrual and at most one approval per conversion; one reversal per refund.
CREATE UNIQUE INDEX commission_events_accrued_key ON commission_events(conversion_id) WHERE kind = 'accrued';
CREATE UNIQUE INDEX commission_events_approved_key ON commission_events(conversion_id) WHERE kind = 'approved';
CREATE UNIQUE INDEX commission_events_reversed_key ON commission_events(merchant_id, refund_id) WHERE kind = 'reversed';
-- A payout is never made twice for the same event: each is settled by at most one paid event, of
-- exactly one batch.
CREATE UNIQUE INDEX commission_events_settles_key ON commission_events(settles_event_id) WHERE kind = 'paid';
CREATE INDEX idx_commission_events_conversion ON commission_events(conversion_id);
CREATE INDEX idx_commission_events_merchant ON commission_events(merchant_id, id);
CREATE INDEX idx_commission_events_influencer ON commission_events(influencer_id, id);

CREATE FUNCTION skinstack_ledger_append_only()
RETURNS TRIGGER AS $$
BEGIN
    RAISE EXCEPTION 'commission_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER commission_events_append_only
    BEFORE UPDATE OR DELETE ON commission_events
    FOR EACH ROW
    EXECUTE FUNCTION skinstack_ledger_append_only();

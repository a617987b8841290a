-- Migration 0031: Fraud signals on conversions, and each click's uses
-- Purpose: the fraud signals of issue 15 are kept on the conversion they fired on (click
-- reuse, an order above the merchant's maximum, self-referral, shopper mismatch); two of them
-- are new hold reasons. A click id attributes at most a configured number of orders: each
-- order it attributes takes one numbered use of it, unique per click, so that concurrent orders
-- carrying one click can never take more uses than the limit. Additive only. The customer's
-- email and address are compared when the order is recorded and never stored.

ALTER TABLE conversions DROP CONSTRAINT conversions_hold_reasons_check;
ALTER TABLE conversions ADD CONSTRAINT conversions_hold_reasons_check
    CHECK (hold_reasons <@ ARRAY['member_banned', 'order_above_maximum', 'manual',
                                 'self_referral', 'shopper_mismatch']::text[]);

ALTER TABLE conversions
    ADD COLUMN signals TEXT[] NOT NULL DEFAULT '{}'
        CONSTRAINT conversions_signals_check
        CHECK (signals <@ ARRAY['click_reuse', 'order_above_maximum', 'self_referral',
                                'shopper_mismatch']::text[]),
    -- Which of its click's uses an order attributed by click took (1 for the first).
    ADD COLUMN attributed_click_use INTEGER
        CONSTRAINT conversions_attributed_click_use_check CHECK (attributed_click_use > 0);

-- Orders recorded before this migration keep their uses in the order they were recorded.
UPDATE conversions c SET attributed_click_use = n.use
FROM (SELECT id, row_number() OVER (PARTITION BY attributed_click_id ORDER BY recorded_at, id) AS use
      FROM conversions WHERE attributed_by = 'click' AND attributed_click_id IS NOT NULL) n
WHERE c.id = n.id;
-- The one signal recorded before: an order above its merchant's maximum was held for it.
UPDATE conversions SET signals = ARRAY['order_above_maximum']
WHERE 'order_above_maximum' = ANY(hold_reasons);

-- A click use is taken once; also how a click's attributions are counted.
CREATE UNIQUE INDEX conversions_click_use_key ON conversions(attributed_click_id, attributed_click_use)
    WHERE attributed_click_id IS NOT NULL;

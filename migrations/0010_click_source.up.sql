-- Migration 0010: Click source
-- Purpose: tell scans of a link's QR code (its URL carries ?via=qr) from clicks on the link, so
-- print and packaging can be measured apart. sqlx runs this file in a transaction.
ALTER TABLE clicks
    ADD COLUMN source TEXT NOT NULL DEFAULT 'link' CHECK (source IN ('link', 'qr'));

-- A refund is reserved ('pending') under its purchase's lock before any money moves, so
-- that refunds made at the same moment never add up to more than was paid. It ends 'done'
-- once the card is refunded, or 'failed' when the provider refused (its credit given
-- back). Refunds recorded before this migration were all completed.
ALTER TABLE purchase_refunds ADD COLUMN status TEXT NOT NULL DEFAULT 'done'
    CHECK (status IN ('pending', 'done', 'failed'));

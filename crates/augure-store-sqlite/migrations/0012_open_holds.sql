-- The holds still open that have a deadline: what the expiry sweep reads. Without it the
-- sweep scanned every hold that ever had a deadline, resolved ones included, on every
-- node, twice a second. A row is added with its hold and removed by the transfer that
-- resolves it, in the same transaction.
CREATE TABLE ledger_open_holds (
    transfer_id INTEGER PRIMARY KEY REFERENCES ledger_transfers (id),
    expires_at  INTEGER NOT NULL
);
CREATE INDEX ledger_open_holds_expiry ON ledger_open_holds (expires_at, transfer_id);

INSERT INTO ledger_open_holds (transfer_id, expires_at)
SELECT t.id, t.expires_at FROM ledger_transfers t
WHERE t.mode = 'pending' AND t.expires_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id);

DROP INDEX ledger_transfers_expiry;

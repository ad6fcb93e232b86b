-- Each side's entry (the account's version and running balances after the transfer) moves
-- onto the transfer row, and an account's history becomes a chain: each entry names the
-- account's previous transfer, the account names its last one. A batch then appends rows
-- at the end of one table instead of inserting two entries at scattered places of a
-- per-account index, which is what made batched transfers cost several times a bare insert.
-- The chain pointers carry no foreign key: the audit (`augure ledger verify`) walks them.

ALTER TABLE ledger_transfers ADD COLUMN debit_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN debit_previous_id INTEGER;
ALTER TABLE ledger_transfers ADD COLUMN debit_debits_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN debit_debits_posted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN debit_credits_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN debit_credits_posted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN credit_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN credit_previous_id INTEGER;
ALTER TABLE ledger_transfers ADD COLUMN credit_debits_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN credit_debits_posted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN credit_credits_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_transfers ADD COLUMN credit_credits_posted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_accounts ADD COLUMN last_transfer_id INTEGER REFERENCES ledger_transfers (id);

UPDATE ledger_transfers SET debit_version = e.version,
    debit_previous_id = (SELECT p.transfer_id FROM ledger_entries p WHERE p.account_id = e.account_id AND p.version = e.version - 1),
    debit_debits_pending = e.debits_pending, debit_debits_posted = e.debits_posted,
    debit_credits_pending = e.credits_pending, debit_credits_posted = e.credits_posted
FROM ledger_entries e WHERE e.transfer_id = ledger_transfers.id AND e.account_id = ledger_transfers.debit_account_id;

UPDATE ledger_transfers SET credit_version = e.version,
    credit_previous_id = (SELECT p.transfer_id FROM ledger_entries p WHERE p.account_id = e.account_id AND p.version = e.version - 1),
    credit_debits_pending = e.debits_pending, credit_debits_posted = e.debits_posted,
    credit_credits_pending = e.credits_pending, credit_credits_posted = e.credits_posted
FROM ledger_entries e WHERE e.transfer_id = ledger_transfers.id AND e.account_id = ledger_transfers.credit_account_id;

UPDATE ledger_accounts SET last_transfer_id =
    (SELECT e.transfer_id FROM ledger_entries e WHERE e.account_id = ledger_accounts.id AND e.version = ledger_accounts.version);

DROP TABLE ledger_entries;

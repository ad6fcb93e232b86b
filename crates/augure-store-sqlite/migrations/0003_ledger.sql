-- The ledger: accounts with running sums, immutable transfers, one entry per account and
-- transfer. Amounts are minor units; instants integer microseconds.

CREATE TABLE ledger_accounts (
    id              INTEGER PRIMARY KEY,
    -- 'platform' or 'user:<id>': NULL owners would not be unique.
    owner_key       TEXT NOT NULL,
    owner_id        INTEGER REFERENCES users (id),
    kind            TEXT NOT NULL,
    currency        TEXT NOT NULL,
    -- 1: debits must not exceed credits; 2: credits must not exceed debits.
    flags           INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   INTEGER NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending INTEGER NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  INTEGER NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    version         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (owner_key, kind, currency)
);

CREATE TABLE ledger_transfers (
    id                INTEGER PRIMARY KEY,
    transfer_key      TEXT NOT NULL UNIQUE,
    debit_account_id  INTEGER NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id INTEGER NOT NULL REFERENCES ledger_accounts (id),
    -- What moved; for a post, the posted part; 0 for a void or expiry.
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    -- As the caller asked (NULL: post the whole hold), to recognise a replay.
    requested_amount  INTEGER,
    currency          TEXT NOT NULL,
    code              TEXT NOT NULL,
    user_data         TEXT,
    mode              TEXT NOT NULL,
    expires_at        INTEGER,
    pending_id        INTEGER REFERENCES ledger_transfers (id),
    pending_key       TEXT,
    linked            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);
-- A hold is resolved (posted, voided or expired) at most once.
CREATE UNIQUE INDEX ledger_transfers_resolve_once ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
-- An account's history is read through its entries (account_id, version), so transfers
-- need no index per account: fewer writes on the hot path.
CREATE INDEX ledger_transfers_expiry ON ledger_transfers (expires_at) WHERE mode = 'pending';

CREATE TABLE ledger_entries (
    account_id      INTEGER NOT NULL REFERENCES ledger_accounts (id),
    version         INTEGER NOT NULL,
    transfer_id     INTEGER NOT NULL REFERENCES ledger_transfers (id),
    debits_pending  INTEGER NOT NULL,
    debits_posted   INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    credits_posted  INTEGER NOT NULL,
    PRIMARY KEY (account_id, version)
) WITHOUT ROWID; -- stored in its primary key's order: one B-tree write per entry, not two

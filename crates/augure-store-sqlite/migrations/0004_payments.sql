-- Prepaid credit: packs sold per site, purchases through the payment provider, the
-- provider's events (each processed once), refunds, and stored answers for API calls
-- carrying an Idempotency-Key.

CREATE TABLE credit_packs (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER NOT NULL REFERENCES sites (id),
    price      INTEGER NOT NULL CHECK (price > 0),
    bonus      INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0),
    currency   TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX credit_packs_site ON credit_packs (site_id);

CREATE TABLE purchases (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id),
    pack_id          INTEGER NOT NULL REFERENCES credit_packs (id),
    price            INTEGER NOT NULL,
    bonus            INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    checkout_session TEXT UNIQUE,
    payment_ref      TEXT,
    created_at       INTEGER NOT NULL,
    paid_at          INTEGER
);
CREATE INDEX purchases_user ON purchases (user_id, id);

CREATE TABLE purchase_refunds (
    id          INTEGER PRIMARY KEY,
    purchase_id INTEGER NOT NULL REFERENCES purchases (id),
    refund_key  TEXT NOT NULL UNIQUE,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    created_at  INTEGER NOT NULL
);
CREATE INDEX purchase_refunds_purchase ON purchase_refunds (purchase_id);

CREATE TABLE payment_events (
    provider_event_id TEXT PRIMARY KEY,
    event_type        TEXT NOT NULL,
    received_at       INTEGER NOT NULL
);

CREATE TABLE api_idempotency (
    user_id      INTEGER NOT NULL REFERENCES users (id),
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);

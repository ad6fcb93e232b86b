-- Prepaid credit: packs sold per site, purchases through the payment provider, the
-- provider's events (each processed once), refunds, and stored answers for API calls
-- carrying an Idempotency-Key.

CREATE TABLE credit_packs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id    BIGINT NOT NULL REFERENCES sites (id),
    price      BIGINT NOT NULL CHECK (price > 0),
    bonus      BIGINT NOT NULL DEFAULT 0 CHECK (bonus >= 0),
    currency   TEXT NOT NULL,
    active     BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_packs_site ON credit_packs (site_id);

CREATE TABLE purchases (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users (id),
    pack_id          BIGINT NOT NULL REFERENCES credit_packs (id),
    price            BIGINT NOT NULL,
    bonus            BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    checkout_session TEXT UNIQUE,
    payment_ref      TEXT,
    created_at       BIGINT NOT NULL,
    paid_at          BIGINT
);
CREATE INDEX purchases_user ON purchases (user_id, id);

CREATE TABLE purchase_refunds (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id BIGINT NOT NULL REFERENCES purchases (id),
    refund_key  TEXT NOT NULL UNIQUE,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    created_at  BIGINT NOT NULL
);
CREATE INDEX purchase_refunds_purchase ON purchase_refunds (purchase_id);

CREATE TABLE payment_events (
    provider_event_id TEXT PRIMARY KEY,
    event_type        TEXT NOT NULL,
    received_at       BIGINT NOT NULL
);

CREATE TABLE api_idempotency (
    user_id      BIGINT NOT NULL REFERENCES users (id),
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);

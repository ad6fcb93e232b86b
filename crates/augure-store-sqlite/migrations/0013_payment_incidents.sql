-- A checkout paid by a delayed method (a SEPA debit) completes before the money arrives:
-- the purchase stays pending, marked as under way, until the provider says it settled.
ALTER TABLE purchases ADD COLUMN processing_at INTEGER;
CREATE INDEX purchases_payment_ref ON purchases (payment_ref);

-- The share of the purchase's bonus a refund takes back, fixed when the refund is reserved
-- so that every retry moves the same amounts.
ALTER TABLE purchase_refunds ADD COLUMN bonus INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0);

-- Money the provider took back on its own: refunds made from its dashboard and
-- chargebacks. 'taken' came out of the client's unspent credit, 'debt' is what had been
-- spent and is now owed. A dispute is 'open' until closed 'won' (given back) or 'lost';
-- a provider refund is 'done' at once.
CREATE TABLE payment_incidents (
    id          INTEGER PRIMARY KEY,
    purchase_id INTEGER NOT NULL REFERENCES purchases (id),
    kind        TEXT NOT NULL CHECK (kind IN ('refund', 'dispute')),
    provider_ref TEXT NOT NULL UNIQUE,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    taken       INTEGER NOT NULL CHECK (taken >= 0),
    debt        INTEGER NOT NULL CHECK (debt >= 0),
    status      TEXT NOT NULL CHECK (status IN ('done', 'open', 'won', 'lost')),
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX payment_incidents_purchase ON payment_incidents (purchase_id);

-- SP-profile: where an expert's earnings are paid.
CREATE TABLE expert_bank_details (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    payout_method TEXT NOT NULL CHECK (payout_method IN ('bank_transfer', 'pay_pal')),
    holder        TEXT NOT NULL,
    bank_name     TEXT NOT NULL,
    bank_country  TEXT NOT NULL,
    iban          TEXT,
    bic           TEXT,
    paypal_email  TEXT,
    updated_at    INTEGER NOT NULL
);

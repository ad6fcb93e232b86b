-- SP-profile, SP-options, SP-contract, AT-min: the rest of an expert's profile (civil and
-- company data, email-consultation needs, package and free minutes, visible sites, the
-- accepted terms version) and the operator's list of specialties.
CREATE TABLE expert_details (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    legal_name        TEXT NOT NULL DEFAULT '',
    company_name      TEXT NOT NULL DEFAULT '',
    company_number    TEXT NOT NULL DEFAULT '',
    vat_number        TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    postal_code       TEXT NOT NULL DEFAULT '',
    city              TEXT NOT NULL DEFAULT '',
    country           TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    email_needs       TEXT NOT NULL DEFAULT '',
    package_price     INTEGER CHECK (package_price > 0),
    package_minutes   INTEGER CHECK (package_minutes > 0),
    free_minutes      INTEGER NOT NULL DEFAULT 0 CHECK (free_minutes >= 0),
    visible_sites     TEXT NOT NULL DEFAULT '',
    terms_version     INTEGER,
    terms_accepted_at INTEGER,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE specialties (
    key      TEXT PRIMARY KEY,
    label    TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    active   INTEGER NOT NULL DEFAULT 1
);
INSERT INTO specialties (key, position) VALUES
    ('astrology', 1), ('cartomancy', 2), ('clairvoyance', 3), ('numerology', 4), ('tarot', 5),
    ('magnetism', 6), ('coaching', 7), ('dream-interpretation', 8), ('mediumship', 9), ('channeling', 10);

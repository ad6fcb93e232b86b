CREATE TABLE expert_profiles (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    headline         TEXT NOT NULL,
    specialties      TEXT NOT NULL,
    languages        TEXT NOT NULL,
    modes            TEXT NOT NULL,
    price_per_minute INTEGER NOT NULL CHECK (price_per_minute >= 0),
    currency         TEXT NOT NULL,
    email_price      INTEGER CHECK (email_price >= 0)
);

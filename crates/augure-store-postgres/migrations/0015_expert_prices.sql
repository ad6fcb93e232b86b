-- Prices per currency (SP-options, AT-min, PH-free, PH-package): an expert listed on sites
-- of several currencies keeps one price set per currency. The prices saved so far move to
-- the expert's current currency, then leave the profile and details rows: this table is
-- the one source. SP-tariffs: a site may impose its own per-minute price on every expert.
CREATE TABLE expert_prices (
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency        TEXT NOT NULL,
    per_minute      BIGINT CHECK (per_minute >= 0),
    package_price   BIGINT CHECK (package_price > 0),
    package_minutes BIGINT CHECK (package_minutes > 0),
    free_minutes    BIGINT NOT NULL DEFAULT 0 CHECK (free_minutes >= 0),
    email_price     BIGINT CHECK (email_price >= 0),
    PRIMARY KEY (user_id, currency)
);

INSERT INTO expert_prices (user_id, currency, per_minute, package_price, package_minutes, free_minutes, email_price)
SELECT p.user_id, p.currency, p.price_per_minute, d.package_price, d.package_minutes, COALESCE(d.free_minutes, 0),
       p.email_price
FROM expert_profiles p LEFT JOIN expert_details d ON d.user_id = p.user_id;

ALTER TABLE expert_profiles DROP COLUMN price_per_minute;
ALTER TABLE expert_profiles DROP COLUMN currency;
ALTER TABLE expert_profiles DROP COLUMN email_price;
ALTER TABLE expert_details DROP COLUMN package_price;
ALTER TABLE expert_details DROP COLUMN package_minutes;
ALTER TABLE expert_details DROP COLUMN free_minutes;

ALTER TABLE sites ADD COLUMN imposed_per_minute BIGINT CHECK (imposed_per_minute > 0);

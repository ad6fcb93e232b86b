//! Rows as older schemas stored them, for the backends' migration tests: each test runs
//! the migrations up to a version, writes these rows, opens the store (every migration)
//! and checks what became of them.

use augure_domain::pricing::{Package, PriceSet};
use augure_domain::{Currency, Money, UserId};

use crate::*;

/// The last migration that kept an expert's prices on the profile and details rows.
pub const MIGRATIONS_WITH_PRICES_ON_PROFILES: i64 = 13;

/// Two sites (FR id 1, CH id 2) and two experts as stored up to [`MIGRATIONS_WITH_PRICES_ON_PROFILES`]: Luna (id 1) in euros
/// with a package, free minutes and an email price; Nico (id 2) in Swiss francs with a
/// per-minute price only and no details row.
pub const PROFILES_WITH_PRICES: &[&str] = &[
    "INSERT INTO sites (code, name, currency, time_zone, default_locale, phone_numbers, tariffs) VALUES \
     ('FR', 'augure France', 'EUR', 'Europe/Paris', 'fr', '[]', '[]'), \
     ('CH', 'augure Suisse', 'CHF', 'Europe/Zurich', 'fr', '[]', '[]')",
    "INSERT INTO users (email, role, display_name, locale, site_id, expert_code, password_hash, created_at) VALUES \
     ('luna@example.fr', 'expert', 'Luna', 'fr', 1, 4321, 'x', 0), \
     ('nico@example.ch', 'expert', 'Nico', 'fr', 2, 4322, 'x', 0)",
    "INSERT INTO expert_profiles (user_id, headline, specialties, languages, modes, price_per_minute, currency, \
     email_price) VALUES \
     (1, 'Tarot', '[\"tarot\"]', '[\"fr\"]', '[\"phone\",\"email\"]', 250, 'EUR', 3000), \
     (2, 'Runes', '[\"tarot\"]', '[\"fr\"]', '[\"phone\"]', 320, 'CHF', NULL)",
    "INSERT INTO expert_details (user_id, legal_name, package_price, package_minutes, free_minutes, visible_sites, \
     updated_at) VALUES (1, 'Luna Martin', 4500, 30, 3, '1', 0)",
];

/// On a store opened over [`PROFILES_WITH_PRICES`]: each expert's prices are one price set
/// in their former currency, the rest of the profile and details as they were.
pub async fn check_prices_moved_to_their_currency(store: &dyn Store) {
    let luna = store.expert_profile(UserId(1)).await.expect("Luna's profile");
    assert_eq!(luna.headline, "Tarot");
    assert_eq!(
        luna.prices,
        [PriceSet {
            currency: Currency::Eur,
            per_minute: Some(Money::new(250, Currency::Eur)),
            package: Some(Package { price: Money::new(4500, Currency::Eur), minutes: 30 }),
            free_minutes: 3,
            email: Some(Money::new(3000, Currency::Eur)),
        }]
    );
    let details = store.expert_details(UserId(1)).await.expect("Luna's details");
    assert_eq!((details.legal_name.as_str(), details.visible_sites.len()), ("Luna Martin", 1));
    let nico = store.expert_profile(UserId(2)).await.expect("Nico's profile");
    assert_eq!(nico.prices, [PriceSet::per_minute(Money::new(320, Currency::Chf))]);
    let directory = store.directory().await.expect("directory");
    assert_eq!(directory.len(), 2);
    let sites = store.list_sites().await.expect("sites");
    assert!(sites.iter().all(|s| s.imposed_per_minute.is_none()), "no site imposes a tariff yet");
}

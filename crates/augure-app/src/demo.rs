//! Demo data for `augure serve --demo`: five storefronts with their public pages, an
//! admin, twelve experts (one selling in euros and Swiss francs) and a few clients, so the
//! platform can be tried at once. Only an empty database is filled.

use augure_domain::availability::Status;
use augure_domain::pricing::PriceSet;
use augure_domain::site::NewSite;
use augure_domain::{Currency, Mode, Money, Role, SiteCode, Tariff};
use augure_store::{ExpertPresence, ExpertProfile};

use crate::App;
use crate::accounts::{AccountError, SignUp};

pub const ADMIN_EMAIL: &str = "admin@augure.localhost";
pub const ADMIN_PASSWORD: &str = "augure-admin";
/// Shared by every demo expert and client.
pub const DEMO_PASSWORD: &str = "augure-demo";

/// Whether anything was seeded.
pub async fn seed(app: &App) -> Result<bool, AccountError> {
    if app.store.count_users().await? > 0 || !app.store.list_sites().await?.is_empty() {
        return Ok(false);
    }
    let now = app.clock.now();
    for site in sites() {
        let site = app.sites.create(&site).await?;
        crate::demo_pages::seed(&app.legal, &site).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        // Credit packs: price and bonus credit, in the site's currency.
        for (price, bonus) in [(1000, 0), (2000, 200), (5000, 800)] {
            let (price, bonus) = (Money::new(price, site.currency), Money::new(bonus, site.currency));
            app.store.create_credit_pack(site.id, price, bonus, now).await?;
        }
    }
    app.accounts.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD, "Admin").await?;
    for (n, e) in EXPERTS.iter().enumerate() {
        let site: SiteCode = e.site.parse().map_err(|_| AccountError::UnknownSite)?;
        let currency = app.store.site_by_code(&site).await?.currency;
        let user = app
            .accounts
            .create(SignUp {
                email: format!("{}@augure.localhost", e.login),
                password: DEMO_PASSWORD.into(),
                display_name: e.name.into(),
                role: Role::Expert,
                locale: e.languages[0].into(),
                site: Some(site),
                // Accounts from before the current terms: their dashboard asks them to
                // accept (SP-contract), which the demo shows.
                accept_terms: false,
            })
            .await?;
        let price_set = |currency, per_minute, email: Option<i64>| PriceSet {
            email: email.map(|p| Money::new(p, currency)),
            ..PriceSet::per_minute(Money::new(per_minute, currency))
        };
        let mut prices = vec![price_set(currency, e.per_minute, e.email_price)];
        prices.extend(e.also.map(|(c, per_minute, email)| price_set(c, per_minute, email)));
        prices.sort_by_key(|p| p.currency.code());
        app.store
            .upsert_expert_profile(&ExpertProfile {
                user_id: user.id,
                headline: e.headline.into(),
                specialties: e.specialties.iter().map(|s| s.to_string()).collect(),
                languages: e.languages.iter().map(|s| s.to_string()).collect(),
                modes: e.modes.to_vec(),
                prices,
            })
            .await?;
        // Listed on every site of their currencies (SP-options), so each storefront has experts.
        let mut details = augure_store::ExpertDetails::empty(user.id, now);
        // A number in the range French regulation keeps for fiction: a ring left
        // unanswered sends an SMS there, which the SMS outbox shows.
        details.phone = format!("+336399800{n:02}");
        let also = e.also.map(|(c, _, _)| c);
        details.visible_sites = app
            .store
            .list_sites()
            .await?
            .into_iter()
            .filter(|s| s.currency == currency || Some(s.currency) == also)
            .map(|s| s.id)
            .collect();
        app.store.save_expert_details(&details).await?;
    }
    // Varied availability so the ranked listing shows every kind of position.
    let now = app.clock.now();
    for (i, user) in app.store.list_users(Some(Role::Expert), 100, 0).await?.into_iter().enumerate() {
        let profile = app.store.expert_profile(user.id).await?;
        let status = if i % 5 == 4 { Status::Unavailable } else { Status::Available };
        app.store
            .save_presence(&ExpertPresence {
                user_id: user.id,
                status,
                modes_on: profile.modes.clone(),
                paused_until: None,
                last_heartbeat: Some(now),
                bank_details_at: Some(now),
                updated_at: now,
            })
            .await?;
    }
    for (login, name, site, locale) in CLIENTS {
        app.accounts
            .create(SignUp {
                email: format!("{login}@augure.localhost"),
                password: DEMO_PASSWORD.into(),
                display_name: name.into(),
                role: Role::Client,
                locale: locale.into(),
                site: Some(site.parse().map_err(|_| AccountError::UnknownSite)?),
                accept_terms: true,
            })
            .await?;
    }
    app.directory.changes().changed();
    Ok(true)
}

/// `serve --demo`: each demo client buys credit through the test-mode checkout, as a person
/// would, and the provider's webhooks are delivered at once, so a newcomer can hold a paid
/// chat within a minute and the ledger shows real purchases. With a real card processor
/// nothing is bought. Kept apart from [`seed`], whose data tests start from.
pub async fn fund_clients(app: &App) -> Result<usize, AccountError> {
    let mut funded = 0;
    for (login, ..) in CLIENTS {
        let email = format!("{login}@augure.localhost").parse().map_err(|_| AccountError::Internal(login.into()))?;
        let client = app.store.user_by_email(&email).await?;
        funded += usize::from(buy_credit(app, &client).await?);
    }
    app.jobs.run_due().await.map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(funded)
}

/// Buys the demo client the site's middle pack (20 and its bonus) through the test-mode
/// checkout, as a person would; with a real card processor nothing is bought.
async fn buy_credit(app: &App, client: &augure_store::User) -> Result<bool, AccountError> {
    let internal = |e: crate::credit::CreditError| AccountError::Internal(e.to_string());
    if app.credit.payments().test_checkout().is_none() {
        return Ok(false);
    }
    let packs = app.credit.packs_for(client).await.map_err(internal)?;
    let Some(pack) = packs.iter().find(|p| p.price.minor == 2000) else { return Ok(false) };
    let (purchase, _) = app.credit.start_purchase(client, pack.id, &app.settings.public_url).await.map_err(internal)?;
    app.credit.pay_test_checkout(&purchase, "4242 4242 4242 4242", 0).await.map_err(internal)?;
    Ok(true)
}

fn sites() -> Vec<NewSite> {
    let site = |code: &str, name: &str, currency, tz, phone: &str, tariffs| NewSite {
        code: code.parse().expect("demo site code"),
        name: name.into(),
        currency,
        time_zone: tz,
        default_locale: "fr".into(),
        phone_numbers: vec![phone.into()],
        tariffs,
        imposed_per_minute: None,
    };
    let premium = |phone: &str, label: &str, per_minute: i64, currency| {
        vec![Tariff {
            code: "audiotel".into(),
            label: label.into(),
            phone_number: Some(phone.into()),
            per_minute: Some(Money::new(per_minute, currency)),
            per_call: None,
        }]
    };
    vec![
        site("FR", "augure France", Currency::Eur, chrono_tz::Europe::Paris, "+33170000001", vec![]),
        site(
            "BE",
            "augure Belgique",
            Currency::Eur,
            chrono_tz::Europe::Brussels,
            "+3290200001",
            premium("+3290200001", "Numéro surtaxé 1,50 €/min", 150, Currency::Eur),
        ),
        site("LU", "augure Luxembourg", Currency::Eur, chrono_tz::Europe::Luxembourg, "+35220000001", vec![]),
        site(
            "CH",
            "augure Suisse",
            Currency::Chf,
            chrono_tz::Europe::Zurich,
            "+41901000001",
            premium("+41901000001", "Numéro 0901 : 2,90 CHF/min", 290, Currency::Chf),
        ),
        site("CA", "augure Canada", Currency::Cad, chrono_tz::America::Toronto, "+15140000001", vec![]),
    ]
}

struct DemoExpert {
    login: &'static str,
    name: &'static str,
    site: &'static str,
    headline: &'static str,
    specialties: &'static [&'static str],
    languages: &'static [&'static str],
    modes: &'static [Mode],
    per_minute: i64,
    email_price: Option<i64>,
    /// Another currency the expert sells in, with its per-minute and email prices: they
    /// are listed on that currency's sites too.
    also: Option<(Currency, i64, Option<i64>)>,
}

use Mode::{Chat, Email, Phone, Video};

const EXPERTS: [DemoExpert; 12] = [
    DemoExpert {
        login: "luna",
        name: "Luna",
        site: "FR",
        headline: "Tarologue depuis 20 ans, à l'écoute et précise.",
        specialties: &["tarot", "cartomancy"],
        languages: &["fr"],
        modes: &[Phone, Chat, Email],
        per_minute: 299,
        email_price: Some(2500),
        also: None,
    },
    DemoExpert {
        login: "orion",
        name: "Orion",
        site: "FR",
        headline: "Astrologue : thème natal et révolutions solaires.",
        specialties: &["astrology"],
        languages: &["fr", "en"],
        modes: &[Phone, Email],
        per_minute: 350,
        email_price: Some(3000),
        // Listed in Switzerland too, with prices in Swiss francs.
        also: Some((Currency::Chf, 380, Some(3300))),
    },
    DemoExpert {
        login: "selene",
        name: "Sélène",
        site: "BE",
        headline: "Médium pure, sans support.",
        specialties: &["mediumship", "clairvoyance"],
        languages: &["fr"],
        modes: &[Phone, Chat],
        per_minute: 320,
        email_price: None,
        also: None,
    },
    DemoExpert {
        login: "marco",
        name: "Marco",
        site: "CH",
        headline: "Cartomante e numerologo, consulti in italiano.",
        specialties: &["cartomancy", "numerology"],
        languages: &["it", "fr"],
        modes: &[Phone, Chat, Email, Video],
        per_minute: 390,
        email_price: Some(3500),
        also: None,
    },
    DemoExpert {
        login: "iris",
        name: "Iris",
        site: "FR",
        headline: "Interprétation des rêves et coaching de vie.",
        specialties: &["dream-interpretation", "coaching"],
        languages: &["fr"],
        modes: &[Chat, Email],
        per_minute: 190,
        email_price: Some(1800),
        also: None,
    },
    DemoExpert {
        login: "gaia",
        name: "Gaïa",
        site: "LU",
        headline: "Magnétiseuse, soins énergétiques à distance.",
        specialties: &["magnetism"],
        languages: &["fr", "en"],
        modes: &[Phone],
        per_minute: 250,
        email_price: None,
        also: None,
    },
    DemoExpert {
        login: "elias",
        name: "Elias",
        site: "CA",
        headline: "Canalisation et guidance spirituelle.",
        specialties: &["channeling", "mediumship"],
        languages: &["fr", "en"],
        modes: &[Phone, Chat, Video],
        per_minute: 420,
        email_price: None,
        also: None,
    },
    DemoExpert {
        login: "nora",
        name: "Nora",
        site: "FR",
        headline: "Numérologue : vos cycles et vos chiffres.",
        specialties: &["numerology"],
        languages: &["fr"],
        modes: &[Email],
        per_minute: 200,
        email_price: Some(2200),
        also: None,
    },
    DemoExpert {
        login: "victor",
        name: "Victor",
        site: "CH",
        headline: "Voyant flash, réponses claires et rapides.",
        specialties: &["clairvoyance", "tarot"],
        languages: &["fr"],
        modes: &[Phone, Chat, Email],
        per_minute: 450,
        email_price: Some(4000),
        also: None,
    },
    DemoExpert {
        login: "alba",
        name: "Alba",
        site: "FR",
        headline: "Coach certifiée : carrière et confiance en soi.",
        specialties: &["coaching"],
        languages: &["fr", "it", "en"],
        modes: &[Video, Email],
        per_minute: 280,
        email_price: Some(2500),
        also: None,
    },
    DemoExpert {
        login: "yann",
        name: "Yann",
        site: "BE",
        headline: "Astrologie karmique et tarot de Marseille.",
        specialties: &["astrology", "tarot"],
        languages: &["fr"],
        modes: &[Phone, Chat],
        per_minute: 240,
        email_price: None,
        also: None,
    },
    DemoExpert {
        login: "chiara",
        name: "Chiara",
        site: "CH",
        headline: "Sensitiva e medium, ascolto senza giudizio.",
        specialties: &["mediumship", "clairvoyance", "tarot"],
        languages: &["it"],
        modes: &[Phone, Chat, Email],
        per_minute: 330,
        email_price: Some(2900),
        also: None,
    },
];

const CLIENTS: [(&str, &str, &str, &str); 3] =
    [("claire", "Claire", "FR", "fr"), ("giulia", "Giulia", "CH", "it"), ("sam", "Sam", "CA", "en")];

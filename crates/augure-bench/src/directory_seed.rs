//! `directory-seed DATABASE_URL [EXPERTS]`: fills a database with demo sites and many
//! experts (profiles and availability) for the directory benchmark (`bench/directory.sh`).

use augure_domain::availability::Status;
use augure_domain::site::NewSite;
use augure_domain::{Currency, ExpertCode, Mode, Money, Role};
use augure_store::{ExpertPresence, ExpertProfile, ExpertStore, NewUser, SiteStore, UserStore};
use chrono::Utc;

const SPECIALTIES: [&str; 10] = augure_domain::expert::DEFAULT_SPECIALTIES;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::args().nth(1).expect("usage: directory-seed DATABASE_URL [EXPERTS]");
    let experts: u32 = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let store = augure_store_sqlite::connect(&url).await.expect("sqlite");
    let now = Utc::now();
    store
        .create_site(&NewSite {
            code: "FR".parse().expect("code"),
            name: "augure France".into(),
            currency: Currency::Eur,
            time_zone: chrono_tz::Europe::Paris,
            default_locale: "fr".into(),
            phone_numbers: vec!["+33170000001".into()],
            tariffs: vec![],
            imposed_per_minute: None,
        })
        .await
        .expect("site");
    let mode_sets: [&[Mode]; 7] = [
        &[Mode::Phone, Mode::Chat, Mode::Email],
        &[Mode::Phone, Mode::Chat],
        &[Mode::Phone, Mode::Email],
        &[Mode::Chat, Mode::Email],
        &[Mode::Phone],
        &[Mode::Chat],
        &[Mode::Email],
    ];
    for i in 0..experts {
        let user = store
            .create_user(&NewUser {
                email: format!("expert{i}@bench.example").parse().expect("email"),
                role: Role::Expert,
                display_name: format!("Expert {i}"),
                locale: "fr".into(),
                site_id: None,
                expert_code: Some(ExpertCode(100_000 + i)),
                password_hash: "x".into(),
                created_at: now,
            })
            .await
            .expect("user");
        let modes = mode_sets[i as usize % mode_sets.len()].to_vec();
        store
            .upsert_expert_profile(&ExpertProfile {
                user_id: user.id,
                headline: format!("Consultations en {} depuis {} ans.", SPECIALTIES[i as usize % 10], 2 + i % 30),
                specialties: vec![SPECIALTIES[i as usize % 10].into(), SPECIALTIES[(i as usize + 3) % 10].into()],
                languages: if i % 4 == 0 { vec!["fr".into(), "it".into()] } else { vec!["fr".into()] },
                modes: modes.clone(),
                prices: vec![augure_domain::pricing::PriceSet {
                    email: Some(Money::new(2500, Currency::Eur)),
                    ..augure_domain::pricing::PriceSet::per_minute(Money::new(
                        150 + i64::from(i % 40) * 10,
                        Currency::Eur,
                    ))
                }],
            })
            .await
            .expect("profile");
        store
            .save_presence(&ExpertPresence {
                user_id: user.id,
                status: if i % 3 == 2 { Status::Unavailable } else { Status::Available },
                modes_on: modes,
                paused_until: None,
                // Far in the future: chat stays live for the whole benchmark.
                last_heartbeat: Some(now + chrono::Duration::days(1)),
                bank_details_at: Some(now),
                updated_at: now,
            })
            .await
            .expect("presence");
    }
    println!("seeded {experts} experts into {url}");
}

//! Expert profiles, presence, the directory, bank details, expert details and specialties.

use std::sync::Arc;

use augure_domain::{ExpertCode, Role, UserId};
use chrono::Duration;

use super::{new_site, new_user, profile, t0};
use crate::*;

pub async fn expert_profile_round_trips_and_is_replaced(store: Arc<dyn Store>) {
    let mut new = new_user("luna@example.fr", Role::Expert);
    new.expert_code = Some(ExpertCode(4321));
    let u = store.create_user(&new).await.unwrap();
    store.upsert_expert_profile(&profile(u.id)).await.unwrap();
    assert_eq!(store.expert_profile(u.id).await.unwrap(), profile(u.id));
    let changed = ExpertProfile { headline: "Nouveau".into(), prices: vec![], ..profile(u.id) };
    store.upsert_expert_profile(&changed).await.unwrap();
    assert_eq!(store.expert_profile(u.id).await.unwrap(), changed);
    let cards = store.list_expert_cards(10, 0).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!((cards[0].display_name.as_str(), cards[0].expert_code), ("Luna", Some(ExpertCode(4321))));
    assert!(matches!(store.expert_profile(UserId(999)).await, Err(StoreError::NotFound)));
}

pub async fn price_sets_per_currency_are_replaced_with_the_profile(store: Arc<dyn Store>) {
    use augure_domain::pricing::{Package, PriceSet};
    use augure_domain::{Currency, Money};
    let luna = store.create_user(&new_user("luna@example.fr", Role::Expert)).await.unwrap();
    let orion = store.create_user(&new_user("orion@example.fr", Role::Expert)).await.unwrap();
    let eur = PriceSet {
        currency: Currency::Eur,
        per_minute: Some(Money::new(250, Currency::Eur)),
        package: Some(Package { price: Money::new(4500, Currency::Eur), minutes: 30 }),
        free_minutes: 3,
        email: Some(Money::new(3000, Currency::Eur)),
    };
    // Only a tariff site in this currency: no per-minute price of the expert's own.
    let chf = PriceSet { currency: Currency::Chf, per_minute: None, package: None, free_minutes: 0, email: None };
    let both = ExpertProfile { prices: vec![chf.clone(), eur.clone()], ..profile(luna.id) };
    store.upsert_expert_profile(&both).await.unwrap();
    store.upsert_expert_profile(&profile(orion.id)).await.unwrap();
    assert_eq!(store.expert_profile(luna.id).await.unwrap(), both, "in currency-code order");
    let directory = store.directory().await.unwrap();
    assert_eq!(directory[0].card.profile.prices, [chf, eur.clone()]);
    assert_eq!(directory[1].card.profile, profile(orion.id));
    let cards = store.list_expert_cards(10, 0).await.unwrap();
    assert_eq!(cards[0].profile.prices.len(), 2);
    let euros_only = ExpertProfile { prices: vec![eur], ..profile(luna.id) };
    store.upsert_expert_profile(&euros_only).await.unwrap();
    assert_eq!(store.expert_profile(luna.id).await.unwrap(), euros_only, "a currency left out is removed");
    assert_eq!(store.expert_profile(orion.id).await.unwrap(), profile(orion.id), "others untouched");
}

pub async fn expert_presence_is_saved_and_listed_in_the_directory(store: Arc<dyn Store>) {
    use augure_domain::availability::Status;
    let mut new = new_user("luna@example.fr", Role::Expert);
    new.expert_code = Some(ExpertCode(4321));
    let luna = store.create_user(&new).await.unwrap();
    store.upsert_expert_profile(&profile(luna.id)).await.unwrap();
    let other = store.create_user(&new_user("orion@example.fr", Role::Expert)).await.unwrap();
    store.upsert_expert_profile(&profile(other.id)).await.unwrap();
    assert!(matches!(store.presence(luna.id).await, Err(StoreError::NotFound)));
    let presence = ExpertPresence {
        user_id: luna.id,
        status: Status::Available,
        modes_on: vec![augure_domain::Mode::Phone, augure_domain::Mode::Chat],
        paused_until: Some(t0() + Duration::minutes(20)),
        last_heartbeat: Some(t0()),
        bank_details_at: None,
        updated_at: t0(),
    };
    store.save_presence(&presence).await.unwrap();
    assert_eq!(store.presence(luna.id).await.unwrap(), presence);
    let changed = ExpertPresence {
        status: Status::Unavailable,
        paused_until: None,
        bank_details_at: Some(t0()),
        ..presence.clone()
    };
    store.save_presence(&changed).await.unwrap();
    assert_eq!(store.presence(luna.id).await.unwrap(), changed);
    let directory = store.directory().await.unwrap();
    assert_eq!(directory.len(), 2);
    assert_eq!(directory[0].card.display_name, "Luna");
    assert_eq!(directory[0].presence.as_ref(), Some(&changed));
    assert_eq!(directory[0].signed_up_at, t0());
    assert_eq!(directory[1].presence, None, "no availability set yet");
}

pub async fn bank_details_are_saved_and_mark_the_presence(store: Arc<dyn Store>) {
    let expert = store.create_user(&new_user("luna@example.fr", Role::Expert)).await.unwrap();
    assert!(matches!(store.bank_details(expert.id).await, Err(StoreError::NotFound)));
    let details = BankDetails {
        user_id: expert.id,
        payout_method: augure_domain::bank::PayoutMethod::BankTransfer,
        holder: "Luna SARL".into(),
        bank_name: "BNP".into(),
        bank_country: "FR".into(),
        iban: Some("FR7630006000011234567890189".into()),
        bic: Some("BNPAFRPP".into()),
        paypal_email: None,
        updated_at: t0(),
    };
    store.save_bank_details(&details).await.unwrap();
    assert_eq!(store.bank_details(expert.id).await.unwrap(), details);
    let presence = store.presence(expert.id).await.unwrap();
    assert_eq!(presence.bank_details_at, Some(t0()));
    assert_eq!(presence.status, augure_domain::availability::Status::Unavailable);
    let paypal = BankDetails {
        payout_method: augure_domain::bank::PayoutMethod::PayPal,
        paypal_email: Some("luna@example.fr".into()),
        updated_at: t0() + Duration::hours(1),
        ..details
    };
    store.save_bank_details(&paypal).await.unwrap();
    assert_eq!(store.bank_details(expert.id).await.unwrap(), paypal);
    assert_eq!(store.presence(expert.id).await.unwrap().bank_details_at, Some(t0() + Duration::hours(1)));
}

pub async fn expert_details_round_trip_and_specialties_are_managed(store: Arc<dyn Store>) {
    let luna = store.create_user(&new_user("luna@example.fr", Role::Expert)).await.unwrap();
    assert!(matches!(store.expert_details(luna.id).await, Err(StoreError::NotFound)));
    let site = store.create_site(&new_site("FR")).await.unwrap();
    let details = ExpertDetails {
        user_id: luna.id,
        legal_name: "Luna Martin".into(),
        company_name: "Luna SARL".into(),
        company_number: "12345678900011".into(),
        country: "FR".into(),
        email_needs: "Vos prénoms et dates de naissance.".into(),
        visible_sites: vec![site.id],
        terms_version: Some(2),
        terms_accepted_at: Some(t0()),
        updated_at: t0(),
        ..ExpertDetails::empty(luna.id, t0())
    };
    store.save_expert_details(&details).await.unwrap();
    assert_eq!(store.expert_details(luna.id).await.unwrap(), details);
    let cleared = ExpertDetails { email_needs: String::new(), visible_sites: vec![], ..details };
    store.save_expert_details(&cleared).await.unwrap();
    assert_eq!(store.expert_details(luna.id).await.unwrap(), cleared);

    let defaults = store.specialties().await.unwrap();
    assert_eq!(defaults.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), augure_domain::expert::DEFAULT_SPECIALTIES);
    let added = Specialty { key: "runes".into(), label: "Runes".into(), position: 11, active: true };
    store.save_specialty(&added).await.unwrap();
    store.save_specialty(&Specialty { active: false, ..defaults[0].clone() }).await.unwrap();
    let after = store.specialties().await.unwrap();
    assert_eq!(after.last(), Some(&added));
    assert!(!after[0].active && after[0].key == "astrology");
}

//! The behaviour every backend must show. Each backend crate runs it with
//! [`conformance_tests!`](crate::conformance_tests), which makes one `#[tokio::test]` per
//! function here, each on a fresh database.

use std::sync::Arc;

use augure_domain::site::NewSite;
use augure_domain::{Currency, Email, ExpertCode, Money, Role, SiteCode, Tariff, UserId};
use chrono::{DateTime, Duration, Utc};

use crate::*;

/// A fixed instant so that every backend sees the same times.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 123_456_000).expect("valid instant")
}

fn new_site(code: &str) -> NewSite {
    NewSite {
        code: code.parse().expect("site code"),
        name: format!("augure {code}"),
        currency: Currency::Chf,
        time_zone: chrono_tz::Europe::Zurich,
        default_locale: "fr".into(),
        phone_numbers: vec!["+41900000000".into()],
        tariffs: vec![Tariff {
            code: "audiotel".into(),
            label: "2,50 CHF/min".into(),
            phone_number: Some("+41900000000".into()),
            per_minute: Some(Money::new(250, Currency::Chf)),
            per_call: None,
        }],
    }
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.parse::<Email>().expect("email"),
        role,
        display_name: "Luna".into(),
        locale: "fr".into(),
        site_id: None,
        expert_code: None,
        password_hash: "$argon2id$fake".into(),
        created_at: t0(),
    }
}

async fn user(store: &dyn Store, email: &str) -> User {
    store.create_user(&new_user(email, Role::Client)).await.expect("create user")
}

fn profile(user: UserId) -> ExpertProfile {
    ExpertProfile {
        user_id: user,
        headline: "Tarologue depuis 20 ans".into(),
        specialties: vec!["tarot".into(), "astrology".into()],
        languages: vec!["fr".into(), "it".into()],
        modes: vec![augure_domain::Mode::Phone, augure_domain::Mode::Email],
        price_per_minute: Money::new(299, Currency::Eur),
        email_price: Some(Money::new(2500, Currency::Eur)),
    }
}

fn session(hash: &str, user: UserId, expires_at: DateTime<Utc>) -> NewSession {
    NewSession { token_hash: hash.into(), user_id: user, kind: SessionKind::Web, created_at: t0(), expires_at }
}

fn job(kind: &str, key: Option<&str>, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({"to": "a@b.fr", "n": 1}),
        unique_key: key.map(str::to_owned),
        run_at,
        created_at: t0(),
    }
}

pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

pub async fn site_round_trips_with_its_tariffs(store: Arc<dyn Store>) {
    let created = store.create_site(&new_site("CH")).await.unwrap();
    let found = store.site_by_code(&"ch".parse::<SiteCode>().unwrap()).await.unwrap();
    assert_eq!(created, found);
    assert_eq!(found.time_zone, chrono_tz::Europe::Zurich);
    assert_eq!(found.tariffs[0].per_minute, Some(Money::new(250, Currency::Chf)));
}

pub async fn sites_list_in_creation_order(store: Arc<dyn Store>) {
    for code in ["FR", "BE", "CA"] {
        store.create_site(&new_site(code)).await.unwrap();
    }
    let codes: Vec<_> = store.list_sites().await.unwrap().into_iter().map(|s| s.code.to_string()).collect();
    assert_eq!(codes, ["FR", "BE", "CA"]);
}

pub async fn duplicate_site_code_conflicts(store: Arc<dyn Store>) {
    store.create_site(&new_site("FR")).await.unwrap();
    let err = store.create_site(&new_site("FR")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("site_code")), "{err:?}");
}

pub async fn unknown_site_is_not_found(store: Arc<dyn Store>) {
    let err = store.site_by_code(&"LU".parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub async fn user_round_trips(store: Arc<dyn Store>) {
    let site = store.create_site(&new_site("FR")).await.unwrap();
    let mut new = new_user("marie@example.fr", Role::Expert);
    new.site_id = Some(site.id);
    new.expert_code = Some(ExpertCode(3482));
    let created = store.create_user(&new).await.unwrap();
    assert_eq!(created.email, new.email);
    assert_eq!(created.role, Role::Expert);
    assert_eq!(created.site_id, Some(site.id));
    assert_eq!(created.expert_code, Some(ExpertCode(3482)));
    assert_eq!(created.created_at, t0());
    assert_eq!(store.user_by_id(created.id).await.unwrap(), created);
    assert_eq!(store.user_by_email(&new.email).await.unwrap(), created);
    assert_eq!(store.user_by_expert_code(3482).await.unwrap(), created);
}

pub async fn duplicate_email_conflicts(store: Arc<dyn Store>) {
    user(&*store, "marie@example.fr").await;
    let err = store.create_user(&new_user("MARIE@example.fr", Role::Expert)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert_eq!(store.count_users().await.unwrap(), 1);
}

pub async fn duplicate_expert_code_conflicts(store: Arc<dyn Store>) {
    let mut a = new_user("a@example.fr", Role::Expert);
    a.expert_code = Some(ExpertCode(1234));
    store.create_user(&a).await.unwrap();
    let mut b = new_user("b@example.fr", Role::Expert);
    b.expert_code = Some(ExpertCode(1234));
    let err = store.create_user(&b).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("expert_code")), "{err:?}");
}

pub async fn clients_share_no_expert_code(store: Arc<dyn Store>) {
    // Many users without a code: NULL is not a duplicate.
    user(&*store, "a@example.fr").await;
    user(&*store, "b@example.fr").await;
    assert_eq!(store.count_users().await.unwrap(), 2);
}

pub async fn unknown_user_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(store.user_by_id(UserId(999)).await, Err(StoreError::NotFound)));
    let email: Email = "nobody@example.fr".parse().unwrap();
    assert!(matches!(store.user_by_email(&email).await, Err(StoreError::NotFound)));
}

pub async fn users_list_by_role_with_paging(store: Arc<dyn Store>) {
    for i in 0..5 {
        let role = if i % 2 == 0 { Role::Expert } else { Role::Client };
        store.create_user(&new_user(&format!("u{i}@example.fr"), role)).await.unwrap();
    }
    assert_eq!(store.list_users(Some(Role::Expert), 10, 0).await.unwrap().len(), 3);
    assert_eq!(store.list_users(Some(Role::Client), 10, 0).await.unwrap().len(), 2);
    let page: Vec<_> = store.list_users(None, 2, 2).await.unwrap().into_iter().map(|u| u.email.to_string()).collect();
    assert_eq!(page, ["u2@example.fr", "u3@example.fr"]);
}

pub async fn user_locale_changes(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    store.set_user_locale(u.id, "it").await.unwrap();
    assert_eq!(store.user_by_id(u.id).await.unwrap().locale, "it");
    assert!(matches!(store.set_user_locale(UserId(999), "it").await, Err(StoreError::NotFound)));
}

pub async fn expert_profile_round_trips_and_is_replaced(store: Arc<dyn Store>) {
    let mut new = new_user("luna@example.fr", Role::Expert);
    new.expert_code = Some(ExpertCode(4321));
    let u = store.create_user(&new).await.unwrap();
    store.upsert_expert_profile(&profile(u.id)).await.unwrap();
    assert_eq!(store.expert_profile(u.id).await.unwrap(), profile(u.id));
    let changed = ExpertProfile { headline: "Nouveau".into(), email_price: None, ..profile(u.id) };
    store.upsert_expert_profile(&changed).await.unwrap();
    assert_eq!(store.expert_profile(u.id).await.unwrap(), changed);
    let cards = store.list_expert_cards(10, 0).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!((cards[0].display_name.as_str(), cards[0].expert_code), ("Luna", Some(ExpertCode(4321))));
    assert!(matches!(store.expert_profile(UserId(999)).await, Err(StoreError::NotFound)));
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

fn photo(user: UserId, at: DateTime<Utc>, bytes: &[u8]) -> NewMedia {
    NewMedia {
        user_id: user,
        kind: augure_domain::media::MediaKind::Photo,
        locale: String::new(),
        content: bytes.to_vec(),
        content_type: "image/jpeg".into(),
        body: String::new(),
        width: Some(800),
        height: Some(600),
        duration_ms: None,
        created_at: at,
    }
}

fn presentation(user: UserId, locale: &str, text: &str, at: DateTime<Utc>) -> NewMedia {
    NewMedia {
        kind: augure_domain::media::MediaKind::Presentation,
        locale: locale.into(),
        content: Vec::new(),
        content_type: String::new(),
        body: text.into(),
        width: None,
        height: None,
        ..photo(user, at, &[])
    }
}

pub async fn media_waits_for_moderation_and_publishes_the_latest_approved(store: Arc<dyn Store>) {
    use augure_domain::media::{MediaKind, MediaStatus};
    let luna = store.create_user(&new_user("luna@example.fr", Role::Expert)).await.unwrap();
    store.upsert_expert_profile(&profile(luna.id)).await.unwrap();
    let first = store.submit_media(&photo(luna.id, t0(), &[0xFF, 0xD8, 1, 2, 3])).await.unwrap();
    assert_eq!((first.status, first.size, first.width), (MediaStatus::Pending, 5, Some(800)));
    assert!(store.published_media(luna.id).await.unwrap().is_empty(), "nothing public before approval");
    assert_eq!(store.pending_media(10).await.unwrap(), vec![first.clone()]);
    let (item, bytes) = store.media_content(first.id).await.unwrap();
    assert_eq!((item, bytes), (first.clone(), vec![0xFF, 0xD8, 1, 2, 3]));

    let approved = store.decide_media(first.id, true, None, t0() + Duration::hours(1)).await.unwrap();
    assert_eq!((approved.status, approved.decided_at), (MediaStatus::Approved, Some(t0() + Duration::hours(1))));
    assert!(matches!(store.decide_media(first.id, false, Some("late"), t0()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.decide_media(augure_domain::MediaId(9999), true, None, t0()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.directory().await.unwrap()[0].photo, Some(first.id));

    // A new photo waits; the approved one stays public. A second pending one supersedes it.
    let second = store.submit_media(&photo(luna.id, t0() + Duration::hours(2), &[0xFF, 0xD8, 9])).await.unwrap();
    let third = store.submit_media(&photo(luna.id, t0() + Duration::hours(3), &[0xFF, 0xD8, 7])).await.unwrap();
    assert_eq!(store.media_item(second.id).await.unwrap().status, MediaStatus::Superseded);
    assert!(matches!(store.decide_media(second.id, true, None, t0()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.pending_media(10).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![third.id]);
    assert_eq!(store.published_media(luna.id).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![first.id]);
    assert_eq!(store.latest_media(luna.id).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(), vec![third.id]);

    let refused = store.decide_media(third.id, false, Some("Blurry"), t0() + Duration::hours(4)).await.unwrap();
    assert_eq!((refused.status, refused.reason.as_deref()), (MediaStatus::Refused, Some("Blurry")));
    assert_eq!(store.directory().await.unwrap()[0].photo, Some(first.id), "the refused one is never shown");

    // Presentations: one per language, in the directory once approved.
    let fr = store.submit_media(&presentation(luna.id, "fr", "Tarologue depuis vingt ans.", t0())).await.unwrap();
    let it = store.submit_media(&presentation(luna.id, "it", "Cartomante da vent'anni.", t0())).await.unwrap();
    assert_eq!((fr.kind, fr.body.as_str()), (MediaKind::Presentation, "Tarologue depuis vingt ans."));
    store.decide_media(fr.id, true, None, t0()).await.unwrap();
    store.decide_media(it.id, true, None, t0()).await.unwrap();
    let entry = &store.directory().await.unwrap()[0];
    assert_eq!(
        entry.presentations,
        vec![
            ("fr".to_owned(), "Tarologue depuis vingt ans.".to_owned()),
            ("it".to_owned(), "Cartomante da vent'anni.".to_owned())
        ]
    );
    let published = store.published_media(luna.id).await.unwrap();
    assert_eq!(published.len(), 3, "a photo and two presentations");
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
        package_price: Some(4500),
        package_minutes: Some(30),
        free_minutes: 3,
        visible_sites: vec![site.id],
        terms_version: Some(2),
        terms_accepted_at: Some(t0()),
        updated_at: t0(),
        ..ExpertDetails::empty(luna.id, t0())
    };
    store.save_expert_details(&details).await.unwrap();
    assert_eq!(store.expert_details(luna.id).await.unwrap(), details);
    let cleared = ExpertDetails { package_price: None, package_minutes: None, visible_sites: vec![], ..details };
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

pub async fn session_finds_its_user_until_it_expires(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    let expires = t0() + Duration::days(30);
    store.create_session(&session("h1", u.id, expires)).await.unwrap();
    let s = store.session("h1", t0()).await.unwrap();
    assert_eq!(s.user, u);
    assert_eq!(s.kind, SessionKind::Web);
    assert_eq!(s.expires_at, expires);
    assert!(matches!(store.session("h1", expires).await, Err(StoreError::NotFound)));
    assert!(matches!(store.session("other", t0()).await, Err(StoreError::NotFound)));
}

pub async fn deleted_session_is_gone(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    store.create_session(&session("h1", u.id, t0() + Duration::days(1))).await.unwrap();
    store.delete_session("h1").await.unwrap();
    assert!(matches!(store.session("h1", t0()).await, Err(StoreError::NotFound)));
}

pub async fn expired_sessions_are_purged(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    store.create_session(&session("old", u.id, t0() + Duration::hours(1))).await.unwrap();
    store.create_session(&session("new", u.id, t0() + Duration::days(1))).await.unwrap();
    assert_eq!(store.delete_expired_sessions(t0() + Duration::hours(2)).await.unwrap(), 1);
    assert!(store.session("new", t0()).await.is_ok());
}

async fn reset_token(store: &dyn Store, hash: &str, user: UserId, ttl: Duration) {
    store
        .create_reset_token(&NewResetToken {
            token_hash: hash.into(),
            user_id: user,
            created_at: t0(),
            expires_at: t0() + ttl,
        })
        .await
        .unwrap();
}

pub async fn reset_sets_password_and_signs_out_everywhere(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    store.create_session(&session("s1", u.id, t0() + Duration::days(1))).await.unwrap();
    reset_token(&*store, "r1", u.id, Duration::hours(1)).await;
    let who = store.reset_password("r1", "$argon2id$new", t0()).await.unwrap();
    assert_eq!(who, u.id);
    assert_eq!(store.user_by_id(u.id).await.unwrap().password_hash, "$argon2id$new");
    assert!(matches!(store.session("s1", t0()).await, Err(StoreError::NotFound)));
}

pub async fn reset_link_works_once(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    reset_token(&*store, "r1", u.id, Duration::hours(1)).await;
    store.reset_password("r1", "$argon2id$new", t0()).await.unwrap();
    let err = store.reset_password("r1", "$argon2id$evil", t0()).await.unwrap_err();
    assert!(matches!(err, StoreError::TokenUsed), "{err:?}");
    assert_eq!(store.user_by_id(u.id).await.unwrap().password_hash, "$argon2id$new");
}

pub async fn using_one_reset_link_voids_the_others(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    reset_token(&*store, "r1", u.id, Duration::hours(1)).await;
    reset_token(&*store, "r2", u.id, Duration::hours(1)).await;
    store.reset_password("r2", "$argon2id$new", t0()).await.unwrap();
    assert!(matches!(store.reset_password("r1", "$x", t0()).await, Err(StoreError::TokenUsed)));
}

pub async fn expired_reset_link_changes_nothing(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    store.create_session(&session("s1", u.id, t0() + Duration::days(1))).await.unwrap();
    reset_token(&*store, "r1", u.id, Duration::hours(1)).await;
    let err = store.reset_password("r1", "$x", t0() + Duration::hours(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::TokenExpired), "{err:?}");
    assert_eq!(store.user_by_id(u.id).await.unwrap().password_hash, "$argon2id$fake");
    assert!(store.session("s1", t0()).await.is_ok());
}

pub async fn unknown_reset_link_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(store.reset_password("nope", "$x", t0()).await, Err(StoreError::NotFound)));
}

fn mail(key: &str, to: &str) -> OutboxMail {
    OutboxMail {
        key: key.into(),
        to: to.into(),
        subject: "Bienvenue — été".into(),
        text_body: "Bonjour".into(),
        html_body: "<p>Bonjour</p>".into(),
        created_at: t0(),
    }
}

pub async fn mail_is_recorded_once_per_key(store: Arc<dyn Store>) {
    let first = store.record_mail(&mail("job-1", "a@example.fr")).await.unwrap();
    let again = store.record_mail(&mail("job-1", "a@example.fr")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(store.list_mail(10, 0).await.unwrap().len(), 1);
    let stored = store.mail(first).await.unwrap();
    assert_eq!(stored.mail, mail("job-1", "a@example.fr"));
}

pub async fn mail_lists_newest_first_and_by_recipient(store: Arc<dyn Store>) {
    store.record_mail(&mail("k1", "a@example.fr")).await.unwrap();
    store.record_mail(&mail("k2", "b@example.fr")).await.unwrap();
    store.record_mail(&mail("k3", "a@example.fr")).await.unwrap();
    let keys: Vec<_> = store.list_mail(2, 0).await.unwrap().into_iter().map(|m| m.mail.key).collect();
    assert_eq!(keys, ["k3", "k2"]);
    let to_a: Vec<_> = store.mail_to("a@example.fr").await.unwrap().into_iter().map(|m| m.mail.key).collect();
    assert_eq!(to_a, ["k1", "k3"]);
}

pub async fn enqueue_with_the_same_key_is_idempotent(store: Arc<dyn Store>) {
    let a = store.enqueue_job(&job("mail.deliver", Some("welcome:1"), t0())).await.unwrap();
    let b = store.enqueue_job(&job("mail.deliver", Some("welcome:1"), t0())).await.unwrap();
    assert_eq!(a, b);
    let c = store.enqueue_job(&job("mail.deliver", None, t0())).await.unwrap();
    let d = store.enqueue_job(&job("mail.deliver", None, t0())).await.unwrap();
    assert_ne!(c, d);
    assert_eq!(store.list_jobs(None, 10).await.unwrap().len(), 3);
}

pub async fn job_round_trips(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("mail.deliver", Some("k"), t0())).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.kind, "mail.deliver");
    assert_eq!(j.payload, serde_json::json!({"to": "a@b.fr", "n": 1}));
    assert_eq!(j.status, JobStatus::Queued);
    assert_eq!(j.attempts, 0);
    assert_eq!(j.run_at, t0());
}

pub async fn only_due_jobs_are_claimed(store: Arc<dyn Store>) {
    store.enqueue_job(&job("later", None, t0() + Duration::minutes(5))).await.unwrap();
    let now_id = store.enqueue_job(&job("now", None, t0())).await.unwrap();
    let lease = t0() + Duration::minutes(1);
    let claimed = store.claim_job(t0(), lease).await.unwrap().expect("a due job");
    assert_eq!(claimed.id, now_id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert!(store.claim_job(t0(), lease).await.unwrap().is_none());
    store.complete_job(now_id, t0()).await.unwrap();
    let later = store.claim_job(t0() + Duration::minutes(5), lease + Duration::minutes(5)).await.unwrap();
    assert_eq!(later.map(|j| j.kind), Some("later".into()));
}

pub async fn a_job_whose_lease_ran_out_is_claimed_again(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    let t1 = t0() + Duration::minutes(2);
    let again = store.claim_job(t1, t1 + Duration::minutes(1)).await.unwrap().expect("reclaimed");
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
}

pub async fn completed_job_is_done_and_not_claimed(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    store.complete_job(id, t0()).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.status, JobStatus::Done);
    assert_eq!(j.finished_at, Some(t0()));
    let t1 = t0() + Duration::hours(1);
    assert!(store.claim_job(t1, t1).await.unwrap().is_none());
    assert_eq!(store.list_jobs(Some(JobStatus::Done), 10).await.unwrap().len(), 1);
}

pub async fn failed_job_is_retried_at_the_given_time_or_given_up(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    let retry = t0() + Duration::seconds(30);
    store.fail_job(id, "smtp down", Some(retry), t0()).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!((j.status, j.run_at, j.last_error.as_deref()), (JobStatus::Queued, retry, Some("smtp down")));
    assert!(store.claim_job(t0(), t0()).await.unwrap().is_none());
    store.claim_job(retry, retry + Duration::minutes(1)).await.unwrap().unwrap();
    store.fail_job(id, "still down", None, retry).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.status, JobStatus::Failed);
    assert_eq!(j.finished_at, Some(retry));
    assert_eq!(store.list_jobs(Some(JobStatus::Failed), 10).await.unwrap().len(), 1);
}

pub async fn concurrent_workers_never_share_a_job(store: Arc<dyn Store>) {
    const JOBS: usize = 40;
    for _ in 0..JOBS {
        store.enqueue_job(&job("k", None, t0())).await.unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap() {
                mine.push(j.id);
                store.complete_job(j.id, t0()).await.unwrap();
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, JOBS, "every job claimed");
    assert_eq!(all.len(), JOBS, "no job claimed twice");
}

// ---- ledger ----

use augure_domain::ledger::{self as ledger, AccountKind, LedgerError, TransferMode, TransferRequest};

struct Funded {
    provider: ledger::AccountId,
    client: ledger::AccountId,
    expert: ledger::AccountId,
    platform: ledger::AccountId,
}

async fn funded(store: &dyn Store, credit: i64) -> Funded {
    let u = user(store, "client@example.fr").await;
    let e = store.create_user(&new_user("expert@example.fr", Role::Expert)).await.unwrap();
    let eur = Currency::Eur;
    let account = |owner, kind| store.ledger_account(owner, kind, eur, t0());
    let f = Funded {
        provider: account(LedgerOwner::Platform, AccountKind::ProviderClearing).await.unwrap().id,
        client: account(LedgerOwner::User(u.id), AccountKind::ClientCredit).await.unwrap().id,
        expert: account(LedgerOwner::User(e.id), AccountKind::ExpertEarnings).await.unwrap().id,
        platform: account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await.unwrap().id,
    };
    if credit > 0 {
        let r = store.create_transfers(&[xfer("purchase:1", f.provider, f.client, credit)], t0()).await.unwrap();
        r[0].as_ref().expect("funded");
    }
    f
}

/// A posted transfer of `amount` euro cents.
pub fn xfer(key: &str, debit: ledger::AccountId, credit: ledger::AccountId, amount: i64) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        debit,
        credit,
        amount: Some(amount),
        currency: Currency::Eur,
        code: "test".into(),
        user_data: Some("ref".into()),
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    }
}

fn hold(
    key: &str,
    debit: ledger::AccountId,
    credit: ledger::AccountId,
    amount: i64,
    expires: Option<DateTime<Utc>>,
) -> TransferRequest {
    TransferRequest { mode: TransferMode::Pending { expires_at: expires }, ..xfer(key, debit, credit, amount) }
}

fn settle(key: &str, held: &TransferRequest, amount: Option<i64>, mode: TransferMode) -> TransferRequest {
    TransferRequest { key: key.into(), amount, mode, pending_key: Some(held.key.clone()), ..held.clone() }
}

async fn balances(store: &dyn Store, id: ledger::AccountId) -> ledger::Balances {
    store.ledger_account_by_id(id).await.unwrap().0.balances
}

async fn assert_sound(store: &dyn Store) {
    let audit = ledger::audit(&store.ledger_snapshot().await.unwrap());
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

pub async fn ledger_account_exists_once_per_owner_kind_and_currency(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    let owner = LedgerOwner::User(u.id);
    let a = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Eur, t0()).await.unwrap();
    let b = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Eur, t0()).await.unwrap();
    let c = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Chf, t0()).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert!(a.flags.debits_must_not_exceed_credits);
    assert_eq!(store.ledger_account_by_id(a.id).await.unwrap().1, owner);
    assert_eq!(store.ledger_accounts(10, 0).await.unwrap().len(), 2);
}

pub async fn posted_transfer_moves_money_and_is_audited(store: Arc<dyn Store>) {
    let f = funded(&*store, 5000).await;
    let t = store.transfer_by_key("purchase:1").await.unwrap();
    assert_eq!((t.debit, t.credit, t.amount, t.mode), (f.provider, f.client, 5000, TransferMode::Posted));
    assert_eq!(t.user_data.as_deref(), Some("ref"));
    assert_eq!(balances(&*store, f.client).await.credits_posted, 5000);
    assert_eq!(balances(&*store, f.provider).await.debits_posted, 5000);
    assert_eq!(store.account_transfers(f.client, 10).await.unwrap().len(), 1);
    let trial = store.trial_balance().await.unwrap();
    assert_eq!((trial[0].debits_posted, trial[0].credits_posted), (5000, 5000));
    assert_sound(&*store).await;
}

pub async fn overdraft_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let r = store.create_transfers(&[xfer("spend", f.client, f.expert, 1001)], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::ExceedsCredits);
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert!(matches!(store.transfer_by_key("spend").await, Err(StoreError::NotFound)));
    assert_sound(&*store).await;
}

pub async fn a_replayed_key_returns_the_first_transfer(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let spend = xfer("spend", f.client, f.expert, 300);
    let first = store.create_transfers(std::slice::from_ref(&spend), t0()).await.unwrap().remove(0).unwrap();
    let later = t0() + Duration::hours(1);
    let again = store.create_transfers(std::slice::from_ref(&spend), later).await.unwrap().remove(0).unwrap();
    assert_eq!(first, again);
    assert_eq!(balances(&*store, f.client).await.available(), 700);
    let other = TransferRequest { amount: Some(299), ..spend };
    let r = store.create_transfers(&[other], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::KeyReusedWithDifferentContent);
    assert_sound(&*store).await;
}

pub async fn a_hold_is_posted_in_part_and_the_rest_released(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let h = hold("grant:1", f.client, f.expert, 600, None);
    store.create_transfers(std::slice::from_ref(&h), t0()).await.unwrap()[0].as_ref().unwrap();
    let b = balances(&*store, f.client).await;
    assert_eq!((b.debits_pending, b.available()), (600, 400));
    let post =
        store.create_transfers(&[settle("settle:1", &h, Some(250), TransferMode::PostPending)], t0()).await.unwrap();
    let post = post[0].as_ref().unwrap();
    assert_eq!(post.amount, 250);
    assert_eq!(post.pending_id, Some(store.transfer_by_key("grant:1").await.unwrap().id));
    assert_eq!(balances(&*store, f.client).await.available(), 750);
    assert_eq!(balances(&*store, f.expert).await.credits_posted, 250);
    let again = store.create_transfers(&[settle("void:1", &h, None, TransferMode::VoidPending)], t0()).await.unwrap();
    assert_eq!(again[0].as_ref().unwrap_err(), &LedgerError::HoldAlreadyResolved("posted".into()));
    assert_sound(&*store).await;
}

pub async fn a_voided_hold_releases_everything(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let h = hold("grant:1", f.client, f.expert, 1000, None);
    let v = settle("void:1", &h, None, TransferMode::VoidPending);
    let r = store.create_transfers(&[h, v], t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert_eq!(balances(&*store, f.expert).await, ledger::Balances::default());
    assert_sound(&*store).await;
}

pub async fn expired_holds_are_listed_and_released(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let expires = t0() + Duration::minutes(5);
    let h = hold("grant:1", f.client, f.expert, 400, Some(expires));
    store.create_transfers(&[h.clone(), hold("grant:2", f.client, f.expert, 100, None)], t0()).await.unwrap();
    assert!(store.expired_holds(t0(), 10).await.unwrap().is_empty());
    let late =
        store.create_transfers(&[settle("settle:1", &h, None, TransferMode::PostPending)], expires).await.unwrap();
    assert_eq!(late[0].as_ref().unwrap_err(), &LedgerError::HoldExpired);
    let expired = store.expired_holds(expires, 10).await.unwrap();
    assert_eq!(expired.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), ["grant:1"]);
    store.create_transfers(&[settle("expire:grant:1", &h, None, TransferMode::Expire)], expires).await.unwrap()[0]
        .as_ref()
        .unwrap();
    assert!(store.expired_holds(expires, 10).await.unwrap().is_empty());
    assert_eq!(balances(&*store, f.client).await.available(), 900);
    assert_sound(&*store).await;
}

pub async fn linked_transfers_succeed_or_fail_together(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let share = TransferRequest { linked: true, ..xfer("share:1", f.client, f.expert, 700) };
    let commission = xfer("commission:1", f.client, f.platform, 301);
    let r = store.create_transfers(&[share.clone(), commission], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::LinkedTransferFailed);
    assert_eq!(r[1].as_ref().unwrap_err(), &LedgerError::ExceedsCredits);
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert!(matches!(store.transfer_by_key("share:1").await, Err(StoreError::NotFound)));
    let r = store.create_transfers(&[share, xfer("commission:2", f.client, f.platform, 300)], t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(balances(&*store, f.platform).await.credits_posted, 300);
    assert_sound(&*store).await;
}

pub async fn a_batch_mixing_new_repeated_and_stored_transfers(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let spend = xfer("spend", f.client, f.expert, 100);
    let h = hold("grant", f.client, f.expert, 300, None);
    let post = settle("settle", &h, Some(200), TransferMode::PostPending);
    let stored = store.transfer_by_key("purchase:1").await.unwrap();
    let replay = xfer("purchase:1", f.provider, f.client, 1000);
    let r = store.create_transfers(&[spend.clone(), h, spend, post, replay], t0()).await.unwrap();
    let ids: Vec<_> = r.iter().map(|t| t.as_ref().unwrap().id).collect();
    assert_eq!(ids[0], ids[2], "the same request twice in a batch is one transfer");
    assert_eq!(ids[4], stored.id, "a stored key answers with the stored transfer");
    assert_eq!(r[3].as_ref().unwrap().pending_id, Some(ids[1]), "a hold posted in its own batch");
    assert_eq!(balances(&*store, f.client).await.available(), 700);
    assert_sound(&*store).await;
}

pub async fn an_account_history_is_newest_first_and_stops_at_the_limit(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let keys = |transfers: Vec<Transfer>| transfers.into_iter().map(|t| t.key).collect::<Vec<_>>();
    // Several entries of one account inside one batch, a hold posted in its own batch,
    // a failed transfer (which leaves no entry), then another batch.
    let h = hold("grant", f.client, f.expert, 100, None);
    let batch = [
        h.clone(),
        xfer("spend", f.client, f.expert, 50),
        xfer("too-much", f.client, f.expert, 5000),
        settle("settle", &h, Some(60), TransferMode::PostPending),
        xfer("commission", f.client, f.platform, 10),
    ];
    let r = store.create_transfers(&batch, t0()).await.unwrap();
    assert!(r[2].is_err());
    store.create_transfers(&[xfer("later", f.expert, f.client, 5)], t0()).await.unwrap()[0].as_ref().unwrap();

    let client = store.account_transfers(f.client, 10).await.unwrap();
    assert_eq!(keys(client), ["later", "commission", "settle", "spend", "grant", "purchase:1"]);
    assert_eq!(keys(store.account_transfers(f.client, 3).await.unwrap()), ["later", "commission", "settle"]);
    assert_eq!(keys(store.account_transfers(f.expert, 10).await.unwrap()), ["later", "settle", "spend", "grant"]);
    assert_eq!(keys(store.account_transfers(f.platform, 10).await.unwrap()), ["commission"]);
    let fresh =
        store.ledger_account(LedgerOwner::Platform, AccountKind::Promotions, Currency::Eur, t0()).await.unwrap();
    assert!(store.account_transfers(fresh.id, 10).await.unwrap().is_empty());
    assert_eq!(store.ledger_account_by_id(f.client).await.unwrap().0.balances.available(), 1000 - 60 - 50 - 10 + 5);
    assert_sound(&*store).await;
}

pub async fn a_batch_of_a_hundred_transfers_commits_at_once(store: Arc<dyn Store>) {
    let f = funded(&*store, 100_000).await;
    let batch: Vec<_> = (0..100).map(|i| xfer(&format!("b:{i}"), f.client, f.platform, 10 + i)).collect();
    let r = store.create_transfers(&batch, t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(balances(&*store, f.platform).await.credits_posted, (0..100).map(|i| 10 + i).sum::<i64>());
    assert_sound(&*store).await;
}

pub async fn concurrent_spending_never_overdraws(store: Arc<dyn Store>) {
    let f = funded(&*store, 500).await;
    let mut tasks = Vec::new();
    for task in 0..10 {
        let store = store.clone();
        let (client, expert, platform) = (f.client, f.expert, f.platform);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..10 {
                // Every spend also touches the hot platform account.
                let batch = [
                    TransferRequest { linked: true, ..xfer(&format!("s:{task}:{i}"), client, expert, 5) },
                    xfer(&format!("c:{task}:{i}"), client, platform, 2),
                ];
                let r = store.create_transfers(&batch, t0()).await.unwrap();
                if r.iter().all(Result::is_ok) {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut succeeded = 0;
    for t in tasks {
        succeeded += t.await.unwrap();
    }
    assert_eq!(succeeded, 500 / 7, "exactly as many as the credit allows");
    assert_eq!(balances(&*store, f.client).await.available(), 500 % 7);
    assert_sound(&*store).await;
}

pub async fn concurrent_replays_of_one_key_move_money_once(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let request = xfer("once", f.client, f.expert, 100);
        tasks.push(tokio::spawn(async move { store.create_transfers(&[request], t0()).await.unwrap().remove(0) }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(balances(&*store, f.client).await.available(), 900);
    assert_sound(&*store).await;
}

// ---- prepaid credit ----

async fn site_and_client(store: &dyn Store) -> (augure_domain::Site, User) {
    let site = store.create_site(&new_site("FR")).await.unwrap();
    let client = user(store, "client@example.fr").await;
    (site, client)
}

pub async fn credit_packs_are_listed_per_site_cheapest_first(store: Arc<dyn Store>) {
    let (site, _) = site_and_client(&*store).await;
    let other = store.create_site(&new_site("BE")).await.unwrap();
    let chf = |m| Money::new(m, Currency::Chf);
    let big = store.create_credit_pack(site.id, chf(5000), chf(800), t0()).await.unwrap();
    let small = store.create_credit_pack(site.id, chf(1000), chf(0), t0()).await.unwrap();
    store.create_credit_pack(other.id, chf(2000), chf(0), t0()).await.unwrap();
    let listed = store.credit_packs(site.id).await.unwrap();
    assert_eq!(listed, [small.clone(), big.clone()]);
    assert_eq!(store.credit_pack(big.id).await.unwrap().bonus, chf(800));
    assert!(matches!(store.credit_pack(9999).await, Err(StoreError::NotFound)));
    store.set_credit_pack_active(small.id, false).await.unwrap();
    assert_eq!(
        store.credit_packs(site.id).await.unwrap(),
        std::slice::from_ref(&big),
        "a withdrawn pack is not on sale"
    );
    assert_eq!(store.all_credit_packs().await.unwrap().len(), 3);
    assert!(!store.credit_pack(small.id).await.unwrap().active);
    assert!(matches!(store.set_credit_pack_active(9999, true).await, Err(StoreError::NotFound)));
}

pub async fn a_purchase_is_paid_once(store: Arc<dyn Store>) {
    let (site, client) = site_and_client(&*store).await;
    let pack = store
        .create_credit_pack(site.id, Money::new(2000, Currency::Chf), Money::new(200, Currency::Chf), t0())
        .await
        .unwrap();
    let p = store.create_purchase(client.id, &pack, t0()).await.unwrap();
    assert_eq!((p.status, p.price.minor, p.bonus.minor, p.refunded.minor), (PurchaseStatus::Pending, 2000, 200, 0));
    store.set_checkout_session(p.id, "cs_1").await.unwrap();
    assert!(matches!(store.set_checkout_session(p.id, "cs_2").await, Err(StoreError::Conflict(_))));
    assert!(store.mark_purchase_paid(p.id, "pi_1", t0()).await.unwrap());
    assert!(!store.mark_purchase_paid(p.id, "pi_2", t0()).await.unwrap());
    let paid = store.purchase(p.id).await.unwrap();
    assert_eq!(
        (paid.status, paid.payment_ref.as_deref(), paid.checkout_session.as_deref()),
        (PurchaseStatus::Paid, Some("pi_1"), Some("cs_1"))
    );
    assert_eq!(paid.paid_at, Some(t0()));
    assert_eq!(store.user_purchases(client.id, 10).await.unwrap(), std::slice::from_ref(&paid));
    assert_eq!(store.recent_purchases(10, 0).await.unwrap(), [paid]);
}

/// A purchase of a 20.00 CHF pack (its status does not matter to refunds' bookkeeping).
async fn purchase_of_20_chf(store: &dyn Store) -> Purchase {
    let (site, client) = site_and_client(store).await;
    let pack = store
        .create_credit_pack(site.id, Money::new(2000, Currency::Chf), Money::zero(Currency::Chf), t0())
        .await
        .unwrap();
    store.create_purchase(client.id, &pack, t0()).await.unwrap()
}

pub async fn refunds_and_provider_events_are_recorded_once(store: Arc<dyn Store>) {
    let p = purchase_of_20_chf(&*store).await;
    let reserve = |key: &'static str, amount| {
        let store = store.clone();
        async move { store.reserve_refund(p.id, key, amount, t0()).await.unwrap() }
    };
    assert_eq!(reserve("r1", 1500).await, RefundReservation::Reserved);
    let r1 = Refund { purchase_id: p.id, key: "r1".into(), amount: 1500, status: RefundStatus::Pending };
    assert_eq!(reserve("r1", 1500).await, RefundReservation::Existing(r1.clone()), "a key reserves once");
    assert_eq!(reserve("r2", 600).await, RefundReservation::Exceeds { refundable: 500 }, "pending ones count");
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1500);
    store.finish_refund("r1", RefundStatus::Done).await.unwrap();
    store.finish_refund("r1", RefundStatus::Failed).await.unwrap();
    assert_eq!(store.refund_by_key("r1").await.unwrap(), Some(Refund { status: RefundStatus::Done, ..r1 }));
    // Withdrawn before any money moved, a reservation frees its amount; refused, too.
    assert_eq!(reserve("r3", 500).await, RefundReservation::Reserved);
    store.cancel_refund("r3").await.unwrap();
    assert_eq!(store.refund_by_key("r3").await.unwrap(), None);
    assert_eq!(reserve("r4", 500).await, RefundReservation::Reserved);
    store.finish_refund("r4", RefundStatus::Failed).await.unwrap();
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1500);
    assert_eq!(reserve("r5", 500).await, RefundReservation::Reserved);
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 2000);
    let r5 = Refund { purchase_id: p.id, key: "r5".into(), amount: 500, status: RefundStatus::Pending };
    assert_eq!(store.pending_refunds(10).await.unwrap(), [r5], "done, failed and withdrawn ones are not pending");
    assert!(store.record_payment_event("evt_1", "checkout.session.completed", t0()).await.unwrap());
    assert!(!store.record_payment_event("evt_1", "checkout.session.completed", t0()).await.unwrap());
}

pub async fn concurrent_refunds_never_exceed_the_price(store: Arc<dyn Store>) {
    let p = purchase_of_20_chf(&*store).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_refund(p.id, &format!("r{i}"), 300, t0()).await.unwrap() })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        if task.await.unwrap() == RefundReservation::Reserved {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 6, "⌊2000 / 300⌋ refunds fit in the price");
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1800);
}

pub async fn an_idempotent_response_keeps_the_first_answer(store: Arc<dyn Store>) {
    let client = user(&*store, "client@example.fr").await;
    assert_eq!(store.stored_response(client.id, "k").await.unwrap(), None);
    let first = StoredResponse { request_hash: "h1".into(), status: 201, body: "{\"id\":1}".into() };
    store.store_response(client.id, "k", &first, t0()).await.unwrap();
    let second = StoredResponse { request_hash: "h2".into(), status: 500, body: "x".into() };
    store.store_response(client.id, "k", &second, t0()).await.unwrap();
    assert_eq!(store.stored_response(client.id, "k").await.unwrap(), Some(first));
    let other = user(&*store, "other@example.fr").await;
    assert_eq!(store.stored_response(other.id, "k").await.unwrap(), None, "keys are per caller");
}

/// Generates one `#[tokio::test]` per conformance function. `$fresh` is an async block
/// yielding `Option<Arc<dyn Store>>` on a fresh database; `None` skips (it prints why).
fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn slot(date: chrono::NaiveDate, start: (u32, u32), end: (u32, u32)) -> augure_domain::planning::PlannedSlot {
    let t = |(h, m): (u32, u32)| chrono::NaiveTime::from_hms_opt(h, m, 0).expect("time");
    augure_domain::planning::PlannedSlot { date, start: t(start), end: t(end) }
}

pub async fn planning_lists_the_slots_of_a_date_range_in_order(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    let other = user(&*store, "orion@example.fr").await;
    let (d1, d2, d3) = (day(2026, 11, 22), day(2026, 11, 23), day(2026, 12, 7));
    assert!(store.planning(luna.id, d1, d3).await.unwrap().is_empty());
    store.replace_planning_day(luna.id, d2, &[slot(d2, (14, 0), (18, 30)), slot(d2, (9, 0), (12, 0))]).await.unwrap();
    store.replace_planning_day(luna.id, d1, &[slot(d1, (20, 0), (0, 0))]).await.unwrap();
    store.replace_planning_day(luna.id, d3, &[slot(d3, (0, 0), (0, 0))]).await.unwrap();
    store.replace_planning_day(other.id, d1, &[slot(d1, (8, 0), (9, 0))]).await.unwrap();
    let all = store.planning(luna.id, d1, d3).await.unwrap();
    assert_eq!(
        all,
        [slot(d1, (20, 0), (0, 0)), slot(d2, (9, 0), (12, 0)), slot(d2, (14, 0), (18, 30)), slot(d3, (0, 0), (0, 0))],
        "by date then start; midnight ends survive the round trip"
    );
    assert_eq!(store.planning(luna.id, d2, d2).await.unwrap().len(), 2, "both ends included");
    assert_eq!(store.planning(luna.id, day(2026, 11, 24), day(2026, 12, 6)).await.unwrap(), []);
    assert_eq!(store.planning(other.id, d1, d3).await.unwrap(), [slot(d1, (8, 0), (9, 0))]);
    let everyone = store.planning_between(d1, d2).await.unwrap();
    assert_eq!(
        everyone,
        [
            (luna.id, slot(d1, (20, 0), (0, 0))),
            (luna.id, slot(d2, (9, 0), (12, 0))),
            (luna.id, slot(d2, (14, 0), (18, 30))),
            (other.id, slot(d1, (8, 0), (9, 0))),
        ],
        "every expert's days in the range, by expert then date"
    );
}

pub async fn replacing_a_planning_day_touches_that_day_only(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    let (d1, d2) = (day(2026, 11, 22), day(2026, 11, 23));
    store.replace_planning_day(luna.id, d1, &[slot(d1, (9, 0), (12, 0)), slot(d1, (14, 0), (16, 0))]).await.unwrap();
    store.replace_planning_day(luna.id, d2, &[slot(d2, (9, 0), (12, 0))]).await.unwrap();
    store.replace_planning_day(luna.id, d1, &[slot(d1, (10, 0), (11, 0))]).await.unwrap();
    assert_eq!(store.planning(luna.id, d1, d2).await.unwrap(), [slot(d1, (10, 0), (11, 0)), slot(d2, (9, 0), (12, 0))]);
    store.replace_planning_day(luna.id, d1, &[]).await.unwrap();
    assert_eq!(
        store.planning(luna.id, d1, d2).await.unwrap(),
        [slot(d2, (9, 0), (12, 0))],
        "an empty list clears the day"
    );
}

pub async fn concurrent_replacements_of_a_day_never_mix(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    let d = day(2026, 11, 22);
    let a = vec![slot(d, (8, 0), (9, 0)), slot(d, (10, 0), (11, 0)), slot(d, (12, 0), (13, 0))];
    let b = vec![slot(d, (15, 0), (16, 0)), slot(d, (17, 0), (18, 0))];
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, slots) = (store.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
        tasks.push(tokio::spawn(async move { store.replace_planning_day(luna.id, d, &slots).await }));
    }
    for task in tasks {
        task.await.expect("task").expect("replace");
    }
    let stored = store.planning(luna.id, d, d).await.unwrap();
    assert!(stored == a || stored == b, "one whole day, not a mix: {stored:?}");
}

pub async fn a_back_alert_is_pending_once_per_client_and_expert(store: Arc<dyn Store>) {
    let (claire, sam, luna, orion) = (
        user(&*store, "claire@example.fr").await,
        user(&*store, "sam@example.fr").await,
        user(&*store, "luna@example.fr").await,
        user(&*store, "orion@example.fr").await,
    );
    assert!(!store.has_back_alert(claire.id, luna.id).await.unwrap());
    assert!(store.add_back_alert(claire.id, luna.id, t0()).await.unwrap());
    assert!(!store.add_back_alert(claire.id, luna.id, t0() + Duration::minutes(1)).await.unwrap(), "idempotent");
    assert!(store.add_back_alert(sam.id, luna.id, t0() + Duration::minutes(2)).await.unwrap());
    assert!(store.add_back_alert(claire.id, orion.id, t0()).await.unwrap());
    assert!(store.has_back_alert(claire.id, luna.id).await.unwrap());
    assert!(!store.has_back_alert(luna.id, claire.id).await.unwrap(), "direction matters");
    let pending = store.pending_back_alerts(luna.id).await.unwrap();
    let clients: Vec<_> = pending.iter().map(|a| a.client_id).collect();
    assert_eq!(clients, [claire.id, sam.id], "oldest first");
    assert_eq!(pending[0].created_at, t0(), "the first ask is kept");
    assert!(pending.iter().all(|a| a.expert_id == luna.id && a.notified_at.is_none()));
}

pub async fn back_alerts_are_taken_once_then_can_be_asked_again(store: Arc<dyn Store>) {
    let (claire, sam, luna, orion) = (
        user(&*store, "claire@example.fr").await,
        user(&*store, "sam@example.fr").await,
        user(&*store, "luna@example.fr").await,
        user(&*store, "orion@example.fr").await,
    );
    store.add_back_alert(claire.id, luna.id, t0()).await.unwrap();
    store.add_back_alert(sam.id, luna.id, t0()).await.unwrap();
    store.add_back_alert(claire.id, orion.id, t0()).await.unwrap();
    let at = t0() + Duration::hours(1);
    let taken = store.mark_back_alerts_notified(luna.id, at).await.unwrap();
    assert_eq!(taken.iter().map(|a| a.client_id).collect::<Vec<_>>(), [claire.id, sam.id]);
    assert!(taken.iter().all(|a| a.notified_at == Some(at)));
    assert!(store.mark_back_alerts_notified(luna.id, at).await.unwrap().is_empty(), "taken once");
    assert!(store.pending_back_alerts(luna.id).await.unwrap().is_empty());
    assert!(!store.has_back_alert(claire.id, luna.id).await.unwrap());
    assert!(store.has_back_alert(claire.id, orion.id).await.unwrap(), "another expert's alerts stay");
    // Once told, a client may ask again for the next return.
    assert!(store.add_back_alert(claire.id, luna.id, at).await.unwrap());
    assert_eq!(store.pending_back_alerts(luna.id).await.unwrap().len(), 1);
}

pub async fn concurrent_workers_take_each_back_alert_once(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    for i in 0..20 {
        let client = user(&*store, &format!("client{i}@example.fr")).await;
        store.add_back_alert(client.id, luna.id, t0()).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.mark_back_alerts_notified(luna.id, t0()).await }));
    }
    let mut taken = Vec::new();
    for task in tasks {
        taken.extend(task.await.expect("task").expect("mark").into_iter().map(|a| a.id));
    }
    let count = taken.len();
    taken.sort_unstable();
    taken.dedup();
    assert_eq!((count, taken.len()), (20, 20), "every alert taken exactly once");
}

#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@each $fresh;
            ping_answers,
            site_round_trips_with_its_tariffs,
            sites_list_in_creation_order,
            duplicate_site_code_conflicts,
            unknown_site_is_not_found,
            user_round_trips,
            duplicate_email_conflicts,
            duplicate_expert_code_conflicts,
            clients_share_no_expert_code,
            unknown_user_is_not_found,
            users_list_by_role_with_paging,
            user_locale_changes,
            expert_profile_round_trips_and_is_replaced,
            expert_presence_is_saved_and_listed_in_the_directory,
            bank_details_are_saved_and_mark_the_presence,
            media_waits_for_moderation_and_publishes_the_latest_approved,
            expert_details_round_trip_and_specialties_are_managed,
            session_finds_its_user_until_it_expires,
            deleted_session_is_gone,
            expired_sessions_are_purged,
            reset_sets_password_and_signs_out_everywhere,
            reset_link_works_once,
            using_one_reset_link_voids_the_others,
            expired_reset_link_changes_nothing,
            unknown_reset_link_is_not_found,
            mail_is_recorded_once_per_key,
            mail_lists_newest_first_and_by_recipient,
            enqueue_with_the_same_key_is_idempotent,
            job_round_trips,
            only_due_jobs_are_claimed,
            a_job_whose_lease_ran_out_is_claimed_again,
            completed_job_is_done_and_not_claimed,
            failed_job_is_retried_at_the_given_time_or_given_up,
            concurrent_workers_never_share_a_job,
            ledger_account_exists_once_per_owner_kind_and_currency,
            posted_transfer_moves_money_and_is_audited,
            overdraft_is_refused_and_changes_nothing,
            a_replayed_key_returns_the_first_transfer,
            a_hold_is_posted_in_part_and_the_rest_released,
            a_voided_hold_releases_everything,
            expired_holds_are_listed_and_released,
            linked_transfers_succeed_or_fail_together,
            a_batch_of_a_hundred_transfers_commits_at_once,
            an_account_history_is_newest_first_and_stops_at_the_limit,
            a_batch_mixing_new_repeated_and_stored_transfers,
            concurrent_spending_never_overdraws,
            concurrent_replays_of_one_key_move_money_once,
            credit_packs_are_listed_per_site_cheapest_first,
            a_purchase_is_paid_once,
            refunds_and_provider_events_are_recorded_once,
            concurrent_refunds_never_exceed_the_price,
            an_idempotent_response_keeps_the_first_answer,
            planning_lists_the_slots_of_a_date_range_in_order,
            replacing_a_planning_day_touches_that_day_only,
            concurrent_replacements_of_a_day_never_mix,
            a_back_alert_is_pending_once_per_client_and_expert,
            back_alerts_are_taken_once_then_can_be_asked_again,
            concurrent_workers_take_each_back_alert_once,
        );
    };
    (@each $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = $fresh.await {
                    $crate::conformance::$name(store).await;
                }
            }
        )*
    };
}

/// What a suite does when the service it needs (PostgreSQL, Chromium, an SMTP sink) is not
/// there: on a laptop it skips with the reason; with `CI=true` it fails, because CI must
/// run every suite.
pub fn service_missing<T>(service: &str, reason: impl std::fmt::Display) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{service} is required when CI=true: {reason}");
    }
    eprintln!("skipped: {service} unavailable ({reason})");
    None
}

/// The last migration that kept ledger entries in their own table.
pub const MIGRATIONS_WITH_ENTRIES_TABLE: i64 = 9;

/// Ledger rows as stored up to [`MIGRATIONS_WITH_ENTRIES_TABLE`]: three accounts (ids 1–3),
/// a posted transfer 1 → 2, a hold 2 → 3 and its partial post, with their six entries.
pub const LEDGER_WITH_ENTRIES_TABLE: &[&str] = &[
    "INSERT INTO ledger_accounts (owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, \
     credits_posted, version, created_at) VALUES \
     ('platform', 'provider_clearing', 'EUR', 0, 0, 100, 0, 0, 1, 0), \
     ('platform', 'platform_revenue', 'EUR', 0, 0, 20, 0, 100, 3, 0), \
     ('platform', 'promotions', 'EUR', 0, 0, 0, 0, 20, 2, 0)",
    "INSERT INTO ledger_transfers (transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, mode, pending_id, pending_key, linked, created_at) VALUES \
     ('t1', 1, 2, 100, 100, 'EUR', 'test', 'posted', NULL, NULL, 0, 0), \
     ('t2', 2, 3, 30, 30, 'EUR', 'test', 'pending', NULL, NULL, 0, 0)",
    "INSERT INTO ledger_transfers (transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, mode, pending_id, pending_key, linked, created_at) VALUES \
     ('t3', 2, 3, 20, 20, 'EUR', 'test', 'post_pending', 2, 't2', 0, 0)",
    "INSERT INTO ledger_entries (account_id, version, transfer_id, debits_pending, debits_posted, credits_pending, \
     credits_posted) VALUES \
     (1, 1, 1, 0, 100, 0, 0), \
     (2, 1, 1, 0, 0, 0, 100), (2, 2, 2, 30, 0, 0, 100), (2, 3, 3, 0, 20, 0, 100), \
     (3, 1, 2, 0, 0, 30, 0), (3, 2, 3, 0, 0, 0, 20)",
];

/// On a store opened over [`LEDGER_WITH_ENTRIES_TABLE`]: the entries now on the transfers
/// audit clean, each account's history is whole, and new transfers continue the chains.
pub async fn check_ledger_after_entries_moved(store: &dyn Store) {
    assert_sound(store).await;
    let keys = |transfers: Vec<Transfer>| transfers.into_iter().map(|t| t.key).collect::<Vec<_>>();
    let (a1, a2, a3) = (ledger::AccountId(1), ledger::AccountId(2), ledger::AccountId(3));
    assert_eq!(keys(store.account_transfers(a1, 10).await.unwrap()), ["t1"]);
    assert_eq!(keys(store.account_transfers(a2, 10).await.unwrap()), ["t3", "t2", "t1"]);
    assert_eq!(keys(store.account_transfers(a3, 10).await.unwrap()), ["t3", "t2"]);
    let t4 = store.create_transfers(&[xfer("t4", a1, a2, 5)], t0()).await.unwrap().remove(0).unwrap();
    assert_eq!(t4.id, ledger::TransferId(4));
    assert_eq!(keys(store.account_transfers(a2, 2).await.unwrap()), ["t4", "t3"]);
    assert_eq!(balances(store, a2).await.credits_posted, 105);
    assert_sound(store).await;
}

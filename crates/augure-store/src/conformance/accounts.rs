//! Users, sessions and password resets.

use std::sync::Arc;

use augure_domain::{Email, ExpertCode, Role, UserId};
use chrono::Duration;

use super::{new_site, new_user, session, t0, user};
use crate::*;

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

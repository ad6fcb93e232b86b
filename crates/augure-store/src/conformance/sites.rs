//! Sites (and the store answering at all).

use std::sync::Arc;

use augure_domain::{Currency, Money, SiteCode};

use super::new_site;
use crate::*;

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

pub async fn an_admin_edits_a_site_and_its_imposed_price(store: Arc<dyn Store>) {
    let created = store.create_site(&new_site("CH")).await.unwrap();
    assert_eq!(created.imposed_per_minute, None);
    let edited = augure_domain::Site {
        name: "augure Schweiz".into(),
        phone_numbers: vec!["+41900000001".into()],
        imposed_per_minute: Some(Money::new(290, Currency::Chf)),
        ..created.clone()
    };
    store.update_site(&edited).await.unwrap();
    assert_eq!(store.site_by_code(&created.code).await.unwrap(), edited);
    let lifted = augure_domain::Site { imposed_per_minute: None, ..edited };
    store.update_site(&lifted).await.unwrap();
    assert_eq!(store.list_sites().await.unwrap(), std::slice::from_ref(&lifted));
    let unknown = augure_domain::Site { id: augure_domain::SiteId(999), ..lifted };
    assert!(matches!(store.update_site(&unknown).await, Err(StoreError::NotFound)));
}

pub async fn site_phone_numbers_are_replaced(store: Arc<dyn Store>) {
    let site = store.create_site(&new_site("CH")).await.unwrap();
    let numbers = vec!["+41446681800".to_owned(), "+41901000001".to_owned()];
    let changed = store.set_site_phone_numbers(site.id, &numbers).await.unwrap();
    assert_eq!(changed.phone_numbers, numbers);
    assert_eq!(changed.tariffs, site.tariffs, "only the numbers change");
    assert_eq!(store.site_by_code(&site.code).await.unwrap(), changed);
    let err = store.set_site_phone_numbers(augure_domain::SiteId(site.id.0 + 100), &numbers).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

//! PH-commission, AT-split: an expert's own commission per channel, set, replaced and
//! removed by an admin.

use std::sync::Arc;

use augure_domain::consultation::Channel;
use augure_domain::tariff::Rate;
use augure_domain::{Role, UserId};
use chrono::{DateTime, Duration, Utc};

use super::{new_user, t0};
use crate::*;

fn secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn bp(basis_points: u32) -> Rate {
    Rate::from_basis_points(basis_points).expect("a rate")
}

async fn expert(store: &dyn Store, email: &str) -> UserId {
    store.create_user(&new_user(email, Role::Expert)).await.expect("create expert").id
}

pub async fn an_experts_rates_are_set_replaced_and_listed_in_channel_order(store: Arc<dyn Store>) {
    let (luna, orion) = (expert(&*store, "luna@example.fr").await, expert(&*store, "orion@example.fr").await);
    assert!(store.expert_commissions(luna).await.unwrap().is_empty(), "the settings apply until an admin sets one");
    store.set_expert_commission(luna, Channel::Event, Some(bp(0)), secs(1)).await.unwrap();
    store.set_expert_commission(luna, Channel::Chat, Some(bp(2500)), secs(2)).await.unwrap();
    store.set_expert_commission(luna, Channel::Phone, Some(bp(10_000)), secs(3)).await.unwrap();
    store.set_expert_commission(luna, Channel::Chat, Some(bp(1275)), secs(4)).await.unwrap();
    store.set_expert_commission(orion, Channel::Video, Some(bp(2000)), secs(5)).await.unwrap();
    assert_eq!(
        store.expert_commissions(luna).await.unwrap(),
        [(Channel::Phone, bp(10_000)), (Channel::Chat, bp(1275)), (Channel::Event, bp(0))],
        "replaced in place, 0 % and 100 % kept, in the order of Channel::ALL"
    );
    assert_eq!(store.expert_commissions(orion).await.unwrap(), [(Channel::Video, bp(2000))], "a rate is its expert's");
}

pub async fn removing_a_rate_brings_the_settings_back_and_removing_none_changes_nothing(store: Arc<dyn Store>) {
    let luna = expert(&*store, "luna@example.fr").await;
    store.set_expert_commission(luna, Channel::Chat, Some(bp(2500)), secs(1)).await.unwrap();
    store.set_expert_commission(luna, Channel::Email, Some(bp(2000)), secs(2)).await.unwrap();
    store.set_expert_commission(luna, Channel::Chat, None, secs(3)).await.unwrap();
    assert_eq!(store.expert_commissions(luna).await.unwrap(), [(Channel::Email, bp(2000))]);
    store.set_expert_commission(luna, Channel::Chat, None, secs(4)).await.expect("removing no rate is fine");
    store.set_expert_commission(luna, Channel::Email, None, secs(5)).await.unwrap();
    assert!(store.expert_commissions(luna).await.unwrap().is_empty());
    store.set_expert_commission(luna, Channel::Chat, Some(bp(3500)), secs(6)).await.unwrap();
    assert_eq!(store.expert_commissions(luna).await.unwrap(), [(Channel::Chat, bp(3500))], "and set again");
}

pub async fn a_rate_for_an_unknown_user_is_not_found(store: Arc<dyn Store>) {
    let luna = expert(&*store, "luna@example.fr").await;
    let nobody = UserId(luna.0 + 1000);
    let refused = store.set_expert_commission(nobody, Channel::Chat, Some(bp(2500)), secs(1)).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert!(store.expert_commissions(nobody).await.unwrap().is_empty());
    store.set_expert_commission(nobody, Channel::Chat, None, secs(2)).await.expect("nothing to remove");
}

pub async fn concurrent_settings_of_one_channel_leave_one_of_the_rates(store: Arc<dyn Store>) {
    let luna = expert(&*store, "luna@example.fr").await;
    let mut tasks = Vec::new();
    for n in 0..8_u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.set_expert_commission(luna, Channel::Chat, Some(bp(1000 + n)), secs(i64::from(n))).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let rates = store.expert_commissions(luna).await.unwrap();
    assert_eq!(rates.len(), 1, "one row per expert and channel: {rates:?}");
    assert!((1000..1008).contains(&rates[0].1.basis_points()), "{rates:?}");
}

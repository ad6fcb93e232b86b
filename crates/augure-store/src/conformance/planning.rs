//! Planning days and back alerts.

use std::sync::Arc;

use chrono::Duration;

use super::{t0, user};
use crate::*;

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

/// SP-planning: a night slot (22:00–02:00) is kept on the day it starts, with its end on
/// the next day, on both engines.
pub async fn a_night_slot_is_kept_with_its_end_on_the_next_day(store: Arc<dyn Store>) {
    let luna = user(&*store, "luna@example.fr").await;
    let (d1, d2) = (day(2026, 11, 22), day(2026, 11, 23));
    let night = slot(d1, (22, 0), (2, 0));
    assert_eq!(night.minutes(), (1320, 1560));
    store.replace_planning_day(luna.id, d1, &[slot(d1, (9, 0), (12, 0)), night]).await.unwrap();
    store.replace_planning_day(luna.id, d2, &[slot(d2, (2, 0), (5, 0))]).await.unwrap();
    assert_eq!(
        store.planning(luna.id, d1, d2).await.unwrap(),
        [slot(d1, (9, 0), (12, 0)), night, slot(d2, (2, 0), (5, 0))],
        "the night stays on its first day, ordered by its start"
    );
    assert_eq!(store.planning_between(d1, d1).await.unwrap(), [(luna.id, slot(d1, (9, 0), (12, 0))), (luna.id, night)]);
    // The whole day is the longest slot there is.
    let whole = [slot(d2, (0, 0), (0, 0))];
    store.replace_planning_day(luna.id, d2, &whole).await.unwrap();
    assert_eq!(store.planning(luna.id, d2, d2).await.unwrap(), whole);
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

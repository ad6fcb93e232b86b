//! SPEC §11: each user's notification list.

use std::sync::Arc;

use augure_domain::ids::NotificationId;
use chrono::Duration;

use super::{t0, user};
use crate::*;

fn notice(user: &User, key: &str, minutes: i64) -> NewNotification {
    NewNotification {
        key: key.into(),
        user_id: user.id,
        kind: "mail".into(),
        title: "Bienvenue sur augure — été".into(),
        body: "Votre compte est créé.".into(),
        link: Some("/experts/3482".into()),
        created_at: t0() + Duration::minutes(minutes),
    }
}

fn ids(list: &[Notification]) -> Vec<NotificationId> {
    list.iter().map(|n| n.id).collect()
}

pub async fn a_notification_is_recorded_once_per_user_and_key(store: Arc<dyn Store>) {
    let (marie, paul) = (user(&*store, "marie@example.fr").await, user(&*store, "paul@example.fr").await);
    let first = store.record_notification(&notice(&marie, "mail:job-1", 0)).await.unwrap();
    assert_eq!((first.title.as_str(), first.link.as_deref()), ("Bienvenue sur augure — été", Some("/experts/3482")));
    assert_eq!((first.created_at, first.read_at), (t0(), None));
    // A job run again records nothing, even with other words.
    let again = NewNotification { title: "autre".into(), ..notice(&marie, "mail:job-1", 5) };
    assert_eq!(store.record_notification(&again).await.unwrap(), first);
    assert_eq!(store.notifications(marie.id, 10).await.unwrap(), std::slice::from_ref(&first));
    // The key is per user: the same event can notify both sides.
    let other = store.record_notification(&NewNotification { link: None, ..notice(&paul, "mail:job-1", 0) }).await;
    let other = other.unwrap();
    assert_ne!(other.id, first.id);
    assert_eq!(other.link, None);
    assert_eq!(store.unread_notifications(marie.id).await.unwrap(), 1);
    assert_eq!(store.unread_notifications(paul.id).await.unwrap(), 1);
}

pub async fn notifications_list_newest_first_for_their_user_only(store: Arc<dyn Store>) {
    let (marie, paul) = (user(&*store, "marie@example.fr").await, user(&*store, "paul@example.fr").await);
    let mut recorded = Vec::new();
    for i in 0..3 {
        recorded.push(store.record_notification(&notice(&marie, &format!("k{i}"), i)).await.unwrap());
    }
    store.record_notification(&notice(&paul, "k9", 9)).await.unwrap();
    let listed = store.notifications(marie.id, 2).await.unwrap();
    assert_eq!(ids(&listed), [recorded[2].id, recorded[1].id]);
    assert!(listed.iter().all(|n| n.user_id == marie.id));
    assert_eq!(store.notifications(marie.id, 10).await.unwrap().len(), 3);
    assert_eq!(store.unread_notifications(marie.id).await.unwrap(), 3);
}

pub async fn notifications_are_marked_read_by_id_for_their_owner_only(store: Arc<dyn Store>) {
    let (marie, paul) = (user(&*store, "marie@example.fr").await, user(&*store, "paul@example.fr").await);
    let a = store.record_notification(&notice(&marie, "a", 0)).await.unwrap();
    let b = store.record_notification(&notice(&marie, "b", 1)).await.unwrap();
    let theirs = store.record_notification(&notice(&paul, "c", 2)).await.unwrap();
    let at = t0() + Duration::hours(1);
    // Someone else's id and an unknown one change nothing.
    let changed = store.mark_notifications_read(marie.id, &[a.id, theirs.id, NotificationId(999_999)], at).await;
    assert_eq!(changed.unwrap(), 1);
    assert_eq!(store.mark_notifications_read(marie.id, &[a.id], at + Duration::hours(1)).await.unwrap(), 0);
    let listed = store.notifications(marie.id, 10).await.unwrap();
    assert_eq!(listed.iter().map(|n| (n.id, n.read_at)).collect::<Vec<_>>(), [(b.id, None), (a.id, Some(at))]);
    assert_eq!(store.unread_notifications(paul.id).await.unwrap(), 1);
    assert_eq!(store.mark_notifications_read(marie.id, &[], at).await.unwrap(), 0);
}

pub async fn marking_all_read_stops_at_what_was_seen(store: Arc<dyn Store>) {
    let (marie, paul) = (user(&*store, "marie@example.fr").await, user(&*store, "paul@example.fr").await);
    let a = store.record_notification(&notice(&marie, "a", 0)).await.unwrap();
    let b = store.record_notification(&notice(&marie, "b", 1)).await.unwrap();
    let c = store.record_notification(&notice(&marie, "c", 2)).await.unwrap();
    store.record_notification(&notice(&paul, "p", 0)).await.unwrap();
    let at = t0() + Duration::hours(1);
    // The page showed up to `b`: `c` came after and stays new.
    assert_eq!(store.mark_all_notifications_read(marie.id, Some(b.id), at).await.unwrap(), 2);
    assert_eq!(store.unread_notifications(marie.id).await.unwrap(), 1);
    let unread: Vec<_> =
        store.notifications(marie.id, 10).await.unwrap().into_iter().filter(|n| n.is_unread()).collect();
    assert_eq!(ids(&unread), [c.id]);
    assert_eq!(store.mark_all_notifications_read(marie.id, None, at).await.unwrap(), 1);
    assert_eq!(store.unread_notifications(marie.id).await.unwrap(), 0);
    // What was read first keeps its time.
    let first = store.notifications(marie.id, 10).await.unwrap().into_iter().find(|n| n.id == a.id).unwrap();
    assert_eq!(first.read_at, Some(at));
    assert_eq!(store.unread_notifications(paul.id).await.unwrap(), 1, "another user's stay unread");
}

/// Read notifications go after the retention period, in batches; unread ones stay.
pub async fn old_read_notifications_are_purged_and_unread_ones_kept(store: Arc<dyn Store>) {
    let marie = user(&*store, "marie@example.fr").await;
    let mut old_read = Vec::new();
    for key in ["r1", "r2", "r3"] {
        old_read.push(store.record_notification(&notice(&marie, key, 0)).await.unwrap().id);
    }
    let old_unread = store.record_notification(&notice(&marie, "u", 0)).await.unwrap();
    let recent_read = store.record_notification(&notice(&marie, "n", 60 * 24 * 10)).await.unwrap();
    old_read.push(recent_read.id);
    store.mark_notifications_read(marie.id, &old_read, t0() + Duration::days(11)).await.unwrap();
    let cut = t0() + Duration::days(5);
    assert_eq!(store.purge_read_notifications(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_read_notifications(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_read_notifications(cut, 2).await.unwrap(), 0);
    let left = store.notifications(marie.id, 10).await.unwrap();
    assert_eq!(ids(&left), [recent_read.id, old_unread.id]);
    // A purged key is free again: nothing stands for it any more.
    store.record_notification(&notice(&marie, "r1", 0)).await.unwrap();
    assert_eq!(store.notifications(marie.id, 10).await.unwrap().len(), 3);
}

//! The SMS outbox.

use std::sync::Arc;

use super::t0;
use crate::*;

fn sms(key: &str, minutes: i64) -> OutboxSms {
    OutboxSms {
        key: key.into(),
        to: "+33612345678".into(),
        text: "Luna est de nouveau disponible — à bientôt".into(),
        created_at: t0() + chrono::Duration::minutes(minutes),
    }
}

pub async fn an_sms_is_recorded_once_per_key_and_listed_newest_first(store: Arc<dyn Store>) {
    let first = store.record_sms(&sms("job-1", 0)).await.unwrap();
    assert_eq!(store.record_sms(&sms("job-1", 5)).await.unwrap(), first);
    store.record_sms(&sms("job-2", 1)).await.unwrap();
    store.record_sms(&sms("job-3", 2)).await.unwrap();
    let listed = store.list_sms(2, 0).await.unwrap();
    assert_eq!(listed.iter().map(|s| s.sms.key.as_str()).collect::<Vec<_>>(), ["job-3", "job-2"]);
    let last = store.list_sms(2, 2).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!((last[0].id, &last[0].sms), (first, &sms("job-1", 0)));
}

pub async fn old_sms_are_purged_in_batches(store: Arc<dyn Store>) {
    for key in ["k1", "k2", "k3"] {
        store.record_sms(&sms(key, 0)).await.unwrap();
    }
    store.record_sms(&sms("k4", 60 * 24 * 10)).await.unwrap();
    let cut = t0() + chrono::Duration::days(5);
    assert_eq!(store.purge_sms(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_sms(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_sms(cut, 2).await.unwrap(), 0);
    let left: Vec<_> = store.list_sms(10, 0).await.unwrap().into_iter().map(|s| s.sms.key).collect();
    assert_eq!(left, ["k4"]);
}

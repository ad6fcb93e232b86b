//! The mail outbox.

use std::sync::Arc;

use super::t0;
use crate::*;

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

/// B11: the outbox keeps mail recorded since the cut-off only.
pub async fn old_mail_is_purged_in_batches(store: Arc<dyn Store>) {
    for key in ["k1", "k2", "k3"] {
        store.record_mail(&mail(key, "a@example.fr")).await.unwrap();
    }
    let recent = OutboxMail { created_at: t0() + chrono::Duration::days(10), ..mail("k4", "a@example.fr") };
    store.record_mail(&recent).await.unwrap();
    let cut = t0() + chrono::Duration::days(5);
    assert_eq!(store.purge_mail(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_mail(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_mail(cut, 2).await.unwrap(), 0);
    let left: Vec<_> = store.list_mail(10, 0).await.unwrap().into_iter().map(|m| m.mail.key).collect();
    assert_eq!(left, ["k4"]);
    // A key purged is free again: nothing stands for the mail any more.
    store.record_mail(&mail("k1", "a@example.fr")).await.unwrap();
    assert_eq!(store.list_mail(10, 0).await.unwrap().len(), 2);
}

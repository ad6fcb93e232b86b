//! Forgetting on schedule: finished jobs, outbox mail and SMS, read notifications,
//! provider event ids, idempotency records, expired sessions and chat transcripts are only useful for a
//! while (`[retention]`). The job
//! runner calls [`Retention::purge`] every `retention.purge_minutes`; it reads the
//! injected clock, so tests purge by moving the fake clock.

use std::sync::Arc;

use augure_domain::Clock;
use augure_store::{Store, StoreResult};
use chrono::Duration;

use crate::settings::RetentionSettings;

/// Rows deleted per statement: each batch is a short write, so the SQLite writer is never
/// held long however much piled up.
const BATCH: i64 = 500;

#[derive(Clone)]
pub struct Retention {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: RetentionSettings,
    /// SP-chat: transcripts and their images are kept this long.
    chat_days: u32,
}

/// What one purge deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub jobs: u64,
    pub mails: u64,
    pub sms: u64,
    pub notifications: u64,
    pub payment_events: u64,
    pub idempotency: u64,
    pub sessions: u64,
    pub chat_messages: u64,
}

impl Retention {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: RetentionSettings, chat_days: u32) -> Self {
        Self { store, clock, settings, chat_days }
    }

    pub fn every(&self) -> Duration {
        Duration::minutes(i64::from(self.settings.purge_minutes.max(1)))
    }

    /// Deletes everything older than its setting.
    pub async fn purge(&self) -> StoreResult<PurgeReport> {
        let now = self.clock.now();
        let s = &self.settings;
        let before = |days: u32| now - Duration::days(i64::from(days.max(1)));
        let retries = |days: u32| before(days.max(RetentionSettings::RETRY_WINDOW_DAYS));
        let store = &*self.store;
        let report = PurgeReport {
            jobs: batched(|n| store.purge_finished_jobs(before(s.finished_jobs_days), n)).await?,
            mails: batched(|n| store.purge_mail(before(s.outbox_days), n)).await?,
            sms: batched(|n| store.purge_sms(before(s.outbox_days), n)).await?,
            notifications: batched(|n| store.purge_read_notifications(before(s.notifications_days), n)).await?,
            payment_events: batched(|n| store.purge_payment_events(retries(s.payment_events_days), n)).await?,
            idempotency: batched(|n| store.purge_responses(retries(s.idempotency_days), n)).await?,
            sessions: store.delete_expired_sessions(now).await?,
            chat_messages: batched(|n| store.purge_chat_messages(before(self.chat_days), n)).await?,
        };
        Ok(report)
    }
}

/// Repeats `purge` while it fills a batch.
async fn batched<F, Fut>(purge: F) -> StoreResult<u64>
where
    F: Fn(i64) -> Fut,
    Fut: Future<Output = StoreResult<u64>>,
{
    let mut total = 0;
    loop {
        let n = purge(BATCH).await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}

//! The SMS outbox: the local stand-in for an SMS provider, read on the admin's outbox page.

use async_trait::async_trait;
use augure_domain::ids::SmsId;
use chrono::{DateTime, Utc};

use crate::StoreResult;

#[async_trait]
pub trait SmsStore {
    /// Records a text message once per `key`: a second call with the same key returns the
    /// first one's id and records nothing.
    async fn record_sms(&self, sms: &OutboxSms) -> StoreResult<SmsId>;
    /// Newest first.
    async fn list_sms(&self, limit: i64, offset: i64) -> StoreResult<Vec<StoredSms>>;
    /// Deletes at most `limit` messages recorded before `before`; returns how many.
    async fn purge_sms(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSms {
    /// Idempotency key: the same key is recorded (and sent) once.
    pub key: String,
    /// The destination number, E.164 (`+33612345678`).
    pub to: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSms {
    pub id: SmsId,
    pub sms: OutboxSms,
}

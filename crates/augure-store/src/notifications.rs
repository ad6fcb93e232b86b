//! SPEC §11: each user's notification list. Its own store, not the outboxes: outboxes are
//! purged on their own schedule, and with SMTP nothing is kept in one.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_domain::ids::NotificationId;
use chrono::{DateTime, Utc};

use crate::StoreResult;

#[async_trait]
pub trait NotificationStore {
    /// Records a notification once per user and key: a second call with the same user and
    /// key returns the first one, unchanged, and records nothing.
    async fn record_notification(&self, notification: &NewNotification) -> StoreResult<Notification>;
    /// The user's notifications, newest first, at most `limit`.
    async fn notifications(&self, user: UserId, limit: i64) -> StoreResult<Vec<Notification>>;
    /// How many of the user's notifications are unread.
    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64>;
    /// Marks these notifications of `user` read at `at`; ids of other users' notifications,
    /// unknown ones and ones already read are left alone. Returns how many changed.
    async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: &[NotificationId],
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Marks every unread notification of `user` read at `at`, up to `up_to` included when
    /// given (what the person saw; newer ones stay unread). Returns how many changed.
    async fn mark_all_notifications_read(
        &self,
        user: UserId,
        up_to: Option<NotificationId>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Deletes at most `limit` read notifications recorded before `before`; unread ones stay
    /// whatever their age. Returns how many went.
    async fn purge_read_notifications(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotification {
    /// Idempotency key, per user: `mail:job-17`, `consultation-ended:42`.
    pub key: String,
    pub user_id: UserId,
    /// What it is about, a short code: `mail`, `sms`, `ring_missed`…
    pub kind: String,
    /// Already in the user's language.
    pub title: String,
    pub body: String,
    /// A path on this site (`/experts/3482`), never a full URL.
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `None` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }
}

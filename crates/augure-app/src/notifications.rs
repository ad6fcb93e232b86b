//! SPEC §11: "every notification is also visible in the web dashboard". Each user has a
//! list: every mail and SMS the job runner hands to its port is recorded there (under the
//! job's key, so a job run twice records one), and other alerts are recorded directly
//! with [`Notifications::notify`]. Reading the list never marks it read: a person sees
//! what is new, then marks it so.

use std::sync::Arc;

use augure_domain::ids::NotificationId;
use augure_domain::{Clock, Email, UserId};
use augure_store::{NewNotification, Notification, OutboxMail, OutboxSms, Store, StoreError, StoreResult};

use crate::mail::MailNotice;

/// How many notifications a list shows: the newest.
pub const LIST_LIMIT: i64 = 100;
/// How many ids one "mark read" may name.
pub const MAX_IDS: usize = 500;
const TITLE_MAX_CHARS: usize = 200;
const BODY_MAX_CHARS: usize = 2000;

/// An alert for a user's list, already in their language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Recording twice under one key (per user) records once: `ring-missed:42`.
    pub key: String,
    /// What it is about, a short code (`ring_missed`, `review_invitation`,
    /// `consultation_ended`…): lowercase letters, digits and `_`. The page names the
    /// kinds the translations know (`notification-kind-…`).
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A page of this site (`/experts/3482`); a full URL of the site is cut to its path.
    pub link: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("not a notification kind: {0:?}")]
    Kind(String),
    #[error("a notification needs a key and a title")]
    Empty,
    #[error("a notification links within the site only: {0:?}")]
    Link(String),
    #[error("at most {0} notifications at once")]
    TooManyIds(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user's list as pages and the API show it.
#[derive(Clone, Debug)]
pub struct Inbox {
    pub unread: i64,
    /// Newest first, at most [`LIST_LIMIT`].
    pub items: Vec<Notification>,
}

#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Notifications {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Records `notice` in `user`'s list, once per key.
    pub async fn notify(&self, user: UserId, notice: Notice) -> Result<Notification, NotificationError> {
        let valid_kind = notice.kind.len() <= 40
            && notice.kind.starts_with(|c: char| c.is_ascii_lowercase())
            && notice.kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_kind {
            return Err(NotificationError::Kind(notice.kind));
        }
        if notice.key.trim().is_empty() || notice.title.trim().is_empty() {
            return Err(NotificationError::Empty);
        }
        let link = match notice.link {
            Some(url) => Some(crate::mail::local_path(&url).ok_or(NotificationError::Link(url))?),
            None => None,
        };
        let recorded = self
            .store
            .record_notification(&NewNotification {
                key: notice.key,
                user_id: user,
                kind: notice.kind,
                title: cut(notice.title.trim(), TITLE_MAX_CHARS),
                body: cut(notice.body.trim(), BODY_MAX_CHARS),
                link,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(recorded)
    }

    /// The user's newest notifications and how many are unread.
    pub async fn inbox(&self, user: UserId) -> StoreResult<Inbox> {
        let items = self.store.notifications(user, LIST_LIMIT).await?;
        Ok(Inbox { unread: self.store.unread_notifications(user).await?, items })
    }

    /// What the header shows on every signed-in page: one indexed count.
    pub async fn unread(&self, user: UserId) -> StoreResult<i64> {
        self.store.unread_notifications(user).await
    }

    /// Marks these notifications of `user` read; others' ids are ignored.
    pub async fn mark_read(&self, user: UserId, ids: &[NotificationId]) -> Result<u64, NotificationError> {
        if ids.len() > MAX_IDS {
            return Err(NotificationError::TooManyIds(MAX_IDS));
        }
        Ok(self.store.mark_notifications_read(user, ids, self.clock.now()).await?)
    }

    /// Marks every notification of `user` read, up to `up_to` included when given: the
    /// newest one the person saw, so that one arriving meanwhile stays new.
    pub async fn mark_all_read(&self, user: UserId, up_to: Option<NotificationId>) -> StoreResult<u64> {
        self.store.mark_all_notifications_read(user, up_to, self.clock.now()).await
    }

    /// A mail handed to the mailer, in its recipient's list when the recipient has an
    /// account: the subject as title, the mail's notice as text and link.
    pub(crate) async fn record_mail(&self, mail: &OutboxMail, notice: Option<&MailNotice>) -> StoreResult<()> {
        let Ok(email) = mail.to.parse::<Email>() else { return Ok(()) };
        let user = match self.store.user_by_email(&email).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        };
        let notice = Notice {
            key: format!("mail:{}", mail.key),
            kind: "mail".into(),
            title: mail.subject.clone(),
            body: notice.map(|n| n.text.clone()).unwrap_or_default(),
            link: notice.and_then(|n| n.link.clone()),
        };
        self.record(user.id, notice).await
    }

    /// A text message handed to the SMS port, in `user`'s list: its text as title (the
    /// whole text as body when the title had to be cut).
    pub(crate) async fn record_sms(&self, user: UserId, sms: &OutboxSms, link: Option<String>) -> StoreResult<()> {
        match self.store.user_by_id(user).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        }
        let title = cut(&sms.text, TITLE_MAX_CHARS);
        let body = if title == sms.text { String::new() } else { sms.text.clone() };
        self.record(user, Notice { key: format!("sms:{}", sms.key), kind: "sms".into(), title, body, link }).await
    }

    /// [`Notifications::notify`] for what the platform itself writes: a mail whose subject
    /// or link would be refused still goes out, without its entry.
    async fn record(&self, user: UserId, notice: Notice) -> StoreResult<()> {
        match self.notify(user, notice).await {
            Ok(_) => Ok(()),
            Err(NotificationError::Store(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "notification not recorded");
                Ok(())
            }
        }
    }
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn long_texts_are_cut_with_an_ellipsis() {
        assert_eq!(cut("été", 3), "été");
        assert_eq!(cut("étéété", 4), "été…");
    }
}

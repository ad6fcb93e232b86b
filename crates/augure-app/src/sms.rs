//! SMS (SPEC §11: the chat alert, "your expert is back"): a text message is queued as a
//! job, then handed to the [`Sms`] port by the job runner, like mail, so it survives a
//! crash and is retried. The local default port is the outbox the admin reads.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_domain::phone::InvalidPhone;
use augure_store::{NewJob, OutboxSms, Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const SMS_JOB: &str = "sms.deliver";

/// Where text messages go: the outbox (local default) or a provider.
#[async_trait]
pub trait Sms: Send + Sync + 'static {
    /// Sends `sms` to `sms.to` (E.164). `sms.key` is the idempotency key: sending the same
    /// key twice must not show twice in the outbox, and a provider adapter passes it on
    /// as the provider's own idempotency key.
    async fn send(&self, sms: &OutboxSms) -> Result<(), SmsError>;
    fn name(&self) -> &'static str;
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Worth retrying: the provider is down, busy or timed out.
    #[error("sms sending failed, will retry: {0}")]
    Transient(String),
    /// Retrying cannot help: the number or the message was refused.
    #[error("sms refused: {0}")]
    Permanent(String),
}

/// A text message to a user, ready to queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextMessage {
    /// Whose notification list shows it.
    pub user_id: UserId,
    /// E.164, checked by [`TextMessage::new`].
    pub to: String,
    pub text: String,
    /// The page of this site it is about, for the notification list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl TextMessage {
    /// A message to `to`, a number in E.164 (`+33612345678`); anything else is refused.
    pub fn new(user_id: UserId, to: &str, text: impl Into<String>) -> Result<Self, InvalidPhone> {
        let e164 = augure_domain::phone::to_e164(to, None)?;
        if e164 != to {
            return Err(InvalidPhone(to.to_owned()));
        }
        Ok(Self { user_id, to: e164, text: text.into(), link: None })
    }

    /// The page it is about (a full URL of this site or a path; only the path is kept).
    pub fn with_link(mut self, url: &str) -> Self {
        self.link = crate::mail::local_path(url);
        self
    }

    /// Queues the message for sending. With a `unique_key`, queueing twice sends once.
    pub async fn enqueue(&self, store: &dyn Store, unique_key: Option<String>, now: DateTime<Utc>) -> StoreResult<()> {
        let payload = serde_json::to_value(self).map_err(|e| StoreError::Backend(Box::new(e)))?;
        store.enqueue_job(&NewJob { kind: SMS_JOB.into(), payload, unique_key, run_at: now, created_at: now }).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_message_goes_to_an_e164_number_only() {
        let user = UserId(1);
        assert_eq!(TextMessage::new(user, "+33612345678", "Bonjour").unwrap().to, "+33612345678");
        for bad in ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "+999123", ""] {
            assert!(TextMessage::new(user, bad, "Bonjour").is_err(), "{bad:?} accepted");
        }
        let linked = TextMessage::new(user, "+33612345678", "x").unwrap().with_link("http://h/experts/1");
        assert_eq!(linked.link.as_deref(), Some("/experts/1"));
    }
}

//! Mail: rendered from localized templates (text + HTML), queued as a job, then handed to
//! the [`Mailer`] port by the job runner, so a mail survives a crash and is retried.

use askama::Template;
use async_trait::async_trait;
use augure_store::{NewJob, OutboxMail, Store, StoreResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::i18n::Tr;

pub const DELIVER_JOB: &str = "mail.deliver";

/// Where mail goes: the outbox (local default) or SMTP.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Delivers `mail`. Delivering the same `mail.key` twice must not show twice in the
    /// outbox; SMTP can only promise at-least-once.
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError>;
    fn name(&self) -> &'static str;
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the server is down, busy or timed out.
    #[error("mail delivery failed, will retry: {0}")]
    Transient(String),
    /// Retrying cannot help: the address or the message was refused.
    #[error("mail refused: {0}")]
    Permanent(String),
}

/// A mail ready to queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

impl Mail {
    /// Renders a text template and its HTML twin under one subject.
    pub fn render(
        to: &str,
        subject: String,
        text: &impl Template,
        html: &impl Template,
    ) -> Result<Mail, askama::Error> {
        Ok(Mail { to: to.to_owned(), subject, text_body: text.render()?, html_body: html.render()? })
    }

    /// An alert to an admin: one paragraph and a link to the page where it is dealt with.
    pub fn alert(to: &str, tr: &Tr<'_>, name: &str, body: &str, url: &str) -> Result<Mail, askama::Error> {
        let subject = tr.t("mail-admin-alert-subject");
        Mail::render(to, subject, &AlertText { tr: *tr, name, body, url }, &AlertHtml { tr: *tr, name, body, url })
    }

    /// Queues the mail for delivery. With a `unique_key`, queueing twice sends once.
    pub async fn enqueue(&self, store: &dyn Store, unique_key: Option<String>, now: DateTime<Utc>) -> StoreResult<()> {
        let payload = serde_json::to_value(self).map_err(|e| augure_store::StoreError::Backend(Box::new(e)))?;
        store
            .enqueue_job(&NewJob { kind: DELIVER_JOB.into(), payload, unique_key, run_at: now, created_at: now })
            .await?;
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "mail/welcome.txt")]
pub struct WelcomeText<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub login_url: &'a str,
    pub expert_code: Option<u32>,
}

#[derive(Template)]
#[template(path = "mail/welcome.html")]
pub struct WelcomeHtml<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub login_url: &'a str,
    pub expert_code: Option<u32>,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct ResetText<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub reset_url: &'a str,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
pub struct ResetHtml<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub reset_url: &'a str,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/admin_alert.txt")]
pub struct AlertText<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub body: &'a str,
    pub url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/admin_alert.html")]
pub struct AlertHtml<'a> {
    pub tr: Tr<'a>,
    pub name: &'a str,
    pub body: &'a str,
    pub url: &'a str,
}

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
    /// What the recipient's notification list shows of it besides the subject. Mails
    /// queued before this field existed have none (`serde(default)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<MailNotice>,
}

/// A mail's entry in its recipient's notification list: a short text and the page the
/// mail points to. Never a secret: a reset link stays in the mail only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailNotice {
    pub text: String,
    /// A path on this site (`/experts/3482`).
    pub link: Option<String>,
}

impl Mail {
    /// Renders a text template and its HTML twin under one subject.
    pub fn render(
        to: &str,
        subject: String,
        text: &impl Template,
        html: &impl Template,
    ) -> Result<Mail, askama::Error> {
        Ok(Mail { to: to.to_owned(), subject, text_body: text.render()?, html_body: html.render()?, notice: None })
    }

    /// Sets what the notification list shows: `text`, and the page of `url` (a full URL
    /// of this site or a path; only its path is kept, so the entry links within the site).
    pub fn with_notice(mut self, text: impl Into<String>, url: Option<&str>) -> Self {
        self.notice = Some(MailNotice { text: text.into(), link: url.and_then(local_path) });
        self
    }

    /// An alert to an admin: one paragraph and a link to the page where it is dealt with.
    pub fn alert(to: &str, tr: &Tr<'_>, name: &str, body: &str, url: &str) -> Result<Mail, askama::Error> {
        let subject = tr.t("mail-admin-alert-subject");
        Mail::render(to, subject, &AlertText { tr: *tr, name, body, url }, &AlertHtml { tr: *tr, name, body, url })
            .map(|mail| mail.with_notice(body, Some(url)))
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

/// The path of `url` with its query (`https://augure.example/experts/1?x=1` →
/// `/experts/1?x=1`), or `url` itself when it is already a path. `None` for anything else
/// (`//host`, `javascript:`): a notification only ever links within the site.
pub fn local_path(url: &str) -> Option<String> {
    let path = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
            &rest[rest.find('/')?..]
        }
        Some(_) => return None,
        None => url,
    };
    let path = path.split('#').next().unwrap_or_default();
    let ok =
        path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.chars().any(char::is_control);
    ok.then(|| path.to_owned())
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

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn a_notice_links_within_the_site_only() {
        assert_eq!(local_path("http://127.0.0.1:8080/experts/3482").as_deref(), Some("/experts/3482"));
        assert_eq!(
            local_path("https://augure.example/admin/purchases?x=1#top").as_deref(),
            Some("/admin/purchases?x=1")
        );
        assert_eq!(local_path("/wallet").as_deref(), Some("/wallet"));
        assert_eq!(local_path("https://augure.example").as_deref(), None);
        for bad in ["//evil.example/x", "javascript:alert(1)", "mailto:a@b.fr", "experts/1", "/\\evil.example"] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}

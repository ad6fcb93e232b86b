use std::sync::Arc;

use async_trait::async_trait;
use augure_app::mail::{MailError, Mailer};
use augure_app::settings::{SmtpSettings, SmtpTls};
use augure_store::{OutboxMail, Store};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

/// The local default: mail is kept in the database and read on the admin's outbox page.
pub struct OutboxMailer {
    store: Arc<dyn Store>,
}

impl OutboxMailer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        self.store.record_mail(mail).await.map(|_| ()).map_err(|e| MailError::Transient(e.to_string()))
    }

    fn name(&self) -> &'static str {
        "outbox"
    }
}

/// Sends through an SMTP server, as multipart text + HTML.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("mail.from {from:?}: {e}"))?;
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                .map_err(|e| format!("smtp host {}: {e}", settings.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("smtp host {}: {e}", settings.host))?,
        };
        let mut builder = builder.port(settings.port);
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        Ok(Self { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let to: Mailbox = mail.to.parse().map_err(|e| MailError::Permanent(format!("recipient {:?}: {e}", mail.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text_body.clone(), mail.html_body.clone()))
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

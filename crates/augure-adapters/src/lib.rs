//! The ports' implementations. Each provider has a local default that needs nothing
//! installed (the outboxes for mail and SMS) and a production adapter (SMTP; none for SMS
//! yet).

mod mail;
pub mod payments;
mod sms;
pub mod test_checkout;

pub mod stripe_signature;
pub mod twilio_signature;
pub mod twiml;

pub use mail::{OutboxMailer, SmtpMailer};
pub use payments::StripePayments;
pub use sms::OutboxSmsSender;
pub use test_checkout::TestPayments;

/// Installs ring as the process's TLS provider (once; later calls do nothing). HTTP clients
/// here are built without a provider of their own, so a process that makes HTTP requests
/// calls this first.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

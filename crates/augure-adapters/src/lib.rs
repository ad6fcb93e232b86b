//! The ports' implementations. Each provider has a local default that needs nothing
//! installed (the outbox for mail) and a production adapter (SMTP).

mod mail;
pub mod payments;

pub mod stripe_signature;

pub use mail::{OutboxMailer, SmtpMailer};
pub use payments::TestPayments;

//! The card processor's port, and what it tells us.

use async_trait::async_trait;
use augure_domain::Money;
use augure_store::Purchase;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The card processor, behind a port: Stripe's checkout and webhooks in production, the
/// built-in test-mode checkout by default.
#[async_trait]
pub trait Payments: Send + Sync + 'static {
    /// Opens a hosted checkout for `purchase`; the buyer is sent to the returned URL.
    async fn create_checkout(
        &self,
        purchase: &Purchase,
        success_url: &str,
        cancel_url: &str,
    ) -> Result<Checkout, PaymentError>;
    /// Sends `amount` back to the buyer's card. `key` makes a retried refund a single one
    /// for as long as the provider keeps it, and is recorded on the refund so that
    /// [`Payments::find_refund`] finds it afterwards.
    async fn refund(&self, purchase: &Purchase, amount: Money, key: &str) -> Result<(), PaymentError>;
    /// What became of the refund sent under `key`, asked before sending it again once the
    /// provider may have forgotten the key: `None` when the provider never made it.
    async fn find_refund(&self, purchase: &Purchase, key: &str) -> Result<Option<ProviderRefund>, PaymentError>;
    /// Checks a webhook's signature over the raw body and reads the event.
    fn parse_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, PaymentError>;
    /// The built-in checkout page's card form, when this provider is the local test mode.
    fn test_checkout(&self) -> Option<&dyn TestCheckout> {
        None
    }
    fn name(&self) -> &'static str;
}

/// A refund as the provider has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderRefund {
    /// Made (or on its way to the card).
    Accepted,
    /// Refused or cancelled: no money went back.
    Failed,
}

/// The local test-mode checkout: charges test cards and answers with webhooks, which it
/// signs when they are delivered (a signature is only good for a few minutes).
pub trait TestCheckout: Send + Sync {
    /// The purchase a checkout session of this provider was opened for, read from its id.
    fn purchase_id(&self, session: &str) -> Option<i64>;
    fn pay(&self, purchase: &Purchase, card: &str, attempt: u32, now: DateTime<Utc>) -> TestCardOutcome;
    /// A refund made from the provider's dashboard, bringing the payment's refunded total
    /// to `refunded_total` (the `charge.refunded` event).
    fn refund_at_provider(&self, purchase: &Purchase, refunded_total: i64, now: DateTime<Utc>) -> String;
    /// A chargeback on the payment: opened, or closed won or lost (`charge.dispute.*`).
    fn dispute(&self, purchase: &Purchase, closed: Option<bool>, now: DateTime<Utc>) -> String;
    /// The `Stripe-Signature` header for `body`, made at `now`.
    fn sign(&self, body: &str, now: DateTime<Utc>) -> String;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestCardOutcome {
    /// Paid: the provider will deliver these events (unsigned bodies), in order.
    Approved(Vec<TestEvent>),
    Declined,
    /// A transient processing error: trying again succeeds.
    RetryNeeded,
}

/// An event the test-mode provider will deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestEvent {
    pub body: String,
    /// Delivered only after `payments.test_settle_seconds`, as a delayed payment method
    /// settles (or fails) after the checkout closed.
    pub late: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    pub session_id: String,
    pub url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("invalid webhook signature: {0}")]
    BadSignature(String),
    #[error("unreadable webhook: {0}")]
    BadPayload(String),
    /// No answer, or one that says nothing of what happened (a timeout, 5xx, 429, or 409:
    /// the same key still being processed). What was asked may have been done.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// A definite refusal: nothing was done.
    #[error("refused by the payment provider: {0}")]
    Refused(String),
}

/// How an error answer of the provider's API reads. Only a definite refusal may close a
/// request: 409 says the same idempotency key is still being processed (a double submit),
/// 429 and 5xx say nothing of the outcome, so all three leave it open.
pub fn provider_error(status: u16, message: String) -> PaymentError {
    match status {
        409 | 429 | 500..=599 => PaymentError::Unavailable(format!("{status}: {message}")),
        _ => PaymentError::Refused(message),
    }
}

/// What the provider tells us, once verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    /// The provider's event id: the same event may be delivered many times.
    pub id: String,
    pub kind: PaymentEventKind,
}

/// A checkout session, as an event carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    pub purchase_id: i64,
    pub session_id: String,
    pub amount: i64,
    pub currency: String,
    pub payment_ref: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEventKind {
    /// The buyer finished the checkout: paid, or (a delayed method such as a SEPA debit)
    /// not yet, in which case the money is on its way and nothing is granted.
    CheckoutCompleted { session: SessionEvent, paid: bool },
    /// A delayed payment went through: grant the credit.
    AsyncPaymentSucceeded(SessionEvent),
    /// A delayed payment failed: the purchase fails, nothing was granted.
    AsyncPaymentFailed(SessionEvent),
    /// Refunds made at the provider bring the payment's refunded total to `refunded`.
    ChargeRefunded { payment_ref: String, refunded: i64, currency: String },
    /// A chargeback was opened on the payment for `amount`.
    DisputeOpened { dispute_id: String, payment_ref: String, amount: i64, currency: String },
    /// A chargeback was closed, won (the money comes back) or lost.
    DisputeClosed { dispute_id: String, payment_ref: String, amount: i64, currency: String, won: bool },
    /// Anything else: acknowledged, not acted on.
    Other(String),
}

//! The local default payment provider: a test-mode checkout built into augure. It charges
//! test cards and sends webhooks in Stripe's format, signed with Stripe's scheme when
//! they are delivered, so the same webhook code path runs locally, in tests and in
//! production. Like Stripe, it answers 409 to a refund whose idempotency key is still
//! being processed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use augure_app::credit::{
    Checkout, PaymentError, PaymentEvent, Payments, ProviderRefund, TestCardOutcome, TestCheckout, TestEvent,
    provider_error,
};
use augure_domain::Money;
use augure_store::Purchase;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::payments::parse_stripe_webhook;
use crate::stripe_signature::{self, DEFAULT_TOLERANCE_SECONDS, WebhookVerifier};

/// Test cards, as Stripe documents them.
pub const CARD_APPROVED: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
/// Fails once with a processing error; the retry goes through.
pub const CARD_RETRY: &str = "4000000000000119";
/// Paid, but its refunds are refused (Stripe's card whose refunds fail).
pub const CARD_REFUNDS_REFUSED: &str = "4000000000005126";
/// Test mode only: paid like a SEPA debit, the money arriving `payments.test_settle_seconds`
/// after the checkout closed.
pub const CARD_PAYS_LATE: &str = "4000000000009001";
/// Test mode only: like [`CARD_PAYS_LATE`], but the money never arrives.
pub const CARD_FAILS_LATE: &str = "4000000000009019";
/// How the test mode remembers, on the payment itself, that its refunds are refused.
const REFUNDS_REFUSED_PAYMENT: &str = "pi_test_refunds_refused_";
/// Paid with [`CARD_RETRY`]: like the payment, each refund fails once (no answer), then passes.
const FLAKY_PAYMENT: &str = "pi_test_flaky_";

pub struct TestPayments {
    secret: SecretString,
    verifier: WebhookVerifier,
    public_url: String,
    /// Refund keys already tried once, for the flaky card.
    refunds_tried: Mutex<HashSet<String>>,
    /// Refunds the provider made or refused, by key, as `find_refund` reports them.
    refunds: Mutex<HashMap<String, ProviderRefund>>,
    /// Refund keys being processed right now.
    in_flight: Mutex<HashSet<String>>,
    /// While a test holds it for writing, refunds stay in flight (see `pause_refunds`).
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl TestPayments {
    /// `secrets`: the signing secret first, then any still accepted during a rotation.
    pub fn new(public_url: &str, secrets: Vec<SecretString>) -> Self {
        let secret = secrets.first().cloned().unwrap_or_else(|| SecretString::from("whsec_augure_test".to_owned()));
        Self {
            secret,
            verifier: WebhookVerifier::new(secrets, DEFAULT_TOLERANCE_SECONDS),
            public_url: public_url.trim_end_matches('/').to_owned(),
            refunds_tried: Mutex::default(),
            refunds: Mutex::default(),
            in_flight: Mutex::default(),
            gate: Arc::default(),
        }
    }

    /// The `checkout.session.completed` event Stripe would send for `purchase`, signed.
    pub fn completed_event(&self, purchase: &Purchase, now: DateTime<Utc>) -> (String, String) {
        let body = self.session_event(purchase, "checkout.session.completed", "paid", "pi_test_", now);
        let signature = self.sign(&body, now);
        (body, signature)
    }

    /// Holds every refund in flight at the provider until the guard is dropped, so a test
    /// can send the same refund again meanwhile (a double submit).
    pub async fn pause_refunds(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.gate.clone().write_owned().await
    }

    /// How many refunds the provider is processing right now.
    pub fn refunds_in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }

    fn session_event(
        &self,
        purchase: &Purchase,
        kind: &str,
        payment_status: &str,
        payment_prefix: &str,
        now: DateTime<Utc>,
    ) -> String {
        let nonce = hex::encode(random::<8>());
        serde_json::json!({
            "id": format!("evt_test_{nonce}"),
            "object": "event",
            "type": kind,
            "created": now.timestamp(),
            "data": {"object": {
                "id": purchase.checkout_session,
                "object": "checkout.session",
                "amount_total": purchase.price.minor,
                "currency": purchase.price.currency.code().to_lowercase(),
                "client_reference_id": purchase.id.to_string(),
                // One payment per checkout session, as at Stripe.
                "payment_intent": format!("{payment_prefix}{}", session_nonce(purchase)),
                "payment_status": payment_status,
            }},
        })
        .to_string()
    }

    fn object_event(kind: &str, object: serde_json::Value, now: DateTime<Utc>) -> String {
        serde_json::json!({
            "id": format!("evt_test_{}", hex::encode(random::<8>())),
            "object": "event",
            "type": kind,
            "created": now.timestamp(),
            "data": {"object": object},
        })
        .to_string()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The random part of a test checkout session's id, which names its payment too.
fn session_nonce(purchase: &Purchase) -> &str {
    purchase.checkout_session.as_deref().and_then(|s| s.rsplit('_').next()).unwrap_or("none")
}

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0_u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf
}

#[async_trait]
impl Payments for TestPayments {
    async fn create_checkout(
        &self,
        purchase: &Purchase,
        _success: &str,
        _cancel: &str,
    ) -> Result<Checkout, PaymentError> {
        let session_id = format!("cs_test_{}_{}", purchase.id, hex::encode(random::<12>()));
        let url = format!("{}/payments/test-checkout/{session_id}", self.public_url);
        Ok(Checkout { session_id, url })
    }

    async fn refund(&self, purchase: &Purchase, _amount: Money, key: &str) -> Result<(), PaymentError> {
        if !lock(&self.in_flight).insert(key.to_owned()) {
            return Err(provider_error(
                409,
                "There is currently another in-progress request using this Stripe API key's idempotency key".into(),
            ));
        }
        let answer = async {
            let _open = self.gate.read().await;
            let paid_with = |prefix| purchase.payment_ref.as_deref().is_some_and(|p| p.starts_with(prefix));
            if paid_with(REFUNDS_REFUSED_PAYMENT) {
                return Err(PaymentError::Refused("test card 4000 0000 0000 5126: its refunds are refused".into()));
            }
            if paid_with(FLAKY_PAYMENT) && lock(&self.refunds_tried).insert(key.to_owned()) {
                return Err(PaymentError::Unavailable(
                    "test card 4000 0000 0000 0119: no answer the first time".into(),
                ));
            }
            Ok(())
        }
        .await;
        match &answer {
            Ok(()) => lock(&self.refunds).insert(key.to_owned(), ProviderRefund::Accepted),
            Err(PaymentError::Refused(_)) => lock(&self.refunds).insert(key.to_owned(), ProviderRefund::Failed),
            Err(_) => None,
        };
        lock(&self.in_flight).remove(key);
        answer
    }

    async fn find_refund(&self, _purchase: &Purchase, key: &str) -> Result<Option<ProviderRefund>, PaymentError> {
        Ok(lock(&self.refunds).get(key).copied())
    }

    fn parse_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, PaymentError> {
        parse_stripe_webhook(&self.verifier, signature, body, now)
    }

    fn test_checkout(&self) -> Option<&dyn TestCheckout> {
        Some(self)
    }

    fn name(&self) -> &'static str {
        "test"
    }
}

impl TestCheckout for TestPayments {
    fn purchase_id(&self, session: &str) -> Option<i64> {
        // `cs_test_{purchase}_{random}`, as `create_checkout` makes them.
        session.strip_prefix("cs_test_")?.split('_').next()?.parse().ok()
    }

    fn pay(&self, purchase: &Purchase, card: &str, attempt: u32, now: DateTime<Utc>) -> TestCardOutcome {
        let card: String = card.chars().filter(char::is_ascii_digit).collect();
        let paid = |prefix| TestEvent {
            body: self.session_event(purchase, "checkout.session.completed", "paid", prefix, now),
            late: false,
        };
        let late = |outcome| {
            let completed = self.session_event(purchase, "checkout.session.completed", "unpaid", "pi_test_", now);
            let settled = self.session_event(purchase, outcome, "paid", "pi_test_", now);
            TestCardOutcome::Approved(vec![
                TestEvent { body: completed, late: false },
                TestEvent { body: settled, late: true },
            ])
        };
        match card.as_str() {
            CARD_APPROVED => TestCardOutcome::Approved(vec![paid("pi_test_")]),
            CARD_REFUNDS_REFUSED => TestCardOutcome::Approved(vec![paid(REFUNDS_REFUSED_PAYMENT)]),
            CARD_RETRY if attempt == 0 => TestCardOutcome::RetryNeeded,
            CARD_RETRY => TestCardOutcome::Approved(vec![paid(FLAKY_PAYMENT)]),
            CARD_PAYS_LATE => late("checkout.session.async_payment_succeeded"),
            CARD_FAILS_LATE => late("checkout.session.async_payment_failed"),
            _ => TestCardOutcome::Declined,
        }
    }

    fn refund_at_provider(&self, purchase: &Purchase, refunded_total: i64, now: DateTime<Utc>) -> String {
        let payment = purchase.payment_ref.clone().unwrap_or_default();
        let charge = serde_json::json!({
            "id": format!("ch_test_{}", session_nonce(purchase)),
            "object": "charge",
            "payment_intent": payment,
            "amount": purchase.price.minor,
            "amount_refunded": refunded_total,
            "currency": purchase.price.currency.code().to_lowercase(),
            "refunded": refunded_total >= purchase.price.minor,
        });
        Self::object_event("charge.refunded", charge, now)
    }

    fn dispute(&self, purchase: &Purchase, closed: Option<bool>, now: DateTime<Utc>) -> String {
        let (kind, status) = match closed {
            None => ("charge.dispute.created", "needs_response"),
            Some(true) => ("charge.dispute.closed", "won"),
            Some(false) => ("charge.dispute.closed", "lost"),
        };
        let dispute = serde_json::json!({
            "id": format!("dp_test_{}", session_nonce(purchase)),
            "object": "dispute",
            "charge": format!("ch_test_{}", session_nonce(purchase)),
            "payment_intent": purchase.payment_ref.clone().unwrap_or_default(),
            "amount": purchase.price.minor,
            "currency": purchase.price.currency.code().to_lowercase(),
            "reason": "fraudulent",
            "status": status,
        });
        Self::object_event(kind, dispute, now)
    }

    fn sign(&self, body: &str, now: DateTime<Utc>) -> String {
        stripe_signature::sign(&self.secret, body.as_bytes(), now.timestamp())
    }
}

//! The payment provider. The local default is a test-mode checkout built into augure: it
//! charges test cards and signs its webhooks with Stripe's scheme, so the same webhook code
//! path runs locally, in tests and in production.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use augure_app::credit::{
    Checkout, PaymentError, PaymentEvent, PaymentEventKind, Payments, TestCardOutcome, TestCheckout,
};
use augure_domain::Money;
use augure_store::Purchase;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::stripe_signature::{self, DEFAULT_TOLERANCE_SECONDS, WebhookVerifier};

/// Test cards, as Stripe documents them.
pub const CARD_APPROVED: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
/// Fails once with a processing error; the retry goes through.
pub const CARD_RETRY: &str = "4000000000000119";
/// Paid, but its refunds are refused (Stripe's card whose refunds fail).
pub const CARD_REFUNDS_REFUSED: &str = "4000000000005126";
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
        }
    }

    /// The `checkout.session.completed` event Stripe would send for `purchase`, signed.
    pub fn completed_event(&self, purchase: &Purchase, now: DateTime<Utc>) -> (String, String) {
        self.event_paid_with(purchase, now, "pi_test_")
    }

    fn event_paid_with(&self, purchase: &Purchase, now: DateTime<Utc>, payment_prefix: &str) -> (String, String) {
        let nonce = hex::encode(random::<8>());
        let body = serde_json::json!({
            "id": format!("evt_test_{nonce}"),
            "object": "event",
            "type": "checkout.session.completed",
            "created": now.timestamp(),
            "data": {"object": {
                "id": purchase.checkout_session,
                "object": "checkout.session",
                "amount_total": purchase.price.minor,
                "currency": purchase.price.currency.code().to_lowercase(),
                "client_reference_id": purchase.id.to_string(),
                "payment_intent": format!("{payment_prefix}{nonce}"),
                "payment_status": "paid",
            }},
        })
        .to_string();
        let header = stripe_signature::sign(&self.secret, body.as_bytes(), now.timestamp());
        (body, header)
    }
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
        let paid_with = |prefix| purchase.payment_ref.as_deref().is_some_and(|p| p.starts_with(prefix));
        if paid_with(REFUNDS_REFUSED_PAYMENT) {
            return Err(PaymentError::Refused("test card 4000 0000 0000 5126: its refunds are refused".into()));
        }
        if paid_with(FLAKY_PAYMENT)
            && self.refunds_tried.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned())
        {
            return Err(PaymentError::Unavailable("test card 4000 0000 0000 0119: no answer the first time".into()));
        }
        Ok(())
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
        match card.as_str() {
            CARD_APPROVED => {
                let (body, signature) = self.completed_event(purchase, now);
                TestCardOutcome::Approved { body, signature }
            }
            CARD_REFUNDS_REFUSED => {
                let (body, signature) = self.event_paid_with(purchase, now, REFUNDS_REFUSED_PAYMENT);
                TestCardOutcome::Approved { body, signature }
            }
            CARD_RETRY if attempt == 0 => TestCardOutcome::RetryNeeded,
            CARD_RETRY => {
                let (body, signature) = self.event_paid_with(purchase, now, FLAKY_PAYMENT);
                TestCardOutcome::Approved { body, signature }
            }
            _ => TestCardOutcome::Declined,
        }
    }
}

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: StripeData,
}

#[derive(Deserialize)]
struct StripeData {
    object: serde_json::Value,
}

/// Verifies and reads a webhook in Stripe's format.
pub fn parse_stripe_webhook(
    verifier: &WebhookVerifier,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<PaymentEvent, PaymentError> {
    let signature = signature.ok_or_else(|| PaymentError::BadSignature("missing Stripe-Signature".into()))?;
    verifier.verify(signature, body, now).map_err(|e| PaymentError::BadSignature(e.to_string()))?;
    let event: StripeEvent = serde_json::from_slice(body).map_err(|e| PaymentError::BadPayload(e.to_string()))?;
    // The event's ids are stored as text: one with a control character (PostgreSQL refuses
    // NUL) is a bad payload, refused here, before any credit is granted.
    let fields = event.data.object.as_object().into_iter().flat_map(|o| o.values()).filter_map(|v| v.as_str());
    if [event.id.as_str(), event.kind.as_str()].into_iter().chain(fields).any(|s| augure_domain::check_line(s).is_err())
    {
        return Err(PaymentError::BadPayload("control character in an id".into()));
    }
    let kind = match event.kind.as_str() {
        "checkout.session.completed" => {
            let o = &event.data.object;
            let text = |field: &str| o.get(field).and_then(|v| v.as_str()).map(str::to_owned);
            let purchase_id = text("client_reference_id")
                .and_then(|r| r.parse().ok())
                .ok_or_else(|| PaymentError::BadPayload("client_reference_id".into()))?;
            PaymentEventKind::CheckoutCompleted {
                purchase_id,
                session_id: text("id").ok_or_else(|| PaymentError::BadPayload("id".into()))?,
                amount: o
                    .get("amount_total")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| PaymentError::BadPayload("amount_total".into()))?,
                currency: text("currency").ok_or_else(|| PaymentError::BadPayload("currency".into()))?,
                payment_ref: text("payment_intent").unwrap_or_default(),
            }
        }
        other => PaymentEventKind::Other(other.to_owned()),
    };
    Ok(PaymentEvent { id: event.id, kind })
}

/// Stripe itself: hosted Checkout sessions, refunds, and signed webhooks.
pub struct StripePayments {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
    verifier: WebhookVerifier,
}

impl StripePayments {
    /// `api_base` is `https://api.stripe.com` except in tests.
    pub fn new(api_base: &str, secret_key: SecretString, webhook_secrets: Vec<SecretString>) -> Result<Self, String> {
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            http,
            api_base: api_base.trim_end_matches('/').to_owned(),
            secret_key,
            verifier: WebhookVerifier::new(webhook_secrets, DEFAULT_TOLERANCE_SECONDS),
        })
    }

    /// POSTs a form to Stripe's API. The idempotency key makes a retried call a single one.
    async fn post(&self, path: &str, form: &[(String, String)], key: &str) -> Result<serde_json::Value, PaymentError> {
        use secrecy::ExposeSecret;
        let response = self
            .http
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", key)
            .form(form)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        let message = || body["error"]["message"].as_str().unwrap_or("unknown error").to_owned();
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(PaymentError::Unavailable(message()))
        } else {
            Err(PaymentError::Refused(message()))
        }
    }
}

#[async_trait]
impl Payments for StripePayments {
    async fn create_checkout(
        &self,
        purchase: &Purchase,
        success: &str,
        cancel: &str,
    ) -> Result<Checkout, PaymentError> {
        let id = purchase.id.to_string();
        let form: Vec<(String, String)> = [
            ("mode", "payment".to_owned()),
            ("success_url", success.to_owned()),
            ("cancel_url", cancel.to_owned()),
            ("client_reference_id", id.clone()),
            ("metadata[purchase_id]", id.clone()),
            ("line_items[0][quantity]", "1".to_owned()),
            ("line_items[0][price_data][currency]", purchase.price.currency.code().to_lowercase()),
            ("line_items[0][price_data][unit_amount]", purchase.price.minor.to_string()),
            ("line_items[0][price_data][product_data][name]", format!("augure credit #{id}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let session = self.post("/v1/checkout/sessions", &form, &format!("checkout:{id}")).await?;
        let field = |name: &str| {
            session[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| PaymentError::BadPayload(format!("session without {name}")))
        };
        Ok(Checkout { session_id: field("id")?, url: field("url")? })
    }

    async fn refund(&self, purchase: &Purchase, amount: Money, key: &str) -> Result<(), PaymentError> {
        let payment =
            purchase.payment_ref.clone().ok_or_else(|| PaymentError::Refused("no payment to refund".into()))?;
        let form = vec![("payment_intent".to_owned(), payment), ("amount".to_owned(), amount.minor.to_string())];
        self.post("/v1/refunds", &form, key).await.map(|_| ())
    }

    fn parse_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, PaymentError> {
        parse_stripe_webhook(&self.verifier, signature, body, now)
    }

    fn name(&self) -> &'static str {
        "stripe"
    }
}

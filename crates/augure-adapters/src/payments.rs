//! The payment provider in Stripe's scheme: the webhook reader shared with the local
//! test-mode checkout (`test_checkout.rs`), and the Stripe adapter itself.

use async_trait::async_trait;
use augure_app::credit::{
    Checkout, PaymentError, PaymentEvent, PaymentEventKind, Payments, ProviderRefund, SessionEvent, provider_error,
};
use augure_domain::Money;
use augure_store::Purchase;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::stripe_signature::{DEFAULT_TOLERANCE_SECONDS, WebhookVerifier};

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

/// The fields of an event's object, read strictly: ids and codes are printable text.
struct Fields<'a>(&'a serde_json::Value);

impl Fields<'_> {
    fn text(&self, field: &str) -> Result<String, PaymentError> {
        let value = self.0.get(field).and_then(|v| v.as_str()).unwrap_or_default();
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(PaymentError::BadPayload(field.into()));
        }
        Ok(value.to_owned())
    }

    fn amount(&self, field: &str) -> Result<i64, PaymentError> {
        self.0.get(field).and_then(|v| v.as_i64()).ok_or_else(|| PaymentError::BadPayload(field.into()))
    }

    fn session(&self) -> Result<SessionEvent, PaymentError> {
        Ok(SessionEvent {
            purchase_id: self
                .text("client_reference_id")?
                .parse()
                .map_err(|_| PaymentError::BadPayload("client_reference_id".into()))?,
            session_id: self.text("id")?,
            amount: self.amount("amount_total")?,
            currency: self.text("currency")?,
            // Absent until a delayed payment is made; never used to find the purchase.
            payment_ref: self.text("payment_intent").unwrap_or_default(),
        })
    }
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
    let o = Fields(&event.data.object);
    let kind = match event.kind.as_str() {
        "checkout.session.completed" => {
            PaymentEventKind::CheckoutCompleted { session: o.session()?, paid: o.text("payment_status")? == "paid" }
        }
        "checkout.session.async_payment_succeeded" => PaymentEventKind::AsyncPaymentSucceeded(o.session()?),
        "checkout.session.async_payment_failed" => PaymentEventKind::AsyncPaymentFailed(o.session()?),
        "charge.refunded" => PaymentEventKind::ChargeRefunded {
            payment_ref: o.text("payment_intent")?,
            refunded: o.amount("amount_refunded")?,
            currency: o.text("currency")?,
        },
        "charge.dispute.created" => PaymentEventKind::DisputeOpened {
            dispute_id: o.text("id")?,
            payment_ref: o.text("payment_intent")?,
            amount: o.amount("amount")?,
            currency: o.text("currency")?,
        },
        "charge.dispute.closed" => PaymentEventKind::DisputeClosed {
            dispute_id: o.text("id")?,
            payment_ref: o.text("payment_intent")?,
            amount: o.amount("amount")?,
            currency: o.text("currency")?,
            won: o.text("status")? == "won",
        },
        other => PaymentEventKind::Other(other.chars().filter(|c| !c.is_control()).collect()),
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
        read_answer(response).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<serde_json::Value, PaymentError> {
        use secrecy::ExposeSecret;
        let response = self
            .http
            .get(format!("{}{path}", self.api_base))
            .bearer_auth(self.secret_key.expose_secret())
            .query(query)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        read_answer(response).await
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
        let form = vec![
            ("payment_intent".to_owned(), payment),
            ("amount".to_owned(), amount.minor.to_string()),
            // What `find_refund` looks for once the idempotency key may be forgotten.
            ("metadata[augure_refund]".to_owned(), key.to_owned()),
        ];
        let refund = self.post("/v1/refunds", &form, key).await?;
        match refund["status"].as_str() {
            Some("failed" | "canceled") => Err(PaymentError::Refused(format!("refund {}", refund["status"]))),
            _ => Ok(()),
        }
    }

    async fn find_refund(&self, purchase: &Purchase, key: &str) -> Result<Option<ProviderRefund>, PaymentError> {
        let Some(payment) = purchase.payment_ref.as_deref() else { return Ok(None) };
        let list = self.get("/v1/refunds", &[("payment_intent", payment), ("limit", "100")]).await?;
        let found = list["data"].as_array().into_iter().flatten().find(|r| r["metadata"]["augure_refund"] == key);
        Ok(found.map(|r| match r["status"].as_str() {
            Some("failed" | "canceled") => ProviderRefund::Failed,
            _ => ProviderRefund::Accepted,
        }))
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

/// Reads an answer of Stripe's API: the body on success, else the error it means.
async fn read_answer(response: reqwest::Response) -> Result<serde_json::Value, PaymentError> {
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| PaymentError::Unavailable(e.to_string()))?;
    if status.is_success() {
        return Ok(body);
    }
    let message = body["error"]["message"].as_str().unwrap_or("unknown error").to_owned();
    Err(provider_error(status.as_u16(), message))
}

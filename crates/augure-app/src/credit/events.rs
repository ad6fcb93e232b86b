//! The provider's events: a checkout paid (at once or later), failed, and what the
//! test-mode checkout sends.

use augure_domain::ledger::{AccountKind, TransferMode, TransferRequest};
use augure_store::{LedgerOwner, NewJob, Purchase, PurchaseStatus, StoreError};
use chrono::{DateTime, Utc};

use super::{
    Credit, CreditError, EventOutcome, PaymentEvent, PaymentEventKind, SessionEvent, TestCardOutcome, TestPayment,
    WEBHOOK_JOB,
};

impl Credit {
    /// Acts on a verified provider event. Safe to call any number of times with the same
    /// event, in any order: the ledger's keys grant each purchase's credit once.
    pub async fn handle_event(&self, event: &PaymentEvent) -> Result<EventOutcome, CreditError> {
        let now = self.clock.now();
        let outcome = match &event.kind {
            PaymentEventKind::CheckoutCompleted { session, paid: true } => {
                let purchase = self.session_purchase(session).await?;
                self.credit_purchase(&purchase, &session.payment_ref, now).await?
            }
            PaymentEventKind::CheckoutCompleted { session, paid: false } => {
                // A delayed method: the money is on its way, and nothing is granted before
                // the provider says it arrived.
                let purchase = self.session_purchase(session).await?;
                self.store.mark_purchase_processing(purchase.id, now).await?;
                EventOutcome::AwaitingFunds
            }
            PaymentEventKind::AsyncPaymentSucceeded(session) => {
                let purchase = self.session_purchase(session).await?;
                self.credit_purchase(&purchase, &session.payment_ref, now).await?
            }
            PaymentEventKind::AsyncPaymentFailed(session) => {
                let purchase = self.session_purchase(session).await?;
                if self.store.mark_purchase_failed(purchase.id).await? {
                    EventOutcome::PaymentFailed
                } else {
                    EventOutcome::AlreadyDone
                }
            }
            PaymentEventKind::ChargeRefunded { payment_ref, refunded, currency } => {
                self.provider_refunded(payment_ref, *refunded, currency).await?
            }
            PaymentEventKind::DisputeOpened { dispute_id, payment_ref, amount, currency } => {
                self.dispute_opened(dispute_id, payment_ref, *amount, currency).await?
            }
            PaymentEventKind::DisputeClosed { dispute_id, payment_ref, amount, currency, won } => {
                self.dispute_closed(dispute_id, payment_ref, *amount, currency, *won).await?
            }
            PaymentEventKind::Other(_) => EventOutcome::Ignored,
        };
        self.store.record_payment_event(&event.id, event_kind_name(&event.kind), now).await?;
        Ok(outcome)
    }

    /// Verifies and handles a webhook as received (raw body and its signature header).
    pub async fn handle_webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<EventOutcome, CreditError> {
        let event = self.payments.parse_webhook(signature, body, self.clock.now())?;
        self.handle_event(&event).await
    }

    /// The purchase an event's checkout session is for, checked against it.
    async fn session_purchase(&self, session: &SessionEvent) -> Result<Purchase, CreditError> {
        let purchase = match self.store.purchase(session.purchase_id).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(CreditError::UnknownPurchase),
            Err(e) => return Err(e.into()),
        };
        let same_session = purchase.checkout_session.as_deref() == Some(session.session_id.as_str());
        if !same_session
            || session.amount != purchase.price.minor
            || !session.currency.eq_ignore_ascii_case(purchase.price.currency.code())
        {
            return Err(CreditError::PaymentMismatch);
        }
        Ok(purchase)
    }

    /// The money arrived: grant the credit, once.
    async fn credit_purchase(
        &self,
        purchase: &Purchase,
        payment_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<EventOutcome, CreditError> {
        crate::faults::crash_point("webhook-received");
        self.grant(purchase, now).await?;
        crate::faults::crash_point("credit-granted");
        // The outcome comes from the write: of concurrent deliveries (even under different
        // event ids) exactly one moves the purchase from pending to paid.
        let paid_now = self.store.mark_purchase_paid(purchase.id, payment_ref, now).await?;
        if !paid_now {
            return Ok(EventOutcome::AlreadyDone);
        }
        // Only the delivery that marked it paid pays debt back from it, so the amount,
        // read once, is never asked again under the same key with another value.
        self.repay_debt(purchase, now).await?;
        if let Some(landed) = self.landed.get() {
            let _ = landed.send(purchase.user_id);
        }
        Ok(EventOutcome::Credited)
    }

    /// Grants the purchase's credit (and bonus); granted before, it moves nothing again.
    async fn grant(&self, purchase: &Purchase, now: DateTime<Utc>) -> Result<(), CreditError> {
        let currency = purchase.price.currency;
        let client =
            self.ledger.account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, currency).await?;
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?;
        let reference = Some(format!("purchase:{}", purchase.id));
        let mut requests = vec![TransferRequest {
            key: format!("purchase:{}", purchase.id),
            debit: provider.id,
            credit: client.id,
            amount: Some(purchase.price.minor),
            currency,
            code: "purchase".into(),
            user_data: reference.clone(),
            mode: TransferMode::Posted,
            pending_key: None,
            linked: purchase.bonus.minor > 0,
        }];
        if purchase.bonus.minor > 0 {
            let promotions = self.ledger.account(LedgerOwner::Platform, AccountKind::Promotions, currency).await?;
            requests.push(TransferRequest {
                key: format!("purchase:{}:bonus", purchase.id),
                debit: promotions.id,
                credit: client.id,
                amount: Some(purchase.bonus.minor),
                currency,
                code: "bonus".into(),
                user_data: reference,
                mode: TransferMode::Posted,
                pending_key: None,
                linked: false,
            });
        }
        for result in self.store.create_transfers(&requests, now).await? {
            result.map_err(CreditError::Ledger)?;
        }
        Ok(())
    }

    /// The purchase a test-mode checkout session was opened for, whatever its state.
    pub async fn test_checkout_session(&self, session: &str) -> Result<Purchase, CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let id = checkout.purchase_id(session).ok_or(CreditError::UnknownPurchase)?;
        let purchase = self.purchase(id).await?;
        if purchase.checkout_session.as_deref() != Some(session) {
            return Err(CreditError::UnknownPurchase);
        }
        Ok(purchase)
    }

    /// The purchase a test-mode checkout session was opened for, while it awaits payment.
    pub async fn test_checkout_purchase(&self, session: &str) -> Result<Purchase, CreditError> {
        let purchase = self.test_checkout_session(session).await?;
        if purchase.status != PurchaseStatus::Pending || purchase.processing_at.is_some() {
            return Err(CreditError::CheckoutDone);
        }
        Ok(purchase)
    }

    /// Pays a purchase with a test card at the test-mode checkout. The provider calls
    /// back on its own schedule: each event it will send is queued as a job, signed only
    /// when delivered, so a delivery held up (a crash, a lease) is still accepted.
    pub async fn pay_test_checkout(
        &self,
        purchase: &Purchase,
        card: &str,
        attempt: u32,
    ) -> Result<TestPayment, CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let now = self.clock.now();
        match checkout.pay(purchase, card, attempt, now) {
            TestCardOutcome::Approved(events) => {
                let late = events.iter().any(|e| e.late);
                let settle = chrono::Duration::seconds(self.settings.payments.test_settle_seconds.max(0));
                for event in events {
                    let run_at = if event.late { now + settle } else { now };
                    self.queue_test_webhook(event.body, run_at).await?;
                }
                Ok(if late { TestPayment::Processing } else { TestPayment::Approved })
            }
            TestCardOutcome::Declined => Ok(TestPayment::Declined),
            TestCardOutcome::RetryNeeded => Ok(TestPayment::RetryNeeded),
        }
    }

    /// Queues an event of the test-mode provider for delivery. No unique key: paying a
    /// pending purchase again queues its delivery again (granting stays once).
    pub(super) async fn queue_test_webhook(&self, body: String, run_at: DateTime<Utc>) -> Result<(), CreditError> {
        self.store
            .enqueue_job(&NewJob {
                kind: WEBHOOK_JOB.into(),
                payload: serde_json::json!({ "body": body }),
                unique_key: None,
                run_at,
                created_at: self.clock.now(),
            })
            .await?;
        Ok(())
    }

    /// The test-mode checkout only: acts as the provider on a paid purchase — a refund made
    /// from its dashboard (`amount` in major units), or a chargeback opened, won or lost —
    /// by queueing the webhook the provider would send.
    pub async fn simulate_at_provider(
        &self,
        purchase_id: i64,
        action: ProviderAction,
        amount: &str,
    ) -> Result<(), CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let purchase = self.purchase(purchase_id).await?;
        if purchase.status != PurchaseStatus::Paid {
            return Err(CreditError::UnknownPurchase);
        }
        let now = self.clock.now();
        let body = match action {
            ProviderAction::Refund => {
                let amount = augure_domain::Money::parse_major(amount, purchase.price.currency)
                    .map_err(|_| CreditError::InvalidAmount)?;
                if amount.minor <= 0 {
                    return Err(CreditError::InvalidAmount);
                }
                let total = purchase.refunded.minor.saturating_add(amount.minor).min(purchase.price.minor);
                checkout.refund_at_provider(&purchase, total, now)
            }
            ProviderAction::Dispute => checkout.dispute(&purchase, None, now),
            ProviderAction::DisputeWon => checkout.dispute(&purchase, Some(true), now),
            ProviderAction::DisputeLost => checkout.dispute(&purchase, Some(false), now),
        };
        self.queue_test_webhook(body, now).await
    }

    /// Delivers a queued test-mode event, signed now as the provider signs at sending.
    pub async fn deliver_test_webhook(&self, body: &str) -> Result<EventOutcome, CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let signature = checkout.sign(body, self.clock.now());
        self.handle_webhook(Some(&signature), body.as_bytes()).await
    }
}

/// What an admin can make the test-mode provider do to a paid purchase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderAction {
    Refund,
    Dispute,
    DisputeWon,
    DisputeLost,
}

impl ProviderAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "refund" => Some(Self::Refund),
            "dispute" => Some(Self::Dispute),
            "won" => Some(Self::DisputeWon),
            "lost" => Some(Self::DisputeLost),
            _ => None,
        }
    }
}

fn event_kind_name(kind: &PaymentEventKind) -> &'static str {
    match kind {
        PaymentEventKind::CheckoutCompleted { .. } => "checkout.session.completed",
        PaymentEventKind::AsyncPaymentSucceeded(_) => "checkout.session.async_payment_succeeded",
        PaymentEventKind::AsyncPaymentFailed(_) => "checkout.session.async_payment_failed",
        PaymentEventKind::ChargeRefunded { .. } => "charge.refunded",
        PaymentEventKind::DisputeOpened { .. } => "charge.dispute.created",
        PaymentEventKind::DisputeClosed { .. } => "charge.dispute.closed",
        PaymentEventKind::Other(_) => "other",
    }
}

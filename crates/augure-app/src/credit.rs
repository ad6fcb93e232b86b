//! Prepaid credit: clients buy packs through the payment provider; credit is granted only
//! from the provider's verified event, once per purchase however often, late or out of
//! order the event arrives; an admin may refund what the client has not spent.

use std::sync::Arc;

use async_trait::async_trait;
use augure_domain::ledger::{AccountKind, LedgerError, TransferMode, TransferRequest};
use augure_domain::{Clock, Currency, Money, Role};
use augure_store::{CreditPack, LedgerOwner, Purchase, PurchaseStatus, Store, StoreError, Transfer, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ledger::Ledger;

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
    /// Sends `amount` back to the buyer's card. `key` makes a retried refund a single one.
    async fn refund(&self, purchase: &Purchase, amount: Money, key: &str) -> Result<(), PaymentError>;
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

/// The local test-mode checkout: charges test cards and answers with a signed webhook.
pub trait TestCheckout: Send + Sync {
    fn pay(&self, purchase: &Purchase, card: &str, attempt: u32, now: DateTime<Utc>) -> TestCardOutcome;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestCardOutcome {
    /// Paid: the provider will deliver this signed webhook.
    Approved {
        body: String,
        signature: String,
    },
    Declined,
    /// A transient processing error: trying again succeeds.
    RetryNeeded,
}

/// The job that delivers a webhook the test-mode checkout signed.
pub const WEBHOOK_JOB: &str = "payments.webhook";

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
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    #[error("refused by the payment provider: {0}")]
    Refused(String),
}

/// What the provider tells us, once verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    /// The provider's event id: the same event may be delivered many times.
    pub id: String,
    pub kind: PaymentEventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEventKind {
    /// The buyer paid: grant the credit.
    CheckoutCompleted { purchase_id: i64, session_id: String, amount: i64, currency: String, payment_ref: String },
    /// Anything else: acknowledged, not acted on.
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("no such credit pack")]
    UnknownPack,
    #[error("this pack is not sold on your site")]
    PackNotForSale,
    #[error("no such purchase")]
    UnknownPurchase,
    #[error("the amount is not refundable: at most {0} minor units")]
    NotRefundable(i64),
    #[error("the payment does not match the purchase")]
    PaymentMismatch,
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error("ledger refused: {0}")]
    Ledger(LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What handling an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    Credited,
    /// Seen before, or its purchase already paid: nothing changed.
    AlreadyDone,
    Ignored,
}

/// A client's credit in one currency.
#[derive(Clone, Debug)]
pub struct Wallet {
    pub currency: Currency,
    /// What can be spent now.
    pub available: Money,
    /// Reserved by live consultations.
    pub on_hold: Money,
    pub history: Vec<Transfer>,
    pub purchases: Vec<Purchase>,
    pub account: augure_domain::ledger::AccountId,
}

#[derive(Clone)]
pub struct Credit {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ledger: Ledger,
    payments: Arc<dyn Payments>,
}

impl Credit {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ledger: Ledger, payments: Arc<dyn Payments>) -> Self {
        Self { store, clock, ledger, payments }
    }

    pub fn payments(&self) -> &dyn Payments {
        &*self.payments
    }

    /// The site a person buys on: their home site, else the first one.
    pub async fn site_of(&self, user: &User) -> Result<Option<augure_domain::Site>, CreditError> {
        let sites = self.store.list_sites().await?;
        Ok(sites.iter().find(|s| Some(s.id) == user.site_id).or(sites.first()).cloned())
    }

    pub async fn packs_for(&self, user: &User) -> Result<Vec<CreditPack>, CreditError> {
        match self.site_of(user).await? {
            Some(site) => Ok(self.store.credit_packs(site.id).await?),
            None => Ok(Vec::new()),
        }
    }

    /// Records a pending purchase and opens the provider's checkout for it.
    pub async fn start_purchase(
        &self,
        user: &User,
        pack_id: i64,
        public_url: &str,
    ) -> Result<(Purchase, Checkout), CreditError> {
        let pack = match self.store.credit_pack(pack_id).await {
            Ok(p) if p.active => p,
            Ok(_) | Err(StoreError::NotFound) => return Err(CreditError::UnknownPack),
            Err(e) => return Err(e.into()),
        };
        let site = self.site_of(user).await?;
        if site.is_none_or(|s| s.id != pack.site_id) || user.role != Role::Client {
            return Err(CreditError::PackNotForSale);
        }
        let purchase = self.store.create_purchase(user.id, &pack, self.clock.now()).await?;
        let base = public_url.trim_end_matches('/');
        let success = format!("{base}/wallet?purchase={}", purchase.id);
        let cancel = format!("{base}/wallet");
        let checkout = self.payments.create_checkout(&purchase, &success, &cancel).await?;
        self.store.set_checkout_session(purchase.id, &checkout.session_id).await?;
        let purchase = self.store.purchase(purchase.id).await.unwrap_or(purchase);
        Ok((purchase, checkout))
    }

    /// Acts on a verified provider event. Safe to call any number of times with the same
    /// event, in any order: the ledger's keys grant each purchase's credit once.
    pub async fn handle_event(&self, event: &PaymentEvent) -> Result<EventOutcome, CreditError> {
        let now = self.clock.now();
        let PaymentEventKind::CheckoutCompleted { purchase_id, session_id, amount, currency, payment_ref } =
            &event.kind
        else {
            self.store.record_payment_event(&event.id, "other", now).await?;
            return Ok(EventOutcome::Ignored);
        };
        let purchase = match self.store.purchase(*purchase_id).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(CreditError::UnknownPurchase),
            Err(e) => return Err(e.into()),
        };
        let same_session = purchase.checkout_session.as_deref() == Some(session_id.as_str());
        if !same_session
            || *amount != purchase.price.minor
            || !currency.eq_ignore_ascii_case(purchase.price.currency.code())
        {
            return Err(CreditError::PaymentMismatch);
        }
        crate::faults::crash_point("webhook-received");
        let credited = self.grant(&purchase, now).await?;
        crate::faults::crash_point("credit-granted");
        self.store.mark_purchase_paid(purchase.id, payment_ref, now).await?;
        let first_time = self.store.record_payment_event(&event.id, "checkout.session.completed", now).await?;
        Ok(if credited && first_time { EventOutcome::Credited } else { EventOutcome::AlreadyDone })
    }

    /// Verifies and handles a webhook as received (raw body and its signature header).
    pub async fn handle_webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<EventOutcome, CreditError> {
        let event = self.payments.parse_webhook(signature, body, self.clock.now())?;
        self.handle_event(&event).await
    }

    /// Whether this call moved the money (false: it had been granted before).
    async fn grant(&self, purchase: &Purchase, now: DateTime<Utc>) -> Result<bool, CreditError> {
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
        let before = self.store.transfer_by_key(&requests[0].key).await;
        for result in self.store.create_transfers(&requests, now).await? {
            result.map_err(CreditError::Ledger)?;
        }
        Ok(matches!(before, Err(StoreError::NotFound)))
    }

    /// A client's wallet in their site's currency.
    pub async fn wallet(&self, user: &User) -> Result<Wallet, CreditError> {
        let currency = self.site_of(user).await?.map_or(Currency::Eur, |s| s.currency);
        let account = self.ledger.account(LedgerOwner::User(user.id), AccountKind::ClientCredit, currency).await?;
        let history = self.store.account_transfers(account.id, 100).await?;
        let purchases = self.store.user_purchases(user.id, 100).await?;
        Ok(Wallet {
            currency,
            available: Money::new(account.balances.available(), currency),
            on_hold: Money::new(account.balances.debits_pending, currency),
            history,
            purchases,
            account: account.id,
        })
    }

    /// What can still be refunded on a purchase: what was paid and not yet refunded, and
    /// no more than the client has left unspent.
    pub async fn refundable(&self, purchase: &Purchase) -> Result<Money, CreditError> {
        if purchase.status != PurchaseStatus::Paid {
            return Ok(Money::zero(purchase.price.currency));
        }
        let client = self
            .ledger
            .account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, purchase.price.currency)
            .await?;
        let amount = augure_domain::credit::refundable(
            purchase.price.minor,
            purchase.refunded.minor,
            client.balances.available(),
        );
        Ok(Money::new(amount, purchase.price.currency))
    }

    /// Refunds `amount` of a purchase to the card and removes it from the client's credit.
    /// `key` identifies the refund request: submitting it twice refunds once.
    pub async fn refund(&self, purchase_id: i64, amount: i64, key: &str) -> Result<Purchase, CreditError> {
        let purchase = match self.store.purchase(purchase_id).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(CreditError::UnknownPurchase),
            Err(e) => return Err(e.into()),
        };
        let ledger_key = format!("refund:{purchase_id}:{key}");
        if self.store.transfer_by_key(&ledger_key).await.is_ok() {
            return Ok(purchase);
        }
        let refundable = self.refundable(&purchase).await?;
        if amount <= 0 || amount > refundable.minor {
            return Err(CreditError::NotRefundable(refundable.minor));
        }
        let currency = purchase.price.currency;
        let money = Money::new(amount, currency);
        self.payments.refund(&purchase, money, &ledger_key).await?;
        let client =
            self.ledger.account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, currency).await?;
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?;
        let now = self.clock.now();
        let transfer = TransferRequest {
            key: ledger_key.clone(),
            debit: client.id,
            credit: provider.id,
            amount: Some(amount),
            currency,
            code: "refund".into(),
            user_data: Some(format!("purchase:{purchase_id}")),
            mode: TransferMode::Posted,
            pending_key: None,
            linked: false,
        };
        for result in self.store.create_transfers(&[transfer], now).await? {
            result.map_err(CreditError::Ledger)?;
        }
        self.store.record_refund(purchase_id, &ledger_key, amount, now).await?;
        Ok(self.store.purchase(purchase_id).await?)
    }
}

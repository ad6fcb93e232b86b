//! Prepaid credit: clients buy packs through the payment provider; credit is granted only
//! from the provider's verified event, once per purchase however often, late or out of
//! order the event arrives; an admin may refund what the client has not spent.

use std::sync::Arc;

use async_trait::async_trait;
use std::collections::HashMap;

use augure_domain::ledger::{AccountId, AccountKind, LedgerError, TransferMode, TransferRequest};
use augure_domain::{Clock, Currency, Money, Role, UserId};
use augure_store::{
    CreditPack, LedgerOwner, NewJob, Purchase, PurchaseStatus, Refund, RefundReservation, RefundStatus, Store,
    StoreError, Transfer, User,
};
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
    /// The purchase a checkout session of this provider was opened for, read from its id.
    fn purchase_id(&self, session: &str) -> Option<i64>;
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

/// The job that finishes a refund the provider did not answer at once.
pub const REFUND_JOB: &str = "payments.refund";

/// When the job that finishes a refund left half done first runs; then the queue's backoff.
/// Long enough for the request itself to finish first in the normal case.
pub const REFUND_RECOVERY_DELAY: chrono::Duration = chrono::Duration::minutes(5);

/// How a refund request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The credit is taken and the card refunded.
    Done,
    /// The credit is taken; the provider did not answer, so the card refund is asked again
    /// in the background, under the same idempotency key, until it answers.
    Retrying,
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

/// How paying at the test-mode checkout went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestPayment {
    /// Approved: the provider's signed webhook is on its way (queued).
    Approved,
    Declined,
    /// A transient processing error: the same card again succeeds.
    RetryNeeded,
}

#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error("no such credit pack")]
    UnknownPack,
    #[error("this pack is not sold on your site")]
    PackNotForSale,
    #[error("no such purchase")]
    UnknownPurchase,
    /// Credit, wallets and purchases are a client's: experts and admins have none.
    #[error("only clients hold credit")]
    NotAClient,
    #[error("this checkout is already paid or closed")]
    CheckoutDone,
    #[error("no such site")]
    UnknownSite,
    #[error("not a valid amount")]
    InvalidAmount,
    /// A pack's price or bonus above the settings' maximum.
    #[error(transparent)]
    PackTerms(augure_domain::credit::PackTermsError),
    /// A refund request comes with the key that makes submitting it twice refund once.
    #[error("a refund request needs its key")]
    MissingRequestKey,
    #[error("the amount is not refundable: at most {0} minor units")]
    NotRefundable(i64),
    #[error("the payment does not match the purchase")]
    PaymentMismatch,
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error("ledger refused: {0}")]
    Ledger(LedgerError),
    #[error("this refund was refused by the payment provider and its credit given back")]
    RefundFailed,
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
    /// `None` until the first purchase creates the client's account.
    pub account: Option<AccountId>,
}

impl Wallet {
    /// A transfer of the history as the client reads it: positive when credit came in.
    pub fn signed_amount(&self, transfer: &Transfer) -> i64 {
        if Some(transfer.credit) == self.account { transfer.amount } else { -transfer.amount }
    }
}

/// A purchase in the admin's list, with what can still be refunded on it.
#[derive(Clone, Debug)]
pub struct RefundablePurchase {
    pub purchase: Purchase,
    pub refundable: Money,
}

/// A refund still waiting for the provider, and the request key that resumes it when
/// submitted again.
#[derive(Clone, Debug)]
pub struct PendingRefund {
    pub purchase_id: i64,
    pub amount: Money,
    pub request_key: String,
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
        self.grant(&purchase, now).await?;
        crate::faults::crash_point("credit-granted");
        // The outcome comes from the write: of concurrent deliveries (even under different
        // event ids) exactly one moves the purchase from pending to paid.
        let paid_now = self.store.mark_purchase_paid(purchase.id, payment_ref, now).await?;
        self.store.record_payment_event(&event.id, "checkout.session.completed", now).await?;
        Ok(if paid_now { EventOutcome::Credited } else { EventOutcome::AlreadyDone })
    }

    /// Verifies and handles a webhook as received (raw body and its signature header).
    pub async fn handle_webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<EventOutcome, CreditError> {
        let event = self.payments.parse_webhook(signature, body, self.clock.now())?;
        self.handle_event(&event).await
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

    /// A client's wallet in their site's currency. Only reads: a client who never bought
    /// has no account yet, and an empty wallet.
    pub async fn wallet(&self, user: &User) -> Result<Wallet, CreditError> {
        if user.role != Role::Client {
            return Err(CreditError::NotAClient);
        }
        let currency = self.site_of(user).await?.map_or(Currency::Eur, |s| s.currency);
        let account = self.ledger.find_account(LedgerOwner::User(user.id), AccountKind::ClientCredit, currency).await?;
        let history = match &account {
            Some(account) => self.store.account_transfers(account.id, 100).await?,
            None => Vec::new(),
        };
        let purchases = self.store.user_purchases(user.id, 100).await?;
        let balances = account.as_ref().map(|a| a.balances).unwrap_or_default();
        Ok(Wallet {
            currency,
            available: Money::new(balances.available(), currency),
            on_hold: Money::new(balances.debits_pending, currency),
            history,
            purchases,
            account: account.map(|a| a.id),
        })
    }

    /// A paid purchase of `user`'s, for their receipt. Someone else's, or one not paid,
    /// does not exist as far as they can tell.
    pub async fn receipt(&self, user: &User, purchase_id: i64) -> Result<Purchase, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        if purchase.user_id != user.id || purchase.status != PurchaseStatus::Paid {
            return Err(CreditError::UnknownPurchase);
        }
        Ok(purchase)
    }

    /// What can still be refunded on a purchase: what was paid and not yet refunded, and
    /// no more than the client has left unspent.
    pub async fn refundable(&self, purchase: &Purchase) -> Result<Money, CreditError> {
        if purchase.status != PurchaseStatus::Paid {
            return Ok(Money::zero(purchase.price.currency));
        }
        let client = self
            .ledger
            .find_account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, purchase.price.currency)
            .await?;
        Ok(refundable_of(purchase, client.map_or(0, |c| c.balances.available())))
    }

    /// The latest purchases, newest first, each with what can still be refunded (the
    /// admin's list). The clients' accounts are read at once, and none is created.
    pub async fn recent_purchases(&self, limit: i64) -> Result<Vec<RefundablePurchase>, CreditError> {
        let purchases = self.store.recent_purchases(limit, 0).await?;
        let mut owners: Vec<LedgerOwner> = purchases.iter().map(|p| LedgerOwner::User(p.user_id)).collect();
        owners.sort_by_key(|o| o.user().map(|u| u.0));
        owners.dedup();
        let unspent: HashMap<(UserId, Currency), i64> = self
            .ledger
            .find_accounts(&owners, AccountKind::ClientCredit)
            .await?
            .into_iter()
            .filter_map(|(account, owner)| Some(((owner.user()?, account.currency), account.balances.available())))
            .collect();
        Ok(purchases
            .into_iter()
            .map(|purchase| {
                let unspent = unspent.get(&(purchase.user_id, purchase.price.currency)).copied().unwrap_or(0);
                RefundablePurchase { refundable: refundable_of(&purchase, unspent), purchase }
            })
            .collect())
    }

    /// Refunds waiting for the provider, oldest first, with their purchases read at once.
    pub async fn pending_refunds(&self, limit: i64) -> Result<Vec<PendingRefund>, CreditError> {
        let refunds = self.store.pending_refunds(limit).await?;
        let mut ids: Vec<i64> = refunds.iter().map(|r| r.purchase_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let currencies: HashMap<i64, Currency> =
            self.store.purchases_by_ids(&ids).await?.into_iter().map(|p| (p.id, p.price.currency)).collect();
        let mut pending = Vec::with_capacity(refunds.len());
        for refund in &refunds {
            let currency = *currencies.get(&refund.purchase_id).ok_or(CreditError::UnknownPurchase)?;
            let Some(request_key) = request_key(refund) else { continue };
            pending.push(PendingRefund {
                purchase_id: refund.purchase_id,
                amount: Money::new(refund.amount, currency),
                request_key: request_key.to_owned(),
            });
        }
        Ok(pending)
    }

    /// A refund as an admin types it: `amount` in major units of the purchase's currency,
    /// and the request's `key` (see [`Credit::refund`]).
    pub async fn refund_typed(&self, purchase_id: i64, amount: &str, key: &str) -> Result<RefundOutcome, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        let amount = Money::parse_major(amount, purchase.price.currency).map_err(|_| CreditError::InvalidAmount)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(CreditError::MissingRequestKey);
        }
        self.refund_purchase(purchase, amount.minor, key).await
    }

    /// Every pack of every site, withdrawn ones included (the admin's list).
    pub async fn all_packs(&self) -> Result<Vec<CreditPack>, CreditError> {
        Ok(self.store.all_credit_packs().await?)
    }

    /// Puts a pack on sale on a site, with its terms as an admin types them (major units),
    /// within `limits` (the `pricing.max_pack_*` settings).
    pub async fn add_pack(
        &self,
        site: &str,
        price: &str,
        bonus: &str,
        limits: augure_domain::credit::PackLimits,
    ) -> Result<CreditPack, CreditError> {
        let code = site.parse().map_err(|_| CreditError::UnknownSite)?;
        let site = match self.store.site_by_code(&code).await {
            Ok(site) => site,
            Err(StoreError::NotFound) => return Err(CreditError::UnknownSite),
            Err(e) => return Err(e.into()),
        };
        use augure_domain::credit::PackTermsError as E;
        let (price, bonus) =
            augure_domain::credit::pack_terms(price, bonus, site.currency, limits).map_err(|e| match e {
                E::Malformed | E::OutOfRange => CreditError::InvalidAmount,
                above => CreditError::PackTerms(above),
            })?;
        Ok(self.store.create_credit_pack(site.id, price, bonus, self.clock.now()).await?)
    }

    /// Puts a pack back on sale or withdraws it; purchases made keep their terms.
    pub async fn set_pack_active(&self, pack_id: i64, active: bool) -> Result<(), CreditError> {
        Ok(self.store.set_credit_pack_active(pack_id, active).await?)
    }

    /// The purchase a test-mode checkout session was opened for, while it awaits payment.
    pub async fn test_checkout_purchase(&self, session: &str) -> Result<Purchase, CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let id = checkout.purchase_id(session).ok_or(CreditError::UnknownPurchase)?;
        let purchase = self.purchase(id).await?;
        if purchase.checkout_session.as_deref() != Some(session) {
            return Err(CreditError::UnknownPurchase);
        }
        if purchase.status != PurchaseStatus::Pending {
            return Err(CreditError::CheckoutDone);
        }
        Ok(purchase)
    }

    /// Pays a purchase with a test card at the test-mode checkout. The provider calls
    /// back on its own schedule: an approval queues its signed webhook as a job.
    pub async fn pay_test_checkout(
        &self,
        purchase: &Purchase,
        card: &str,
        attempt: u32,
    ) -> Result<TestPayment, CreditError> {
        let checkout = self.payments.test_checkout().ok_or(CreditError::UnknownPurchase)?;
        let now = self.clock.now();
        match checkout.pay(purchase, card, attempt, now) {
            TestCardOutcome::Approved { body, signature } => {
                self.store
                    .enqueue_job(&NewJob {
                        kind: WEBHOOK_JOB.into(),
                        payload: serde_json::json!({"body": body, "signature": signature}),
                        unique_key: Some(format!("test-webhook:{}", purchase.id)),
                        run_at: now,
                        created_at: now,
                    })
                    .await?;
                Ok(TestPayment::Approved)
            }
            TestCardOutcome::Declined => Ok(TestPayment::Declined),
            TestCardOutcome::RetryNeeded => Ok(TestPayment::RetryNeeded),
        }
    }

    async fn purchase(&self, id: i64) -> Result<Purchase, CreditError> {
        match self.store.purchase(id).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound) => Err(CreditError::UnknownPurchase),
            Err(e) => Err(e.into()),
        }
    }

    /// Refunds `amount` of a purchase to the card and removes it from the client's credit.
    /// `key` identifies the refund request: submitting it again (a double submit, or after
    /// a failure) never refunds twice, and resumes a refund left half done.
    ///
    /// The order is what keeps the books right when something fails half way:
    /// 1. the refund is reserved under the purchase's lock, so refunds made at the same
    ///    moment never add up to more than was paid;
    /// 2. the credit is taken, so it cannot be spent while the card is refunded;
    /// 3. the card is refunded. A refusal gives the credit back and closes the request; no
    ///    answer leaves it pending and retried in the background under the same key.
    pub async fn refund(&self, purchase_id: i64, amount: i64, key: &str) -> Result<RefundOutcome, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        self.refund_purchase(purchase, amount, key).await
    }

    /// [`Credit::refund`], the purchase read.
    async fn refund_purchase(&self, purchase: Purchase, amount: i64, key: &str) -> Result<RefundOutcome, CreditError> {
        let purchase_id = purchase.id;
        let refund_key = refund_key(purchase_id, key);
        let refundable = self.refundable(&purchase).await?;
        if amount <= 0 || purchase.status != PurchaseStatus::Paid {
            return Err(CreditError::NotRefundable(refundable.minor));
        }
        let amount = match self.store.reserve_refund(purchase_id, &refund_key, amount, self.clock.now()).await? {
            RefundReservation::Reserved if amount > refundable.minor => {
                self.store.cancel_refund(&refund_key).await?;
                return Err(CreditError::NotRefundable(refundable.minor));
            }
            RefundReservation::Reserved => amount,
            RefundReservation::Existing(refund) => match refund.status {
                RefundStatus::Done => return Ok(RefundOutcome::Done),
                RefundStatus::Failed => return Err(CreditError::RefundFailed),
                // The same request again: finish it as first asked.
                RefundStatus::Pending => refund.amount,
            },
            RefundReservation::Exceeds { refundable: left } => {
                return Err(CreditError::NotRefundable(left.min(refundable.minor)));
            }
        };
        // Queued before any money moves, for later: if this request dies half way (a crash,
        // a lost connection), the job finishes the refund; if it completes, the job finds
        // it done and does nothing.
        let now = self.clock.now();
        self.store
            .enqueue_job(&NewJob {
                kind: REFUND_JOB.into(),
                payload: serde_json::json!({ "key": refund_key }),
                unique_key: Some(refund_key.clone()),
                run_at: now + REFUND_RECOVERY_DELAY,
                created_at: now,
            })
            .await?;
        match self.complete_refund(&purchase, &refund_key, amount).await {
            Ok(()) => Ok(RefundOutcome::Done),
            Err(CreditError::Payment(PaymentError::Unavailable(reason))) => {
                tracing::warn!(purchase = purchase_id, %reason, "refund pending: the payment provider did not answer");
                Ok(RefundOutcome::Retrying)
            }
            Err(e) => Err(e),
        }
    }

    /// Finishes a pending refund (the background job's side of [`Credit::refund`]).
    pub async fn resume_refund(&self, refund_key: &str) -> Result<(), CreditError> {
        let Some(refund) = self.store.refund_by_key(refund_key).await? else {
            return Ok(());
        };
        if refund.status != RefundStatus::Pending {
            return Ok(());
        }
        let purchase = self.store.purchase(refund.purchase_id).await?;
        self.complete_refund(&purchase, refund_key, refund.amount).await
    }

    /// Steps 2 and 3 of a reserved refund; each is idempotent under the refund's key.
    async fn complete_refund(&self, purchase: &Purchase, refund_key: &str, amount: i64) -> Result<(), CreditError> {
        let currency = purchase.price.currency;
        let client =
            self.ledger.account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, currency).await?;
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?;
        let transfer = |key: String, debit, credit, code: &str| TransferRequest {
            key,
            debit,
            credit,
            amount: Some(amount),
            currency,
            code: code.into(),
            user_data: Some(format!("purchase:{}", purchase.id)),
            mode: TransferMode::Posted,
            pending_key: None,
            linked: false,
        };
        let take = transfer(refund_key.to_owned(), client.id, provider.id, "refund");
        for result in self.store.create_transfers(&[take], self.clock.now()).await? {
            if let Err(e) = result {
                // Nothing moved: the reservation goes, and with it the amount it held.
                self.store.cancel_refund(refund_key).await?;
                return Err(match e {
                    LedgerError::ExceedsCredits => {
                        let purchase = self.store.purchase(purchase.id).await?;
                        CreditError::NotRefundable(self.refundable(&purchase).await?.minor)
                    }
                    other => CreditError::Ledger(other),
                });
            }
        }
        crate::faults::crash_point("refund-credit-taken");
        match self.payments.refund(purchase, Money::new(amount, currency), refund_key).await {
            Ok(()) => {
                self.store.finish_refund(refund_key, RefundStatus::Done).await?;
                Ok(())
            }
            Err(PaymentError::Refused(reason)) => {
                let give_back = transfer(format!("{refund_key}:refused"), provider.id, client.id, "refund_refused");
                for result in self.store.create_transfers(&[give_back], self.clock.now()).await? {
                    result.map_err(CreditError::Ledger)?;
                }
                self.store.finish_refund(refund_key, RefundStatus::Failed).await?;
                Err(CreditError::Payment(PaymentError::Refused(reason)))
            }
            Err(other) => Err(other.into()),
        }
    }
}

/// What can be refunded on `purchase` when its client has `unspent` credit left.
fn refundable_of(purchase: &Purchase, unspent: i64) -> Money {
    let currency = purchase.price.currency;
    if purchase.status != PurchaseStatus::Paid {
        return Money::zero(currency);
    }
    Money::new(augure_domain::credit::refundable(purchase.price.minor, purchase.refunded.minor, unspent), currency)
}

/// The ledger key of a refund request: one per purchase and request key.
fn refund_key(purchase_id: i64, request_key: &str) -> String {
    format!("refund:{purchase_id}:{request_key}")
}

/// The request key a refund was made under (what asking again sends).
fn request_key(refund: &Refund) -> Option<&str> {
    refund.key.strip_prefix(&format!("refund:{}:", refund.purchase_id))
}

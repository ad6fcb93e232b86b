//! Prepaid credit: clients buy packs through the payment provider; credit is granted only
//! from the provider's verified event, once per purchase however often, late or out of
//! order the event arrives; an admin may refund what the client has not spent; money the
//! provider takes back on its own (dashboard refunds, chargebacks) is reconciled.

mod events;
mod incidents;
mod port;
mod refunds;

use std::sync::Arc;

use augure_domain::ledger::{AccountId, AccountKind, LedgerError};
use augure_domain::{Clock, Currency, Money, Role, UserId};
use augure_store::{CreditPack, LedgerOwner, Purchase, PurchaseStatus, Store, StoreError, Transfer, User};

use crate::i18n::I18n;
use crate::ledger::Ledger;
use crate::settings::Settings;

pub use events::ProviderAction;
pub use incidents::Incident;
pub use port::*;
pub use refunds::{PendingRefund, RefundOutcome, RefundablePurchase};

/// The job that delivers a webhook of the test-mode checkout, signed when it runs.
pub const WEBHOOK_JOB: &str = "payments.webhook";

/// The job that closes a checkout left unpaid (`payments.checkout_expiry_minutes`).
pub const CHECKOUT_EXPIRY_JOB: &str = "payments.checkout_expiry";

/// The job that finishes a refund the provider did not answer at once.
pub const REFUND_JOB: &str = "payments.refund";

/// When the job that finishes a refund left half done first runs; then
/// `payments.refund_retry`. Long enough for the request itself to finish first normally.
pub const REFUND_RECOVERY_DELAY: chrono::Duration = chrono::Duration::minutes(5);

/// How paying at the test-mode checkout went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestPayment {
    /// Approved: the provider's signed webhook is on its way (queued).
    Approved,
    /// Accepted by a delayed method: the money arrives (or not) later.
    Processing,
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
    #[error("the amount is not refundable: at most {0:?}")]
    NotRefundable(Money),
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
    /// Paid by a delayed method: credited when the money arrives.
    AwaitingFunds,
    /// The delayed payment failed: nothing was granted.
    PaymentFailed,
    /// Money the provider took back (or gave back) is now in the books.
    Reconciled,
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
    /// Credit spent and then taken back by the provider: paid back first by the next
    /// purchase, and no new consultation until it is.
    pub debt: Money,
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

#[derive(Clone)]
pub struct Credit {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ledger: Ledger,
    payments: Arc<dyn Payments>,
    settings: Arc<Settings>,
    i18n: Arc<I18n>,
    /// Told whose credit just landed: a live consultation extends its grant at once.
    landed: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<UserId>>>,
}

impl Credit {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ledger: Ledger,
        payments: Arc<dyn Payments>,
        settings: Arc<Settings>,
        i18n: Arc<I18n>,
    ) -> Self {
        Self { store, clock, ledger, payments, settings, i18n, landed: Arc::default() }
    }

    /// Each client whose purchase was credited, from now on; `None` when taken already.
    pub fn observe_landed(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<UserId>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.landed.set(tx).ok().map(|()| rx)
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
            Some(site) => self.packs_on(site.id).await,
            None => Ok(Vec::new()),
        }
    }

    /// The packs on sale on a site, cheapest first.
    pub async fn packs_on(&self, site: augure_domain::SiteId) -> Result<Vec<CreditPack>, CreditError> {
        Ok(self.store.credit_packs(site).await?)
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
        let now = self.clock.now();
        let purchase = self.store.create_purchase(user.id, &pack, now).await?;
        let expiry = chrono::Duration::minutes(self.settings.payments.checkout_expiry_minutes.max(1));
        self.store
            .enqueue_job(&augure_store::NewJob {
                kind: CHECKOUT_EXPIRY_JOB.into(),
                payload: serde_json::json!({ "purchase": purchase.id }),
                unique_key: Some(format!("checkout-expiry:{}", purchase.id)),
                run_at: now + expiry,
                created_at: now,
            })
            .await?;
        let base = public_url.trim_end_matches('/');
        let success = format!("{base}/wallet?purchase={}", purchase.id);
        let cancel = format!("{base}/wallet");
        let checkout = self.payments.create_checkout(&purchase, &success, &cancel).await?;
        self.store.set_checkout_session(purchase.id, &checkout.session_id).await?;
        let purchase = self.store.purchase(purchase.id).await.unwrap_or(purchase);
        Ok((purchase, checkout))
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
        let debt = self.debt(user.id, currency).await?;
        Ok(Wallet {
            currency,
            available: Money::new(balances.available(), currency),
            on_hold: Money::new(balances.debits_pending, currency),
            debt: Money::new(debt, currency),
            history,
            purchases,
            account: account.map(|a| a.id),
        })
    }

    /// What a client can spend on a new consultation in `currency`: their available credit
    /// (what live consultations hold is not), or `None` while they owe a debt, since no new
    /// consultation starts until it is paid back. Only reads, like [`Self::wallet`].
    pub async fn spendable(&self, user: &User, currency: Currency) -> Result<Option<Money>, CreditError> {
        if user.role != Role::Client {
            return Err(CreditError::NotAClient);
        }
        if self.debt(user.id, currency).await? > 0 {
            return Ok(None);
        }
        let account = self.ledger.find_account(LedgerOwner::User(user.id), AccountKind::ClientCredit, currency).await?;
        Ok(Some(Money::new(account.map_or(0, |a| a.balances.available()).max(0), currency)))
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

    /// Closes a checkout still waiting for its payment (none under way): expired, or
    /// cancelled by its buyer. A payment that arrives after all is still credited.
    pub async fn close_checkout(&self, purchase_id: i64) -> Result<bool, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        if purchase.status != PurchaseStatus::Pending || purchase.processing_at.is_some() {
            return Ok(false);
        }
        Ok(self.store.mark_purchase_failed(purchase_id).await?)
    }

    /// A client cancels a purchase of theirs they did not pay.
    pub async fn cancel_purchase(&self, user: &User, purchase_id: i64) -> Result<bool, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        if purchase.user_id != user.id {
            return Err(CreditError::UnknownPurchase);
        }
        self.close_checkout(purchase_id).await
    }

    /// Puts a pack back on sale or withdraws it; purchases made keep their terms.
    pub async fn set_pack_active(&self, pack_id: i64, active: bool) -> Result<(), CreditError> {
        Ok(self.store.set_credit_pack_active(pack_id, active).await?)
    }

    async fn purchase(&self, id: i64) -> Result<Purchase, CreditError> {
        match self.store.purchase(id).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound) => Err(CreditError::UnknownPurchase),
            Err(e) => Err(e.into()),
        }
    }
}

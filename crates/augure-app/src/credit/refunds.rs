//! Refunds an admin asks for: reserved, the credit taken, then the card refunded; a
//! refusal gives the credit back, no answer leaves it pending and asked again until the
//! provider answers.

use std::collections::HashMap;

use augure_domain::ledger::{AccountKind, LedgerError, TransferMode, TransferRequest};
use augure_domain::{Currency, Money, UserId};
use augure_store::{LedgerOwner, NewJob, Purchase, PurchaseStatus, Refund, RefundReservation, RefundStatus};
use chrono::{DateTime, Utc};

use super::{Credit, CreditError, PaymentError, ProviderRefund, REFUND_JOB, REFUND_RECOVERY_DELAY};
use crate::mail::Mail;

/// How a refund request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The credit is taken and the card refunded.
    Done,
    /// The credit is taken; the provider did not answer, so the card refund is asked again
    /// in the background, under the same idempotency key, until it answers.
    Retrying,
}

/// A purchase in the admin's list, with what can still be refunded on it.
#[derive(Clone, Debug)]
pub struct RefundablePurchase {
    pub purchase: Purchase,
    pub refundable: Money,
    /// Who bought it, as an admin recognises them: name and email.
    pub buyer: String,
}

/// A refund still waiting for the provider, and the request key that resumes it when
/// submitted again.
#[derive(Clone, Debug)]
pub struct PendingRefund {
    pub purchase_id: i64,
    pub amount: Money,
    pub request_key: String,
    pub since: DateTime<Utc>,
    /// Unanswered for longer than `payments.refund_stuck_minutes`.
    pub stuck: bool,
}

impl Credit {
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
        let mut buyers: HashMap<UserId, String> = HashMap::new();
        for owner in &owners {
            if let Some(id) = owner.user() {
                let user = self.store.user_by_id(id).await?;
                buyers.insert(id, format!("{} ({})", user.display_name, user.email));
            }
        }
        Ok(purchases
            .into_iter()
            .map(|purchase| {
                let unspent = unspent.get(&(purchase.user_id, purchase.price.currency)).copied().unwrap_or(0);
                let buyer = buyers.get(&purchase.user_id).cloned().unwrap_or_default();
                RefundablePurchase { refundable: refundable_of(&purchase, unspent), purchase, buyer }
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
            let stuck_after = chrono::Duration::minutes(self.settings.payments.refund_stuck_minutes);
            pending.push(PendingRefund {
                purchase_id: refund.purchase_id,
                amount: Money::new(refund.amount, currency),
                request_key: request_key.to_owned(),
                since: refund.created_at,
                stuck: self.clock.now() - refund.created_at >= stuck_after,
            });
        }
        Ok(pending)
    }

    /// A refund as an admin types it: `amount` in major units of the purchase's currency,
    /// and the request's `key` (see [`Credit::refund`]). Gives back the amount read, which
    /// the admin's confirmation names.
    pub async fn refund_typed(
        &self,
        purchase_id: i64,
        amount: &str,
        key: &str,
    ) -> Result<(RefundOutcome, Money), CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        let amount = Money::parse_major(amount, purchase.price.currency).map_err(|_| CreditError::InvalidAmount)?;
        let key = key.trim();
        if key.is_empty() || augure_domain::check_line(key).is_err() {
            return Err(CreditError::MissingRequestKey);
        }
        Ok((self.refund_purchase(purchase, amount.minor, key).await?, amount))
    }

    /// Refunds `amount` of a purchase to the card and removes it from the client's credit,
    /// with the share of the purchase's bonus it carries ([`augure_domain::refund`]).
    /// `key` identifies the refund request: submitting it again (a double submit, or after
    /// a failure) never refunds twice, and resumes a refund left half done.
    ///
    /// The order is what keeps the books right when something fails half way:
    /// 1. the refund is reserved under the purchase's lock, so refunds made at the same
    ///    moment never add up to more than was paid;
    /// 2. the credit is taken, so it cannot be spent while the card is refunded;
    /// 3. the card is refunded. Only a definite refusal gives the credit back and closes
    ///    the request, and only the call that moved it from pending to failed does so; an
    ///    answer that says nothing (none, 5xx, 409 for a double submit still in flight)
    ///    leaves it pending, asked again in the background until the provider answers.
    pub async fn refund(&self, purchase_id: i64, amount: i64, key: &str) -> Result<RefundOutcome, CreditError> {
        let purchase = self.purchase(purchase_id).await?;
        self.refund_purchase(purchase, amount, key).await
    }

    /// [`Credit::refund`], the purchase read.
    async fn refund_purchase(&self, purchase: Purchase, amount: i64, key: &str) -> Result<RefundOutcome, CreditError> {
        let purchase_id = purchase.id;
        let refund_key = refund_key(purchase_id, key);
        let unspent = self.unspent(&purchase).await?;
        let refundable = refundable_of(&purchase, unspent);
        if amount <= 0 || purchase.status != PurchaseStatus::Paid {
            return Err(CreditError::NotRefundable(refundable));
        }
        let (price, bonus) = (purchase.price.minor, purchase.bonus.minor);
        let bonus_for =
            move |before: i64| augure_domain::refund::bonus_taken_back(price, bonus, before, amount, unspent);
        let now = self.clock.now();
        let refund = match self.store.reserve_refund(purchase_id, &refund_key, amount, &bonus_for, now).await? {
            RefundReservation::Reserved if amount > refundable.minor => {
                self.store.cancel_refund(&refund_key).await?;
                return Err(CreditError::NotRefundable(refundable));
            }
            RefundReservation::Reserved => {
                self.store.refund_by_key(&refund_key).await?.ok_or(CreditError::UnknownPurchase)?
            }
            RefundReservation::Existing(refund) => match refund.status {
                RefundStatus::Done => return Ok(RefundOutcome::Done),
                RefundStatus::Failed => return Err(CreditError::RefundFailed),
                // The same request again: finish it as first asked.
                RefundStatus::Pending => refund,
            },
            RefundReservation::Exceeds { refundable: left } => {
                return Err(CreditError::NotRefundable(Money::new(
                    left.min(refundable.minor),
                    purchase.price.currency,
                )));
            }
        };
        // Queued before any money moves, for later: if this request dies half way (a crash,
        // a lost connection), the job finishes the refund; if it completes, the job finds
        // it done and does nothing.
        self.store
            .enqueue_job(&NewJob {
                kind: REFUND_JOB.into(),
                payload: serde_json::json!({ "key": refund_key }),
                unique_key: Some(refund_key.clone()),
                run_at: now + REFUND_RECOVERY_DELAY,
                created_at: now,
            })
            .await?;
        match self.complete_refund(&purchase, &refund, false).await {
            Ok(()) => Ok(RefundOutcome::Done),
            Err(CreditError::Payment(PaymentError::Unavailable(reason))) => {
                tracing::warn!(purchase = purchase_id, %reason, "refund pending: the payment provider did not answer");
                Ok(RefundOutcome::Retrying)
            }
            Err(e) => Err(e),
        }
    }

    /// Finishes a pending refund (the background job's side of [`Credit::refund`]). A
    /// refund refused and marked failed gets its credit back here if a crash came between
    /// the two. Unanswered past `payments.refund_stuck_minutes`, admins are told once.
    pub async fn resume_refund(&self, refund_key: &str) -> Result<(), CreditError> {
        let Some(refund) = self.store.refund_by_key(refund_key).await? else {
            return Ok(());
        };
        let purchase = self.store.purchase(refund.purchase_id).await?;
        match refund.status {
            RefundStatus::Done => Ok(()),
            RefundStatus::Failed => self.give_back(&purchase, &refund).await,
            RefundStatus::Pending => {
                let result = self.complete_refund(&purchase, &refund, true).await;
                if matches!(result, Err(CreditError::Payment(PaymentError::Unavailable(_)))) {
                    self.alert_if_stuck(&purchase, &refund).await?;
                }
                result
            }
        }
    }

    /// Steps 2 and 3 of a reserved refund; each is idempotent under the refund's key.
    /// `resumed`: a later try, which asks the provider first once its key may be forgotten.
    async fn complete_refund(&self, purchase: &Purchase, refund: &Refund, resumed: bool) -> Result<(), CreditError> {
        let take = self.refund_transfers(purchase, refund, "", true).await?;
        for result in self.store.create_transfers(&take, self.clock.now()).await? {
            if let Err(e) = result {
                // Nothing moved: the reservation goes, and with it the amount it held.
                self.store.cancel_refund(&refund.key).await?;
                return Err(match e {
                    LedgerError::ExceedsCredits => {
                        let purchase = self.store.purchase(purchase.id).await?;
                        CreditError::NotRefundable(self.refundable(&purchase).await?)
                    }
                    other => CreditError::Ledger(other),
                });
            }
        }
        crate::faults::crash_point("refund-credit-taken");
        let key_lifetime = chrono::Duration::hours(self.settings.payments.provider_key_hours);
        let answer = if resumed && self.clock.now() - refund.created_at >= key_lifetime - chrono::Duration::hours(1) {
            // The provider may have forgotten the key: sending again could refund twice.
            // Ask what became of it, and send it again only if it never arrived.
            match self.payments.find_refund(purchase, &refund.key).await? {
                Some(ProviderRefund::Accepted) => Ok(()),
                Some(ProviderRefund::Failed) => Err(PaymentError::Refused("the provider cancelled it".into())),
                None => self.send_refund(purchase, refund).await,
            }
        } else {
            self.send_refund(purchase, refund).await
        };
        match answer {
            Ok(()) => {
                self.store.finish_refund(&refund.key, RefundStatus::Done).await?;
                Ok(())
            }
            Err(PaymentError::Refused(reason)) => {
                // Of concurrent answers only the one that closes the refund gives back.
                if self.store.finish_refund(&refund.key, RefundStatus::Failed).await? {
                    self.give_back(purchase, refund).await?;
                }
                Err(CreditError::Payment(PaymentError::Refused(reason)))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn send_refund(&self, purchase: &Purchase, refund: &Refund) -> Result<(), PaymentError> {
        self.payments.refund(purchase, Money::new(refund.amount, purchase.price.currency), &refund.key).await
    }

    /// Gives back what a refused refund took (keyed: once, however often called).
    async fn give_back(&self, purchase: &Purchase, refund: &Refund) -> Result<(), CreditError> {
        let give_back = self.refund_transfers(purchase, refund, ":refused", false).await?;
        for result in self.store.create_transfers(&give_back, self.clock.now()).await? {
            result.map_err(CreditError::Ledger)?;
        }
        Ok(())
    }

    /// The transfers that take a refund from the client's credit (`take`), or give it back:
    /// the amount to the provider's account, the bonus share to promotions.
    async fn refund_transfers(
        &self,
        purchase: &Purchase,
        refund: &Refund,
        suffix: &str,
        take: bool,
    ) -> Result<Vec<TransferRequest>, CreditError> {
        let currency = purchase.price.currency;
        let owner = LedgerOwner::User(purchase.user_id);
        let client = self.ledger.account(owner, AccountKind::ClientCredit, currency).await?.id;
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?.id;
        let (code, bonus_code) = if take { ("refund", "refund_bonus") } else { ("refund_refused", "refund_refused") };
        let transfer = |key: String, other, amount, code: &str, linked| {
            let (debit, credit) = if take { (client, other) } else { (other, client) };
            TransferRequest {
                key,
                debit,
                credit,
                amount: Some(amount),
                currency,
                code: code.into(),
                user_data: Some(format!("purchase:{}", purchase.id)),
                mode: TransferMode::Posted,
                pending_key: None,
                linked,
            }
        };
        let mut transfers =
            vec![transfer(format!("{}{suffix}", refund.key), provider, refund.amount, code, refund.bonus > 0)];
        if refund.bonus > 0 {
            let promotions = self.ledger.account(LedgerOwner::Platform, AccountKind::Promotions, currency).await?.id;
            transfers.push(transfer(
                format!("{}{suffix}:bonus", refund.key),
                promotions,
                refund.bonus,
                bonus_code,
                false,
            ));
        }
        Ok(transfers)
    }

    /// Mails the admins once about a refund the provider has not answered for too long;
    /// the admin page lists it as stuck meanwhile.
    async fn alert_if_stuck(&self, purchase: &Purchase, refund: &Refund) -> Result<(), CreditError> {
        let stuck_after = chrono::Duration::minutes(self.settings.payments.refund_stuck_minutes);
        if self.clock.now() - refund.created_at < stuck_after {
            return Ok(());
        }
        let amount = Money::new(refund.amount, purchase.price.currency);
        self.alert_admins(&format!("refund-stuck:{}", refund.key), "mail-refund-stuck", purchase, amount).await
    }

    /// Mails every admin, once per `unique_key`, an alert about a purchase.
    pub(super) async fn alert_admins(
        &self,
        unique_key: &str,
        message: &str,
        purchase: &Purchase,
        amount: Money,
    ) -> Result<(), CreditError> {
        let admins = self.store.list_users(Some(augure_domain::Role::Admin), 100, 0).await?;
        let url = format!("{}/admin/purchases", self.settings.public_url.trim_end_matches('/'));
        for admin in admins {
            let tr = crate::i18n::Tr::new(&self.i18n, &admin.locale);
            let amount = amount.format(&admin.locale);
            let body = tr.t2(message, "purchase", &purchase.id.to_string(), "amount", &amount);
            let mail = Mail::alert(&admin.email.to_string(), &tr, &admin.display_name, &body, &url)
                .map_err(|e| CreditError::Store(augure_store::StoreError::Backend(Box::new(e))))?;
            mail.enqueue(&*self.store, Some(format!("{unique_key}:{}", admin.id.0)), self.clock.now()).await?;
        }
        Ok(())
    }

    /// What the purchase's client has left to spend in its currency.
    pub(super) async fn unspent(&self, purchase: &Purchase) -> Result<i64, CreditError> {
        let owner = LedgerOwner::User(purchase.user_id);
        let client = self.ledger.find_account(owner, AccountKind::ClientCredit, purchase.price.currency).await?;
        Ok(client.map_or(0, |c| c.balances.available()))
    }
}

/// What can be refunded on `purchase` when its client has `unspent` credit left.
pub(super) fn refundable_of(purchase: &Purchase, unspent: i64) -> Money {
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

//! Money the provider takes back on its own — a refund made from its dashboard, a
//! chargeback — reconciled into the ledger: the client's unspent credit is taken back at
//! once, what was already spent becomes the client's debt (paid back first by their next
//! purchase), and admins are told.

use augure_domain::ledger::{AccountKind, TransferMode, TransferRequest};
use augure_domain::{Money, UserId};
use augure_store::{
    IncidentKind, IncidentStatus, LedgerOwner, PaymentIncident, Purchase, RefundReservation, RefundStatus, StoreError,
};
use chrono::{DateTime, Utc};

use super::{Credit, CreditError, EventOutcome};

/// An incident in the admin's list, in the purchase's currency.
#[derive(Clone, Debug)]
pub struct Incident {
    pub incident: PaymentIncident,
    pub amount: Money,
    pub taken: Money,
    pub debt: Money,
}

impl Credit {
    /// `charge.refunded`: the provider's refunded total for a payment. What our own refunds
    /// (reserved before they are sent) do not account for was refunded at the provider.
    pub(super) async fn provider_refunded(
        &self,
        payment_ref: &str,
        refunded_total: i64,
        currency: &str,
    ) -> Result<EventOutcome, CreditError> {
        let Some(purchase) = self.paid_purchase(payment_ref, currency).await? else {
            return Ok(EventOutcome::Ignored);
        };
        let extra = refunded_total.min(purchase.price.minor) - purchase.refunded.minor;
        let reference = format!("charge-refunded:{payment_ref}:{refunded_total}");
        if extra <= 0 && self.store.incident_by_ref(&reference).await?.is_none() {
            // The echo of our own refunds.
            return Ok(EventOutcome::AlreadyDone);
        }
        let refund_key = format!("refund:{}:provider-{refunded_total}", purchase.id);
        let unspent = self.unspent(&purchase).await?;
        let (price, bonus) = (purchase.price.minor, purchase.bonus.minor);
        let amount = extra.max(1);
        let bonus_for =
            move |before: i64| augure_domain::refund::bonus_taken_back(price, bonus, before, amount, unspent);
        let now = self.clock.now();
        let refund = match self.store.reserve_refund(purchase.id, &refund_key, amount, &bonus_for, now).await? {
            RefundReservation::Existing(refund) => refund,
            RefundReservation::Reserved => {
                self.store.refund_by_key(&refund_key).await?.ok_or(CreditError::UnknownPurchase)?
            }
            RefundReservation::Exceeds { .. } => return Ok(EventOutcome::AlreadyDone),
        };
        let incident = self
            .record(&purchase, IncidentKind::Refund, &reference, refund.amount, unspent, IncidentStatus::Done)
            .await?;
        let mut transfers = self.take_back(&purchase, &incident, &refund_key).await?;
        if refund.bonus > 0 {
            let currency = purchase.price.currency;
            let client =
                self.ledger.account(LedgerOwner::User(purchase.user_id), AccountKind::ClientCredit, currency).await?;
            let promotions = self.ledger.account(LedgerOwner::Platform, AccountKind::Promotions, currency).await?;
            transfers.push(transfer(
                &purchase,
                format!("{refund_key}:bonus"),
                client.id,
                promotions.id,
                refund.bonus,
                "refund_bonus",
            ));
        }
        self.post_linked(transfers).await?;
        self.store.finish_refund(&refund_key, RefundStatus::Done).await?;
        let amount = Money::new(incident.amount, purchase.price.currency);
        self.alert_admins(&reference, "mail-provider-refund", &purchase, amount).await?;
        Ok(EventOutcome::Reconciled)
    }

    /// `charge.dispute.created`: the provider took the disputed amount back.
    pub(super) async fn dispute_opened(
        &self,
        dispute_id: &str,
        payment_ref: &str,
        amount: i64,
        currency: &str,
    ) -> Result<EventOutcome, CreditError> {
        let Some(purchase) = self.paid_purchase(payment_ref, currency).await? else {
            return Ok(EventOutcome::Ignored);
        };
        if amount <= 0 {
            return Err(CreditError::PaymentMismatch);
        }
        let reference = format!("dispute:{dispute_id}");
        let unspent = self.unspent(&purchase).await?;
        let incident =
            self.record(&purchase, IncidentKind::Dispute, &reference, amount, unspent, IncidentStatus::Open).await?;
        let transfers = self.take_back(&purchase, &incident, &reference).await?;
        self.post_linked(transfers).await?;
        let amount = Money::new(incident.amount, purchase.price.currency);
        self.alert_admins(&reference, "mail-dispute-opened", &purchase, amount).await?;
        Ok(EventOutcome::Reconciled)
    }

    /// `charge.dispute.closed`: won, what was taken comes back (the debt it left is
    /// cancelled, or given back as credit if it was paid back meanwhile); lost, it stays
    /// taken. A close that arrives before its opening opens it first.
    pub(super) async fn dispute_closed(
        &self,
        dispute_id: &str,
        payment_ref: &str,
        amount: i64,
        currency: &str,
        won: bool,
    ) -> Result<EventOutcome, CreditError> {
        if self.dispute_opened(dispute_id, payment_ref, amount, currency).await? == EventOutcome::Ignored {
            return Ok(EventOutcome::Ignored);
        }
        let reference = format!("dispute:{dispute_id}");
        let status = if won { IncidentStatus::Won } else { IncidentStatus::Lost };
        self.store.close_incident(&reference, status, self.clock.now()).await?;
        let incident = self.store.incident_by_ref(&reference).await?.ok_or(CreditError::UnknownPurchase)?;
        if incident.status != IncidentStatus::Won {
            return Ok(EventOutcome::Reconciled);
        }
        let purchase = self.purchase(incident.purchase_id).await?;
        let currency = purchase.price.currency;
        let owner = LedgerOwner::User(purchase.user_id);
        let client = self.ledger.account(owner, AccountKind::ClientCredit, currency).await?.id;
        let debt_account = self.ledger.account(owner, AccountKind::ClientDebt, currency).await?.id;
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?.id;
        // The debt part is split once, by the first try: a replay reads it back.
        let debt_key = format!("{reference}:won:debt");
        let debt_back = match self.store.transfer_by_key(&debt_key).await {
            Ok(t) => t.amount,
            Err(StoreError::NotFound) => incident.debt.min(self.debt(purchase.user_id, currency).await?),
            Err(e) => return Err(e.into()),
        };
        let to_credit = incident.taken + (incident.debt - debt_back);
        let mut transfers = Vec::new();
        if to_credit > 0 {
            transfers.push(transfer(&purchase, format!("{reference}:won"), provider, client, to_credit, "dispute_won"));
        }
        if debt_back > 0 {
            transfers.push(transfer(&purchase, debt_key, provider, debt_account, debt_back, "dispute_won"));
        }
        self.post_linked(transfers).await?;
        Ok(EventOutcome::Reconciled)
    }

    /// What a client owes in `currency`: credit spent, then taken back by the provider.
    pub async fn debt(&self, user: UserId, currency: augure_domain::Currency) -> Result<i64, CreditError> {
        let account = self.ledger.find_account(LedgerOwner::User(user), AccountKind::ClientDebt, currency).await?;
        Ok(account.map_or(0, |a| a.balances.debits_posted - a.balances.credits_posted).max(0))
    }

    /// Pays a client's debt back from the credit a purchase just brought.
    pub(super) async fn repay_debt(&self, purchase: &Purchase, now: DateTime<Utc>) -> Result<(), CreditError> {
        let currency = purchase.price.currency;
        let debt = self.debt(purchase.user_id, currency).await?;
        if debt == 0 {
            return Ok(());
        }
        let owner = LedgerOwner::User(purchase.user_id);
        let client = self.ledger.account(owner, AccountKind::ClientCredit, currency).await?;
        let repay = debt.min(client.balances.available());
        if repay <= 0 {
            return Ok(());
        }
        let debt_account = self.ledger.account(owner, AccountKind::ClientDebt, currency).await?;
        let key = format!("purchase:{}:debt", purchase.id);
        let repayment = transfer(purchase, key, client.id, debt_account.id, repay, "debt_repaid");
        for result in self.store.create_transfers(&[repayment], now).await? {
            result.map_err(CreditError::Ledger)?;
        }
        Ok(())
    }

    /// The latest incidents, newest first, for the admin's page.
    pub async fn incidents(&self, limit: i64) -> Result<Vec<Incident>, CreditError> {
        let incidents = self.store.recent_incidents(limit).await?;
        let mut ids: Vec<i64> = incidents.iter().map(|i| i.purchase_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let purchases = self.store.purchases_by_ids(&ids).await?;
        Ok(incidents
            .into_iter()
            .filter_map(|incident| {
                let currency = purchases.iter().find(|p| p.id == incident.purchase_id)?.price.currency;
                Some(Incident {
                    amount: Money::new(incident.amount, currency),
                    taken: Money::new(incident.taken, currency),
                    debt: Money::new(incident.debt, currency),
                    incident,
                })
            })
            .collect())
    }

    /// The paid purchase of a provider payment, in its currency; `None` for payments
    /// that are not ours (another product on the same provider account).
    async fn paid_purchase(&self, payment_ref: &str, currency: &str) -> Result<Option<Purchase>, CreditError> {
        let Some(purchase) = self.store.purchase_by_payment_ref(payment_ref).await? else {
            return Ok(None);
        };
        if !currency.eq_ignore_ascii_case(purchase.price.currency.code()) {
            return Err(CreditError::PaymentMismatch);
        }
        Ok(Some(purchase))
    }

    /// Records an incident once, split between credit taken and debt from the `unspent`
    /// credit read now; recorded before, the stored split is what counts.
    async fn record(
        &self,
        purchase: &Purchase,
        kind: IncidentKind,
        reference: &str,
        amount: i64,
        unspent: i64,
        status: IncidentStatus,
    ) -> Result<PaymentIncident, CreditError> {
        let (taken, debt) = augure_domain::refund::take_back(amount, unspent);
        let incident = PaymentIncident {
            id: 0,
            purchase_id: purchase.id,
            kind,
            provider_ref: reference.to_owned(),
            amount,
            taken,
            debt,
            status,
            created_at: self.clock.now(),
            closed_at: None,
        };
        self.store.record_incident(&incident).await?;
        Ok(self.store.incident_by_ref(reference).await?.unwrap_or(incident))
    }

    /// The transfers that take an incident's money back: the unspent part from the
    /// client's credit, the spent part as debt.
    async fn take_back(
        &self,
        purchase: &Purchase,
        incident: &PaymentIncident,
        key: &str,
    ) -> Result<Vec<TransferRequest>, CreditError> {
        let currency = purchase.price.currency;
        let owner = LedgerOwner::User(purchase.user_id);
        let provider = self.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, currency).await?.id;
        let code = match incident.kind {
            IncidentKind::Refund => "provider_refund",
            IncidentKind::Dispute => "dispute",
        };
        let mut transfers = Vec::new();
        if incident.taken > 0 {
            let client = self.ledger.account(owner, AccountKind::ClientCredit, currency).await?.id;
            transfers.push(transfer(purchase, key.to_owned(), client, provider, incident.taken, code));
        }
        if incident.debt > 0 {
            let debt = self.ledger.account(owner, AccountKind::ClientDebt, currency).await?.id;
            transfers.push(transfer(purchase, format!("{key}:debt"), debt, provider, incident.debt, code));
        }
        Ok(transfers)
    }

    /// Posts transfers all or nothing; posted before, they move nothing again.
    async fn post_linked(&self, mut transfers: Vec<TransferRequest>) -> Result<(), CreditError> {
        let last = transfers.len().saturating_sub(1);
        for (i, t) in transfers.iter_mut().enumerate() {
            t.linked = i < last;
        }
        for result in self.store.create_transfers(&transfers, self.clock.now()).await? {
            result.map_err(CreditError::Ledger)?;
        }
        Ok(())
    }
}

fn transfer(
    purchase: &Purchase,
    key: String,
    debit: augure_domain::ledger::AccountId,
    credit: augure_domain::ledger::AccountId,
    amount: i64,
    code: &str,
) -> TransferRequest {
    TransferRequest {
        key,
        debit,
        credit,
        amount: Some(amount),
        currency: purchase.price.currency,
        code: code.into(),
        user_data: Some(format!("purchase:{}", purchase.id)),
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    }
}

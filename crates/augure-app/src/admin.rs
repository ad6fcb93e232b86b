//! The operator's back office: what the admin pages list (accounts, the mail and SMS
//! outboxes, the job queue, the ledger). It only reads.

use std::collections::HashMap;
use std::sync::Arc;

use augure_domain::ledger::{AccountId, LedgerAccount};
use augure_domain::{MailId, UserId};
use augure_store::{
    Job, JobStatus, LedgerOwner, Store, StoreResult, StoredMail, StoredSms, Transfer, TrialBalance, User,
};

/// The admin's landing page: a few numbers to watch.
#[derive(Clone, Debug)]
pub struct Overview {
    pub users: i64,
    pub queued: usize,
    pub failed: usize,
    /// The database backend, `sqlite` or `postgres`.
    pub backend: &'static str,
}

/// One page of a list, numbered from 0, and whether another follows.
#[derive(Clone, Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub more: bool,
}

/// The ledger at a glance: the trial balance per currency and a page of accounts.
#[derive(Clone, Debug)]
pub struct LedgerOverview {
    pub trial: Vec<TrialBalance>,
    /// Every currency's debits equal its credits, posted and pending.
    pub sound: bool,
    pub accounts: Paged<(LedgerAccount, LedgerOwner)>,
}

/// How many queued or failed jobs the overview counts at most.
const OVERVIEW_JOBS: i64 = 1000;

#[derive(Clone)]
pub struct BackOffice {
    store: Arc<dyn Store>,
}

impl BackOffice {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub async fn overview(&self) -> StoreResult<Overview> {
        Ok(Overview {
            users: self.store.count_users().await?,
            queued: self.store.list_jobs(Some(JobStatus::Queued), OVERVIEW_JOBS).await?.len(),
            failed: self.store.list_jobs(Some(JobStatus::Failed), OVERVIEW_JOBS).await?.len(),
            backend: self.store.backend(),
        })
    }

    /// The outbox, newest first.
    pub async fn outbox(&self, page: i64, size: i64) -> StoreResult<Paged<StoredMail>> {
        let page = page.max(0);
        Ok(paged(self.store.list_mail(size + 1, page * size).await?, page, size))
    }

    /// The SMS outbox, newest first.
    pub async fn sms_outbox(&self, page: i64, size: i64) -> StoreResult<Paged<StoredSms>> {
        let page = page.max(0);
        Ok(paged(self.store.list_sms(size + 1, page * size).await?, page, size))
    }

    pub async fn mail(&self, id: MailId) -> StoreResult<StoredMail> {
        self.store.mail(id).await
    }

    /// Jobs, newest first, of one status or all.
    pub async fn jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
        self.store.list_jobs(status, limit).await
    }

    pub async fn users(&self, page: i64, size: i64) -> StoreResult<Paged<User>> {
        let page = page.max(0);
        Ok(paged(self.store.list_users(None, size + 1, page * size).await?, page, size))
    }

    pub async fn ledger(&self, page: i64, size: i64) -> StoreResult<LedgerOverview> {
        let page = page.max(0);
        let trial = self.store.trial_balance().await?;
        let sound = trial.iter().all(|t| t.debits_posted == t.credits_posted && t.debits_pending == t.credits_pending);
        let accounts = paged(self.store.ledger_accounts(size + 1, page * size).await?, page, size);
        Ok(LedgerOverview { trial, sound, accounts })
    }

    /// Who owns these ledger accounts, by user (the platform's accounts need no name);
    /// an owner whose account is gone is left out.
    pub async fn owners(&self, owners: impl IntoIterator<Item = LedgerOwner>) -> StoreResult<HashMap<UserId, User>> {
        let mut found = HashMap::new();
        for owner in owners {
            if let LedgerOwner::User(id) = owner
                && !found.contains_key(&id)
            {
                match self.store.user_by_id(id).await {
                    Ok(user) => {
                        found.insert(id, user);
                    }
                    Err(augure_store::StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(found)
    }

    /// An account, its owner and its latest transfers, newest first.
    pub async fn ledger_account(
        &self,
        id: AccountId,
        limit: i64,
    ) -> StoreResult<(LedgerAccount, LedgerOwner, Vec<Transfer>)> {
        let (account, owner) = self.store.ledger_account_by_id(id).await?;
        let transfers = self.store.account_transfers(id, limit).await?;
        Ok((account, owner, transfers))
    }

    /// Every transfer, newest first.
    pub async fn transfers(&self, page: i64, size: i64) -> StoreResult<Paged<Transfer>> {
        let page = page.max(0);
        Ok(paged(self.store.recent_transfers(size + 1, page * size).await?, page, size))
    }
}

/// A page read with one row more than it shows: that row says whether another follows.
fn paged<T>(mut items: Vec<T>, page: i64, size: i64) -> Paged<T> {
    let more = items.len() as i64 > size;
    items.truncate(usize::try_from(size).unwrap_or(0));
    Paged { items, page, more }
}

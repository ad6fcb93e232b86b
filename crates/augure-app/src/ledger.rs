//! The ledger as the rest of the application uses it: accounts by owner, transfers, the
//! expiry of holds whose time ran out, and the audit behind `augure ledger verify`.

use std::sync::Arc;

use augure_domain::ledger::{self, AccountKind, Audit, LedgerAccount, TransferMode, TransferRequest};
use augure_domain::{Clock, Currency};
use augure_store::{LedgerOwner, Store, StoreResult};

/// How many timed-out holds one sweep releases; the rest wait for the next sweep.
const EXPIRY_BATCH: i64 = 500;

#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Ledger {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
    ) -> StoreResult<LedgerAccount> {
        self.store.ledger_account(owner, kind, currency, self.clock.now()).await
    }

    /// The account if it exists; never creates one. What read-only pages use: an account
    /// not created yet is an empty one.
    pub async fn find_account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
    ) -> StoreResult<Option<LedgerAccount>> {
        self.store.find_ledger_account(owner, kind, currency).await
    }

    /// The existing accounts of `kind` of all these owners, in one read.
    pub async fn find_accounts(
        &self,
        owners: &[LedgerOwner],
        kind: AccountKind,
    ) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>> {
        self.store.find_ledger_accounts(owners, kind).await
    }

    /// Releases every hold whose time ran out, each by an `expire` transfer keyed by the
    /// hold, so two nodes sweeping at once release it once.
    pub async fn expire_holds(&self) -> StoreResult<usize> {
        let now = self.clock.now();
        let mut released = 0;
        loop {
            let holds = self.store.expired_holds(now, EXPIRY_BATCH).await?;
            if holds.is_empty() {
                return Ok(released);
            }
            let requests: Vec<TransferRequest> = holds
                .iter()
                .map(|h| TransferRequest {
                    key: format!("expire:{}", h.key),
                    debit: h.debit,
                    credit: h.credit,
                    amount: None,
                    currency: h.currency,
                    code: h.code.clone(),
                    user_data: h.user_data.clone(),
                    mode: TransferMode::Expire,
                    pending_key: Some(h.key.clone()),
                    linked: false,
                })
                .collect();
            let results = self.store.create_transfers(&requests, now).await?;
            let done = results.iter().filter(|r| r.is_ok()).count();
            released += done;
            if done == 0 {
                // Nothing could be released (e.g. resolved meanwhile): do not spin.
                return Ok(released);
            }
        }
    }

    /// Replays the whole ledger and reports what does not add up.
    pub async fn verify(&self) -> StoreResult<Audit> {
        Ok(ledger::audit(&self.store.ledger_snapshot().await?))
    }
}

//! What one batch of transfers reads, decides and leaves, without SQL: the statements that
//! feed it and store it are in [`super::write`].

use std::collections::HashMap;

use augure_domain::ledger::{
    self, AccountId, Balances, HoldState, KnownTransfer, LedgerAccount, LedgerError, Outcome, TransferId, TransferMode,
    TransferRequest,
};
use augure_store::{StoreError, StoreResult, Transfer};
use chrono::{DateTime, Utc};

use super::cache::LedgerCache;
use super::{account, transfer};
use crate::codec::{Columns, instant, micros};

/// A batch in progress: the accounts it touches, the transfers already stored under its
/// keys, the ledger's decision for each request, and the rows it appends.
pub struct Batch<'a> {
    requests: &'a [TransferRequest],
    now: DateTime<Utc>,
    accounts: HashMap<AccountId, LedgerAccount>,
    /// Per account: the version and last transfer as read, then as the batch leaves them.
    chains: HashMap<AccountId, Chain>,
    known: HashMap<String, KnownTransfer>,
    outcomes: Vec<Outcome>,
    /// The transfers this batch creates, with the index of the request each answers.
    created: Vec<NewTransfer>,
    /// Transfers stored earlier that replayed requests answer with.
    replayed: HashMap<TransferId, Transfer>,
}

/// A transfer this batch appends: one row carrying both sides' entries.
pub struct NewTransfer {
    request: usize,
    pub transfer: Transfer,
    pub entries: [EntryRow; 2],
}

/// One side's entry, stored on the transfer row.
pub struct EntryRow {
    pub version: i64,
    pub previous: Option<TransferId>,
    pub balances: Balances,
}

/// An account's new sums and history head, for the one update of the touched accounts.
pub struct TouchedAccount<'b> {
    pub id: AccountId,
    pub balances: Balances,
    pub chain: &'b Chain,
}

impl<'a> Batch<'a> {
    pub fn new(requests: &'a [TransferRequest], now: DateTime<Utc>) -> Self {
        Self {
            requests,
            now,
            accounts: HashMap::new(),
            chains: HashMap::new(),
            known: HashMap::new(),
            outcomes: Vec::new(),
            created: Vec::new(),
            replayed: HashMap::new(),
        }
    }

    /// The accounts to read under their locks, in id order so that concurrent batches
    /// cannot deadlock: every account the batch names that `cache` does not hold.
    pub fn accounts_to_read(&mut self, cache: Option<&LedgerCache>) -> Vec<i64> {
        let mut ids: Vec<i64> = self.requests.iter().flat_map(|r| [r.debit.0, r.credit.0]).collect();
        ids.sort_unstable();
        ids.dedup();
        if let Some(cache) = cache {
            ids.retain(|id| match cache.account(AccountId(*id)) {
                Some((account, version, last)) => {
                    self.chains.insert(account.id, Chain::new(version, last));
                    self.accounts.insert(account.id, account.clone());
                    false
                }
                None => true,
            });
        }
        ids
    }

    /// An account row read under its lock (`ACCOUNT_COLUMNS`, `version`, `last_transfer_id`).
    pub fn read_account(&mut self, row: &impl Columns) -> StoreResult<()> {
        let (account, _) = account(row)?;
        let last: Option<i64> = row.col("last_transfer_id")?;
        self.chains.insert(account.id, Chain::new(row.col("version")?, last.map(TransferId)));
        self.accounts.insert(account.id, account);
        Ok(())
    }

    /// The batch's keys and the holds it resolves, to look up what is stored under them.
    pub fn keys(&self) -> Vec<&'a str> {
        let mut keys: Vec<&str> = self
            .requests
            .iter()
            .flat_map(|r| std::iter::once(r.key.as_str()).chain(r.pending_key.as_deref()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// A transfer stored under one of the keys (`TRANSFER_COLUMNS` and `resolved_by`, the
    /// mode of the transfer that resolved it when it is a hold).
    pub fn read_known(&mut self, row: &impl Columns) -> StoreResult<()> {
        let stored = transfer(row)?;
        let resolved_by: Option<String> = row.col("resolved_by")?;
        let hold_state = match (&stored.mode, resolved_by.as_deref()) {
            (TransferMode::Pending { .. }, None) => Some(HoldState::Pending),
            (TransferMode::Pending { .. }, Some("post_pending")) => Some(HoldState::Posted),
            (TransferMode::Pending { .. }, Some("void_pending")) => Some(HoldState::Voided),
            (TransferMode::Pending { .. }, Some(_)) => Some(HoldState::Expired),
            _ => None,
        };
        let known = KnownTransfer { id: stored.id, request: request_of(&stored), hold_state, amount: stored.amount };
        self.known.insert(stored.key, known);
        Ok(())
    }

    /// Lets the ledger decide each request against the accounts and stored transfers.
    /// Returns how many new transfers need an id.
    pub fn plan(&mut self) -> usize {
        self.outcomes = ledger::plan_batch(&mut self.accounts, &self.known, self.requests, self.now);
        self.outcomes.iter().filter(|o| matches!(o, Outcome::Created(_))).count()
    }

    /// Why the batch cannot be written whole, if a request was refused: the first reason
    /// that is not a linked transfer failing with another.
    pub fn refusal(&self) -> Option<LedgerError> {
        let mut failed = self.outcomes.iter().filter_map(|o| match o {
            Outcome::Failed(e) => Some(e),
            _ => None,
        });
        let first = failed.next()?;
        let own = std::iter::once(first).chain(failed).find(|e| **e != LedgerError::LinkedTransferFailed);
        Some(own.unwrap_or(first).clone())
    }

    /// Builds the rows of the new transfers with their `ids` (taken under the account
    /// locks, so that a transfer can name a hold or an entry made earlier in the batch).
    pub fn number(&mut self, mut ids: Vec<i64>) -> StoreResult<&[NewTransfer]> {
        let count = self.outcomes.iter().filter(|o| matches!(o, Outcome::Created(_))).count();
        if ids.len() != count {
            return Err(StoreError::Corrupt(format!("{} transfer ids for {count} transfers", ids.len())));
        }
        ids.sort_unstable();
        let mut ids_by_key: HashMap<&str, TransferId> = self.known.iter().map(|(k, t)| (k.as_str(), t.id)).collect();
        // As stored: instants keep microseconds.
        let created_at = instant(micros(self.now))?;
        let planned = self.outcomes.iter().enumerate().filter_map(|(i, o)| match o {
            Outcome::Created(p) => Some((i, p)),
            _ => None,
        });
        for ((request, p), id) in planned.zip(ids) {
            let r = &p.request;
            let id = TransferId(id);
            let mode = match r.mode {
                TransferMode::Pending { expires_at } => {
                    TransferMode::Pending { expires_at: expires_at.map(|at| instant(micros(at))).transpose()? }
                }
                other => other,
            };
            let entries = [(r.debit, p.debit_after), (r.credit, p.credit_after)].map(|(account, balances)| {
                let chain = self.chains.entry(account).or_insert_with(|| Chain::new(0, None));
                let (version, previous) = chain.append(id);
                EntryRow { version, previous, balances }
            });
            let transfer = Transfer {
                id,
                key: r.key.clone(),
                debit: r.debit,
                credit: r.credit,
                amount: p.amount,
                requested_amount: r.amount,
                currency: r.currency,
                code: r.code.clone(),
                user_data: r.user_data.clone(),
                mode,
                pending_id: r.pending_key.as_deref().and_then(|k| ids_by_key.get(k)).copied(),
                pending_key: r.pending_key.clone(),
                linked: r.linked,
                created_at,
            };
            ids_by_key.insert(r.key.as_str(), id);
            self.created.push(NewTransfer { request, transfer, entries });
        }
        Ok(&self.created)
    }

    /// The accounts the batch changed, in id order.
    pub fn touched(&self) -> Vec<TouchedAccount<'_>> {
        let mut touched: Vec<TouchedAccount<'_>> = self
            .chains
            .iter()
            .filter(|(_, chain)| chain.changed())
            .map(|(id, chain)| TouchedAccount { id: *id, balances: self.accounts[id].balances, chain })
            .collect();
        touched.sort_unstable_by_key(|t| t.id);
        touched
    }

    /// The holds with a deadline this batch opens, as `(id, expires_at micros)`, and the
    /// holds it resolves.
    pub fn holds_opened_and_resolved(&self) -> (Vec<(i64, i64)>, Vec<i64>) {
        let opened = self
            .created
            .iter()
            .filter_map(|t| match t.transfer.mode {
                TransferMode::Pending { expires_at: Some(at) } => Some((t.transfer.id.0, micros(at))),
                _ => None,
            })
            .collect();
        let resolved = self
            .created
            .iter()
            .filter(|t| t.transfer.mode.resolves_a_hold())
            .filter_map(|t| t.transfer.pending_id.map(|id| id.0))
            .collect();
        (opened, resolved)
    }

    /// The stored transfers that replayed requests answer with.
    pub fn replayed_ids(&self) -> Vec<i64> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Exists(id) => Some(id.0),
                _ => None,
            })
            .collect()
    }

    pub fn read_replayed(&mut self, row: &impl Columns) -> StoreResult<()> {
        let t = transfer(row)?;
        self.replayed.insert(t.id, t);
        Ok(())
    }

    /// After the commit: what the writer's cache holds now, and the largest id.
    pub fn remember(&self, cache: &mut LedgerCache, largest_before: i64) {
        let largest = self.created.iter().map(|t| t.transfer.id.0).max().unwrap_or(largest_before);
        let accounts = self.accounts.values().map(|a| (a, self.chains[&a.id].version, self.chains[&a.id].last));
        cache.remember(accounts, largest);
    }

    /// Each request's answer, in order: its new transfer, the stored one it replays, the
    /// same answer as an earlier identical request, or the reason it was refused.
    pub fn results(self) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
        let mut created: HashMap<usize, Transfer> = self.created.into_iter().map(|t| (t.request, t.transfer)).collect();
        let mut results: Vec<Result<Transfer, LedgerError>> = Vec::with_capacity(self.outcomes.len());
        for (i, outcome) in self.outcomes.into_iter().enumerate() {
            let result = match outcome {
                Outcome::Created(_) => {
                    Ok(created.remove(&i).ok_or_else(|| StoreError::Corrupt(format!("transfer {i} not stored")))?)
                }
                Outcome::Exists(id) => Ok(self.replayed.get(&id).cloned().ok_or(StoreError::NotFound)?),
                Outcome::SameAs(earlier) => results[earlier].clone(),
                Outcome::Failed(e) => Err(e),
            };
            results.push(result);
        }
        Ok(results)
    }
}

/// The request a stored transfer answered, to recognise an idempotent replay.
fn request_of(t: &Transfer) -> TransferRequest {
    TransferRequest {
        key: t.key.clone(),
        debit: t.debit,
        credit: t.credit,
        amount: t.requested_amount,
        currency: t.currency,
        code: t.code.clone(),
        user_data: t.user_data.clone(),
        mode: t.mode,
        pending_key: t.pending_key.clone(),
        linked: t.linked,
    }
}

/// An account's history chain while a batch appends to it.
pub struct Chain {
    /// The version read under the lock; the update checks it is still there.
    pub read_version: i64,
    pub version: i64,
    pub last: Option<TransferId>,
}

impl Chain {
    fn new(version: i64, last: Option<TransferId>) -> Self {
        Self { read_version: version, version, last }
    }

    /// Appends a transfer: its entry's version and the transfer before it.
    fn append(&mut self, transfer: TransferId) -> (i64, Option<TransferId>) {
        self.version += 1;
        (self.version, self.last.replace(transfer))
    }

    fn changed(&self) -> bool {
        self.version != self.read_version
    }
}

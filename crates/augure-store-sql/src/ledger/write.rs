//! One batch of transfers in one transaction.

use augure_domain::ledger::{
    self, AccountId, Balances, LedgerAccount, LedgerError, TransferId, TransferMode, TransferRequest,
};
use augure_domain::ledger::{KnownTransfer, Outcome};
use augure_store::*;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::cache::LedgerCache;

use crate::codec::*;
use crate::dialect::Dialect;
use crate::{SqlStore, err};

use super::*;

/// The request a stored transfer answered, to recognise an idempotent replay.
pub fn request_of(t: &Transfer) -> TransferRequest {
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
    pub fn new(version: i64, last: Option<TransferId>) -> Self {
        Self { read_version: version, version, last }
    }

    /// Appends a transfer: its entry's version and the transfer before it.
    pub fn append(&mut self, transfer: TransferId) -> (i64, Option<TransferId>) {
        self.version += 1;
        (self.version, self.last.replace(transfer))
    }

    pub fn changed(&self) -> bool {
        self.version != self.read_version
    }
}

/// One side's entry, stored on the transfer row.
pub struct EntryRow {
    pub version: i64,
    pub previous: Option<TransferId>,
    pub balances: Balances,
}

impl SqlStore {
    /// One batch in one transaction, with a constant number of statements per
    /// batch (not per transfer): that is what makes batching pay. Each transfer is
    /// one appended row carrying both sides' entries, and the touched accounts are
    /// updated by one statement.
    pub(super) async fn try_create_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
        // Held for the whole batch: the cache changes only with what was committed.
        let mut cache = match self.ledger_cache() {
            Some(cache) => Some(cache.lock().await),
            None => None,
        };
        let result = self.write_transfers(requests, now, cache.as_deref_mut()).await;
        if result.is_err() {
            // Whatever failed, the database decides what the accounts hold now.
            if let Some(cache) = cache.as_mut() {
                cache.clear();
            }
        }
        result
    }

    async fn write_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
        mut cache: Option<&mut LedgerCache>,
    ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
        on_writer!(self, |pool| {
            // Rows per multi-row statement: at 27 binds a row, well under both
            // engines' bind limits (SQLite 32,766; PostgreSQL 65,535).
            const CHUNK: usize = 400;
            let mut tx = pool.begin().await.map_err(err)?;

            // With one writer (SQLite), nobody else numbers transfers, so the batch's
            // ids follow the largest; and the cached accounts are what the database
            // holds as long as the largest id is the one this writer last wrote.
            let largest_id = match cache.as_deref_mut() {
                Some(cache) => {
                    let largest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM ledger_transfers")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?;
                    cache.validate(largest);
                    Some(largest)
                }
                None => None,
            };

            // Lock the accounts in id order, so concurrent batches cannot deadlock.
            let mut ids: Vec<i64> = requests.iter().flat_map(|r| [r.debit.0, r.credit.0]).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut accounts: HashMap<AccountId, LedgerAccount> = HashMap::new();
            // Per account: the version and last transfer as read, then as the batch leaves them.
            let mut chains: HashMap<AccountId, Chain> = HashMap::new();
            if let Some(cache) = cache.as_deref() {
                ids.retain(|id| match cache.account(AccountId(*id)) {
                    Some((account, version, last)) => {
                        chains.insert(account.id, Chain::new(version, last));
                        accounts.insert(account.id, account.clone());
                        false
                    }
                    None => true,
                });
            }
            for chunk in ids.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT id, owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, \
                 credits_posted, version, last_transfer_id FROM ledger_accounts WHERE id IN (",
                );
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                list.push_unseparated(") ORDER BY id ");
                qb.push(tx.lock_rows());
                for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                    let (account, _) = account(&row)?;
                    let version: i64 = row.col("version")?;
                    let last: Option<i64> = row.col("last_transfer_id")?;
                    chains.insert(account.id, Chain::new(version, last.map(TransferId)));
                    accounts.insert(account.id, account);
                }
            }

            // Transfers already stored under the batch's keys, and the holds it resolves.
            let mut keys: Vec<&str> =
                requests.iter().flat_map(|r| std::iter::once(r.key.as_str()).chain(r.pending_key.as_deref())).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut known: HashMap<String, KnownTransfer> = HashMap::new();
            for chunk in keys.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT t.id, t.transfer_key, t.debit_account_id, t.credit_account_id, t.amount, t.requested_amount, \
                 t.currency, t.code, t.user_data, t.mode, t.expires_at, t.pending_id, t.pending_key, t.linked, t.created_at, \
                 (SELECT r.mode FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolved_by \
                 FROM ledger_transfers t WHERE t.transfer_key IN (",
                );
                let mut list = qb.separated(", ");
                for key in chunk {
                    list.push_bind(key.to_string());
                }
                list.push_unseparated(") ORDER BY t.id ");
                qb.push(tx.lock_rows());
                for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                    let stored = transfer(&row)?;
                    let resolved_by: Option<String> = row.col("resolved_by")?;
                    let hold_state = match (&stored.mode, resolved_by.as_deref()) {
                        (TransferMode::Pending { .. }, None) => Some(ledger::HoldState::Pending),
                        (TransferMode::Pending { .. }, Some("post_pending")) => Some(ledger::HoldState::Posted),
                        (TransferMode::Pending { .. }, Some("void_pending")) => Some(ledger::HoldState::Voided),
                        (TransferMode::Pending { .. }, Some(_)) => Some(ledger::HoldState::Expired),
                        _ => None,
                    };
                    known.insert(
                        stored.key.clone(),
                        KnownTransfer {
                            id: stored.id,
                            request: request_of(&stored),
                            hold_state,
                            amount: stored.amount,
                        },
                    );
                }
            }

            let outcomes = ledger::plan_batch(&mut accounts, &known, requests, now);
            let created: Vec<(usize, &ledger::PlannedTransfer)> = outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, o)| match o {
                    Outcome::Created(p) => Some((i, &**p)),
                    _ => None,
                })
                .collect();

            // Ids are taken now, under the account locks, so that the transfers of one
            // account are numbered in the order they apply, and so that a transfer can
            // name a hold or an entry made earlier in the same batch.
            let mut new_ids = tx.transfer_ids(created.len(), largest_id).await?;
            new_ids.sort_unstable();
            if new_ids.len() != created.len() {
                return Err(StoreError::Corrupt(format!(
                    "{} transfer ids for {} transfers",
                    new_ids.len(),
                    created.len()
                )));
            }
            let mut ids_by_key: HashMap<&str, TransferId> = known.iter().map(|(k, t)| (k.as_str(), t.id)).collect();
            // As stored: instants keep microseconds.
            let created_at = instant(micros(now))?;
            let mut rows: Vec<(Transfer, [EntryRow; 2])> = Vec::with_capacity(created.len());
            for ((_, p), id) in created.iter().zip(&new_ids) {
                let r = &p.request;
                let id = TransferId(*id);
                let mode = match r.mode {
                    TransferMode::Pending { expires_at } => {
                        TransferMode::Pending { expires_at: expires_at.map(|at| instant(micros(at))).transpose()? }
                    }
                    other => other,
                };
                let sides = [(r.debit, p.debit_after), (r.credit, p.credit_after)].map(|(account, balances)| {
                    let chain = chains.entry(account).or_insert_with(|| Chain::new(0, None));
                    let (version, previous) = chain.append(id);
                    EntryRow { version, previous, balances }
                });
                let t = Transfer {
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
                rows.push((t, sides));
            }

            for chunk in rows.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO ledger_transfers (id, transfer_key, debit_account_id, credit_account_id, amount, \
                 requested_amount, currency, code, user_data, mode, expires_at, pending_id, pending_key, linked, created_at, \
                 debit_version, debit_previous_id, debit_debits_pending, debit_debits_posted, debit_credits_pending, \
                 debit_credits_posted, credit_version, credit_previous_id, credit_debits_pending, credit_debits_posted, \
                 credit_credits_pending, credit_credits_posted) ",
                );
                qb.push_values(chunk, |mut row, (t, sides)| {
                    let expires_at = match t.mode {
                        TransferMode::Pending { expires_at } => expires_at.map(micros),
                        _ => None,
                    };
                    row.push_bind(t.id.0)
                        .push_bind(t.key.clone())
                        .push_bind(t.debit.0)
                        .push_bind(t.credit.0)
                        .push_bind(t.amount)
                        .push_bind(t.requested_amount)
                        .push_bind(t.currency.code())
                        .push_bind(t.code.clone())
                        .push_bind(t.user_data.clone())
                        .push_bind(t.mode.as_str())
                        .push_bind(expires_at)
                        .push_bind(t.pending_id.map(|id| id.0))
                        .push_bind(t.pending_key.clone())
                        .push_bind(i64::from(t.linked))
                        .push_bind(micros(t.created_at));
                    for side in sides {
                        row.push_bind(side.version)
                            .push_bind(side.previous.map(|id| id.0))
                            .push_bind(side.balances.debits_pending)
                            .push_bind(side.balances.debits_posted)
                            .push_bind(side.balances.credits_pending)
                            .push_bind(side.balances.credits_posted);
                    }
                });
                qb.build().execute(&mut *tx).await.map_err(err)?;
            }

            // The accounts' new sums, versions and last transfers, in one statement per
            // chunk. The version read under the lock must still be there: a count short
            // of the accounts means another writer got in, and the batch starts over.
            let mut touched: Vec<(AccountId, &Chain)> =
                chains.iter().filter(|(_, c)| c.changed()).map(|(id, c)| (*id, c)).collect();
            touched.sort_unstable_by_key(|(id, _)| *id);
            for chunk in touched.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "UPDATE ledger_accounts SET debits_pending = v.column2, debits_posted = v.column3, \
                 credits_pending = v.column4, credits_posted = v.column5, version = v.column6, \
                 last_transfer_id = v.column7 FROM (",
                );
                qb.push_values(chunk, |mut row, (account_id, chain)| {
                    let b = accounts[account_id].balances;
                    row.push_bind(account_id.0)
                        .push_bind(b.debits_pending)
                        .push_bind(b.debits_posted)
                        .push_bind(b.credits_pending)
                        .push_bind(b.credits_posted)
                        .push_bind(chain.version)
                        .push_bind(chain.last.map(|id| id.0))
                        .push_bind(chain.read_version);
                });
                qb.push(") AS v WHERE ledger_accounts.id = v.column1 AND ledger_accounts.version = v.column8");
                let updated = qb.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                if updated != chunk.len() as u64 {
                    return Err(StoreError::Conflict("ledger_account_version"));
                }
            }

            // Replays answer with the stored transfer.
            let existing: Vec<i64> = outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Exists(id) => Some(id.0),
                    _ => None,
                })
                .collect();
            let mut by_id: HashMap<TransferId, Transfer> = HashMap::new();
            for chunk in existing.chunks(CHUNK) {
                let mut qb =
                    sqlx::QueryBuilder::new(format!("SELECT {} FROM ledger_transfers WHERE id IN (", TRANSFER_COLUMNS));
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                list.push_unseparated(")");
                for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                    let t = transfer(&row)?;
                    by_id.insert(t.id, t);
                }
            }
            tx.commit().await.map_err(err)?;
            if let (Some(cache), Some(largest)) = (cache, largest_id) {
                let last = new_ids.last().copied().unwrap_or(largest);
                cache.remember(accounts.values().map(|a| (a, chains[&a.id].version, chains[&a.id].last)), last);
            }

            let mut stored: HashMap<usize, Transfer> =
                created.iter().zip(rows).map(|((i, _), (t, _))| (*i, t)).collect();
            let mut results: Vec<Result<Transfer, LedgerError>> = Vec::with_capacity(outcomes.len());
            for (i, outcome) in outcomes.into_iter().enumerate() {
                let result = match outcome {
                    Outcome::Created(_) => {
                        Ok(stored.remove(&i).ok_or_else(|| StoreError::Corrupt(format!("transfer {i} not stored")))?)
                    }
                    Outcome::Exists(id) => Ok(by_id.get(&id).cloned().ok_or(StoreError::NotFound)?),
                    Outcome::SameAs(earlier) => results[earlier].clone(),
                    Outcome::Failed(e) => Err(e),
                };
                results.push(result);
            }
            Ok(results)
        })
    }
}

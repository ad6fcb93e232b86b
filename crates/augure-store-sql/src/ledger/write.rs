//! One batch of transfers in one transaction, with a constant number of statements per
//! batch (not per transfer): that is what makes batching pay. Each transfer is one
//! appended row carrying both sides' entries, and the touched accounts are updated by one
//! statement. The decisions are [`Batch`]'s; this module reads what it needs and stores
//! what it decided. A batch may carry a [`Follow`] (a consultation's grant or settlement):
//! it is written in the same transaction, and only if every transfer is, or nothing is.

use augure_domain::ledger::{LedgerError, TransferMode, TransferRequest};
use augure_store::{StoreError, StoreResult, Transfer};
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::batch::{Batch, NewTransfer, TouchedAccount};
use super::cache::LedgerCache;
use super::{ACCOUNT_COLUMNS, TRANSFER_COLUMNS};
use crate::codec::micros;
use crate::consultations::Follow;
use crate::dialect::{Dialect, WritePool};
use crate::{SqlStore, err};

/// Rows per multi-row statement: at 27 binds a row, well under both engines' bind limits
/// (SQLite 32,766; PostgreSQL 65,535).
const CHUNK: usize = 400;

impl SqlStore {
    pub(super) async fn try_create_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
        match self.try_write_transfers(requests, now, None).await? {
            Written::Done(results) => Ok(results),
            // Only a follow-up refuses a batch whole or finds it stale.
            Written::Refused(_) | Written::Stale => {
                Err(StoreError::Corrupt("a batch without a follow-up was not written".into()))
            }
        }
    }

    /// One attempt at writing `requests` and, if given, `follow` in one transaction. A
    /// `Conflict` (a concurrent batch stored one of the keys first) is worth another try.
    pub(crate) async fn try_write_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
        follow: Option<Follow<'_>>,
    ) -> StoreResult<Written> {
        // Held for the whole batch: the cache changes only with what was committed.
        let mut cache = match self.ledger_cache() {
            Some(cache) => Some(cache.lock().await),
            None => None,
        };
        let result = self.write_transfers(requests, now, cache.as_deref_mut(), follow).await;
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
        follow: Option<Follow<'_>>,
    ) -> StoreResult<Written> {
        let mut batch = Batch::new(requests, now);
        let largest_id = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;

            // The cached accounts are what the database holds as long as the largest
            // transfer id is the one this writer last wrote.
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

            for chunk in batch.accounts_to_read(cache.as_deref()).chunks(CHUNK) {
                for row in lock_accounts(chunk, tx.lock_rows()).build().fetch_all(&mut *tx).await.map_err(err)? {
                    batch.read_account(&row)?;
                }
            }
            for chunk in batch.keys().chunks(CHUNK) {
                for row in transfers_by_key(chunk, tx.lock_rows()).build().fetch_all(&mut *tx).await.map_err(err)? {
                    batch.read_known(&row)?;
                }
            }

            let count = batch.plan();
            if let Some(follow) = follow {
                // A follow-up goes with its transfers or not at all.
                let unwritten = match batch.refusal() {
                    Some(refusal) => Some(Written::Refused(refusal)),
                    // Before the transfers: on PostgreSQL its row lock (taken after the
                    // account locks) makes a concurrent second grant or settlement wait,
                    // then find the row moved on.
                    None => {
                        let updated = follow.update().build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                        (updated != follow.rows()).then_some(Written::Stale)
                    }
                };
                if let Some(unwritten) = unwritten {
                    if let Some(id) = follow.consultation() {
                        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM consultations WHERE id = $1")
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(err)?;
                        known.ok_or(StoreError::NotFound)?;
                    }
                    // The cache stays right: nothing was written, and the batch changed
                    // only its own copies of the accounts.
                    tx.rollback().await.map_err(err)?;
                    return Ok(unwritten);
                }
            }
            let ids = tx.transfer_ids(count, largest_id).await?;
            for chunk in batch.number(ids)?.chunks(CHUNK) {
                insert_transfers(chunk).build().execute(&mut *tx).await.map_err(err)?;
            }
            // A count short of the accounts means another writer got in since they were
            // read: the batch starts over.
            for chunk in batch.touched().chunks(CHUNK) {
                let updated = update_accounts(chunk).build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                if updated != chunk.len() as u64 {
                    return Err(StoreError::Conflict("ledger_account_version"));
                }
            }
            let (opened, resolved) = batch.holds_opened_and_resolved();
            for chunk in opened.chunks(CHUNK) {
                open_holds(chunk).build().execute(&mut *tx).await.map_err(err)?;
            }
            for chunk in resolved.chunks(CHUNK) {
                close_holds(chunk).build().execute(&mut *tx).await.map_err(err)?;
            }
            for chunk in batch.replayed_ids().chunks(CHUNK) {
                for row in transfers_by_id(chunk).build().fetch_all(&mut *tx).await.map_err(err)? {
                    batch.read_replayed(&row)?;
                }
            }
            tx.commit().await.map_err(err)?;
            Ok::<_, StoreError>(largest_id)
        })?;
        if let (Some(cache), Some(largest)) = (cache, largest_id) {
            batch.remember(cache, largest);
        }
        Ok(Written::Done(batch.results()?))
    }
}

/// What became of a batch of transfers.
pub(crate) enum Written {
    /// Committed: each request's answer (without a follow-up, refused ones among them).
    Done(Vec<Result<Transfer, LedgerError>>),
    /// With a follow-up, a transfer was refused for this reason: nothing was written.
    Refused(LedgerError),
    /// The follow-up matched no row: nothing was written.
    Stale,
}

/// A value both engines bind. As a supertrait bundle, naming it for a `DB` implies its
/// `Encode` and `Type` bounds, so each builder below states one line per column type.
pub(crate) trait Bind<DB: Database>: for<'q> Encode<'q, DB> + Type<DB> {}

impl<DB: Database, T> Bind<DB> for T where T: for<'q> Encode<'q, DB> + Type<DB> {}

/// The accounts `ids`, read under their row locks with their version and history head.
fn lock_accounts<DB: Database>(ids: &[i64], lock: &str) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "SELECT {ACCOUNT_COLUMNS}, version, last_transfer_id FROM ledger_accounts WHERE id IN ("
    ));
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(") ORDER BY id");
    qb.push(lock);
    qb
}

/// The transfers stored under `keys`, each with the mode of the transfer that resolved it
/// (when it is a hold), locked: a hold must not be resolved twice.
fn transfers_by_key<DB: Database>(keys: &[&str], lock: &str) -> QueryBuilder<DB>
where
    String: Bind<DB>,
{
    let mut qb = QueryBuilder::new(
        "SELECT t.id, t.transfer_key, t.debit_account_id, t.credit_account_id, t.amount, t.requested_amount, \
         t.currency, t.code, t.user_data, t.mode, t.expires_at, t.pending_id, t.pending_key, t.linked, t.created_at, \
         (SELECT r.mode FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolved_by \
         FROM ledger_transfers t WHERE t.transfer_key IN (",
    );
    let mut list = qb.separated(", ");
    for key in keys {
        list.push_bind(key.to_string());
    }
    list.push_unseparated(") ORDER BY t.id");
    qb.push(lock);
    qb
}

/// Appends the new transfers, each row with both sides' entries.
fn insert_transfers<DB: Database>(transfers: &[NewTransfer]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
    Option<i64>: Bind<DB>,
    String: Bind<DB>,
    Option<String>: Bind<DB>,
    &'static str: Bind<DB>,
{
    let mut qb = QueryBuilder::new(
        "INSERT INTO ledger_transfers (id, transfer_key, debit_account_id, credit_account_id, amount, \
         requested_amount, currency, code, user_data, mode, expires_at, pending_id, pending_key, linked, created_at, \
         debit_version, debit_previous_id, debit_debits_pending, debit_debits_posted, debit_credits_pending, \
         debit_credits_posted, credit_version, credit_previous_id, credit_debits_pending, credit_debits_posted, \
         credit_credits_pending, credit_credits_posted) ",
    );
    qb.push_values(transfers, |mut row, new| {
        let t = &new.transfer;
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
        for side in &new.entries {
            row.push_bind(side.version)
                .push_bind(side.previous.map(|id| id.0))
                .push_bind(side.balances.debits_pending)
                .push_bind(side.balances.debits_posted)
                .push_bind(side.balances.credits_pending)
                .push_bind(side.balances.credits_posted);
        }
    });
    qb
}

/// The accounts' new sums, versions and history heads, in one statement. Each row matches
/// only while the account still has the version read under the lock.
fn update_accounts<DB: Database>(accounts: &[TouchedAccount<'_>]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
    Option<i64>: Bind<DB>,
{
    let mut qb = QueryBuilder::new(
        "UPDATE ledger_accounts SET debits_pending = v.column2, debits_posted = v.column3, \
         credits_pending = v.column4, credits_posted = v.column5, version = v.column6, \
         last_transfer_id = v.column7 FROM (",
    );
    qb.push_values(accounts, |mut row, account| {
        let b = account.balances;
        row.push_bind(account.id.0)
            .push_bind(b.debits_pending)
            .push_bind(b.debits_posted)
            .push_bind(b.credits_pending)
            .push_bind(b.credits_posted)
            .push_bind(account.chain.version)
            .push_bind(account.chain.last.map(|id| id.0))
            .push_bind(account.chain.read_version);
    });
    qb.push(") AS v WHERE ledger_accounts.id = v.column1 AND ledger_accounts.version = v.column8");
    qb
}

/// The new holds with a deadline, for the expiry sweep: `(hold, expires_at)`.
fn open_holds<DB: Database>(holds: &[(i64, i64)]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
{
    let mut qb = QueryBuilder::new("INSERT INTO ledger_open_holds (transfer_id, expires_at) ");
    qb.push_values(holds, |mut row, (hold, expires_at)| {
        row.push_bind(*hold).push_bind(*expires_at);
    });
    qb
}

/// Holds this batch resolved leave the sweep's list.
fn close_holds<DB: Database>(holds: &[i64]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
{
    let mut qb = QueryBuilder::new("DELETE FROM ledger_open_holds WHERE transfer_id IN (");
    let mut list = qb.separated(", ");
    for hold in holds {
        list.push_bind(*hold);
    }
    list.push_unseparated(")");
    qb
}

fn transfers_by_id<DB: Database>(ids: &[i64]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
{
    let mut qb = QueryBuilder::new(format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN ("));
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
    qb
}

//! The ledger: accounts, transfers and what `ledger verify` replays. Writing a batch of
//! transfers is in [`write`]; SQLite's writer cache in [`cache`].

mod batch;
mod cache;
mod write;

pub use cache::SharedLedgerCache;
pub(crate) use write::{Bind, Written};

use async_trait::async_trait;
use augure_domain::ledger::{
    self, AccountFlags, AccountId, AccountKind, Balances, LedgerAccount, LedgerError, TransferId, TransferMode,
    TransferRequest,
};
use augure_domain::ledger::{Entry, ReplayedTransfer};
use augure_domain::{Currency, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};
use sqlx::Row;

use sqlx::Connection;

use crate::codec::*;
use crate::dialect::Dialect;
use crate::{SqlStore, err};

pub struct AccountRow {
    pub id: i64,
    pub owner_key: String,
    pub kind: String,
    pub currency: String,
    pub flags: i64,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl AccountRow {
    pub fn into_account(self) -> StoreResult<(LedgerAccount, LedgerOwner)> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("ledger account {}: {what}", self.id));
        let owner = match self.owner_key.as_str() {
            "platform" => LedgerOwner::Platform,
            other => LedgerOwner::User(UserId(
                other.strip_prefix("user:").and_then(|id| id.parse().ok()).ok_or_else(|| corrupt("owner"))?,
            )),
        };
        Ok((
            LedgerAccount {
                id: AccountId(self.id),
                kind: self.kind.parse().map_err(|_| corrupt("kind"))?,
                currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
                flags: AccountFlags {
                    debits_must_not_exceed_credits: self.flags & 1 != 0,
                    credits_must_not_exceed_debits: self.flags & 2 != 0,
                },
                balances: Balances {
                    debits_pending: self.debits_pending,
                    debits_posted: self.debits_posted,
                    credits_pending: self.credits_pending,
                    credits_posted: self.credits_posted,
                },
            },
            owner,
        ))
    }
}

pub fn account_flags(flags: AccountFlags) -> i64 {
    i64::from(flags.debits_must_not_exceed_credits) | (i64::from(flags.credits_must_not_exceed_debits) << 1)
}

pub struct TransferRow {
    pub id: i64,
    pub transfer_key: String,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    pub amount: i64,
    pub requested_amount: Option<i64>,
    pub currency: String,
    pub code: String,
    pub user_data: Option<String>,
    pub mode: String,
    pub expires_at: Option<i64>,
    pub pending_id: Option<i64>,
    pub pending_key: Option<String>,
    pub linked: i64,
    pub created_at: i64,
}

impl TransferRow {
    pub fn into_transfer(self) -> StoreResult<Transfer> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("transfer {}: {what}", self.id));
        let mode = match self.mode.as_str() {
            "posted" => TransferMode::Posted,
            "pending" => TransferMode::Pending { expires_at: self.expires_at.map(instant).transpose()? },
            "post_pending" => TransferMode::PostPending,
            "void_pending" => TransferMode::VoidPending,
            "expire" => TransferMode::Expire,
            _ => return Err(corrupt("mode")),
        };
        Ok(Transfer {
            id: TransferId(self.id),
            key: self.transfer_key,
            debit: AccountId(self.debit_account_id),
            credit: AccountId(self.credit_account_id),
            amount: self.amount,
            requested_amount: self.requested_amount,
            currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
            code: self.code,
            user_data: self.user_data,
            mode,
            pending_id: self.pending_id.map(TransferId),
            pending_key: self.pending_key,
            linked: self.linked != 0,
            created_at: instant(self.created_at)?,
        })
    }
}

pub const ACCOUNT_COLUMNS: &str =
    "id, owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted";

pub const TRANSFER_COLUMNS: &str = "id, transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, user_data, mode, expires_at, pending_id, pending_key, linked, created_at";

fn account(row: &impl Columns) -> StoreResult<(LedgerAccount, LedgerOwner)> {
    AccountRow {
        id: row.col("id")?,
        owner_key: row.col("owner_key")?,
        kind: row.col("kind")?,
        currency: row.col("currency")?,
        flags: row.col("flags")?,
        debits_pending: row.col("debits_pending")?,
        debits_posted: row.col("debits_posted")?,
        credits_pending: row.col("credits_pending")?,
        credits_posted: row.col("credits_posted")?,
    }
    .into_account()
}

fn transfer(row: &impl Columns) -> StoreResult<Transfer> {
    TransferRow {
        id: row.col("id")?,
        transfer_key: row.col("transfer_key")?,
        debit_account_id: row.col("debit_account_id")?,
        credit_account_id: row.col("credit_account_id")?,
        amount: row.col("amount")?,
        requested_amount: row.col("requested_amount")?,
        currency: row.col("currency")?,
        code: row.col("code")?,
        user_data: row.col("user_data")?,
        mode: row.col("mode")?,
        expires_at: row.col("expires_at")?,
        pending_id: row.col("pending_id")?,
        pending_key: row.col("pending_key")?,
        linked: row.col("linked")?,
        created_at: row.col("created_at")?,
    }
    .into_transfer()
}

#[async_trait]
impl LedgerStore for SqlStore {
    async fn ledger_account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> StoreResult<LedgerAccount> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO ledger_accounts (owner_key, owner_id, kind, currency, flags, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner_key, kind, currency) DO NOTHING",
            )
            .bind(owner.key())
            .bind(owner.user().map(|u| u.0))
            .bind(kind.as_str())
            .bind(currency.code())
            .bind(account_flags(kind.default_flags()))
            .bind(micros(now))
            .execute(pool)
            .await
            .map_err(err)?;
            let q = format!(
                "SELECT {} FROM ledger_accounts WHERE owner_key = $1 AND kind = $2 AND currency = $3",
                ACCOUNT_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(owner.key())
                .bind(kind.as_str())
                .bind(currency.code())
                .fetch_one(pool)
                .await
                .map_err(err)?;
            Ok(account(&row)?.0)
        })
    }

    async fn find_ledger_account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
    ) -> StoreResult<Option<LedgerAccount>> {
        let q = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner_key = $1 AND kind = $2 AND currency = $3"
        );
        on_reader!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(owner.key())
                .bind(kind.as_str())
                .bind(currency.code())
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.map(|row| Ok(account(&row)?.0)).transpose()
        })
    }

    async fn find_ledger_accounts(
        &self,
        owners: &[LedgerOwner],
        kind: AccountKind,
    ) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>> {
        let mut found = Vec::new();
        on_reader!(self, |pool| {
            for chunk in owners.chunks(400) {
                let mut qb =
                    sqlx::QueryBuilder::new(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE kind = "));
                qb.push_bind(kind.as_str()).push(" AND owner_key IN (");
                let mut list = qb.separated(", ");
                for owner in chunk {
                    list.push_bind(owner.key());
                }
                list.push_unseparated(")");
                for row in qb.build().fetch_all(pool).await.map_err(err)? {
                    found.push(account(&row)?);
                }
            }
        });
        found.sort_by_key(|(a, _)| a.id.0);
        Ok(found)
    }

    async fn ledger_account_by_id(&self, id: AccountId) -> StoreResult<(LedgerAccount, LedgerOwner)> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM ledger_accounts WHERE id = $1", ACCOUNT_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            account(&row)
        })
    }

    async fn ledger_accounts(&self, limit: i64, offset: i64) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM ledger_accounts ORDER BY id LIMIT $1 OFFSET $2", ACCOUNT_COLUMNS);
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(account).collect()
        })
    }

    async fn create_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
        // A concurrent batch may insert the same key first; running again then
        // sees it as an existing transfer.
        let mut attempt = 0;
        loop {
            match self.try_create_transfers(requests, now).await {
                Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
                other => return other,
            }
        }
    }

    async fn transfer_by_key(&self, key: &str) -> StoreResult<Transfer> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM ledger_transfers WHERE transfer_key = $1", TRANSFER_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(key).fetch_one(pool).await.map_err(err)?;
            transfer(&row)
        })
    }

    async fn account_transfers(&self, account_id: AccountId, limit: i64) -> StoreResult<Vec<Transfer>> {
        on_reader!(self, |pool| {
            // Walks the account's chain back from its last transfer: a point read per
            // step, and no per-account index for every transfer to update.
            let q = format!(
                "WITH RECURSIVE chain (id, step) AS ( \
                 SELECT last_transfer_id, CAST(1 AS BIGINT) FROM ledger_accounts \
                 WHERE id = $1 AND last_transfer_id IS NOT NULL \
                 UNION ALL \
                 SELECT CASE WHEN t.debit_account_id = $1 THEN t.debit_previous_id ELSE t.credit_previous_id END, \
                        chain.step + 1 \
                 FROM chain JOIN ledger_transfers t ON t.id = chain.id \
                 WHERE chain.step < $2 \
                   AND (CASE WHEN t.debit_account_id = $1 THEN t.debit_previous_id ELSE t.credit_previous_id END) IS NOT NULL \
             ) \
             SELECT {} FROM chain JOIN ledger_transfers t ON t.id = chain.id ORDER BY chain.step",
                TRANSFER_COLUMNS.replace("id, transfer_key", "t.id, t.transfer_key")
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(account_id.0)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(transfer).collect()
        })
    }

    async fn recent_transfers(&self, limit: i64, offset: i64) -> StoreResult<Vec<Transfer>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM ledger_transfers ORDER BY id DESC LIMIT $1 OFFSET $2", TRANSFER_COLUMNS);
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(transfer).collect()
        })
    }

    async fn expired_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Transfer>> {
        on_reader!(self, |pool| {
            let q = format!(
                // Only holds still open: the sweep never rereads the ones already resolved.
                "SELECT {} FROM ledger_open_holds h JOIN ledger_transfers t ON t.id = h.transfer_id \
                 WHERE h.expires_at <= $1 ORDER BY h.expires_at, h.transfer_id LIMIT $2",
                TRANSFER_COLUMNS.split(',').map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ")
            );
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(micros(now)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(transfer).collect()
        })
    }

    async fn trial_balance(&self) -> StoreResult<Vec<TrialBalance>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT currency, CAST(SUM(debits_posted) AS BIGINT) AS dp, CAST(SUM(credits_posted) AS BIGINT) AS cp, \
             CAST(SUM(debits_pending) AS BIGINT) AS dn, CAST(SUM(credits_pending) AS BIGINT) AS cn \
             FROM ledger_accounts GROUP BY currency ORDER BY currency",
            )
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter()
                .map(|row| {
                    let code: String = row.col("currency")?;
                    Ok(TrialBalance {
                        currency: code.parse().map_err(|_| StoreError::Corrupt(format!("currency {code}")))?,
                        debits_posted: row.col("dp")?,
                        credits_posted: row.col("cp")?,
                        debits_pending: row.col("dn")?,
                        credits_pending: row.col("cn")?,
                    })
                })
                .collect()
        })
    }

    async fn ledger_snapshot(&self) -> StoreResult<ledger::Books> {
        on_reader!(self, |pool| {
            // One read-only snapshot: on a live system, the accounts and the transfers
            // read by the two statements below describe the same moment.
            let mut conn = pool.acquire().await.map_err(err)?;
            let begin = conn.begin_snapshot();
            let mut tx = conn.begin_with(begin).await.map_err(err)?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {}, last_transfer_id FROM ledger_accounts ORDER BY id",
                ACCOUNT_COLUMNS
            )))
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
            let mut books = ledger::Books::default();
            for row in &rows {
                let (account, _) = account(row)?;
                if let Some(last) = row.col::<Option<i64>>("last_transfer_id")? {
                    books.heads.insert(account.id, TransferId(last));
                }
                books.accounts.push(account);
            }
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {}, debit_version, debit_previous_id, debit_debits_pending, debit_debits_posted, \
             debit_credits_pending, debit_credits_posted, credit_version, credit_previous_id, \
             credit_debits_pending, credit_debits_posted, credit_credits_pending, credit_credits_posted \
             FROM ledger_transfers ORDER BY id",
                TRANSFER_COLUMNS
            )))
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
            for row in &rows {
                let t = transfer(row)?;
                for (side, account) in [("debit", t.debit), ("credit", t.credit)] {
                    let column = |name: &str| format!("{side}_{name}");
                    let get = |name: &str| row.try_get::<i64, _>(column(name).as_str()).map_err(err);
                    books.entries.push(Entry {
                        account,
                        transfer: t.id,
                        version: get("version")?,
                        balances: augure_domain::ledger::Balances {
                            debits_pending: get("debits_pending")?,
                            debits_posted: get("debits_posted")?,
                            credits_pending: get("credits_pending")?,
                            credits_posted: get("credits_posted")?,
                        },
                        previous: row
                            .try_get::<Option<i64>, _>(column("previous_id").as_str())
                            .map_err(err)?
                            .map(TransferId),
                    });
                }
                books.transfers.push(ReplayedTransfer {
                    id: t.id,
                    debit: t.debit,
                    credit: t.credit,
                    amount: t.amount,
                    mode: t.mode,
                    pending_id: t.pending_id,
                });
            }
            tx.commit().await.map_err(err)?;
            Ok(books)
        })
    }
}

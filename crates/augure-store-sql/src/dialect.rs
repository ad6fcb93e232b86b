//! The statements that really differ between the engines. SQLite has one writer
//! connection, so nothing it reads inside a write can change under it; PostgreSQL has
//! concurrent writers (and nodes), so it locks the rows a transaction is about to change
//! and takes ids from sequences.

use augure_store::StoreResult;
use sqlx::{Database, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::err;

pub trait Dialect {
    /// Ends a `SELECT` of rows the transaction is about to change.
    fn lock_rows(&self) -> &'static str;

    /// Begins a read-only transaction whose statements all see one snapshot.
    fn begin_snapshot(&self) -> &'static str;

    /// Takes the oldest due job (or one whose lease ran out): `$1` = now, `$2` = lease end
    /// (micros); returns `JOB_COLUMNS`.
    fn claim_job_sql(&self) -> &'static str;

    /// Ids for `n` new transfers, taken under the account locks so that an account's
    /// transfers are numbered in the order they apply. `largest` is the largest stored id
    /// when the caller already read it.
    async fn transfer_ids(&mut self, n: usize, largest: Option<i64>) -> StoreResult<Vec<i64>>;
}

/// The claim both engines share, up to where PostgreSQL adds its row lock.
macro_rules! claim_job_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 \
             WHERE id = (SELECT id FROM jobs \
             WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1) \
             ORDER BY run_at, id LIMIT 1",
            $lock,
            ") RETURNING id, kind, payload, unique_key, status, attempts, run_at, last_error, created_at, finished_at"
        )
    };
}

impl Dialect for SqliteConnection {
    fn lock_rows(&self) -> &'static str {
        ""
    }

    fn begin_snapshot(&self) -> &'static str {
        // In WAL mode a transaction reads from the snapshot its first read took.
        "BEGIN"
    }

    fn claim_job_sql(&self) -> &'static str {
        // One writer connection serializes claims, so no row locking is needed.
        claim_job_sql!("")
    }

    async fn transfer_ids(&mut self, n: usize, largest: Option<i64>) -> StoreResult<Vec<i64>> {
        // With one writer, nobody else numbers transfers: the batch's ids follow the largest.
        let largest = match largest {
            Some(largest) => largest,
            None => sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM ledger_transfers")
                .fetch_one(&mut *self)
                .await
                .map_err(err)?,
        };
        Ok((largest + 1..).take(n).collect())
    }
}

impl Dialect for PgConnection {
    fn lock_rows(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn begin_snapshot(&self) -> &'static str {
        // READ COMMITTED would give each statement its own snapshot.
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    }

    fn claim_job_sql(&self) -> &'static str {
        // SKIP LOCKED lets several workers (and nodes) claim different jobs at once.
        claim_job_sql!(" FOR UPDATE SKIP LOCKED")
    }

    async fn transfer_ids(&mut self, n: usize, _largest: Option<i64>) -> StoreResult<Vec<i64>> {
        // From the sequence, after the account locks: concurrent batches on other accounts
        // get their own ids, and never the same.
        if n == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('ledger_transfers', 'id')) AS id FROM generate_series(1, $1)",
        )
        .bind(n as i64)
        .fetch_all(&mut *self)
        .await
        .map_err(err)
    }
}

/// Opening a write transaction. SQLite's default `BEGIN` takes the write lock only at the
/// first write, and a transaction that read first then fails at once with "database is
/// locked" when another process writes the same file, whatever `busy_timeout` says:
/// `BEGIN IMMEDIATE` takes the lock first, waiting for it under the busy timeout.
pub trait WritePool {
    type Db: Database;

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Self::Db>>;
}

impl WritePool for SqlitePool {
    type Db = Sqlite;

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await.map_err(err)
    }
}

impl WritePool for PgPool {
    type Db = Postgres;

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        // Row locks, taken by each statement, serialize what must be.
        self.begin().await.map_err(err)
    }
}

//! `cargo run --release -p augure-bench --bin ledger-bench [-- TRANSFERS]`
//!
//! Ledger throughput on each backend, one transfer per commit and batches of 100, between
//! uniformly chosen accounts and with a hot account in every transfer; and, in the same run
//! and at the same durability (SQLite `synchronous=FULL` in WAL mode, PostgreSQL
//! `synchronous_commit=on`), a raw baseline inserting one bare row per transfer. Figures
//! are reported as ratios to that baseline, which is what carries across machines.
//! PostgreSQL is measured when `AUGURE_TEST_POSTGRES_URL` (or the default local URL) answers.

// Rates and ratios for display: no money is computed here.
#![allow(clippy::float_arithmetic)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use augure_domain::Currency;
use augure_domain::ledger::{AccountId, AccountKind, TransferMode, TransferRequest};
use augure_store::{LedgerOwner, NewUser, Store};
use chrono::Utc;

const ACCOUNTS: usize = 1000;
const BATCH: usize = 100;
/// Each scenario runs this many times, interleaved with the others; medians are reported.
const ROUNDS: usize = 3;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let transfers: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let transfers = transfers.div_ceil(BATCH) * BATCH;
    println!(
        "ledger-bench: {transfers} transfers per scenario and round, {ROUNDS} rounds (medians), {ACCOUNTS} accounts, batches of {BATCH}\n"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let url = format!("sqlite://{}", path.display());
    let store = augure_store_sqlite::connect(&url).await.expect("sqlite");
    let raw = Raw::sqlite(&url, &format!("sqlite://{}", dir.path().join("raw.db").display())).await;
    run("SQLite (WAL, synchronous=FULL)", &store, &raw, transfers).await;

    let pg_url =
        std::env::var("AUGURE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match augure_store_postgres::connect_fresh_schema(&pg_url).await {
        Ok((store, schema)) => {
            let raw = Raw::postgres(&pg_url, &schema).await;
            run("PostgreSQL (synchronous_commit=on)", &store, &raw, transfers).await;
        }
        Err(e) => println!("PostgreSQL skipped: {pg_url}: {e}"),
    }
}

async fn run(name: &str, store: &dyn Store, raw: &Raw, n: usize) {
    println!("== {name}");
    let accounts = setup(store).await;
    let hot = store
        .ledger_account(LedgerOwner::Platform, AccountKind::PlatformRevenue, Currency::Eur, Utc::now())
        .await
        .expect("hot account")
        .id;
    let size_before = raw.bytes().await;
    let mut rng = Lcg(42);
    let scenarios = [
        ("uniform, 1 per commit", None, 1),
        ("hot account, 1 per commit", Some(hot), 1),
        ("uniform, 100 per commit", None, BATCH),
        ("hot account, 100 per commit", Some(hot), BATCH),
    ];
    let mut ledger_rates: Vec<Vec<f64>> = vec![Vec::new(); scenarios.len()];
    let (mut raw_single, mut raw_batch) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for round in 0..ROUNDS {
        for (s, (label, hot_account, batch)) in scenarios.iter().enumerate() {
            let requests: Vec<TransferRequest> = (0..n)
                .map(|i| {
                    let debit = accounts[rng.below(ACCOUNTS)];
                    let credit = hot_account.unwrap_or_else(|| {
                        loop {
                            let c = accounts[rng.below(ACCOUNTS)];
                            if c != debit {
                                break c;
                            }
                        }
                    });
                    transfer(&format!("{round}:{label}:{i}"), debit, credit)
                })
                .collect();
            let started = Instant::now();
            for chunk in requests.chunks(*batch) {
                let results = store.create_transfers(chunk, Utc::now()).await.expect("store");
                assert!(results.iter().all(Result::is_ok), "a bench transfer was refused");
            }
            ledger_rates[s].push(rate(n, started.elapsed()));
        }
        if round == 0 {
            // Measured before the baseline writes anything.
            bytes = raw.bytes().await.saturating_sub(size_before) / (scenarios.len() * n) as u64;
        }
        raw_single.push(rate(n, raw.insert(n, 1).await));
        raw_batch.push(rate(n, raw.insert(n, BATCH).await));
    }
    let raw_single = median(raw_single);
    let raw_batch = median(raw_batch);
    let results: Vec<_> =
        scenarios.iter().zip(ledger_rates).map(|((label, _, batch), rates)| (*label, *batch, median(rates))).collect();
    println!("  raw baseline, 1 row per commit      {raw_single:>9.0} rows/s");
    println!("  raw baseline, 100 rows per commit   {raw_batch:>9.0} rows/s");
    for (label, batch, r) in &results {
        let base = if *batch == 1 { raw_single } else { raw_batch };
        println!("  ledger, {label:<28} {r:>9.0} transfers/s  = {:.2} × raw", r / base);
    }
    let (uniform_batch, hot_batch) = (results[2].2, results[3].2);
    let (uniform_single, hot_single) = (results[0].2, results[1].2);
    println!(
        "  hot / uniform: {:.2} (1 per commit), {:.2} (100 per commit)",
        hot_single / uniform_single,
        hot_batch / uniform_batch
    );
    println!("  storage: {bytes} bytes per transfer (one row with both entries, and its indexes)");
    sweep(store, accounts[0], hot).await;
    println!();
}

/// The expiry sweep's cost must not grow with the holds already resolved: each node runs it
/// twice a second. Times one sweep with no hold history, then after `RESOLVED` holds have
/// come and gone, and reports the ratio (1.0 = independent of history).
async fn sweep(store: &dyn Store, client: AccountId, hot: AccountId) {
    const RESOLVED: usize = 5_000;
    const SWEEPS: u32 = 200;
    let timed = |now: chrono::DateTime<Utc>| async move {
        let started = Instant::now();
        for _ in 0..SWEEPS {
            assert!(store.expired_holds(now, 100).await.expect("sweep").is_empty());
        }
        started.elapsed() / SWEEPS
    };
    let deadline = Utc::now() + chrono::Duration::seconds(1);
    let after = deadline + chrono::Duration::seconds(1);
    let fresh = timed(after).await;
    let holds: Vec<TransferRequest> = (0..RESOLVED)
        .map(|i| TransferRequest {
            mode: TransferMode::Pending { expires_at: Some(deadline) },
            ..transfer(&format!("sweep:hold:{i}"), client, hot)
        })
        .collect();
    for chunk in holds.chunks(BATCH) {
        store.create_transfers(chunk, Utc::now()).await.expect("holds");
        let expiries: Vec<TransferRequest> = chunk
            .iter()
            .map(|h| TransferRequest {
                key: format!("expire:{}", h.key),
                amount: None,
                mode: TransferMode::Expire,
                pending_key: Some(h.key.clone()),
                ..h.clone()
            })
            .collect();
        let results = store.create_transfers(&expiries, after).await.expect("expiries");
        assert!(results.iter().all(Result::is_ok), "an expiry was refused");
    }
    let with_history = timed(after).await;
    println!(
        "  expiry sweep: {:.0} µs fresh, {:.0} µs after {RESOLVED} resolved holds = {:.2} × fresh",
        fresh.as_secs_f64() * 1e6,
        with_history.as_secs_f64() * 1e6,
        with_history.as_secs_f64() / fresh.as_secs_f64()
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Transfers per second, as a float for display only (never money).
fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn transfer(key: &str, debit: AccountId, credit: AccountId) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        debit,
        credit,
        amount: Some(1),
        currency: Currency::Eur,
        code: "bench".into(),
        user_data: None,
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    }
}

/// Accounts without limits (clearing accounts), one per bench user.
async fn setup(store: &dyn Store) -> Vec<AccountId> {
    let mut ids = Vec::with_capacity(ACCOUNTS);
    for i in 0..ACCOUNTS {
        let user = store
            .create_user(&NewUser {
                email: format!("bench{i}@example.fr").parse().expect("email"),
                role: augure_domain::Role::Client,
                display_name: format!("bench {i}"),
                locale: "fr".into(),
                site_id: None,
                expert_code: None,
                password_hash: "x".into(),
                created_at: Utc::now(),
            })
            .await
            .expect("user");
        let account = store
            .ledger_account(LedgerOwner::User(user.id), AccountKind::ProviderClearing, Currency::Eur, Utc::now())
            .await
            .expect("account");
        ids.push(account.id);
    }
    ids
}

/// A deterministic generator: the same accounts are drawn on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The baseline: one bare row per transfer, at the store's durability.
enum Raw {
    /// The baseline's own file (so neither pays for the other's checkpoints), and the
    /// ledger's, to measure its size.
    Sqlite(sqlx::SqlitePool, sqlx::SqlitePool),
    Postgres(sqlx::PgPool, String),
}

impl Raw {
    async fn sqlite(ledger_url: &str, url: &str) -> Raw {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
        let options = SqliteConnectOptions::from_str(url)
            .expect("url")
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let ledger = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::from_str(ledger_url).expect("url"))
            .await
            .expect("ledger sqlite");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.create_if_missing(true))
            .await
            .expect("raw sqlite");
        sqlx::query("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL, amount INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .expect("raw table");
        Raw::Sqlite(pool, ledger)
    }

    async fn postgres(url: &str, schema: &str) -> Raw {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        let options = PgConnectOptions::from_str(url).expect("url").options([("search_path", schema)]);
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await.expect("raw postgres");
        sqlx::query("CREATE TABLE bench_raw (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a BIGINT NOT NULL, b BIGINT NOT NULL, amount BIGINT NOT NULL)")
            .execute(&pool)
            .await
            .expect("raw table");
        Raw::Postgres(pool, schema.to_owned())
    }

    /// Inserts `n` rows, `per_commit` per transaction; returns the time taken.
    async fn insert(&self, n: usize, per_commit: usize) -> Duration {
        let started = Instant::now();
        let sql = "INSERT INTO bench_raw (a, b, amount) VALUES ($1, $2, 1)";
        for chunk in 0..n / per_commit {
            match self {
                Raw::Sqlite(pool, _) => {
                    let mut tx = pool.begin().await.expect("begin");
                    for i in 0..per_commit {
                        sqlx::query(sql).bind(chunk as i64).bind(i as i64).execute(&mut *tx).await.expect("insert");
                    }
                    tx.commit().await.expect("commit");
                }
                Raw::Postgres(pool, _) => {
                    let mut tx = pool.begin().await.expect("begin");
                    for i in 0..per_commit {
                        sqlx::query(sql).bind(chunk as i64).bind(i as i64).execute(&mut *tx).await.expect("insert");
                    }
                    tx.commit().await.expect("commit");
                }
            }
        }
        started.elapsed()
    }

    /// Bytes the ledger's tables take now.
    async fn bytes(&self) -> u64 {
        match self {
            Raw::Sqlite(_, pool) => {
                // Fold the WAL into the file so its size is what the data takes.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.expect("checkpoint");
                let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(pool).await.expect("pages");
                let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await.expect("page size");
                (pages * size) as u64
            }
            Raw::Postgres(pool, schema) => {
                let q = "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) FROM pg_class c \
                         JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE 'ledger_%'";
                let bytes: i64 = sqlx::query_scalar(q).bind(schema).fetch_one(pool).await.expect("sizes");
                bytes as u64
            }
        }
    }
}

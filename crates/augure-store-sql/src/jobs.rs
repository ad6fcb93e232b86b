//! Durable jobs: queued, claimed under a lease, completed or retried.

use async_trait::async_trait;
use augure_domain::JobId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::Dialect;
use crate::{SqlStore, err};

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl JobRow {
    pub fn into_job(self) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {}: {what}", self.id));
        Ok(Job {
            id: JobId(self.id),
            kind: self.kind,
            payload: serde_json::from_str(&self.payload).map_err(|_| corrupt("payload"))?,
            unique_key: self.unique_key,
            status: JobStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            run_at: instant(self.run_at)?,
            last_error: self.last_error,
            created_at: instant(self.created_at)?,
            finished_at: self.finished_at.map(instant).transpose()?,
        })
    }
}

pub const JOB_COLUMNS: &str =
    "id, kind, payload, unique_key, status, attempts, run_at, last_error, created_at, finished_at";

fn job(row: &impl Columns) -> StoreResult<Job> {
    JobRow {
        id: row.col("id")?,
        kind: row.col("kind")?,
        payload: row.col("payload")?,
        unique_key: row.col("unique_key")?,
        status: row.col("status")?,
        attempts: row.col("attempts")?,
        run_at: row.col("run_at")?,
        last_error: row.col("last_error")?,
        created_at: row.col("created_at")?,
        finished_at: row.col("finished_at")?,
    }
    .into_job()
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue_job(&self, j: &NewJob) -> StoreResult<JobId> {
        on_writer!(self, |pool| {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (kind, payload, unique_key, status, attempts, run_at, created_at) \
             VALUES ($1, $2, $3, 'queued', 0, $4, $5) ON CONFLICT (unique_key) DO NOTHING RETURNING id",
            )
            .bind(&j.kind)
            .bind(j.payload.to_string())
            .bind(j.unique_key.as_deref())
            .bind(micros(j.run_at))
            .bind(micros(j.created_at))
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            let id = match inserted {
                Some(id) => id,
                None => sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
                    .bind(j.unique_key.as_deref())
                    .fetch_one(pool)
                    .await
                    .map_err(err)?,
            };
            Ok(JobId(id))
        })
    }

    async fn claim_job(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<Job>> {
        on_writer!(self, |pool| {
            let mut conn = pool.acquire().await.map_err(err)?;
            let row = sqlx::query(conn.claim_job_sql())
                .bind(micros(now))
                .bind(micros(lease_until))
                .fetch_optional(&mut *conn)
                .await
                .map_err(err)?;
            row.as_ref().map(job).transpose()
        })
    }

    async fn complete_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("UPDATE jobs SET status = 'done', finished_at = $2, locked_until = NULL WHERE id = $1")
                .bind(id.0)
                .bind(micros(now))
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn fail_job(
        &self,
        id: JobId,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let q = match retry_at {
                Some(_) => {
                    "UPDATE jobs SET status = 'queued', run_at = $3, last_error = $2, locked_until = NULL WHERE id = $1"
                }
                None => {
                    "UPDATE jobs SET status = 'failed', finished_at = $3, last_error = $2, locked_until = NULL WHERE id = $1"
                }
            };
            sqlx::query(q)
                .bind(id.0)
                .bind(error)
                .bind(micros(retry_at.unwrap_or(now)))
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn job(&self, id: JobId) -> StoreResult<Job> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM jobs WHERE id = $1", JOB_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            job(&row)
        })
    }

    async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
        on_reader!(self, |pool| {
            let q =
                format!("SELECT {} FROM jobs WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2", JOB_COLUMNS);
            let rows = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(status.map(|s| s.as_str()))
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(job).collect()
        })
    }

    async fn purge_finished_jobs(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
                 WHERE status IN ('done', 'failed') AND finished_at < $1 LIMIT $2)",
            )
            .bind(micros(before))
            .bind(limit)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected())
        })
    }
}

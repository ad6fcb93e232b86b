//! The mail outbox: every mail recorded once per key.

use async_trait::async_trait;
use augure_domain::MailId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

pub struct MailRow {
    pub id: i64,
    pub key: String,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: i64,
}

impl MailRow {
    pub fn into_mail(self) -> StoreResult<StoredMail> {
        Ok(StoredMail {
            id: MailId(self.id),
            mail: OutboxMail {
                key: self.key,
                to: self.to_addr,
                subject: self.subject,
                text_body: self.text_body,
                html_body: self.html_body,
                created_at: instant(self.created_at)?,
            },
        })
    }
}

pub const MAIL_COLUMNS: &str = "id, mail_key, to_addr, subject, text_body, html_body, created_at";

fn mail(row: &impl Columns) -> StoreResult<StoredMail> {
    MailRow {
        id: row.col("id")?,
        key: row.col("mail_key")?,
        to_addr: row.col("to_addr")?,
        subject: row.col("subject")?,
        text_body: row.col("text_body")?,
        html_body: row.col("html_body")?,
        created_at: row.col("created_at")?,
    }
    .into_mail()
}

#[async_trait]
impl MailStore for SqlStore {
    async fn record_mail(&self, m: &OutboxMail) -> StoreResult<MailId> {
        on_writer!(self, |pool| {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO mail_outbox (mail_key, to_addr, subject, text_body, html_body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mail_key) DO NOTHING RETURNING id",
            )
            .bind(&m.key)
            .bind(&m.to)
            .bind(&m.subject)
            .bind(&m.text_body)
            .bind(&m.html_body)
            .bind(micros(m.created_at))
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            let id = match inserted {
                Some(id) => id,
                None => sqlx::query_scalar("SELECT id FROM mail_outbox WHERE mail_key = $1")
                    .bind(&m.key)
                    .fetch_one(pool)
                    .await
                    .map_err(err)?,
            };
            Ok(MailId(id))
        })
    }

    async fn mail(&self, id: MailId) -> StoreResult<StoredMail> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM mail_outbox WHERE id = $1", MAIL_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            mail(&row)
        })
    }

    async fn list_mail(&self, limit: i64, offset: i64) -> StoreResult<Vec<StoredMail>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM mail_outbox ORDER BY id DESC LIMIT $1 OFFSET $2", MAIL_COLUMNS);
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(mail).collect()
        })
    }

    async fn mail_to(&self, to: &str) -> StoreResult<Vec<StoredMail>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM mail_outbox WHERE to_addr = $1 ORDER BY id", MAIL_COLUMNS);
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(to).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(mail).collect()
        })
    }

    async fn purge_mail(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM mail_outbox WHERE id IN (SELECT id FROM mail_outbox WHERE created_at < $1 LIMIT $2)",
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

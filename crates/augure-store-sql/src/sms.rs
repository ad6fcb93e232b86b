//! The SMS outbox: every text message recorded once per key.

use async_trait::async_trait;
use augure_domain::ids::SmsId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

const COLUMNS: &str = "id, sms_key, to_number, text, created_at";

fn sms(row: &impl Columns) -> StoreResult<StoredSms> {
    Ok(StoredSms {
        id: SmsId(row.col("id")?),
        sms: OutboxSms {
            key: row.col("sms_key")?,
            to: row.col("to_number")?,
            text: row.col("text")?,
            created_at: instant(row.col("created_at")?)?,
        },
    })
}

#[async_trait]
impl SmsStore for SqlStore {
    async fn record_sms(&self, m: &OutboxSms) -> StoreResult<SmsId> {
        on_writer!(self, |pool| {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO sms_outbox (sms_key, to_number, text, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sms_key) DO NOTHING RETURNING id",
            )
            .bind(&m.key)
            .bind(&m.to)
            .bind(&m.text)
            .bind(micros(m.created_at))
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            let id = match inserted {
                Some(id) => id,
                None => sqlx::query_scalar("SELECT id FROM sms_outbox WHERE sms_key = $1")
                    .bind(&m.key)
                    .fetch_one(pool)
                    .await
                    .map_err(err)?,
            };
            Ok(SmsId(id))
        })
    }

    async fn list_sms(&self, limit: i64, offset: i64) -> StoreResult<Vec<StoredSms>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1 OFFSET $2");
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(sms).collect()
        })
    }

    async fn purge_sms(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM sms_outbox WHERE id IN (SELECT id FROM sms_outbox WHERE created_at < $1 LIMIT $2)",
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

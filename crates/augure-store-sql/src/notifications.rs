//! Each user's notification list: recorded once per user and key, read newest first.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_domain::ids::NotificationId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

const COLUMNS: &str = "id, user_id, kind, title, body, link, created_at, read_at";

/// Ids marked read per statement: far under either engine's bound-parameter limit.
const IDS_PER_STATEMENT: usize = 400;

fn notification(row: &impl Columns) -> StoreResult<Notification> {
    let read_at: Option<i64> = row.col("read_at")?;
    Ok(Notification {
        id: NotificationId(row.col("id")?),
        user_id: UserId(row.col("user_id")?),
        kind: row.col("kind")?,
        title: row.col("title")?,
        body: row.col("body")?,
        link: row.col("link")?,
        created_at: instant(row.col("created_at")?)?,
        read_at: read_at.map(instant).transpose()?,
    })
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn record_notification(&self, n: &NewNotification) -> StoreResult<Notification> {
        on_writer!(self, |pool| {
            let q = format!(
                "INSERT INTO notifications (user_id, notice_key, kind, title, body, link, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, notice_key) DO NOTHING RETURNING {COLUMNS}"
            );
            let inserted = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(n.user_id.0)
                .bind(&n.key)
                .bind(&n.kind)
                .bind(&n.title)
                .bind(&n.body)
                .bind(&n.link)
                .bind(micros(n.created_at))
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            match inserted {
                Some(row) => notification(&row),
                None => {
                    let q = format!("SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND notice_key = $2");
                    let row = sqlx::query(sqlx::AssertSqlSafe(q))
                        .bind(n.user_id.0)
                        .bind(&n.key)
                        .fetch_one(pool)
                        .await
                        .map_err(err)?;
                    notification(&row)
                }
            }
        })
    }

    async fn notifications(&self, user: UserId, limit: i64) -> StoreResult<Vec<Notification>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {COLUMNS} FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2");
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(user.0).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(notification).collect()
        })
    }

    async fn unread_notifications(&self, user: UserId) -> StoreResult<i64> {
        on_reader!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
                .bind(user.0)
                .fetch_one(pool)
                .await
                .map_err(err)
        })
    }

    async fn mark_notifications_read(
        &self,
        user: UserId,
        ids: &[NotificationId],
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut changed = 0;
        on_writer!(self, |pool| {
            for chunk in ids.chunks(IDS_PER_STATEMENT) {
                let mut qb = sqlx::QueryBuilder::new("UPDATE notifications SET read_at = ");
                qb.push_bind(micros(at)).push(" WHERE read_at IS NULL AND user_id = ").push_bind(user.0);
                qb.push(" AND id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.0);
                }
                list.push_unseparated(")");
                changed += qb.build().execute(pool).await.map_err(err)?.rows_affected();
            }
        });
        Ok(changed)
    }

    async fn mark_all_notifications_read(
        &self,
        user: UserId,
        up_to: Option<NotificationId>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND id <= $3",
            )
            .bind(micros(at))
            .bind(user.0)
            .bind(up_to.map_or(i64::MAX, |id| id.0))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected())
        })
    }

    async fn purge_read_notifications(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
                 WHERE read_at IS NOT NULL AND created_at < $1 LIMIT $2)",
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

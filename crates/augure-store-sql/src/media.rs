//! SP-media, SP-presentation: submissions and their moderation.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::WritePool;
use crate::{SqlStore, err};

const MEDIA_COLUMNS: &str = "id, user_id, kind, locale, status, content_type, body, width, height, duration_ms, size, reason, created_at, decided_at";

fn media_item(row: &impl Columns) -> StoreResult<MediaItem> {
    let kind: String = row.col("kind")?;
    let status: String = row.col("status")?;
    let dim = |name: &str| -> StoreResult<Option<u32>> {
        let v: Option<i64> = row.col(name)?;
        Ok(v.and_then(|v| u32::try_from(v).ok()))
    };
    let decided: Option<i64> = row.col("decided_at")?;
    Ok(MediaItem {
        id: augure_domain::MediaId(row.col("id")?),
        user_id: UserId(row.col("user_id")?),
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        locale: row.col("locale")?,
        status: status.parse().map_err(StoreError::Corrupt)?,
        content_type: row.col("content_type")?,
        body: row.col("body")?,
        width: dim("width")?,
        height: dim("height")?,
        duration_ms: dim("duration_ms")?,
        size: row.col("size")?,
        reason: row.col("reason")?,
        created_at: instant(row.col("created_at")?)?,
        decided_at: decided.map(instant).transpose()?,
    })
}

#[async_trait]
impl MediaStore for SqlStore {
    async fn submit_media(&self, m: &NewMedia) -> StoreResult<MediaItem> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE expert_media SET status = 'superseded' \
             WHERE user_id = $1 AND kind = $2 AND locale = $3 AND status = 'pending'",
            )
            .bind(m.user_id.0)
            .bind(m.kind.as_str())
            .bind(&m.locale)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            let q = format!(
                "INSERT INTO expert_media (user_id, kind, locale, status, content, content_type, body, width, height, \
             duration_ms, size, created_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {MEDIA_COLUMNS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(m.user_id.0)
                .bind(m.kind.as_str())
                .bind(&m.locale)
                .bind((!m.content.is_empty()).then_some(m.content.as_slice()))
                .bind(&m.content_type)
                .bind(&m.body)
                .bind(m.width.map(i64::from))
                .bind(m.height.map(i64::from))
                .bind(m.duration_ms.map(i64::from))
                .bind(i64::try_from(m.content.len().max(m.body.len())).unwrap_or(i64::MAX))
                .bind(micros(m.created_at))
                .fetch_one(&mut *tx)
                .await
                .map_err(err)?;
            let item = media_item(&row)?;
            tx.commit().await.map_err(err)?;
            Ok(item)
        })
    }

    async fn media_item(&self, id: augure_domain::MediaId) -> StoreResult<MediaItem> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            media_item(&row)
        })
    }

    async fn media_content(&self, id: augure_domain::MediaId) -> StoreResult<(MediaItem, Vec<u8>)> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {MEDIA_COLUMNS}, content FROM expert_media WHERE id = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            let content: Option<Vec<u8>> = row.col("content")?;
            Ok((media_item(&row)?, content.unwrap_or_default()))
        })
    }

    async fn pending_media(&self, limit: i64) -> StoreResult<Vec<MediaItem>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {MEDIA_COLUMNS} FROM expert_media WHERE status = 'pending' ORDER BY id LIMIT $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(media_item).collect()
        })
    }

    async fn decide_media(
        &self,
        id: augure_domain::MediaId,
        approve: bool,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<MediaItem> {
        on_writer!(self, |pool| {
            let q = format!(
                "UPDATE expert_media SET status = $2, reason = $3, decided_at = $4 \
             WHERE id = $1 AND status = 'pending' RETURNING {MEDIA_COLUMNS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(id.0)
                .bind(if approve { "approved" } else { "refused" })
                .bind(reason)
                .bind(micros(at))
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            match row {
                Some(row) => media_item(&row),
                None => {
                    // Tell "already decided" from "never existed".
                    self.media_item(id).await?;
                    Err(StoreError::Conflict("media already decided"))
                }
            }
        })
    }

    async fn published_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
             WHERE user_id = $1 AND status = 'approved' GROUP BY kind, locale) ORDER BY kind, locale"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(user.0).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(media_item).collect()
        })
    }

    async fn latest_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
             WHERE user_id = $1 AND status <> 'superseded' GROUP BY kind, locale) ORDER BY kind, locale"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(user.0).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(media_item).collect()
        })
    }
}

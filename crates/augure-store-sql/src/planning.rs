//! SP-planning and SP-return: planned hours, and the clients waiting for an expert.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::{Dialect, WritePool};
use crate::{SqlStore, err};

/// A planning row: its local day (`YYYY-MM-DD`) and minutes after local midnight.
pub fn slot_from_columns(
    day: &str,
    start_minute: i64,
    end_minute: i64,
) -> StoreResult<augure_domain::planning::PlannedSlot> {
    let corrupt = || StoreError::Corrupt(format!("planning slot {day} {start_minute}-{end_minute}"));
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| corrupt())?;
    let minute = |m: i64| u32::try_from(m).map_err(|_| corrupt());
    augure_domain::planning::PlannedSlot::from_minutes(date, minute(start_minute)?, minute(end_minute)?)
        .ok_or_else(corrupt)
}

/// How a local date is stored: `YYYY-MM-DD`, which sorts as the dates do.
pub fn day_str(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub const ALERT_COLUMNS: &str = "id, client_id, expert_id, created_at, notified_at";

fn back_alert(row: &impl Columns) -> StoreResult<BackAlert> {
    let notified_at: Option<i64> = row.col("notified_at")?;
    Ok(BackAlert {
        id: row.col("id")?,
        client_id: UserId(row.col("client_id")?),
        expert_id: UserId(row.col("expert_id")?),
        created_at: instant(row.col("created_at")?)?,
        notified_at: notified_at.map(instant).transpose()?,
    })
}

fn planned_slot(row: &impl Columns) -> StoreResult<augure_domain::planning::PlannedSlot> {
    let day: String = row.col("day")?;
    slot_from_columns(&day, row.col("start_minute")?, row.col("end_minute")?)
}

#[async_trait]
impl PlanningStore for SqlStore {
    async fn planning(
        &self,
        user: UserId,
        from: ::chrono::NaiveDate,
        to: ::chrono::NaiveDate,
    ) -> StoreResult<Vec<augure_domain::planning::PlannedSlot>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT day, start_minute, end_minute FROM expert_planning \
             WHERE user_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, start_minute, end_minute",
            )
            .bind(user.0)
            .bind(day_str(from))
            .bind(day_str(to))
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter().map(planned_slot).collect()
        })
    }

    async fn planning_between(
        &self,
        from: ::chrono::NaiveDate,
        to: ::chrono::NaiveDate,
    ) -> StoreResult<Vec<(UserId, augure_domain::planning::PlannedSlot)>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT user_id, day, start_minute, end_minute FROM expert_planning \
             WHERE day >= $1 AND day <= $2 ORDER BY user_id, day, start_minute, end_minute",
            )
            .bind(day_str(from))
            .bind(day_str(to))
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter().map(|row| Ok((UserId(row.col("user_id")?), planned_slot(row)?))).collect()
        })
    }

    async fn replace_planning_day(
        &self,
        user: UserId,
        day: ::chrono::NaiveDate,
        slots: &[augure_domain::planning::PlannedSlot],
    ) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let day = day_str(day);
            let mut tx = pool.begin_write().await?;
            // Two replacements of one expert's day must not interleave (both deleting
            // nothing, then both inserting): lock the expert's row first.
            let lock = tx.lock_rows();
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM users WHERE id = $1{lock}")))
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            sqlx::query("DELETE FROM expert_planning WHERE user_id = $1 AND day = $2")
                .bind(user.0)
                .bind(&day)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            for slot in slots {
                let (start, end) = slot.minutes();
                sqlx::query(
                    "INSERT INTO expert_planning (user_id, day, start_minute, end_minute) VALUES ($1, $2, $3, $4)",
                )
                .bind(user.0)
                .bind(&day)
                .bind(i64::from(start))
                .bind(i64::from(end))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            Ok(())
        })
    }

    async fn add_back_alert(&self, client: UserId, expert: UserId, at: DateTime<Utc>) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            // The partial unique index on pending alerts makes a second ask a no-op.
            let done = sqlx::query(
            "INSERT INTO expert_alerts (client_id, expert_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(client.0)
        .bind(expert.0)
        .bind(micros(at))
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn pending_back_alerts(&self, expert: UserId) -> StoreResult<Vec<BackAlert>> {
        on_writer!(self, |pool| {
            let q = format!(
                "SELECT {} FROM expert_alerts WHERE expert_id = $1 AND notified_at IS NULL ORDER BY id",
                ALERT_COLUMNS
            );
            // Through the writer: the job that sends them must see alerts just added.
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(expert.0).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(back_alert).collect()
        })
    }

    async fn mark_back_alerts_notified(&self, expert: UserId, at: DateTime<Utc>) -> StoreResult<Vec<BackAlert>> {
        on_writer!(self, |pool| {
            // One statement: a concurrent second UPDATE finds the rows no longer pending.
            let q = format!(
                "UPDATE expert_alerts SET notified_at = $2 WHERE expert_id = $1 AND notified_at IS NULL RETURNING {}",
                ALERT_COLUMNS
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(expert.0)
                .bind(micros(at))
                .fetch_all(pool)
                .await
                .map_err(err)?;
            let mut alerts = rows.iter().map(back_alert).collect::<StoreResult<Vec<_>>>()?;
            alerts.sort_by_key(|a| a.id);
            Ok(alerts)
        })
    }

    async fn has_back_alert(&self, client: UserId, expert: UserId) -> StoreResult<bool> {
        on_reader!(self, |pool| {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM expert_alerts WHERE client_id = $1 AND expert_id = $2 AND notified_at IS NULL",
            )
            .bind(client.0)
            .bind(expert.0)
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            Ok(found.is_some())
        })
    }
}

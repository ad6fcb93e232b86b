//! Payment incidents: money the provider took back on its own (dashboard refunds,
//! chargebacks), one row per provider reference.

use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

const COLUMNS: &str = "id, purchase_id, kind, provider_ref, amount, taken, debt, status, created_at, closed_at";

fn incident(row: &impl Columns) -> StoreResult<PaymentIncident> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("payment incident: {what}"));
    let kind: String = row.col("kind")?;
    let status: String = row.col("status")?;
    let closed_at: Option<i64> = row.col("closed_at")?;
    Ok(PaymentIncident {
        id: row.col("id")?,
        purchase_id: row.col("purchase_id")?,
        kind: IncidentKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
        provider_ref: row.col("provider_ref")?,
        amount: row.col("amount")?,
        taken: row.col("taken")?,
        debt: row.col("debt")?,
        status: IncidentStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        created_at: instant(row.col("created_at")?)?,
        closed_at: closed_at.map(instant).transpose()?,
    })
}

impl SqlStore {
    pub(crate) async fn insert_incident(&self, i: &PaymentIncident) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO payment_incidents \
                 (purchase_id, kind, provider_ref, amount, taken, debt, status, created_at, closed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (provider_ref) DO NOTHING",
            )
            .bind(i.purchase_id)
            .bind(i.kind.as_str())
            .bind(&i.provider_ref)
            .bind(i.amount)
            .bind(i.taken)
            .bind(i.debt)
            .bind(i.status.as_str())
            .bind(micros(i.created_at))
            .bind(i.closed_at.map(micros))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub(crate) async fn find_incident(&self, provider_ref: &str) -> StoreResult<Option<PaymentIncident>> {
        on_writer!(self, |pool| {
            let q = format!("SELECT {COLUMNS} FROM payment_incidents WHERE provider_ref = $1");
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(provider_ref).fetch_optional(pool).await.map_err(err)?;
            row.as_ref().map(incident).transpose()
        })
    }

    pub(crate) async fn end_incident(
        &self,
        provider_ref: &str,
        status: IncidentStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "UPDATE payment_incidents SET status = $1, closed_at = $2 WHERE provider_ref = $3 AND status = 'open'",
            )
            .bind(status.as_str())
            .bind(micros(now))
            .bind(provider_ref)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub(crate) async fn latest_incidents(&self, limit: i64) -> StoreResult<Vec<PaymentIncident>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {COLUMNS} FROM payment_incidents ORDER BY id DESC LIMIT $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(incident).collect()
        })
    }
}

//! PH-commission, AT-split: an expert's own commission per channel, one row per expert
//! and channel, replaced in place; no row means the settings' rate.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_domain::consultation::Channel;
use augure_domain::tariff::Rate;
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

fn commission(row: &impl Columns) -> StoreResult<(Channel, Rate)> {
    let expert: i64 = row.col("expert_id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("expert commission of {expert}: {what}"));
    let channel: String = row.col("channel")?;
    let channel = Channel::parse(&channel).ok_or_else(|| corrupt("channel"))?;
    let basis_points: i64 = row.col("basis_points")?;
    let rate = u32::try_from(basis_points).ok().and_then(Rate::from_basis_points).ok_or_else(|| corrupt("rate"))?;
    Ok((channel, rate))
}

/// Where a channel comes in [`Channel::ALL`]: the order listings keep.
fn position(channel: Channel) -> usize {
    Channel::ALL.iter().position(|c| *c == channel).unwrap_or(Channel::ALL.len())
}

#[async_trait]
impl CommissionStore for SqlStore {
    async fn set_expert_commission(
        &self,
        expert: UserId,
        channel: Channel,
        rate: Option<Rate>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_writer!(self, |pool| {
            match rate {
                None => {
                    sqlx::query("DELETE FROM expert_commissions WHERE expert_id = $1 AND channel = $2")
                        .bind(expert.0)
                        .bind(channel.as_str())
                        .execute(pool)
                        .await
                        .map_err(err)?;
                }
                Some(rate) => {
                    // Written only for an existing user: an unknown one is `NotFound`, not a
                    // foreign-key failure.
                    let written = sqlx::query(
                        "INSERT INTO expert_commissions (expert_id, channel, basis_points, updated_at) \
                         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) \
                         ON CONFLICT (expert_id, channel) DO UPDATE SET basis_points = excluded.basis_points, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(expert.0)
                    .bind(channel.as_str())
                    .bind(i64::from(rate.basis_points()))
                    .bind(micros(at))
                    .execute(pool)
                    .await
                    .map_err(err)?;
                    if written.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                }
            }
            Ok(())
        })
    }

    async fn expert_commissions(&self, expert: UserId) -> StoreResult<Vec<(Channel, Rate)>> {
        on_reader!(self, |pool| {
            let rows =
                sqlx::query("SELECT expert_id, channel, basis_points FROM expert_commissions WHERE expert_id = $1")
                    .bind(expert.0)
                    .fetch_all(pool)
                    .await
                    .map_err(err)?;
            let mut rates = rows.iter().map(commission).collect::<StoreResult<Vec<_>>>()?;
            rates.sort_by_key(|(channel, _)| position(*channel));
            Ok(rates)
        })
    }
}

//! Consultations (SPEC §4): the terms frozen when one opens, its grants and settlement
//! (each written with its ledger transfers in one transaction, through
//! [`SqlStore::try_write_transfers`] and a [`Follow`]), the meter's checkpoints and the
//! lease of the node running it. The partial unique index `consultations_live_expert`
//! keeps an expert in at most one open consultation.

use async_trait::async_trait;
use augure_domain::consultation::{Channel, EndReason};
use augure_domain::ledger::{AccountId, TransferRequest};
use augure_domain::pricing::{Package, SitePrices};
use augure_domain::tariff::{Plan, Rate};
use augure_domain::{ConsultationId, Currency, Money, SiteId, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};
use sqlx::{Database, QueryBuilder};

use crate::codec::*;
use crate::dialect::WritePool;
use crate::ledger::{Bind, Written};
use crate::{SqlStore, err};

const COLUMNS: &str = "id, client_id, expert_id, site_id, channel, plan, first_with_expert, currency, \
     per_minute_minor, package_minor, package_minutes, email_minor, free_minutes, imposed, commission_bp, \
     client_credit_account_id, clearing_account_id, expert_earnings_account_id, platform_revenue_account_id, \
     status, node_id, lease_until, opened_at, started_at, grant_seq, posted_minor, held_minor, billable_seconds, \
     checkpoint_at, end_reason, ended_at, charge_minor, commission_minor, earnings_minor";

/// Checkpoints per statement: at 3 binds a row, well under both engines' bind limits.
const CHECKPOINT_CHUNK: usize = 5000;

/// Grants per statement: at 9 binds a row, under both engines' bind limits.
const GRANTS_CHUNK: usize = 1000;

/// Seconds as stored; no meter runs for 292 billion years.
fn seconds(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

fn consultation(row: &impl Columns) -> StoreResult<Consultation> {
    let id: i64 = row.col("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("consultation {id}: {what}"));
    let code: String = row.col("currency")?;
    let currency: Currency = code.parse().map_err(|_| corrupt("currency"))?;
    let package_minor: Option<i64> = row.col("package_minor")?;
    let package_minutes: Option<i64> = row.col("package_minutes")?;
    let package = match (package_minor, package_minutes) {
        (Some(price), Some(minutes)) => Some(Package {
            price: Money::new(price, currency),
            minutes: u32::try_from(minutes).map_err(|_| corrupt("package minutes"))?,
        }),
        (None, None) => None,
        _ => return Err(corrupt("package")),
    };
    let email: Option<i64> = row.col("email_minor")?;
    let free: i64 = row.col("free_minutes")?;
    let prices = SitePrices {
        per_minute: Money::new(row.col("per_minute_minor")?, currency),
        package,
        free_minutes: u32::try_from(free).map_err(|_| corrupt("free minutes"))?,
        email: email.map(|m| Money::new(m, currency)),
        imposed: row.col::<i64>("imposed")? != 0,
    };
    let plan: String = row.col("plan")?;
    let plan = match plan.as_str() {
        "per_minute" => Plan::PerMinute { first_with_expert: row.col::<i64>("first_with_expert")? != 0 },
        "package" => Plan::Package,
        _ => return Err(corrupt("plan")),
    };
    let channel: String = row.col("channel")?;
    let rate: i64 = row.col("commission_bp")?;
    let account = |name: &str| row.col(name).map(AccountId);
    let terms = ConsultationTerms {
        site: SiteId(row.col("site_id")?),
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel"))?,
        plan,
        prices,
        rate: u32::try_from(rate).ok().and_then(Rate::from_basis_points).ok_or_else(|| corrupt("commission"))?,
        accounts: ConsultationAccounts {
            client_credit: account("client_credit_account_id")?,
            clearing: account("clearing_account_id")?,
            expert_earnings: account("expert_earnings_account_id")?,
            platform_revenue: account("platform_revenue_account_id")?,
        },
    };
    let status: String = row.col("status")?;
    let status = ConsultationStatus::parse(&status).ok_or_else(|| corrupt("status"))?;
    let ended = if status.is_open() {
        None
    } else {
        let reason: Option<String> = row.col("end_reason")?;
        let ended_at: Option<i64> = row.col("ended_at")?;
        let amount = |name: &str| row.col::<Option<i64>>(name)?.ok_or_else(|| corrupt(name));
        Some(Settled {
            reason: reason.as_deref().and_then(EndReason::parse).ok_or_else(|| corrupt("end reason"))?,
            ended_at: instant(ended_at.ok_or_else(|| corrupt("ended_at"))?)?,
            charge: amount("charge_minor")?,
            commission: amount("commission_minor")?,
            earnings: amount("earnings_minor")?,
        })
    };
    let started_at: Option<i64> = row.col("started_at")?;
    let grant_seq: i64 = row.col("grant_seq")?;
    let billable: i64 = row.col("billable_seconds")?;
    Ok(Consultation {
        id: ConsultationId(id),
        client: UserId(row.col("client_id")?),
        expert: UserId(row.col("expert_id")?),
        terms,
        status,
        node: row.col("node_id")?,
        lease_until: instant(row.col("lease_until")?)?,
        opened_at: instant(row.col("opened_at")?)?,
        started_at: started_at.map(instant).transpose()?,
        grant: GrantState {
            seq: u32::try_from(grant_seq).map_err(|_| corrupt("grant seq"))?,
            posted: row.col("posted_minor")?,
            held: row.col("held_minor")?,
        },
        billable_seconds: u64::try_from(billable).map_err(|_| corrupt("billable seconds"))?,
        checkpoint_at: instant(row.col("checkpoint_at")?)?,
        ended,
    })
}

/// What a batch of transfers writes with them, in their transaction: a grant's or a
/// settlement's change to the consultation's row.
#[derive(Clone, Copy)]
pub(crate) enum Follow<'a> {
    Grant(&'a GrantRecord),
    /// Several grants at once, sorted by consultation: all match or nothing is written.
    Grants(&'a [GrantRecord]),
    Settle(&'a SettlementRecord),
}

impl Follow<'_> {
    /// The one consultation written, to tell an unknown one from a stale write.
    pub(crate) fn consultation(self) -> Option<ConsultationId> {
        match self {
            Follow::Grant(g) => Some(g.id),
            Follow::Grants(_) => None,
            Follow::Settle(s) => Some(s.id),
        }
    }

    /// How many rows the update matches when it applies.
    pub(crate) fn rows(self) -> u64 {
        match self {
            Follow::Grants(grants) => grants.len() as u64,
            Follow::Grant(_) | Follow::Settle(_) => 1,
        }
    }

    /// The guarded update: it matches the row only where the record expects it (open, on
    /// the record's node, at the grant before it, or at its own grant for a settlement),
    /// so each grant and the settlement apply exactly once.
    pub(crate) fn update<DB: Database>(self) -> QueryBuilder<DB>
    where
        i64: Bind<DB>,
        Option<i64>: Bind<DB>,
        String: Bind<DB>,
        &'static str: Bind<DB>,
    {
        if let Follow::Grants(grants) = self {
            return grants_update(grants);
        }
        let mut qb = QueryBuilder::new("UPDATE consultations SET ");
        let (id, node, seq) = match self {
            Follow::Grants(_) => unreachable!("handled above"),
            Follow::Grant(g) => {
                let billable = seconds(g.billable_seconds);
                let at = micros(g.at);
                qb.push("status = 'live', grant_seq = ").push_bind(i64::from(g.state.seq));
                qb.push(", posted_minor = ").push_bind(g.state.posted);
                qb.push(", held_minor = ").push_bind(g.state.held);
                // A grant's reading never takes back a later checkpoint.
                qb.push(", billable_seconds = CASE WHEN ").push_bind(billable);
                qb.push(" > billable_seconds THEN ").push_bind(billable).push(" ELSE billable_seconds END");
                qb.push(", checkpoint_at = CASE WHEN ").push_bind(at);
                qb.push(" > checkpoint_at THEN ").push_bind(at).push(" ELSE checkpoint_at END");
                qb.push(", started_at = COALESCE(started_at, ").push_bind(g.started_at.map(micros)).push(")");
                qb.push(", lease_until = ").push_bind(micros(g.lease_until));
                // Grant 0 is the opening state: grant n applies on top of grant n − 1.
                (g.id, &g.node, i64::from(g.state.seq) - 1)
            }
            Follow::Settle(s) => {
                let end = &s.settled;
                qb.push("status = 'settled', billable_seconds = ").push_bind(seconds(s.billable_seconds));
                qb.push(", started_at = COALESCE(started_at, ").push_bind(s.started_at.map(micros)).push(")");
                qb.push(", end_reason = ").push_bind(end.reason.as_str());
                qb.push(", ended_at = ").push_bind(micros(end.ended_at));
                qb.push(", charge_minor = ").push_bind(end.charge);
                qb.push(", commission_minor = ").push_bind(end.commission);
                qb.push(", earnings_minor = ").push_bind(end.earnings);
                (s.id, &s.node, i64::from(s.seq))
            }
        };
        qb.push(" WHERE id = ").push_bind(id.0);
        qb.push(" AND status IN ('ringing', 'live') AND node_id = ").push_bind(node.clone());
        qb.push(" AND grant_seq = ").push_bind(seq);
        qb
    }
}

/// [`Follow::Grant`]'s guarded update for many rows in one statement. VALUES columns are
/// column1, column2… on both engines.
fn grants_update<DB: Database>(grants: &[GrantRecord]) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
    Option<i64>: Bind<DB>,
    String: Bind<DB>,
{
    let mut qb = QueryBuilder::new(
        "UPDATE consultations SET status = 'live', grant_seq = v.column2, posted_minor = v.column3, \
         held_minor = v.column4, billable_seconds = CASE WHEN v.column5 > consultations.billable_seconds \
         THEN v.column5 ELSE consultations.billable_seconds END, checkpoint_at = CASE WHEN v.column6 > \
         consultations.checkpoint_at THEN v.column6 ELSE consultations.checkpoint_at END, \
         started_at = COALESCE(consultations.started_at, v.column7), lease_until = v.column8 FROM (",
    );
    qb.push_values(grants, |mut row, g| {
        row.push_bind(g.id.0)
            .push_bind(i64::from(g.state.seq))
            .push_bind(g.state.posted)
            .push_bind(g.state.held)
            .push_bind(seconds(g.billable_seconds))
            .push_bind(micros(g.at))
            .push_bind(g.started_at.map(micros))
            .push_bind(micros(g.lease_until))
            .push_bind(g.node.clone());
    });
    qb.push(
        ") AS v WHERE consultations.id = v.column1 AND consultations.status IN ('ringing', 'live') \
         AND consultations.node_id = v.column9 AND consultations.grant_seq = v.column2 - 1",
    );
    qb
}

/// One node's tick over `checkpoints`: each moves forward only, and renews its lease.
fn checkpoint_update<DB: Database>(
    node: &str,
    checkpoints: &[&Checkpoint],
    lease_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryBuilder<DB>
where
    i64: Bind<DB>,
    Option<i64>: Bind<DB>,
    String: Bind<DB>,
{
    // VALUES columns are column1, column2… on both engines.
    let mut qb = QueryBuilder::new(
        "UPDATE consultations SET billable_seconds = CASE WHEN v.column2 > consultations.billable_seconds \
         THEN v.column2 ELSE consultations.billable_seconds END, \
         started_at = COALESCE(consultations.started_at, v.column3), checkpoint_at = ",
    );
    qb.push_bind(micros(now)).push(", lease_until = ").push_bind(micros(lease_until)).push(" FROM (");
    qb.push_values(checkpoints, |mut row, c| {
        row.push_bind(c.id.0).push_bind(seconds(c.billable_seconds)).push_bind(c.started_at.map(micros));
    });
    qb.push(") AS v WHERE consultations.id = v.column1 AND consultations.node_id = ").push_bind(node.to_string());
    qb.push(" AND consultations.status IN ('ringing', 'live')");
    qb
}

impl SqlStore {
    /// `requests` and `follow` in one transaction, tried again when a concurrent batch
    /// stored one of the keys first (the retry then sees it stored).
    async fn write_with(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
        follow: Follow<'_>,
    ) -> StoreResult<ConsultationWrite> {
        let mut attempt = 0;
        let written = loop {
            match self.try_write_transfers(requests, now, Some(follow)).await {
                Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
                other => break other?,
            }
        };
        Ok(match written {
            // With a follow-up, a refused transfer writes nothing: every one succeeded.
            Written::Done(results) => match results.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(transfers) => ConsultationWrite::Applied(transfers),
                Err(refused) => ConsultationWrite::Refused(refused),
            },
            Written::Refused(refused) => ConsultationWrite::Refused(refused),
            Written::Stale => ConsultationWrite::Stale,
        })
    }
}

#[async_trait]
impl ConsultationStore for SqlStore {
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation> {
        let terms = &new.terms;
        let prices = &terms.prices;
        let (plan, first_with_expert) = match terms.plan {
            Plan::PerMinute { first_with_expert } => ("per_minute", first_with_expert),
            Plan::Package => ("package", false),
        };
        let q = format!(
            "INSERT INTO consultations (client_id, expert_id, site_id, channel, plan, first_with_expert, currency, \
             per_minute_minor, package_minor, package_minutes, email_minor, free_minutes, imposed, commission_bp, \
             client_credit_account_id, clearing_account_id, expert_earnings_account_id, \
             platform_revenue_account_id, status, node_id, lease_until, opened_at, checkpoint_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $22) RETURNING {COLUMNS}"
        );
        let accounts = &terms.accounts;
        on_writer!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(new.client.0)
                .bind(new.expert.0)
                .bind(terms.site.0)
                .bind(terms.channel.as_str())
                .bind(plan)
                .bind(i64::from(first_with_expert))
                .bind(prices.currency().code())
                .bind(prices.per_minute.minor)
                .bind(prices.package.map(|p| p.price.minor))
                .bind(prices.package.map(|p| i64::from(p.minutes)))
                .bind(prices.email.map(|m| m.minor))
                .bind(i64::from(prices.free_minutes))
                .bind(i64::from(prices.imposed))
                .bind(i64::from(terms.rate.basis_points()))
                .bind(accounts.client_credit.0)
                .bind(accounts.clearing.0)
                .bind(accounts.expert_earnings.0)
                .bind(accounts.platform_revenue.0)
                .bind(new.status.as_str())
                .bind(&new.node)
                .bind(micros(new.lease_until))
                .bind(micros(new.at))
                .fetch_one(pool)
                .await
                .map_err(err)?;
            consultation(&row)
        })
    }

    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation> {
        let q = format!("SELECT {COLUMNS} FROM consultations WHERE id = $1");
        on_reader!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            consultation(&row)
        })
    }

    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        self.write_with(requests, now, Follow::Grant(grant)).await
    }

    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // In id order, the order the rows are locked in.
        let mut sorted = grants.to_vec();
        sorted.sort_unstable_by_key(|g| g.id);
        let unique = sorted.windows(2).all(|w| w[0].id != w[1].id);
        if sorted.is_empty() || !unique || sorted.len() > GRANTS_CHUNK {
            return Ok(false);
        }
        Ok(matches!(self.write_with(requests, now, Follow::Grants(&sorted)).await?, ConsultationWrite::Applied(_)))
    }

    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        self.write_with(requests, now, Follow::Settle(settlement)).await
    }

    /// Renews the lease of the consultations listed only: the engine lists every one it
    /// runs on each tick, so one it forgot lapses and another node takes it over.
    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        // One reading per consultation (the furthest), in id order: a row updated from two
        // VALUES rows takes either.
        let mut sorted: Vec<&Checkpoint> = checkpoints.iter().collect();
        sorted.sort_unstable_by_key(|c| (c.id, std::cmp::Reverse(c.billable_seconds)));
        sorted.dedup_by_key(|c| c.id);
        if sorted.is_empty() {
            return Ok(0);
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut updated = 0;
            for chunk in sorted.chunks(CHECKPOINT_CHUNK) {
                let mut query = checkpoint_update(node, chunk, lease_until, now);
                updated += query.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
            }
            tx.commit().await.map_err(err)?;
            Ok(updated)
        })
    }

    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            // Nothing was held while ringing: the end carries no money.
            let done = sqlx::query(
                "UPDATE consultations SET status = 'lost', end_reason = $1, ended_at = $2, charge_minor = 0, \
                 commission_minor = 0, earnings_minor = 0 WHERE id = $3 AND status = 'ringing'",
            )
            .bind(reason.as_str())
            .bind(micros(at))
            .bind(id.0)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>> {
        let q = format!(
            "SELECT {COLUMNS} FROM consultations WHERE node_id = $1 AND status IN ('ringing', 'live') ORDER BY id"
        );
        on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(node).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(consultation).collect()
        })
    }

    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>> {
        let q = format!(
            "SELECT {COLUMNS} FROM consultations WHERE status IN ('ringing', 'live') AND lease_until <= $1 \
             ORDER BY lease_until, id LIMIT $2"
        );
        on_reader!(self, |pool| {
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(micros(now)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(consultation).collect()
        })
    }

    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            // One statement: a second node's update finds the lease renewed and matches nothing.
            let done = sqlx::query(
                "UPDATE consultations SET node_id = $1, lease_until = $2 \
                 WHERE id = $3 AND status IN ('ringing', 'live') AND lease_until <= $4",
            )
            .bind(node)
            .bind(micros(lease_until))
            .bind(id.0)
            .bind(micros(now))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn open_consultations(&self, limit: i64) -> StoreResult<Vec<Consultation>> {
        let q = format!(
            "SELECT {COLUMNS} FROM consultations WHERE status IN ('ringing', 'live') ORDER BY opened_at, id LIMIT $1"
        );
        on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(consultation).collect()
        })
    }

    async fn user_consultations(&self, user: UserId, limit: i64) -> StoreResult<Vec<Consultation>> {
        // Each side read newest first from its own index and limited, then merged: an
        // expert with years of consultations costs `limit` rows, not all of them.
        let newest = "ORDER BY opened_at DESC, id DESC LIMIT $2";
        let q = format!(
            "SELECT {COLUMNS} FROM ( \
             SELECT * FROM (SELECT {COLUMNS} FROM consultations WHERE client_id = $1 {newest}) AS c \
             UNION ALL \
             SELECT * FROM (SELECT {COLUMNS} FROM consultations WHERE expert_id = $1 AND client_id <> $1 {newest}) AS e \
             ) AS u {newest}"
        );
        on_reader!(self, |pool| {
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(user.0).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(consultation).collect()
        })
    }

    async fn has_consulted(&self, client: UserId, expert: UserId) -> StoreResult<bool> {
        on_reader!(self, |pool| {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM consultations WHERE client_id = $1 AND expert_id = $2 AND status = 'settled' \
                 AND started_at IS NOT NULL LIMIT 1",
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

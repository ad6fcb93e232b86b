//! Payments: credit packs, purchases, refunds, provider events and stored idempotent answers.

use async_trait::async_trait;
use augure_domain::{Currency, Money, SiteId, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::{Dialect, WritePool};
use crate::{SqlStore, err};

pub struct PurchaseRow {
    pub id: i64,
    pub user_id: i64,
    pub pack_id: i64,
    pub price: i64,
    pub bonus: i64,
    pub currency: String,
    pub status: String,
    pub checkout_session: Option<String>,
    pub payment_ref: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub refunded: i64,
    pub processing_at: Option<i64>,
}

impl PurchaseRow {
    pub fn into_purchase(self) -> StoreResult<Purchase> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("purchase {}: {what}", self.id));
        let currency: Currency = self.currency.parse().map_err(|_| corrupt("currency"))?;
        Ok(Purchase {
            id: self.id,
            user_id: UserId(self.user_id),
            pack_id: self.pack_id,
            price: Money::new(self.price, currency),
            bonus: Money::new(self.bonus, currency),
            status: PurchaseStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            checkout_session: self.checkout_session,
            payment_ref: self.payment_ref,
            created_at: instant(self.created_at)?,
            paid_at: self.paid_at.map(instant).transpose()?,
            refunded: Money::new(self.refunded, currency),
            processing_at: self.processing_at.map(instant).transpose()?,
        })
    }
}

pub const PURCHASE_COLUMNS: &str = "p.id, p.user_id, p.pack_id, p.price, p.bonus, p.currency, p.status, \
     p.checkout_session, p.payment_ref, p.created_at, p.paid_at, p.processing_at, \
     CAST(COALESCE((SELECT SUM(r.amount) FROM purchase_refunds r WHERE r.purchase_id = p.id AND r.status <> 'failed'), 0) \
     AS BIGINT) AS refunded";

const REFUND_COLUMNS: &str = "purchase_id, refund_key, amount, bonus, status, created_at";
const REFUND_BY_KEY: &str =
    "SELECT purchase_id, refund_key, amount, bonus, status, created_at FROM purchase_refunds WHERE refund_key = $1";

fn refund(row: &impl Columns) -> StoreResult<Refund> {
    let status: String = row.col("status")?;
    Ok(Refund {
        purchase_id: row.col("purchase_id")?,
        key: row.col("refund_key")?,
        amount: row.col("amount")?,
        bonus: row.col("bonus")?,
        status: RefundStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("refund status {status}")))?,
        created_at: instant(row.col("created_at")?)?,
    })
}

fn purchase(row: &impl Columns) -> StoreResult<Purchase> {
    PurchaseRow {
        id: row.col("id")?,
        user_id: row.col("user_id")?,
        pack_id: row.col("pack_id")?,
        price: row.col("price")?,
        bonus: row.col("bonus")?,
        currency: row.col("currency")?,
        status: row.col("status")?,
        checkout_session: row.col("checkout_session")?,
        payment_ref: row.col("payment_ref")?,
        created_at: row.col("created_at")?,
        paid_at: row.col("paid_at")?,
        refunded: row.col("refunded")?,
        processing_at: row.col("processing_at")?,
    }
    .into_purchase()
}

fn pack(row: &impl Columns) -> StoreResult<CreditPack> {
    let currency: String = row.col("currency")?;
    let currency: augure_domain::Currency =
        currency.parse().map_err(|_| StoreError::Corrupt(format!("credit pack currency {currency}")))?;
    let active: i64 = row.col("active")?;
    Ok(CreditPack {
        id: row.col("id")?,
        site_id: SiteId(row.col("site_id")?),
        price: Money::new(row.col("price")?, currency),
        bonus: Money::new(row.col("bonus")?, currency),
        active: active != 0,
    })
}

#[async_trait]
impl PaymentStore for SqlStore {
    async fn create_credit_pack(
        &self,
        site: SiteId,
        price: Money,
        bonus: Money,
        now: DateTime<Utc>,
    ) -> StoreResult<CreditPack> {
        on_writer!(self, |pool| {
            let row = sqlx::query(
            "INSERT INTO credit_packs (site_id, price, bonus, currency, active, created_at) VALUES ($1, $2, $3, $4, 1, $5) \
             RETURNING id, site_id, price, bonus, currency, active",
        )
        .bind(site.0)
        .bind(price.minor)
        .bind(bonus.minor)
        .bind(price.currency.code())
        .bind(micros(now))
        .fetch_one(pool)
        .await
        .map_err(err)?;
            pack(&row)
        })
    }

    async fn credit_pack(&self, id: i64) -> StoreResult<CreditPack> {
        on_reader!(self, |pool| {
            let row = sqlx::query("SELECT id, site_id, price, bonus, currency, active FROM credit_packs WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
                .map_err(err)?;
            pack(&row)
        })
    }

    async fn credit_packs(&self, site: SiteId) -> StoreResult<Vec<CreditPack>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
            "SELECT id, site_id, price, bonus, currency, active FROM credit_packs WHERE site_id = $1 AND active = 1 ORDER BY price, id",
        )
        .bind(site.0)
        .fetch_all(pool)
        .await
        .map_err(err)?;
            rows.iter().map(pack).collect()
        })
    }

    async fn all_credit_packs(&self) -> StoreResult<Vec<CreditPack>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, site_id, price, bonus, currency, active FROM credit_packs ORDER BY site_id, price, id",
            )
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter().map(pack).collect()
        })
    }

    async fn set_credit_pack_active(&self, id: i64, active: bool) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let done = sqlx::query("UPDATE credit_packs SET active = $1 WHERE id = $2")
                .bind(i64::from(active))
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?;
            if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }

    async fn create_purchase(&self, user: UserId, p: &CreditPack, now: DateTime<Utc>) -> StoreResult<Purchase> {
        on_writer!(self, |pool| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO purchases (user_id, pack_id, price, bonus, currency, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
            )
            .bind(user.0)
            .bind(p.id)
            .bind(p.price.minor)
            .bind(p.bonus.minor)
            .bind(p.price.currency.code())
            .bind(micros(now))
            .fetch_one(pool)
            .await
            .map_err(err)?;
            self.purchase_on_writer(id).await
        })
    }

    async fn set_checkout_session(&self, id: i64, session: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let done =
                sqlx::query("UPDATE purchases SET checkout_session = $1 WHERE id = $2 AND checkout_session IS NULL")
                    .bind(session)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(err)?;
            if done.rows_affected() == 0 { Err(StoreError::Conflict("checkout_session")) } else { Ok(()) }
        })
    }

    async fn purchase(&self, id: i64) -> StoreResult<Purchase> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM purchases p WHERE p.id = $1", PURCHASE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id).fetch_one(pool).await.map_err(err)?;
            purchase(&row)
        })
    }

    async fn purchases_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Purchase>> {
        let mut found = Vec::new();
        on_reader!(self, |pool| {
            for chunk in ids.chunks(400) {
                let mut qb =
                    sqlx::QueryBuilder::new(format!("SELECT {PURCHASE_COLUMNS} FROM purchases p WHERE p.id IN ("));
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                list.push_unseparated(")");
                for row in qb.build().fetch_all(pool).await.map_err(err)? {
                    found.push(purchase(&row)?);
                }
            }
        });
        found.sort_by_key(|p| p.id);
        Ok(found)
    }

    async fn user_purchases(&self, user: UserId, limit: i64) -> StoreResult<Vec<Purchase>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {} FROM purchases p WHERE p.user_id = $1 ORDER BY p.id DESC LIMIT $2",
                PURCHASE_COLUMNS
            );
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(user.0).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(purchase).collect()
        })
    }

    async fn recent_purchases(&self, limit: i64, offset: i64) -> StoreResult<Vec<Purchase>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM purchases p ORDER BY p.id DESC LIMIT $1 OFFSET $2", PURCHASE_COLUMNS);
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(purchase).collect()
        })
    }

    async fn mark_purchase_paid(&self, id: i64, payment_ref: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
            "UPDATE purchases SET status = 'paid', payment_ref = $1, paid_at = $2 WHERE id = $3 AND status <> 'paid'",
        )
        .bind(payment_ref)
        .bind(micros(now))
        .bind(id)
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn purchase_by_payment_ref(&self, payment_ref: &str) -> StoreResult<Option<Purchase>> {
        on_reader!(self, |pool| {
            let q =
                format!("SELECT {PURCHASE_COLUMNS} FROM purchases p WHERE p.payment_ref = $1 ORDER BY p.id LIMIT 1");
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(payment_ref).fetch_optional(pool).await.map_err(err)?;
            row.as_ref().map(purchase).transpose()
        })
    }

    async fn mark_purchase_processing(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE purchases SET processing_at = $1 WHERE id = $2 AND status = 'pending' AND processing_at IS NULL",
            )
            .bind(micros(now))
            .bind(id)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn mark_purchase_failed(&self, id: i64) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query("UPDATE purchases SET status = 'failed' WHERE id = $1 AND status = 'pending'")
                .bind(id)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn reserve_refund(
        &self,
        purchase_id: i64,
        key: &str,
        amount: i64,
        bonus_for: &(dyn Fn(i64) -> i64 + Send + Sync),
        now: DateTime<Utc>,
    ) -> StoreResult<RefundReservation> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // The purchase's lock serializes the refunds of one purchase.
            let lock = tx.lock_rows();
            let price: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT price FROM purchases WHERE id = $1{lock}")))
                    .bind(purchase_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?;
            let existing = sqlx::query(REFUND_BY_KEY).bind(key).fetch_optional(&mut *tx).await.map_err(err)?;
            if let Some(existing) = existing.as_ref().map(refund).transpose()? {
                tx.commit().await.map_err(err)?;
                return Ok(RefundReservation::Existing(existing));
            }
            let refunded: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM purchase_refunds \
             WHERE purchase_id = $1 AND status <> 'failed'",
            )
            .bind(purchase_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(err)?;
            if refunded + amount > price {
                return Ok(RefundReservation::Exceeds { refundable: (price - refunded).max(0) });
            }
            sqlx::query(
                "INSERT INTO purchase_refunds (purchase_id, refund_key, amount, bonus, status, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5)",
            )
            .bind(purchase_id)
            .bind(key)
            .bind(amount)
            .bind(bonus_for(refunded).max(0))
            .bind(micros(now))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(RefundReservation::Reserved)
        })
    }

    async fn refund_by_key(&self, key: &str) -> StoreResult<Option<Refund>> {
        on_reader!(self, |pool| {
            // A read: it need not wait for the (SQLite) writer.
            let row = sqlx::query(REFUND_BY_KEY).bind(key).fetch_optional(pool).await.map_err(err)?;
            row.as_ref().map(refund).transpose()
        })
    }

    async fn pending_refunds(&self, limit: i64) -> StoreResult<Vec<Refund>> {
        on_reader!(self, |pool| {
            let q =
                format!("SELECT {REFUND_COLUMNS} FROM purchase_refunds WHERE status = 'pending' ORDER BY id LIMIT $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(refund).collect()
        })
    }

    async fn finish_refund(&self, key: &str, status: RefundStatus) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done =
                sqlx::query("UPDATE purchase_refunds SET status = $2 WHERE refund_key = $1 AND status = 'pending'")
                    .bind(key)
                    .bind(status.as_str())
                    .execute(pool)
                    .await
                    .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn record_incident(&self, incident: &PaymentIncident) -> StoreResult<bool> {
        self.insert_incident(incident).await
    }

    async fn incident_by_ref(&self, provider_ref: &str) -> StoreResult<Option<PaymentIncident>> {
        self.find_incident(provider_ref).await
    }

    async fn close_incident(
        &self,
        provider_ref: &str,
        status: IncidentStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.end_incident(provider_ref, status, now).await
    }

    async fn recent_incidents(&self, limit: i64) -> StoreResult<Vec<PaymentIncident>> {
        self.latest_incidents(limit).await
    }

    async fn cancel_refund(&self, key: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM purchase_refunds WHERE refund_key = $1 AND status = 'pending'")
                .bind(key)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn record_payment_event(&self, event_id: &str, event_type: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO payment_events (provider_event_id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (provider_event_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(event_type)
            .bind(micros(now))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn stored_response(&self, user: UserId, key: &str) -> StoreResult<Option<StoredResponse>> {
        on_writer!(self, |pool| {
            let row = sqlx::query(
                "SELECT request_hash, status, body FROM api_idempotency WHERE user_id = $1 AND idem_key = $2",
            )
            .bind(user.0)
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            // A reserved key has no answer yet.
            Ok(row.map(|row| stored_response_of(&row)).transpose()?.filter(|r| r.status != 0))
        })
    }

    async fn reserve_response(
        &self,
        user: UserId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<ResponseReservation> {
        on_writer!(self, |pool| {
            // Status 0: reserved, not answered yet.
            let inserted = sqlx::query(
                "INSERT INTO api_idempotency (user_id, idem_key, request_hash, status, body, created_at) \
                 VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (user_id, idem_key) DO NOTHING",
            )
            .bind(user.0)
            .bind(key)
            .bind(request_hash)
            .bind(micros(now))
            .execute(pool)
            .await
            .map_err(err)?;
            if inserted.rows_affected() == 1 {
                return Ok(ResponseReservation::Reserved);
            }
            let taken_over = sqlx::query(
                "UPDATE api_idempotency SET request_hash = $3, created_at = $4 \
                 WHERE user_id = $1 AND idem_key = $2 AND status = 0 AND created_at < $5",
            )
            .bind(user.0)
            .bind(key)
            .bind(request_hash)
            .bind(micros(now))
            .bind(micros(stale_before))
            .execute(pool)
            .await
            .map_err(err)?;
            if taken_over.rows_affected() == 1 {
                return Ok(ResponseReservation::Reserved);
            }
            let row = sqlx::query(
                "SELECT request_hash, status, body FROM api_idempotency WHERE user_id = $1 AND idem_key = $2",
            )
            .bind(user.0)
            .bind(key)
            .fetch_one(pool)
            .await
            .map_err(err)?;
            let response = stored_response_of(&row)?;
            Ok(if response.status == 0 {
                ResponseReservation::InFlight { request_hash: response.request_hash }
            } else {
                ResponseReservation::Answered(response)
            })
        })
    }

    async fn complete_response(&self, user: UserId, key: &str, r: &StoredResponse) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE api_idempotency SET request_hash = $3, status = $4, body = $5 \
                 WHERE user_id = $1 AND idem_key = $2 AND status = 0",
            )
            .bind(user.0)
            .bind(key)
            .bind(&r.request_hash)
            .bind(i64::from(r.status))
            .bind(&r.body)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn release_response(&self, user: UserId, key: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM api_idempotency WHERE user_id = $1 AND idem_key = $2 AND status = 0")
                .bind(user.0)
                .bind(key)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn purge_payment_events(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM payment_events WHERE provider_event_id IN \
                 (SELECT provider_event_id FROM payment_events WHERE received_at < $1 LIMIT $2)",
            )
            .bind(micros(before))
            .bind(limit)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected())
        })
    }

    async fn purge_responses(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM api_idempotency WHERE (user_id, idem_key) IN \
                 (SELECT user_id, idem_key FROM api_idempotency WHERE created_at < $1 LIMIT $2)",
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

impl SqlStore {
    /// Read back through the writer: the reader may not see the row yet.
    async fn purchase_on_writer(&self, id: i64) -> StoreResult<Purchase> {
        on_writer!(self, |pool| {
            let q = format!("SELECT {} FROM purchases p WHERE p.id = $1", PURCHASE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id).fetch_one(pool).await.map_err(err)?;
            purchase(&row)
        })
    }
}

fn stored_response_of(row: &impl Columns) -> StoreResult<StoredResponse> {
    let status: i64 = row.col("status")?;
    Ok(StoredResponse {
        request_hash: row.col("request_hash")?,
        status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
        body: row.col("body")?,
    })
}

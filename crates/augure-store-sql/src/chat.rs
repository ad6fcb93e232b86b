//! What a chat leaves behind: its transcript, numbered per consultation under the
//! consultation's row lock, with delivered, read and flag marks; the expert's notes on
//! their clients; reports, blocks and reviews.

use async_trait::async_trait;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::{Dialect, WritePool};
use crate::{SqlStore, err};

/// A message without its image's bytes: listings never carry them.
const MESSAGE_COLUMNS: &str = "consultation_id, seq, author, body, masked, flags, image_type, image_width, \
     image_height, client_key, sent_at, delivered_at, read_at";

const REPORT_COLUMNS: &str = "id, consultation_id, reporter_id, reported_id, reason, created_at, resolved_at";

const REVIEW_COLUMNS: &str = "consultation_id, client_id, expert_id, rating, body, status, created_at";

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Expert => "expert",
    }
}

/// Flags are stored comma-separated, '' when none: the flagged index tests `flags <> ''`.
fn flags_str(flags: &[String]) -> String {
    flags.join(",")
}

fn message(row: &impl Columns) -> StoreResult<ChatMessage> {
    let consultation: i64 = row.col("consultation_id")?;
    let seq: i64 = row.col("seq")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("chat message {consultation}/{seq}: {what}"));
    let author = match row.col::<String>("author")?.as_str() {
        "client" => Side::Client,
        "expert" => Side::Expert,
        _ => return Err(corrupt("author")),
    };
    let flags: String = row.col("flags")?;
    let dimension = |name: &str| -> StoreResult<Option<u32>> {
        let value: Option<i64> = row.col(name)?;
        value.map(|v| u32::try_from(v).map_err(|_| corrupt(name))).transpose()
    };
    let image = match (row.col::<Option<String>>("image_type")?, dimension("image_width")?, dimension("image_height")?)
    {
        (Some(content_type), Some(width), Some(height)) => Some((content_type, width, height)),
        (None, None, None) => None,
        _ => return Err(corrupt("image")),
    };
    let delivered_at: Option<i64> = row.col("delivered_at")?;
    let read_at: Option<i64> = row.col("read_at")?;
    Ok(ChatMessage {
        consultation: ConsultationId(consultation),
        seq,
        author,
        body: row.col("body")?,
        masked: row.col("masked")?,
        flags: if flags.is_empty() { Vec::new() } else { flags.split(',').map(str::to_owned).collect() },
        image,
        client_key: row.col("client_key")?,
        sent_at: instant(row.col("sent_at")?)?,
        delivered_at: delivered_at.map(instant).transpose()?,
        read_at: read_at.map(instant).transpose()?,
    })
}

fn note(row: &impl Columns) -> StoreResult<ExpertNote> {
    Ok(ExpertNote {
        expert: UserId(row.col("expert_id")?),
        client: UserId(row.col("client_id")?),
        body: row.col("body")?,
        updated_at: instant(row.col("updated_at")?)?,
    })
}

fn report(row: &impl Columns) -> StoreResult<Report> {
    let resolved_at: Option<i64> = row.col("resolved_at")?;
    Ok(Report {
        id: row.col("id")?,
        consultation: ConsultationId(row.col("consultation_id")?),
        reporter: UserId(row.col("reporter_id")?),
        reported: UserId(row.col("reported_id")?),
        reason: row.col("reason")?,
        created_at: instant(row.col("created_at")?)?,
        resolved_at: resolved_at.map(instant).transpose()?,
    })
}

fn review(row: &impl Columns) -> StoreResult<Review> {
    let consultation: i64 = row.col("consultation_id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("review {consultation}: {what}"));
    let rating: i64 = row.col("rating")?;
    let status: String = row.col("status")?;
    Ok(Review {
        consultation: ConsultationId(consultation),
        client: UserId(row.col("client_id")?),
        expert: UserId(row.col("expert_id")?),
        rating: u8::try_from(rating).map_err(|_| corrupt("rating"))?,
        body: row.col("body")?,
        status: ReviewStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        created_at: instant(row.col("created_at")?)?,
    })
}

/// A rating outside 1 to 5 is the caller's bug, not a database failure; the store has no
/// variant for bad input, so it is refused before the CHECK constraint would.
fn invalid_rating(rating: u8) -> StoreError {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("rating {rating} is not 1 to 5"));
    StoreError::Backend(Box::new(e))
}

impl SqlStore {
    async fn mark_chat(&self, mark: ChatMark) -> StoreResult<u64> {
        self.write_one(ChatWrite::Mark(mark)).await?.marked()
    }

    async fn write_one(&self, write: ChatWrite) -> StoreResult<ChatWritten> {
        let mut answers = self.write_chat(std::slice::from_ref(&write)).await?;
        answers.pop().ok_or_else(|| StoreError::Corrupt("a chat write unanswered".into()))
    }
}

#[async_trait]
impl ChatStore for SqlStore {
    async fn append_chat_message(&self, m: &NewChatMessage) -> StoreResult<(ChatMessage, bool)> {
        self.write_one(ChatWrite::Append(m.clone())).await?.appended()
    }

    async fn write_chat(&self, writes: &[ChatWrite]) -> StoreResult<Vec<ChatWritten>> {
        let by_key = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE consultation_id = $1 AND author = $2 AND client_key = $3"
        );
        let insert = format!(
            "INSERT INTO chat_messages (consultation_id, seq, author, body, masked, flags, image, image_type, \
             image_width, image_height, client_key, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {MESSAGE_COLUMNS}"
        );
        // In consultation order, each consultation's own in the order given: the row locks
        // below are taken in the order a checkpoint or a batch of grants takes them.
        let mut order: Vec<usize> = (0..writes.len()).collect();
        order.sort_by_key(|&i| writes[i].consultation());
        let mut answers: Vec<Option<ChatWritten>> = vec![None; writes.len()];
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let lock = tx.lock_rows();
            for &i in &order {
                let answer = match &writes[i] {
                    ChatWrite::Append(m) => {
                        let author = side_str(m.author);
                        let image = m.image.as_ref();
                        // The consultation's lock serializes its appends: two never take one
                        // number, and a resend waits for the first send to be stored, then
                        // finds it.
                        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM consultations WHERE id = $1{lock}")))
                            .bind(m.consultation.0)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(err)?;
                        let known = match &m.client_key {
                            Some(key) => sqlx::query(sqlx::AssertSqlSafe(by_key.as_str()))
                                .bind(m.consultation.0)
                                .bind(author)
                                .bind(key)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(err)?,
                            None => None,
                        };
                        match known {
                            Some(row) => ChatWritten::Appended(message(&row)?, false),
                            None => {
                                let last: i64 = sqlx::query_scalar(
                                    "SELECT COALESCE(MAX(seq), 0) FROM chat_messages WHERE consultation_id = $1",
                                )
                                .bind(m.consultation.0)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(err)?;
                                let row = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
                                    .bind(m.consultation.0)
                                    .bind(last + 1)
                                    .bind(author)
                                    .bind(&m.body)
                                    .bind(&m.masked)
                                    .bind(flags_str(&m.flags))
                                    .bind(image.map(|i| i.content.as_slice()))
                                    .bind(image.map(|i| i.content_type.as_str()))
                                    .bind(image.map(|i| i64::from(i.width)))
                                    .bind(image.map(|i| i64::from(i.height)))
                                    .bind(m.client_key.as_deref())
                                    .bind(micros(m.at))
                                    .fetch_one(&mut *tx)
                                    .await
                                    .map_err(err)?;
                                ChatWritten::Appended(message(&row)?, true)
                            }
                        }
                    }
                    ChatWrite::Mark(mark) => {
                        // A message read was delivered, at the latest when it was read.
                        let q = if mark.read {
                            "UPDATE chat_messages SET read_at = $1, delivered_at = COALESCE(delivered_at, $1) \
                             WHERE consultation_id = $2 AND author = $3 AND seq <= $4 AND read_at IS NULL"
                        } else {
                            "UPDATE chat_messages SET delivered_at = $1 \
                             WHERE consultation_id = $2 AND author = $3 AND seq <= $4 AND delivered_at IS NULL"
                        };
                        let done = sqlx::query(q)
                            .bind(micros(mark.at))
                            .bind(mark.consultation.0)
                            .bind(side_str(mark.author))
                            .bind(mark.up_to)
                            .execute(&mut *tx)
                            .await
                            .map_err(err)?;
                        ChatWritten::Marked(done.rows_affected())
                    }
                };
                answers[i] = Some(answer);
            }
            tx.commit().await.map_err(err)?;
            Ok::<_, StoreError>(())
        })?;
        answers.into_iter().map(|a| a.ok_or_else(|| StoreError::Corrupt("a chat write unanswered".into()))).collect()
    }

    async fn chat_messages(
        &self,
        consultation: ConsultationId,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChatMessage>> {
        let q = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE consultation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(consultation.0)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(message).collect()
        })
    }

    async fn chat_image(&self, consultation: ConsultationId, seq: i64) -> StoreResult<(ChatMessage, Vec<u8>)> {
        let q = format!(
            "SELECT {MESSAGE_COLUMNS}, image FROM chat_messages \
             WHERE consultation_id = $1 AND seq = $2 AND image IS NOT NULL"
        );
        on_reader!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(consultation.0)
                .bind(seq)
                .fetch_one(pool)
                .await
                .map_err(err)?;
            Ok((message(&row)?, row.col("image")?))
        })
    }

    async fn mark_chat_delivered(
        &self,
        consultation: ConsultationId,
        author: Side,
        up_to: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.mark_chat(ChatMark { consultation, author, up_to, read: false, at }).await
    }

    async fn mark_chat_read(
        &self,
        consultation: ConsultationId,
        author: Side,
        up_to: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.mark_chat(ChatMark { consultation, author, up_to, read: true, at }).await
    }

    async fn flagged_chat_messages(&self, limit: i64) -> StoreResult<Vec<ChatMessage>> {
        // The same condition as the partial index `chat_messages_flagged`, so it serves this.
        let q = format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE flags <> '' AND flag_dismissed_at IS NULL \
             ORDER BY sent_at, consultation_id, seq LIMIT $1"
        );
        on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(message).collect()
        })
    }

    async fn dismiss_chat_flag(&self, consultation: ConsultationId, seq: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done = sqlx::query(
                "UPDATE chat_messages SET flag_dismissed_at = $1 \
                 WHERE consultation_id = $2 AND seq = $3 AND flags <> '' AND flag_dismissed_at IS NULL",
            )
            .bind(micros(at))
            .bind(consultation.0)
            .bind(seq)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn purge_chat_messages(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            // The images are columns of their messages: they go with them.
            let done = sqlx::query(
                "DELETE FROM chat_messages WHERE (consultation_id, seq) IN (SELECT consultation_id, seq \
                 FROM chat_messages WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)",
            )
            .bind(micros(before))
            .bind(limit)
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(done.rows_affected())
        })
    }

    async fn set_expert_note(&self, expert: UserId, client: UserId, body: &str, at: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            if body.trim().is_empty() {
                sqlx::query("DELETE FROM expert_notes WHERE expert_id = $1 AND client_id = $2")
                    .bind(expert.0)
                    .bind(client.0)
                    .execute(pool)
                    .await
                    .map_err(err)?;
            } else {
                sqlx::query(
                    "INSERT INTO expert_notes (expert_id, client_id, body, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (expert_id, client_id) DO UPDATE SET body = excluded.body, \
                     updated_at = excluded.updated_at",
                )
                .bind(expert.0)
                .bind(client.0)
                .bind(body)
                .bind(micros(at))
                .execute(pool)
                .await
                .map_err(err)?;
            }
            Ok(())
        })
    }

    async fn expert_note(&self, expert: UserId, client: UserId) -> StoreResult<Option<ExpertNote>> {
        on_reader!(self, |pool| {
            let row = sqlx::query(
                "SELECT expert_id, client_id, body, updated_at FROM expert_notes \
                 WHERE expert_id = $1 AND client_id = $2",
            )
            .bind(expert.0)
            .bind(client.0)
            .fetch_optional(pool)
            .await
            .map_err(err)?;
            row.as_ref().map(note).transpose()
        })
    }

    async fn expert_notes(&self, expert: UserId, limit: i64) -> StoreResult<Vec<ExpertNote>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT expert_id, client_id, body, updated_at FROM expert_notes WHERE expert_id = $1 \
                 ORDER BY updated_at DESC, client_id DESC LIMIT $2",
            )
            .bind(expert.0)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter().map(note).collect()
        })
    }

    async fn report_party(&self, r: &NewReport) -> StoreResult<Report> {
        let insert = format!(
            "INSERT INTO consultation_reports (consultation_id, reporter_id, reported_id, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consultation_id, reporter_id) DO NOTHING \
             RETURNING {REPORT_COLUMNS}"
        );
        let existing = format!(
            "SELECT {REPORT_COLUMNS} FROM consultation_reports WHERE consultation_id = $1 AND reporter_id = $2"
        );
        on_writer!(self, |pool| {
            let inserted = sqlx::query(sqlx::AssertSqlSafe(insert))
                .bind(r.consultation.0)
                .bind(r.reporter.0)
                .bind(r.reported.0)
                .bind(&r.reason)
                .bind(micros(r.at))
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            let row = match inserted {
                Some(row) => row,
                None => sqlx::query(sqlx::AssertSqlSafe(existing))
                    .bind(r.consultation.0)
                    .bind(r.reporter.0)
                    .fetch_one(pool)
                    .await
                    .map_err(err)?,
            };
            report(&row)
        })
    }

    async fn open_reports(&self, limit: i64) -> StoreResult<Vec<Report>> {
        let q = format!(
            "SELECT {REPORT_COLUMNS} FROM consultation_reports WHERE resolved_at IS NULL \
             ORDER BY created_at, id LIMIT $1"
        );
        on_reader!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(report).collect()
        })
    }

    async fn resolve_report(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        on_writer!(self, |pool| {
            let done =
                sqlx::query("UPDATE consultation_reports SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL")
                    .bind(micros(at))
                    .bind(id)
                    .execute(pool)
                    .await
                    .map_err(err)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn block_client(&self, expert: UserId, client: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            // A second block keeps the first one's date.
            sqlx::query(
                "INSERT INTO client_blocks (expert_id, client_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (expert_id, client_id) DO NOTHING",
            )
            .bind(expert.0)
            .bind(client.0)
            .bind(micros(at))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn unblock_client(&self, expert: UserId, client: UserId) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM client_blocks WHERE expert_id = $1 AND client_id = $2")
                .bind(expert.0)
                .bind(client.0)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn is_blocked(&self, expert: UserId, client: UserId) -> StoreResult<bool> {
        on_reader!(self, |pool| {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT client_id FROM client_blocks WHERE expert_id = $1 AND client_id = $2")
                    .bind(expert.0)
                    .bind(client.0)
                    .fetch_optional(pool)
                    .await
                    .map_err(err)?;
            Ok(found.is_some())
        })
    }

    async fn blocked_clients(&self, expert: UserId) -> StoreResult<Vec<(UserId, DateTime<Utc>)>> {
        on_reader!(self, |pool| {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT client_id, created_at FROM client_blocks WHERE expert_id = $1 \
                 ORDER BY created_at DESC, client_id DESC",
            )
            .bind(expert.0)
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.into_iter().map(|(client, at)| Ok((UserId(client), instant(at)?))).collect()
        })
    }

    async fn submit_review(&self, r: &NewReview) -> StoreResult<Review> {
        if !(1..=5).contains(&r.rating) {
            return Err(invalid_rating(r.rating));
        }
        // DO NOTHING rather than the unique violation: the violation's text names no rule
        // `conflict_target` knows, and this says which one was broken.
        let q = format!(
            "INSERT INTO reviews (consultation_id, client_id, expert_id, rating, body, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consultation_id) DO NOTHING RETURNING {REVIEW_COLUMNS}"
        );
        on_writer!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(r.consultation.0)
                .bind(r.client.0)
                .bind(r.expert.0)
                .bind(i64::from(r.rating))
                .bind(&r.body)
                .bind(ReviewStatus::Pending.as_str())
                .bind(micros(r.at))
                .fetch_optional(pool)
                .await
                .map_err(err)?;
            row.as_ref().map(review).transpose()?.ok_or(StoreError::Conflict("review"))
        })
    }

    async fn review(&self, consultation: ConsultationId) -> StoreResult<Option<Review>> {
        let q = format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE consultation_id = $1");
        on_reader!(self, |pool| {
            let row =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(consultation.0).fetch_optional(pool).await.map_err(err)?;
            row.as_ref().map(review).transpose()
        })
    }
}

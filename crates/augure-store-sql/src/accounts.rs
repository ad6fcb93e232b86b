//! Accounts: users, their sign-in sessions and password resets.

use async_trait::async_trait;
use augure_domain::{Email, ExpertCode, Role, SiteId, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::dialect::WritePool;
use crate::{SqlStore, err};

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub display_name: String,
    pub locale: String,
    pub site_id: Option<i64>,
    pub expert_code: Option<i64>,
    pub password_hash: String,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_user(self) -> StoreResult<User> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("user {}: {what}", self.id));
        let expert_code = match self.expert_code {
            Some(c) => Some(ExpertCode(u32::try_from(c).map_err(|_| corrupt("expert_code"))?)),
            None => None,
        };
        Ok(User {
            id: UserId(self.id),
            email: self.email.parse::<Email>().map_err(|_| corrupt("email"))?,
            role: self.role.parse::<Role>().map_err(|_| corrupt("role"))?,
            display_name: self.display_name,
            locale: self.locale,
            site_id: self.site_id.map(SiteId),
            expert_code,
            password_hash: self.password_hash,
            created_at: instant(self.created_at)?,
        })
    }
}

pub const USER_COLUMNS: &str = "id, email, role, display_name, locale, site_id, expert_code, password_hash, created_at";

fn user(row: &impl Columns) -> StoreResult<User> {
    UserRow {
        id: row.col("id")?,
        email: row.col("email")?,
        role: row.col("role")?,
        display_name: row.col("display_name")?,
        locale: row.col("locale")?,
        site_id: row.col("site_id")?,
        expert_code: row.col("expert_code")?,
        password_hash: row.col("password_hash")?,
        created_at: row.col("created_at")?,
    }
    .into_user()
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
        on_writer!(self, |pool| {
            let q = format!(
                "INSERT INTO users (email, role, display_name, locale, site_id, expert_code, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                USER_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(new.email.as_str())
                .bind(new.role.as_str())
                .bind(&new.display_name)
                .bind(&new.locale)
                .bind(new.site_id.map(|s| s.0))
                .bind(new.expert_code.map(|c| i64::from(c.0)))
                .bind(&new.password_hash)
                .bind(micros(new.created_at))
                .fetch_one(pool)
                .await
                .map_err(err)?;
            user(&row)
        })
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<User> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM users WHERE id = $1", USER_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(pool).await.map_err(err)?;
            user(&row)
        })
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM users WHERE email = $1", USER_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(email.as_str()).fetch_one(pool).await.map_err(err)?;
            user(&row)
        })
    }

    async fn user_by_expert_code(&self, code: u32) -> StoreResult<User> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM users WHERE expert_code = $1", USER_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(i64::from(code)).fetch_one(pool).await.map_err(err)?;
            user(&row)
        })
    }

    async fn list_users(&self, role: Option<Role>, limit: i64, offset: i64) -> StoreResult<Vec<User>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {} FROM users WHERE ($1 IS NULL OR role = $1) ORDER BY id LIMIT $2 OFFSET $3",
                USER_COLUMNS
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(role.map(|r| r.as_str()))
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter().map(user).collect()
        })
    }

    async fn count_users(&self) -> StoreResult<i64> {
        on_reader!(self, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.map_err(err))
    }

    async fn set_user_locale(&self, id: UserId, locale: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let done = sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
                .bind(locale)
                .bind(id.0)
                .execute(pool)
                .await
                .map_err(err)?;
            if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&s.token_hash)
            .bind(s.user_id.0)
            .bind(s.kind.as_str())
            .bind(micros(s.created_at))
            .bind(micros(s.expires_at))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session> {
        on_reader!(self, |pool| {
            let row = sqlx::query(
                "SELECT s.token_hash, s.kind, s.created_at AS session_created_at, s.expires_at, \
             u.id, u.email, u.role, u.display_name, u.locale, u.site_id, u.expert_code, u.password_hash, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
            )
            .bind(token_hash)
            .bind(micros(now))
            .fetch_one(pool)
            .await
            .map_err(err)?;
            let kind: String = row.col("kind")?;
            Ok(Session {
                token_hash: row.col("token_hash")?,
                kind: SessionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("session kind {kind}")))?,
                user: user(&row)?,
                created_at: instant(row.col("session_created_at")?)?,
                expires_at: instant(row.col("expires_at")?)?,
            })
        })
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(())
        })
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        on_writer!(self, |pool| {
            let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(micros(now))
                .execute(pool)
                .await
                .map_err(err)?;
            Ok(done.rows_affected())
        })
    }
}

#[async_trait]
impl PasswordResetStore for SqlStore {
    async fn create_reset_token(&self, t: &NewResetToken) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
            "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&t.token_hash)
        .bind(t.user_id.0)
        .bind(micros(t.created_at))
        .bind(micros(t.expires_at))
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(())
        })
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<UserId> {
        on_writer!(self, |pool| {
            let now_us = micros(now);
            let mut tx = pool.begin_write().await?;
            let row =
                sqlx::query("SELECT user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?;
            let user_id: i64 = row.col("user_id")?;
            let expires_at: i64 = row.col("expires_at")?;
            let used_at: Option<i64> = row.col("used_at")?;
            if used_at.is_some() {
                return Err(StoreError::TokenUsed);
            }
            if expires_at <= now_us {
                return Err(StoreError::TokenExpired);
            }
            // The guard on used_at makes a concurrent second use lose the race.
            let spent =
                sqlx::query("UPDATE password_reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
                    .bind(now_us)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
            if spent.rows_affected() == 0 {
                return Err(StoreError::TokenUsed);
            }
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(new_password_hash)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(UserId(user_id))
        })
    }
}

//! Sites: the operator's storefronts, each with its currency, time zone and tariffs.

use async_trait::async_trait;
use augure_domain::site::NewSite;
use augure_domain::{Currency, Site, SiteCode, SiteId};
use augure_store::*;
use chrono_tz::Tz;

use crate::codec::*;
use crate::{SqlStore, err};

pub struct SiteRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub default_locale: String,
    pub phone_numbers: String,
    pub tariffs: String,
    pub imposed_per_minute: Option<i64>,
}

impl SiteRow {
    pub fn into_site(self) -> StoreResult<Site> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("site {}: {what}", self.id));
        let currency = self.currency.parse::<Currency>().map_err(|_| corrupt("currency"))?;
        Ok(Site {
            id: SiteId(self.id),
            code: self.code.parse::<SiteCode>().map_err(|_| corrupt("code"))?,
            name: self.name,
            currency,
            time_zone: self.time_zone.parse::<Tz>().map_err(|_| corrupt("time_zone"))?,
            default_locale: self.default_locale,
            phone_numbers: serde_json::from_str(&self.phone_numbers).map_err(|_| corrupt("phone_numbers"))?,
            tariffs: serde_json::from_str(&self.tariffs).map_err(|_| corrupt("tariffs"))?,
            imposed_per_minute: self.imposed_per_minute.map(|m| augure_domain::Money::new(m, currency)),
        })
    }
}

/// The JSON columns of a site (phone numbers, tariffs), ready to bind.
pub fn site_json(phone_numbers: &[String], tariffs: &[augure_domain::Tariff]) -> (String, String) {
    // Serializing plain strings and integers cannot fail.
    let phones = serde_json::to_string(phone_numbers).unwrap_or_else(|_| "[]".into());
    let tariffs = serde_json::to_string(tariffs).unwrap_or_else(|_| "[]".into());
    (phones, tariffs)
}

pub const SITE_COLUMNS: &str =
    "id, code, name, currency, time_zone, default_locale, phone_numbers, tariffs, imposed_per_minute";

fn site(row: &impl Columns) -> StoreResult<Site> {
    SiteRow {
        id: row.col("id")?,
        code: row.col("code")?,
        name: row.col("name")?,
        currency: row.col("currency")?,
        time_zone: row.col("time_zone")?,
        default_locale: row.col("default_locale")?,
        phone_numbers: row.col("phone_numbers")?,
        tariffs: row.col("tariffs")?,
        imposed_per_minute: row.col("imposed_per_minute")?,
    }
    .into_site()
}

#[async_trait]
impl SiteStore for SqlStore {
    async fn create_site(&self, new: &NewSite) -> StoreResult<Site> {
        on_writer!(self, |pool| {
            let (phones, tariffs) = site_json(&new.phone_numbers, &new.tariffs);
            let q = format!(
                "INSERT INTO sites (code, name, currency, time_zone, default_locale, phone_numbers, tariffs, \
             imposed_per_minute) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                SITE_COLUMNS
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(new.code.as_str())
                .bind(&new.name)
                .bind(new.currency.code())
                .bind(new.time_zone.name())
                .bind(&new.default_locale)
                .bind(phones)
                .bind(tariffs)
                .bind(new.imposed_per_minute.map(|m| m.minor))
                .fetch_one(pool)
                .await
                .map_err(err)?;
            site(&row)
        })
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM sites ORDER BY id", SITE_COLUMNS);
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(site).collect()
        })
    }

    async fn set_site_phone_numbers(&self, id: SiteId, numbers: &[String]) -> StoreResult<Site> {
        on_writer!(self, |pool| {
            // Serializing plain strings cannot fail.
            let phones = serde_json::to_string(numbers).unwrap_or_else(|_| "[]".into());
            let q = format!("UPDATE sites SET phone_numbers = $1 WHERE id = $2 RETURNING {}", SITE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(phones)
                .bind(id.0)
                .fetch_optional(pool)
                .await
                .map_err(err)?
                .ok_or(StoreError::NotFound)?;
            site(&row)
        })
    }

    async fn site_by_code(&self, code: &SiteCode) -> StoreResult<Site> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM sites WHERE code = $1", SITE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(code.as_str()).fetch_one(pool).await.map_err(err)?;
            site(&row)
        })
    }

    async fn update_site(&self, site: &Site) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let (phones, tariffs) = site_json(&site.phone_numbers, &site.tariffs);
            let done = sqlx::query(
                "UPDATE sites SET name = $2, phone_numbers = $3, tariffs = $4, imposed_per_minute = $5 WHERE id = $1",
            )
            .bind(site.id.0)
            .bind(&site.name)
            .bind(phones)
            .bind(tariffs)
            .bind(site.imposed_per_minute.map(|m| m.minor))
            .execute(pool)
            .await
            .map_err(err)?;
            if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }
}

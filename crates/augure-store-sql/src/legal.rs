//! Legal: each site's public pages, and who accepted which version of the terms.

use async_trait::async_trait;
use augure_domain::legal::PageKind;
use augure_domain::{SiteId, UserId};
use augure_store::*;
use chrono::{DateTime, Utc};

use crate::codec::*;
use crate::{SqlStore, err};

const PAGE_COLUMNS: &str = "site_id, kind, locale, title, body, updated_at";

fn page(row: &impl Columns) -> StoreResult<SitePage> {
    let kind: String = row.col("kind")?;
    Ok(SitePage {
        site_id: SiteId(row.col("site_id")?),
        kind: kind.parse::<PageKind>().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        locale: row.col("locale")?,
        title: row.col("title")?,
        body: row.col("body")?,
        updated_at: instant(row.col("updated_at")?)?,
    })
}

#[async_trait]
impl LegalStore for SqlStore {
    async fn site_page(&self, site: SiteId, kind: PageKind, locale: &str) -> StoreResult<SitePage> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {PAGE_COLUMNS} FROM site_pages WHERE site_id = $1 AND kind = $2 AND locale = $3");
            let row = sqlx::query(sqlx::AssertSqlSafe(q))
                .bind(site.0)
                .bind(kind.as_str())
                .bind(locale)
                .fetch_one(pool)
                .await
                .map_err(err)?;
            page(&row)
        })
    }

    async fn site_pages(&self, site: SiteId) -> StoreResult<Vec<SitePage>> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {PAGE_COLUMNS} FROM site_pages WHERE site_id = $1 ORDER BY kind, locale");
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).bind(site.0).fetch_all(pool).await.map_err(err)?;
            rows.iter().map(page).collect()
        })
    }

    async fn save_site_page(&self, p: &SitePage) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO site_pages (site_id, kind, locale, title, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (site_id, kind, locale) DO UPDATE SET title = excluded.title, body = excluded.body, \
                 updated_at = excluded.updated_at",
            )
            .bind(p.site_id.0)
            .bind(p.kind.as_str())
            .bind(&p.locale)
            .bind(&p.title)
            .bind(&p.body)
            .bind(micros(p.updated_at))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn record_terms_acceptance(&self, user: UserId, version: u32, at: DateTime<Utc>) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO terms_acceptances (user_id, version, accepted_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, version) DO NOTHING",
            )
            .bind(user.0)
            .bind(i64::from(version))
            .bind(micros(at))
            .execute(pool)
            .await
            .map_err(err)?;
            Ok(())
        })
    }

    async fn terms_acceptances(&self, user: UserId) -> StoreResult<Vec<(u32, DateTime<Utc>)>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query(
                "SELECT version, accepted_at FROM terms_acceptances WHERE user_id = $1 ORDER BY accepted_at, version",
            )
            .bind(user.0)
            .fetch_all(pool)
            .await
            .map_err(err)?;
            rows.iter()
                .map(|row| {
                    let version: i64 = row.col("version")?;
                    let version =
                        u32::try_from(version).map_err(|_| StoreError::Corrupt(format!("terms {version}")))?;
                    Ok((version, instant(row.col("accepted_at")?)?))
                })
                .collect()
        })
    }
}

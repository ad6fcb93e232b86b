//! Experts: profiles, presence, payout details, civil data, specialties and the directory.

use async_trait::async_trait;
use augure_domain::availability::Status;
use augure_domain::pricing::{Package, PriceSet};
use augure_domain::{Currency, Money, SiteId, UserId};
use augure_store::*;
use sqlx::Row;
use std::collections::HashMap;

use crate::codec::*;
use crate::dialect::WritePool;
use crate::{SqlStore, err};

pub struct ProfileRow {
    pub user_id: i64,
    pub headline: String,
    pub specialties: String,
    pub languages: String,
    pub modes: String,
}

impl ProfileRow {
    pub fn into_profile(self, prices: Vec<PriceSet>) -> StoreResult<ExpertProfile> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("expert profile {}: {what}", self.user_id));
        Ok(ExpertProfile {
            user_id: UserId(self.user_id),
            headline: self.headline,
            specialties: serde_json::from_str(&self.specialties).map_err(|_| corrupt("specialties"))?,
            languages: serde_json::from_str(&self.languages).map_err(|_| corrupt("languages"))?,
            modes: serde_json::from_str(&self.modes).map_err(|_| corrupt("modes"))?,
            prices,
        })
    }
}

/// The columns of `expert_prices` every reader selects, in the order [`price_sets`] reads.
pub const PRICE_COLUMNS: &str =
    "user_id, currency, per_minute, package_price, package_minutes, free_minutes, email_price";

/// Price rows grouped by expert, each expert's in the rows' order.
pub fn price_sets(rows: &[impl Columns]) -> StoreResult<HashMap<i64, Vec<PriceSet>>> {
    let mut out: HashMap<i64, Vec<PriceSet>> = HashMap::new();
    for row in rows {
        let user: i64 = row.col("user_id")?;
        let code: String = row.col("currency")?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("prices of {user} in {code}: {what}"));
        let currency: Currency = code.parse().map_err(|_| corrupt("currency"))?;
        let money = |minor: Option<i64>| minor.map(|m| Money::new(m, currency));
        let package_price: Option<i64> = row.col("package_price")?;
        let package_minutes: Option<i64> = row.col("package_minutes")?;
        let package = match (package_price, package_minutes) {
            (Some(price), Some(minutes)) => Some(Package {
                price: Money::new(price, currency),
                minutes: u32::try_from(minutes).map_err(|_| corrupt("package minutes"))?,
            }),
            _ => None,
        };
        let free: i64 = row.col("free_minutes")?;
        out.entry(user).or_default().push(PriceSet {
            currency,
            per_minute: money(row.col("per_minute")?),
            package,
            free_minutes: u32::try_from(free).map_err(|_| corrupt("free minutes"))?,
            email: money(row.col("email_price")?),
        });
    }
    Ok(out)
}

/// The JSON columns of a profile, ready to bind: specialties, languages, modes.
pub fn profile_json(p: &ExpertProfile) -> (String, String, String) {
    let json = |v: serde_json::Result<String>| v.unwrap_or_else(|_| "[]".into());
    (
        json(serde_json::to_string(&p.specialties)),
        json(serde_json::to_string(&p.languages)),
        json(serde_json::to_string(&p.modes)),
    )
}

pub struct PresenceRow {
    pub user_id: i64,
    pub status: String,
    pub modes_on: String,
    pub paused_until: Option<i64>,
    pub last_heartbeat: Option<i64>,
    pub bank_details_at: Option<i64>,
    pub updated_at: i64,
}

impl PresenceRow {
    pub fn into_presence(self) -> StoreResult<ExpertPresence> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("presence {}: {what}", self.user_id));
        let status = match self.status.as_str() {
            "available" => Status::Available,
            "busy" => Status::Busy,
            "unavailable" => Status::Unavailable,
            _ => return Err(corrupt("status")),
        };
        Ok(ExpertPresence {
            user_id: UserId(self.user_id),
            status,
            modes_on: serde_json::from_str(&self.modes_on).map_err(|_| corrupt("modes_on"))?,
            paused_until: self.paused_until.map(instant).transpose()?,
            last_heartbeat: self.last_heartbeat.map(instant).transpose()?,
            bank_details_at: self.bank_details_at.map(instant).transpose()?,
            updated_at: instant(self.updated_at)?,
        })
    }
}

pub fn modes_json(modes: &[augure_domain::Mode]) -> String {
    // A list of unit enum variants always serializes.
    serde_json::to_string(modes).unwrap_or_else(|_| "[]".into())
}

pub fn payout_str(method: augure_domain::bank::PayoutMethod) -> &'static str {
    match method {
        augure_domain::bank::PayoutMethod::BankTransfer => "bank_transfer",
        augure_domain::bank::PayoutMethod::PayPal => "pay_pal",
    }
}

pub fn parse_payout(s: &str) -> Option<augure_domain::bank::PayoutMethod> {
    match s {
        "bank_transfer" => Some(augure_domain::bank::PayoutMethod::BankTransfer),
        "pay_pal" => Some(augure_domain::bank::PayoutMethod::PayPal),
        _ => None,
    }
}

pub fn status_str(status: Status) -> &'static str {
    match status {
        Status::Available => "available",
        Status::Busy => "busy",
        Status::Unavailable => "unavailable",
    }
}

pub const PROFILE_COLUMNS: &str = "p.user_id, p.headline, p.specialties, p.languages, p.modes";

fn profile(row: &impl Columns, prices: &mut HashMap<i64, Vec<PriceSet>>) -> StoreResult<ExpertProfile> {
    let user_id: i64 = row.col("user_id")?;
    ProfileRow {
        user_id,
        headline: row.col("headline")?,
        specialties: row.col("specialties")?,
        languages: row.col("languages")?,
        modes: row.col("modes")?,
    }
    .into_profile(prices.remove(&user_id).unwrap_or_default())
}

fn presence_of(row: &impl Columns) -> StoreResult<Option<ExpertPresence>> {
    let status: Option<String> = row.col("p_status")?;
    let Some(status) = status else { return Ok(None) };
    PresenceRow {
        user_id: row.col("user_id")?,
        status,
        modes_on: row.col("p_modes_on")?,
        paused_until: row.col("p_paused_until")?,
        last_heartbeat: row.col("p_last_heartbeat")?,
        bank_details_at: row.col("p_bank_details_at")?,
        updated_at: row.col("p_updated_at")?,
    }
    .into_presence()
    .map(Some)
}

#[async_trait]
impl ExpertStore for SqlStore {
    async fn upsert_expert_profile(&self, p: &ExpertProfile) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let (specialties, languages, modes) = profile_json(p);
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO expert_profiles (user_id, headline, specialties, languages, modes) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET headline = excluded.headline, specialties = excluded.specialties, \
             languages = excluded.languages, modes = excluded.modes",
            )
            .bind(p.user_id.0)
            .bind(&p.headline)
            .bind(specialties)
            .bind(languages)
            .bind(modes)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
            sqlx::query("DELETE FROM expert_prices WHERE user_id = $1")
                .bind(p.user_id.0)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            for set in &p.prices {
                sqlx::query(
                    "INSERT INTO expert_prices (user_id, currency, per_minute, package_price, package_minutes, \
                 free_minutes, email_price) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(p.user_id.0)
                .bind(set.currency.code())
                .bind(set.per_minute.map(|m| m.minor))
                .bind(set.package.map(|k| k.price.minor))
                .bind(set.package.map(|k| i64::from(k.minutes)))
                .bind(i64::from(set.free_minutes))
                .bind(set.email.map(|m| m.minor))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            Ok(())
        })
    }

    async fn expert_profile(&self, user_id: UserId) -> StoreResult<ExpertProfile> {
        on_reader!(self, |pool| {
            let q = format!("SELECT {} FROM expert_profiles p WHERE p.user_id = $1", PROFILE_COLUMNS);
            let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(user_id.0).fetch_one(pool).await.map_err(err)?;
            let q = format!("SELECT {PRICE_COLUMNS} FROM expert_prices WHERE user_id = $1 ORDER BY currency");
            let prices = sqlx::query(sqlx::AssertSqlSafe(q)).bind(user_id.0).fetch_all(pool).await.map_err(err)?;
            profile(&row, &mut price_sets(&prices)?)
        })
    }

    async fn save_presence(&self, presence: &ExpertPresence) -> StoreResult<()> {
        self.upsert_presence(presence).await
    }

    async fn presence(&self, user: UserId) -> StoreResult<ExpertPresence> {
        on_reader!(self, |pool| {
            let row = sqlx::query(
                "SELECT user_id, status AS p_status, modes_on AS p_modes_on, paused_until AS p_paused_until, \
             last_heartbeat AS p_last_heartbeat, bank_details_at AS p_bank_details_at, updated_at AS p_updated_at \
             FROM expert_presence WHERE user_id = $1",
            )
            .bind(user.0)
            .fetch_one(pool)
            .await
            .map_err(err)?;
            presence_of(&row)?.ok_or(StoreError::NotFound)
        })
    }

    async fn directory(&self) -> StoreResult<Vec<DirectoryEntry>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {}, u.display_name, u.expert_code, u.created_at AS signed_up_at, u.site_id, \
             x.status AS p_status, x.modes_on AS p_modes_on, x.paused_until AS p_paused_until, \
             x.last_heartbeat AS p_last_heartbeat, x.bank_details_at AS p_bank_details_at, x.updated_at AS p_updated_at \
             , (SELECT MAX(m.id) FROM expert_media m WHERE m.user_id = p.user_id AND m.kind = 'photo' \
             AND m.status = 'approved') AS photo_id, d.visible_sites AS visible_sites \
             FROM expert_profiles p JOIN users u ON u.id = p.user_id \
             LEFT JOIN expert_presence x ON x.user_id = p.user_id \
             LEFT JOIN expert_details d ON d.user_id = p.user_id ORDER BY u.id",
                PROFILE_COLUMNS
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(pool).await.map_err(err)?;
            let q = format!("SELECT {PRICE_COLUMNS} FROM expert_prices ORDER BY user_id, currency");
            let prices = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(pool).await.map_err(err)?;
            let mut prices = price_sets(&prices)?;
            // Latest approved presentation per expert and language.
            let texts = sqlx::query(
                "SELECT user_id, locale, body FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
             WHERE kind = 'presentation' AND status = 'approved' GROUP BY user_id, locale) ORDER BY locale",
            )
            .fetch_all(pool)
            .await
            .map_err(err)?;
            let mut presentations: HashMap<i64, Vec<(String, String)>> = HashMap::new();
            for t in &texts {
                presentations
                    .entry(t.try_get("user_id").map_err(err)?)
                    .or_default()
                    .push((t.try_get("locale").map_err(err)?, t.try_get("body").map_err(err)?));
            }
            rows.iter()
                .map(|row| {
                    let code: Option<i64> = row.col("expert_code")?;
                    let photo: Option<i64> = row.col("photo_id")?;
                    let user: i64 = row.col("user_id")?;
                    let visible: Option<String> = row.col("visible_sites")?;
                    let site: Option<i64> = row.col("site_id")?;
                    Ok(DirectoryEntry {
                        card: ExpertCard {
                            profile: profile(row, &mut prices)?,
                            display_name: row.col("display_name")?,
                            expert_code: code.and_then(|c| u32::try_from(c).ok()).map(augure_domain::ExpertCode),
                        },
                        signed_up_at: instant(row.col("signed_up_at")?)?,
                        site_id: site.map(SiteId),
                        presence: presence_of(row)?,
                        photo: photo.map(augure_domain::MediaId),
                        presentations: presentations.remove(&user).unwrap_or_default(),
                        visible_sites: visible
                            .unwrap_or_default()
                            .split(',')
                            .filter_map(|s| s.parse().ok().map(SiteId))
                            .collect(),
                    })
                })
                .collect()
        })
    }

    async fn save_bank_details(&self, d: &BankDetails) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
            "INSERT INTO expert_bank_details (user_id, payout_method, holder, bank_name, bank_country, iban, bic, paypal_email, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id) DO UPDATE SET payout_method = excluded.payout_method, \
             holder = excluded.holder, bank_name = excluded.bank_name, bank_country = excluded.bank_country, iban = excluded.iban, \
             bic = excluded.bic, paypal_email = excluded.paypal_email, updated_at = excluded.updated_at",
        )
        .bind(d.user_id.0)
        .bind(payout_str(d.payout_method))
        .bind(&d.holder)
        .bind(&d.bank_name)
        .bind(&d.bank_country)
        .bind(d.iban.as_deref())
        .bind(d.bic.as_deref())
        .bind(d.paypal_email.as_deref())
        .bind(micros(d.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
            // An expert without a presence row yet gets one, unavailable, so the date sticks.
            sqlx::query(
            "INSERT INTO expert_presence (user_id, status, modes_on, bank_details_at, updated_at) VALUES ($1, 'unavailable', '[]', $2, $2) \
             ON CONFLICT (user_id) DO UPDATE SET bank_details_at = excluded.bank_details_at",
        )
        .bind(d.user_id.0)
        .bind(micros(d.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(())
        })
    }

    async fn expert_details(&self, user: UserId) -> StoreResult<ExpertDetails> {
        on_reader!(self, |pool| {
            let row = sqlx::query(
                "SELECT user_id, legal_name, company_name, company_number, vat_number, address, postal_code, city, \
             country, phone, email_needs, visible_sites, terms_version, terms_accepted_at, updated_at \
             FROM expert_details WHERE user_id = $1",
            )
            .bind(user.0)
            .fetch_one(pool)
            .await
            .map_err(err)?;
            let sites: String = row.col("visible_sites")?;
            let version: Option<i64> = row.col("terms_version")?;
            let accepted: Option<i64> = row.col("terms_accepted_at")?;
            Ok(ExpertDetails {
                user_id: user,
                legal_name: row.col("legal_name")?,
                company_name: row.col("company_name")?,
                company_number: row.col("company_number")?,
                vat_number: row.col("vat_number")?,
                address: row.col("address")?,
                postal_code: row.col("postal_code")?,
                city: row.col("city")?,
                country: row.col("country")?,
                phone: row.col("phone")?,
                email_needs: row.col("email_needs")?,
                visible_sites: sites
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().map(SiteId).map_err(|_| StoreError::Corrupt(format!("site id {s}"))))
                    .collect::<StoreResult<_>>()?,
                terms_version: version.and_then(|v| u32::try_from(v).ok()),
                terms_accepted_at: accepted.map(instant).transpose()?,
                updated_at: instant(row.col("updated_at")?)?,
            })
        })
    }

    async fn save_expert_details(&self, d: &ExpertDetails) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let sites = d.visible_sites.iter().map(|s| s.0.to_string()).collect::<Vec<_>>().join(",");
            sqlx::query(
            "INSERT INTO expert_details (user_id, legal_name, company_name, company_number, vat_number, address, postal_code, \
             city, country, phone, email_needs, visible_sites, terms_version, terms_accepted_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (user_id) DO UPDATE SET legal_name = excluded.legal_name, company_name = excluded.company_name, \
             company_number = excluded.company_number, vat_number = excluded.vat_number, address = excluded.address, \
             postal_code = excluded.postal_code, city = excluded.city, country = excluded.country, phone = excluded.phone, \
             email_needs = excluded.email_needs, visible_sites = excluded.visible_sites, terms_version = excluded.terms_version, \
             terms_accepted_at = excluded.terms_accepted_at, updated_at = excluded.updated_at",
        )
        .bind(d.user_id.0)
        .bind(&d.legal_name)
        .bind(&d.company_name)
        .bind(&d.company_number)
        .bind(&d.vat_number)
        .bind(&d.address)
        .bind(&d.postal_code)
        .bind(&d.city)
        .bind(&d.country)
        .bind(&d.phone)
        .bind(&d.email_needs)
        .bind(sites)
        .bind(d.terms_version.map(i64::from))
        .bind(d.terms_accepted_at.map(micros))
        .bind(micros(d.updated_at))
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(())
        })
    }

    async fn specialties(&self) -> StoreResult<Vec<Specialty>> {
        on_reader!(self, |pool| {
            let rows = sqlx::query("SELECT key, label, position, active FROM specialties ORDER BY position, key")
                .fetch_all(pool)
                .await
                .map_err(err)?;
            rows.iter()
                .map(|row| {
                    let active: i64 = row.col("active")?;
                    Ok(Specialty {
                        key: row.col("key")?,
                        label: row.col("label")?,
                        position: row.col("position")?,
                        active: active != 0,
                    })
                })
                .collect()
        })
    }

    async fn save_specialty(&self, s: &Specialty) -> StoreResult<()> {
        on_writer!(self, |pool| {
            sqlx::query(
            "INSERT INTO specialties (key, label, position, active) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET label = excluded.label, position = excluded.position, active = excluded.active",
        )
        .bind(&s.key)
        .bind(&s.label)
        .bind(s.position)
        .bind(i64::from(s.active))
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(())
        })
    }

    async fn bank_details(&self, user: UserId) -> StoreResult<BankDetails> {
        on_reader!(self, |pool| {
            let row = sqlx::query(
                "SELECT user_id, payout_method, holder, bank_name, bank_country, iban, bic, paypal_email, updated_at \
             FROM expert_bank_details WHERE user_id = $1",
            )
            .bind(user.0)
            .fetch_one(pool)
            .await
            .map_err(err)?;
            let method: String = row.col("payout_method")?;
            Ok(BankDetails {
                user_id: user,
                payout_method: parse_payout(&method)
                    .ok_or_else(|| StoreError::Corrupt(format!("payout method {method}")))?,
                holder: row.col("holder")?,
                bank_name: row.col("bank_name")?,
                bank_country: row.col("bank_country")?,
                iban: row.col("iban")?,
                bic: row.col("bic")?,
                paypal_email: row.col("paypal_email")?,
                updated_at: instant(row.col("updated_at")?)?,
            })
        })
    }

    async fn list_expert_cards(&self, limit: i64, offset: i64) -> StoreResult<Vec<ExpertCard>> {
        on_reader!(self, |pool| {
            let q = format!(
                "SELECT {}, u.display_name, u.expert_code FROM expert_profiles p JOIN users u ON u.id = p.user_id \
             ORDER BY u.id LIMIT $1 OFFSET $2",
                PROFILE_COLUMNS
            );
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(pool).await.map_err(err)?;
            let ids = rows.iter().map(|r| r.col::<i64>("user_id")).collect::<StoreResult<Vec<_>>>()?;
            let mut prices = if ids.is_empty() {
                HashMap::new()
            } else {
                // Ids are integers read back from the database: nothing to escape.
                let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let q = format!(
                    "SELECT {PRICE_COLUMNS} FROM expert_prices WHERE user_id IN ({list}) ORDER BY user_id, currency"
                );
                price_sets(&sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(pool).await.map_err(err)?)?
            };
            rows.iter()
                .map(|row| {
                    let code: Option<i64> = row.col("expert_code")?;
                    Ok(ExpertCard {
                        profile: profile(row, &mut prices)?,
                        display_name: row.col("display_name")?,
                        expert_code: code.and_then(|c| u32::try_from(c).ok()).map(augure_domain::ExpertCode),
                    })
                })
                .collect()
        })
    }
}

impl SqlStore {
    async fn upsert_presence(&self, p: &ExpertPresence) -> StoreResult<()> {
        on_writer!(self, |pool| {
            let modes = modes_json(&p.modes_on);
            sqlx::query(
            "INSERT INTO expert_presence (user_id, status, modes_on, paused_until, last_heartbeat, bank_details_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, \
             modes_on = excluded.modes_on, paused_until = excluded.paused_until, last_heartbeat = excluded.last_heartbeat, \
             bank_details_at = excluded.bank_details_at, updated_at = excluded.updated_at",
        )
        .bind(p.user_id.0)
        .bind(status_str(p.status))
        .bind(modes)
        .bind(p.paused_until.map(micros))
        .bind(p.last_heartbeat.map(micros))
        .bind(p.bank_details_at.map(micros))
        .bind(micros(p.updated_at))
        .execute(pool)
        .await
        .map_err(err)?;
            Ok(())
        })
    }
}

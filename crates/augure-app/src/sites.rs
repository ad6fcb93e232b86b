//! The storefronts, read on nearly every page: kept in memory, read again from the store
//! after a change on this node or after `cache_ms` (how late other nodes may see one).

use std::sync::{Arc, RwLock};

use augure_domain::site::NewSite;
use augure_domain::{Clock, Site, SiteCode};
use augure_store::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};

/// When the copy was read, and the sites.
type Cached = Option<(DateTime<Utc>, Arc<Vec<Site>>)>;

/// Why an operator's change to a site was refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("unknown site")]
    UnknownSite,
    /// The entry that is not a phone number, as typed (cut to 40 characters).
    #[error("not a phone number: {0:?}")]
    InvalidPhone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Sites {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cache_ms: i64,
    cache: Arc<RwLock<Cached>>,
}

impl Sites {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, cache_ms: i64) -> Self {
        Self { store, clock, cache_ms, cache: Arc::new(RwLock::new(None)) }
    }

    /// Every site, in the store's order (the first is the default storefront).
    pub async fn list(&self) -> StoreResult<Arc<Vec<Site>>> {
        let now = self.clock.now();
        if let Some((at, sites)) = self.cache.read().unwrap_or_else(|e| e.into_inner()).as_ref()
            && now >= *at
            && (now - *at).num_milliseconds() < self.cache_ms
        {
            return Ok(sites.clone());
        }
        let sites = Arc::new(self.store.list_sites().await?);
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some((now, sites.clone()));
        Ok(sites)
    }

    /// The time zone dates are shown in for someone of `site`: that site's, else the
    /// first site's (the operator's own, for admins).
    pub async fn zone_for(&self, site: Option<augure_domain::SiteId>) -> StoreResult<chrono_tz::Tz> {
        let sites = self.list().await?;
        let chosen = site.and_then(|id| sites.iter().find(|s| s.id == id)).or(sites.first());
        Ok(chosen.map_or(chrono_tz::Europe::Paris, |s| s.time_zone))
    }

    pub async fn by_code(&self, code: &SiteCode) -> StoreResult<Option<Site>> {
        Ok(self.list().await?.iter().find(|s| &s.code == code).cloned())
    }

    pub async fn create(&self, site: &NewSite) -> StoreResult<Site> {
        let created = self.store.create_site(site).await?;
        self.changed();
        Ok(created)
    }

    /// Replaces the numbers clients dial on a site, as an operator types them: one per
    /// line (or separated by commas), written nationally for the site's country or with
    /// their country code; stored in E.164. Nothing is saved unless all are numbers.
    pub async fn set_phone_numbers(&self, code: &SiteCode, typed: &str) -> Result<Site, SiteError> {
        let site = self.by_code(code).await?.ok_or(SiteError::UnknownSite)?;
        let mut numbers: Vec<String> = Vec::new();
        for entry in typed.split(['\n', ',', ';']).map(str::trim).filter(|e| !e.is_empty()) {
            let number = augure_domain::phone::to_e164(entry, Some(site.code.as_str()))
                .map_err(|_| SiteError::InvalidPhone(entry.chars().take(40).collect()))?;
            if !numbers.contains(&number) {
                numbers.push(number);
            }
        }
        let changed = self.store.set_site_phone_numbers(site.id, &numbers).await?;
        self.changed();
        Ok(changed)
    }

    /// A site was written behind this service's back (imports, tests): forget the copy.
    pub fn changed(&self) {
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

//! A site's public pages (legal notice, terms, privacy, contact), written by the operator
//! per site and language, and the terms acceptances recorded with them (SP-contract).

use std::sync::Arc;

use augure_domain::legal::PageKind;
use augure_domain::{Clock, Site, SiteId, TextError, UserId, check_line, check_text};
use augure_store::{SitePage, Store, StoreError};

use crate::i18n::I18n;

/// Longest title an operator may give a page.
pub const TITLE_MAX: usize = 140;
/// Longest text: a full set of terms fits well within it.
pub const BODY_MAX: usize = 40_000;

#[derive(Debug, thiserror::Error)]
pub enum LegalError {
    #[error("a page needs a title of at most {max} characters")]
    InvalidTitle { max: usize },
    #[error("a page needs a text of at most {max} characters")]
    InvalidBody { max: usize },
    #[error("unsupported language")]
    UnsupportedLocale,
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Legal {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Legal {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The page a reader of `locale` sees on `site`: in their language, else in the
    /// site's own, else in French, else in whichever language it was written. `None`
    /// while the operator has written it in no language.
    pub async fn page(&self, site: &Site, kind: PageKind, locale: &str) -> Result<Option<SitePage>, LegalError> {
        let written: Vec<SitePage> =
            self.store.site_pages(site.id).await?.into_iter().filter(|p| p.kind == kind).collect();
        let preferred = [locale, site.default_locale.as_str(), crate::i18n::DEFAULT_LOCALE];
        let chosen = preferred.iter().find_map(|l| written.iter().position(|p| p.locale == *l)).or(
            // Anything written beats a blank page.
            (!written.is_empty()).then_some(0),
        );
        Ok(chosen.map(|i| written[i].clone()))
    }

    /// Every page written for `site` (the admin's list).
    pub async fn pages(&self, site: SiteId) -> Result<Vec<SitePage>, LegalError> {
        Ok(self.store.site_pages(site).await?)
    }

    /// The page exactly as written for this site, kind and language (the editor's form).
    pub async fn written(&self, site: SiteId, kind: PageKind, locale: &str) -> Result<Option<SitePage>, LegalError> {
        match self.store.site_page(site, kind, locale).await {
            Ok(p) => Ok(Some(p)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks and saves a page as an admin typed it.
    pub async fn save(
        &self,
        site: SiteId,
        kind: PageKind,
        locale: &str,
        title: &str,
        body: &str,
    ) -> Result<SitePage, LegalError> {
        let locale = I18n::supported(locale).ok_or(LegalError::UnsupportedLocale)?;
        let title = title.trim();
        check_line(title)?;
        if title.is_empty() || title.chars().count() > TITLE_MAX {
            return Err(LegalError::InvalidTitle { max: TITLE_MAX });
        }
        // Browsers send CRLF from a textarea; the text is kept with plain line ends.
        let body = body.replace("\r\n", "\n");
        let body = body.trim();
        check_text(body)?;
        if body.is_empty() || body.chars().count() > BODY_MAX {
            return Err(LegalError::InvalidBody { max: BODY_MAX });
        }
        let page = SitePage {
            site_id: site,
            kind,
            locale: locale.to_owned(),
            title: title.to_owned(),
            body: body.to_owned(),
            updated_at: self.clock.now(),
        };
        self.store.save_site_page(&page).await?;
        Ok(page)
    }

    /// Records that `user` accepted terms `version` now (SP-contract).
    pub async fn record_acceptance(&self, user: UserId, version: u32) -> Result<(), LegalError> {
        Ok(self.store.record_terms_acceptance(user, version, self.clock.now()).await?)
    }

    /// The terms versions `user` accepted, with when, oldest first.
    pub async fn acceptances(&self, user: UserId) -> Result<Vec<(u32, chrono::DateTime<chrono::Utc>)>, LegalError> {
        Ok(self.store.terms_acceptances(user).await?)
    }
}

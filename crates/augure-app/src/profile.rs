//! The expert's own profile: payout details (SP-profile, SP-bank), civil and company
//! data, specialties, languages, sites, modes, one price set per currency of the sites
//! chosen, checked against the operator's minimums (AT-min, see [`crate::pricing`]), and
//! acceptance of the terms (SP-contract).

use std::sync::Arc;

use augure_domain::bank::{self, PayoutMethod};
use augure_domain::{Clock, Email, Mode, SiteId, TextError, UserId, check_line, check_text};
use augure_store::{BankDetails, ExpertDetails, ExpertProfile, Specialty, Store, StoreError};

use crate::directory::DirectoryChanges;
use crate::pricing::{PriceForm, PriceFormError};
use crate::settings::Settings;

/// What the bank details form sends.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BankForm {
    pub payout_method: String,
    pub holder: String,
    pub bank_name: String,
    pub bank_country: String,
    pub iban: String,
    pub bic: String,
    pub paypal_email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("account holder missing")]
    HolderMissing,
    #[error(transparent)]
    Bank(#[from] bank::BankError),
    #[error("invalid PayPal email")]
    InvalidPayPal,
    #[error("the headline must be 1 to 140 characters")]
    InvalidHeadline,
    #[error("choose at least one specialty from the list")]
    InvalidSpecialties,
    #[error("give at least one spoken language")]
    InvalidLanguages,
    #[error("choose at least one site")]
    InvalidSites,
    #[error(transparent)]
    Prices(#[from] PriceFormError),
    #[error("a field is too long")]
    TooLong,
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("accept the terms and the code of ethics to continue")]
    TermsNotAccepted,
    #[error("this is not a phone number")]
    InvalidPhone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The profile form, as typed. Prices are in major units ("2,50"), per currency.
#[derive(Clone, Debug, Default)]
pub struct ProfileForm {
    pub headline: String,
    pub specialties: Vec<String>,
    pub languages: Vec<String>,
    pub modes: Vec<String>,
    pub sites: Vec<String>,
    /// One entry per currency typed (see [`PriceForm::currency`]).
    pub prices: Vec<PriceForm>,
    pub email_needs: String,
    pub legal_name: String,
    pub company_name: String,
    pub company_number: String,
    pub vat_number: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub phone: String,
    /// The expert ticked "I accept the terms" on this submission.
    pub accept_terms: bool,
}

/// Everything the profile page shows of the expert's own profile.
#[derive(Clone, Debug)]
pub struct OwnProfile {
    pub profile: Option<ExpertProfile>,
    pub details: ExpertDetails,
    /// The current terms version is not accepted yet (SP-contract).
    pub terms_pending: bool,
}

/// A free text field: trimmed, at most `max` characters, under the text rule (several
/// lines allowed).
fn text(value: &str, max: usize) -> Result<String, ProfileError> {
    let value = value.trim();
    check_text(value)?;
    if value.chars().count() > max { Err(ProfileError::TooLong) } else { Ok(value.to_owned()) }
}

/// A one-line free text field (a name, a number, a city): [`text`] and [`check_line`].
fn line(value: &str, max: usize) -> Result<String, ProfileError> {
    let value = text(value, max)?;
    check_line(&value)?;
    Ok(value)
}

#[derive(Clone)]
pub struct Profiles {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    changes: DirectoryChanges,
    settings: Arc<Settings>,
    /// The specialty list is read by every listing page; kept for `directory.cache_ms`.
    specialties: Arc<std::sync::RwLock<Option<CachedSpecialties>>>,
}

type CachedSpecialties = (chrono::DateTime<chrono::Utc>, Arc<Vec<Specialty>>);

impl Profiles {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        changes: DirectoryChanges,
        settings: Arc<Settings>,
    ) -> Self {
        Self { store, clock, changes, settings, specialties: Arc::default() }
    }

    /// The operator's whole specialty list, inactive ones included.
    pub async fn specialties(&self) -> Result<Arc<Vec<Specialty>>, ProfileError> {
        let now = self.clock.now();
        if let Some((at, list)) = self.specialties.read().unwrap_or_else(|e| e.into_inner()).as_ref()
            && now >= *at
            && (now - *at).num_milliseconds() < self.settings.directory.cache_ms
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.store.specialties().await?);
        *self.specialties.write().unwrap_or_else(|e| e.into_inner()) = Some((now, list.clone()));
        Ok(list)
    }

    /// The specialties experts may choose from now.
    pub async fn active_specialties(&self) -> Result<Vec<Specialty>, ProfileError> {
        Ok(self.specialties().await?.iter().filter(|s| s.active).cloned().collect())
    }

    /// Adds or changes an entry of the specialty list (admins).
    pub async fn save_specialty(&self, specialty: &Specialty) -> Result<(), ProfileError> {
        check_line(&specialty.label)?;
        self.store.save_specialty(specialty).await?;
        *self.specialties.write().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    /// The expert's public profile; `None` until they first save it.
    pub async fn profile(&self, user: UserId) -> Result<Option<ExpertProfile>, ProfileError> {
        match self.store.expert_profile(user).await {
            Ok(p) => Ok(Some(p)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn own(&self, user: UserId) -> Result<OwnProfile, ProfileError> {
        let profile = match self.store.expert_profile(user).await {
            Ok(p) => Some(p),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let details = match self.store.expert_details(user).await {
            Ok(d) => d,
            Err(StoreError::NotFound) => ExpertDetails::empty(user, self.clock.now()),
            Err(e) => return Err(e.into()),
        };
        let terms_pending = details.terms_version.is_none_or(|v| v < self.settings.terms.version);
        Ok(OwnProfile { profile, details, terms_pending })
    }

    /// Validates and saves the whole profile. The expert needs a price set for each currency
    /// of the sites they chose, checked against each such site's minimum (AT-min).
    pub async fn save_profile(&self, user: UserId, form: &ProfileForm) -> Result<(), ProfileError> {
        let now = self.clock.now();
        let current = self.own(user).await?;
        let headline = line(&form.headline, 140)?;
        if headline.is_empty() {
            return Err(ProfileError::InvalidHeadline);
        }
        let known = self.active_specialties().await?;
        let mut specialties: Vec<String> = Vec::new();
        for s in &form.specialties {
            if !known.iter().any(|k| &k.key == s) {
                return Err(ProfileError::InvalidSpecialties);
            }
            if !specialties.contains(s) {
                specialties.push(s.clone());
            }
        }
        if specialties.is_empty() {
            return Err(ProfileError::InvalidSpecialties);
        }
        let mut languages: Vec<String> = Vec::new();
        for l in &form.languages {
            let l = l.trim().to_ascii_lowercase();
            if l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(ProfileError::InvalidLanguages);
            }
            if !languages.contains(&l) {
                languages.push(l);
            }
        }
        if languages.is_empty() {
            return Err(ProfileError::InvalidLanguages);
        }
        let mut modes: Vec<Mode> = Vec::new();
        for m in &form.modes {
            let mode: Mode = m.parse().map_err(|_| ProfileError::InvalidSpecialties)?;
            if !modes.contains(&mode) {
                modes.push(mode);
            }
        }
        modes.sort();
        let all_sites = self.store.list_sites().await?;
        let sites: Vec<_> = all_sites.iter().filter(|s| form.sites.iter().any(|f| f == s.code.as_str())).collect();
        if sites.is_empty() {
            return Err(ProfileError::InvalidSites);
        }
        let prices = crate::pricing::read_price_sets(&form.prices, &sites, &modes, &self.settings)?;
        let (terms_version, terms_accepted_at) = if form.accept_terms {
            (Some(self.settings.terms.version), Some(now))
        } else if current.terms_pending {
            return Err(ProfileError::TermsNotAccepted);
        } else {
            (current.details.terms_version, current.details.terms_accepted_at)
        };
        let details = ExpertDetails {
            user_id: user,
            legal_name: line(&form.legal_name, 140)?,
            company_name: line(&form.company_name, 140)?,
            company_number: line(&form.company_number, 40)?,
            vat_number: line(&form.vat_number, 40)?,
            address: line(&form.address, 280)?,
            postal_code: line(&form.postal_code, 20)?,
            city: line(&form.city, 100)?,
            country: line(&form.country, 2)?.to_ascii_uppercase(),
            phone: expert_phone(&line(&form.phone, 30)?, &form.country, sites.first().map(|s| s.code.as_str()))?,
            email_needs: text(&form.email_needs, 2000)?,
            visible_sites: sites.iter().map(|s| s.id).collect::<Vec<SiteId>>(),
            terms_version,
            terms_accepted_at,
            updated_at: now,
        };
        let profile = ExpertProfile { user_id: user, headline, specialties, languages, modes, prices };
        self.store.save_expert_details(&details).await?;
        if form.accept_terms {
            self.store.record_terms_acceptance(user, self.settings.terms.version, now).await?;
        }
        self.store.upsert_expert_profile(&profile).await?;
        self.changes.changed();
        Ok(())
    }

    /// SP-contract: accepting the current version from the banner, without other changes.
    pub async fn accept_terms(&self, user: UserId) -> Result<(), ProfileError> {
        let mut details = self.own(user).await?.details;
        details.terms_version = Some(self.settings.terms.version);
        details.terms_accepted_at = Some(self.clock.now());
        details.updated_at = self.clock.now();
        self.store.save_expert_details(&details).await?;
        self.store.record_terms_acceptance(user, self.settings.terms.version, self.clock.now()).await?;
        Ok(())
    }

    /// Validates and saves payout details; from then on SP-bank no longer blocks the
    /// expert. A bank transfer needs a valid IBAN and BIC; PayPal needs a valid email.
    pub async fn save_bank_details(&self, user: UserId, form: &BankForm) -> Result<BankDetails, ProfileError> {
        let holder = form.holder.trim();
        check_line(holder)?;
        if holder.is_empty() || holder.chars().count() > 140 {
            return Err(ProfileError::HolderMissing);
        }
        for field in [&form.bank_name, &form.bank_country, &form.iban, &form.bic, &form.paypal_email] {
            check_line(field.trim())?;
        }
        let (method, iban, bic, paypal) = if form.payout_method == "pay_pal" {
            let email: Email = form.paypal_email.parse().map_err(|_| ProfileError::InvalidPayPal)?;
            (PayoutMethod::PayPal, None, None, Some(email.to_string()))
        } else {
            // Once saved, the IBAN is shown masked and the field left empty: empty keeps it.
            let saved = match form.iban.trim() {
                "" => self.bank_details(user).await?.and_then(|d| d.iban),
                _ => None,
            };
            let iban = match saved {
                Some(iban) => iban,
                None => bank::parse_iban(&form.iban)?,
            };
            (PayoutMethod::BankTransfer, Some(iban), Some(bank::parse_bic(&form.bic)?), None)
        };
        let details = BankDetails {
            user_id: user,
            payout_method: method,
            holder: holder.to_owned(),
            bank_name: form.bank_name.trim().chars().take(140).collect(),
            bank_country: form.bank_country.trim().to_uppercase().chars().take(2).collect(),
            iban,
            bic,
            paypal_email: paypal,
            updated_at: self.clock.now(),
        };
        self.store.save_bank_details(&details).await?;
        // SP-bank may have been blocking every mode: the listing changes, and clients
        // waiting for this expert are told if they are live again (the job checks).
        self.changes.changed();
        crate::planning::queue_back_alerts(&*self.store, user, details.updated_at, details.updated_at).await?;
        Ok(details)
    }

    pub async fn bank_details(&self, user: UserId) -> Result<Option<BankDetails>, ProfileError> {
        match self.store.bank_details(user).await {
            Ok(d) => Ok(Some(d)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The expert's phone as typed, stored in E.164: read in their country, else in their
/// first site's ("06 12 34 56 78" in France).
fn expert_phone(typed: &str, country: &str, site: Option<&str>) -> Result<String, ProfileError> {
    if typed.is_empty() {
        return Ok(String::new());
    }
    let country = Some(country.trim()).filter(|c| !c.is_empty()).or(site);
    augure_domain::phone::to_e164(typed, country).map_err(|_| ProfileError::InvalidPhone)
}

//! Prices per currency and per site: reading the price fields of the profile form into one
//! price set per currency of the chosen sites (AT-min, PH-free, PH-package, SP-email), the
//! per-minute tariff an operator imposes on a site (SP-tariffs), and what an expert costs
//! on a site, which [`augure_domain::pricing::effective_prices`] alone decides.

use std::sync::Arc;

use augure_domain::pricing::{
    self, Package, PriceSet, PriceSetError, SiteNeeds, SitePrices, check_price_set, check_site_tariff,
};
use augure_domain::site::{Tariff, TariffRowProblem, check_tariff};
use augure_domain::tariff::{self, Charge, Plan};
use augure_domain::{Currency, Mode, Money, Role, Site, SiteCode, UserId};
use augure_store::{ExpertProfile, Store, StoreError, User};

use crate::credit::{Credit, CreditError};
use crate::directory::{Directory, DirectoryChanges};
use crate::settings::Settings;
use crate::sites::Sites;

/// The price fields of one currency, as typed: amounts in major units with either decimal
/// separator ("2,50"), minutes as whole numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceForm {
    /// ISO 4217 code; empty stands for the currency of the first site chosen (forms and API
    /// calls written before prices were per currency).
    pub currency: String,
    pub per_minute: String,
    pub email_price: String,
    pub package_price: String,
    pub package_minutes: String,
    pub free_minutes: String,
}

impl PriceForm {
    fn is_empty(&self) -> bool {
        [&self.per_minute, &self.email_price, &self.package_price, &self.package_minutes, &self.free_minutes]
            .iter()
            .all(|f| f.trim().is_empty() || f.trim() == "0")
    }

    /// A saved price set as the form shows it, amounts written with `decimal`.
    pub fn from_set(set: &PriceSet, decimal: char) -> Self {
        let money = |m: Option<Money>| m.map(|m| major(m, decimal)).unwrap_or_default();
        PriceForm {
            currency: set.currency.code().into(),
            per_minute: money(set.per_minute),
            email_price: money(set.email),
            package_price: money(set.package.map(|p| p.price)),
            package_minutes: set.package.map(|p| p.minutes.to_string()).unwrap_or_default(),
            free_minutes: set.free_minutes.to_string(),
        }
    }
}

/// An amount in major units written with `decimal` ("1,55" in French): what a form field
/// holds; [`Money::parse_major`] reads both separators back.
pub fn major(m: Money, decimal: char) -> String {
    m.to_major().replace('.', &decimal.to_string())
}

/// The price fields typed for `currency`: its own, or, for the first chosen currency, those
/// given without a currency.
pub fn typed_for(forms: &[PriceForm], currency: Currency, first: Option<Currency>) -> PriceForm {
    let own = forms.iter().find(|f| f.currency.trim().eq_ignore_ascii_case(currency.code()));
    let unnamed = || forms.iter().find(|f| f.currency.trim().is_empty()).filter(|_| first == Some(currency));
    own.or_else(unnamed)
        .cloned()
        .unwrap_or_else(|| PriceForm { currency: currency.code().into(), ..PriceForm::default() })
}

/// One of a site's tariffs as typed on the operator's form; `code` is the tariff's key when
/// it already exists (empty for a new one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TariffRow {
    pub code: String,
    pub label: String,
    pub number: String,
    pub per_minute: String,
    pub per_call: String,
}

impl TariffRow {
    fn is_blank(&self) -> bool {
        [&self.label, &self.number, &self.per_minute, &self.per_call].iter().all(|f| f.trim().is_empty())
    }

    /// A saved tariff as the form shows it, amounts written with `decimal`.
    pub fn from_tariff(t: &Tariff, decimal: char) -> Self {
        let money = |m: Option<Money>| m.map(|m| major(m, decimal)).unwrap_or_default();
        TariffRow {
            code: t.code.clone(),
            label: t.label.clone(),
            number: t.phone_number.as_deref().map(|n| augure_domain::phone::display(n, None)).unwrap_or_default(),
            per_minute: money(t.per_minute),
            per_call: money(t.per_call),
        }
    }
}

/// Which price set an error is about: its currency and the chosen sites selling in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceScope {
    pub currency: Currency,
    /// The sites' names, in the operator's order.
    pub sites: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceFormError {
    #[error("prices in {}: not an amount", .0.currency)]
    NotAnAmount(PriceScope),
    #[error("prices in {}: a package needs a price and 1 to {max} minutes", .scope.currency)]
    PackageIncomplete { scope: PriceScope, max: u32 },
    #[error("prices in {}: {error}", .scope.currency)]
    Rule { scope: PriceScope, error: PriceSetError },
}

/// The currencies of `sites` in the sites' order, each with its sites.
pub fn by_currency<'a>(sites: &[&'a Site]) -> Vec<(Currency, Vec<&'a Site>)> {
    let mut groups: Vec<(Currency, Vec<&Site>)> = Vec::new();
    for site in sites {
        match groups.iter_mut().find(|(c, _)| *c == site.currency) {
            Some((_, list)) => list.push(site),
            None => groups.push((site.currency, vec![site])),
        }
    }
    groups
}

/// SP-options, AT-min: one price set per currency of the chosen sites, each checked for
/// every chosen site of its currency (a per-minute price unless the site imposes one, an
/// email price when email is offered). Prices typed for a currency no chosen site uses are
/// dropped; a currency left wholly empty where nothing is needed stores no set.
pub fn read_price_sets(
    forms: &[PriceForm],
    sites: &[&Site],
    modes: &[Mode],
    settings: &Settings,
) -> Result<Vec<PriceSet>, PriceFormError> {
    let first = sites.first().map(|s| s.currency);
    let mut sets = Vec::new();
    for (currency, group) in by_currency(sites) {
        let scope = || PriceScope { currency, sites: group.iter().map(|s| s.name.clone()).collect() };
        let typed = typed_for(forms, currency, first);
        let money = |text: &str| -> Result<Option<Money>, PriceFormError> {
            match text.trim() {
                "" => Ok(None),
                t => Money::parse_major(t, currency).map(Some).map_err(|_| PriceFormError::NotAnAmount(scope())),
            }
        };
        let max_minutes = settings.pricing.max_package_minutes;
        let incomplete = || PriceFormError::PackageIncomplete { scope: scope(), max: max_minutes };
        let package = match (money(&typed.package_price)?, typed.package_minutes.trim()) {
            (None, "") => None,
            (Some(price), minutes) if !minutes.is_empty() => {
                Some(Package { price, minutes: minutes.parse().map_err(|_| incomplete())? })
            }
            _ => return Err(incomplete()),
        };
        let max_free = settings.pricing.max_free_minutes;
        let free_minutes = match typed.free_minutes.trim() {
            "" => 0,
            m => m.parse().map_err(|_| PriceFormError::Rule {
                scope: scope(),
                error: PriceSetError::TooManyFreeMinutes { max: max_free },
            })?,
        };
        let set = PriceSet {
            currency,
            per_minute: money(&typed.per_minute)?,
            package,
            free_minutes,
            email: money(&typed.email_price)?,
        };
        for site in &group {
            let needs = SiteNeeds { imposed: site.imposed_per_minute.is_some(), email: modes.contains(&Mode::Email) };
            check_price_set(&set, currency, &settings.pricing.limits(&site.code), needs)
                .map_err(|error| PriceFormError::Rule { scope: scope(), error })?;
        }
        if !typed.is_empty() || set.per_minute.is_some() {
            sets.push(set);
        }
    }
    Ok(sets)
}

/// Where an expert is "at home" when no site is asked for: their sign-up site if they are
/// listed there, else the first site listing them (in the operator's order).
pub fn home_site<'a>(
    sites: &'a [Site],
    signed_up_on: Option<augure_domain::SiteId>,
    listed: &[augure_domain::SiteId],
) -> Option<&'a Site> {
    let listed_on = |s: &&Site| listed.is_empty() || listed.contains(&s.id);
    signed_up_on
        .and_then(|id| sites.iter().filter(listed_on).find(|s| s.id == id))
        .or_else(|| sites.iter().find(listed_on))
}

/// The prices an expert shows at home: on `site` when there is one, else (an installation
/// without sites) their first set with a per-minute price.
pub fn home_prices(profile: &ExpertProfile, site: Option<&Site>) -> Option<SitePrices> {
    match site {
        Some(site) => pricing::effective_prices(&profile.prices, site),
        None => profile.prices.iter().find_map(|set| {
            Some(SitePrices {
                per_minute: set.per_minute?,
                package: set.package,
                free_minutes: set.free_minutes,
                email: set.email,
                imposed: false,
            })
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TariffError {
    #[error("unknown site")]
    UnknownSite,
    #[error("this amount is not a price")]
    NotAnAmount,
    /// Lifting the tariff would take `experts` experts off the site: they have no own
    /// per-minute price in its currency. Asked again with the lift confirmed, it is done.
    #[error("{experts} experts would no longer be listed")]
    LiftUnlists { experts: usize, currency: Currency },
    /// One of the site's tariffs (numbered from 1 as the form shows them).
    #[error("tariff {row}: {problem}")]
    Row { row: usize, problem: augure_domain::site::TariffRowProblem },
    #[error(transparent)]
    Rule(#[from] PriceSetError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// WG-rate: the modes billed by the minute, all at the one per-minute price.
pub const PER_MINUTE_MODES: [Mode; 3] = [Mode::Phone, Mode::Chat, Mode::Video];

/// The longest consultation a quote prices: a day. A bound on what may be asked, so that
/// absurd inputs are refused, not a rule of the platform (a consultation ends with the
/// client's credit).
pub const MAX_QUOTE_SECONDS: u64 = 86_400;

/// What a client asks the price of (Quote, SPEC §3).
#[derive(Clone, Debug)]
pub struct QuoteRequest<'a> {
    pub expert_code: u32,
    /// The site whose prices apply. `None`: the client's own site when the expert is listed
    /// there, else the expert's home site, as the profile page prices them.
    pub site: Option<SiteCode>,
    /// The signed-in person. A client is quoted with their history (PH-free) and credit;
    /// anyone else as a new client would be, without credit.
    pub viewer: Option<&'a User>,
    /// One of [`PER_MINUTE_MODES`].
    pub mode: Mode,
    /// Billable seconds, 1 to [`MAX_QUOTE_SECONDS`].
    pub seconds: u64,
    /// PH-package: with the expert's package rather than by the minute.
    pub package: bool,
}

/// The exact price of a consultation, as the tariff will bill it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The site whose prices these are.
    pub site: SiteCode,
    pub prices: SitePrices,
    /// By the minute (first consultation with this expert or not), or the package.
    pub plan: Plan,
    pub charge: Charge,
    /// Quoted with a signed-in client's history and credit (not as a new client).
    pub for_client: bool,
    /// The longest consultation the client's credit pays for with this plan (none while
    /// they owe a debt); `None` when not quoted for a client.
    pub affordable_seconds: Option<u64>,
}

impl Quote {
    /// PH-free: whether the expert's free minutes apply, as on a first consultation.
    pub fn first_with_expert(&self) -> bool {
        matches!(self.plan, Plan::PerMinute { first_with_expert: true })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    /// No expert has this code, or they are not listed (with a price) on the site.
    #[error("no such expert on this site")]
    UnknownExpert,
    #[error("unknown site")]
    UnknownSite,
    /// Only phone, chat and video are billed by the minute.
    #[error("a quote is for a consultation by the minute")]
    Mode,
    #[error("a quote is for 1 to {max} seconds")]
    Seconds { max: u64 },
    #[error("the expert sells no package")]
    NoPackage,
    #[error(transparent)]
    Credit(#[from] CreditError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Prices as clients meet them, and the sites' imposed tariffs.
#[derive(Clone)]
pub struct Pricing {
    store: Arc<dyn Store>,
    sites: Sites,
    settings: Arc<Settings>,
    changes: DirectoryChanges,
}

impl Pricing {
    pub fn new(store: Arc<dyn Store>, sites: Sites, settings: Arc<Settings>, changes: DirectoryChanges) -> Self {
        Self { store, sites, settings, changes }
    }

    /// What `expert` costs on `site` (shown, quoted and charged): `None` when they sell
    /// nothing there.
    pub async fn expert_on_site(&self, expert: UserId, site: &SiteCode) -> Result<Option<SitePrices>, TariffError> {
        let site = self.sites.by_code(site).await?.ok_or(TariffError::UnknownSite)?;
        let profile = match self.store.expert_profile(expert).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(pricing::effective_prices(&profile.prices, &site))
    }

    /// Quote: the price of `request.seconds` with an expert, computed by
    /// [`augure_domain::tariff`] as a consultation is billed: the expert's prices on the
    /// site, their free minutes if this would be the client's first consultation with
    /// them (PH-free), or their package (PH-package). The listing and the wallet are the
    /// caller's services: they are built after this one.
    pub async fn quote(
        &self,
        directory: &Directory,
        credit: &Credit,
        request: &QuoteRequest<'_>,
    ) -> Result<Quote, QuoteError> {
        if !PER_MINUTE_MODES.contains(&request.mode) {
            return Err(QuoteError::Mode);
        }
        if !(1..=MAX_QUOTE_SECONDS).contains(&request.seconds) {
            return Err(QuoteError::Seconds { max: MAX_QUOTE_SECONDS });
        }
        let expert = match self.store.user_by_expert_code(request.expert_code).await {
            Ok(user) if user.role == Role::Expert => user,
            Ok(_) | Err(StoreError::NotFound) => return Err(QuoteError::UnknownExpert),
            Err(e) => return Err(e.into()),
        };
        let listing = directory.sites_listing(request.expert_code).await?.ok_or(QuoteError::UnknownExpert)?;
        let sites = self.sites.list().await?;
        let listed = |site: &&Site| listing.contains(&site.id);
        let client = request.viewer.filter(|v| v.role == Role::Client);
        let site = match &request.site {
            Some(code) => {
                let site = sites.iter().find(|s| s.code == *code).ok_or(QuoteError::UnknownSite)?;
                Some(site).filter(listed).ok_or(QuoteError::UnknownExpert)?
            }
            None => client
                .and_then(|c| sites.iter().filter(listed).find(|s| Some(s.id) == c.site_id))
                .or_else(|| home_site(&sites, expert.site_id, &listing).filter(listed))
                .ok_or(QuoteError::UnknownExpert)?,
        };
        let prices = self.expert_on_site(expert.id, &site.code).await.map_err(|e| match e {
            TariffError::Store(e) => QuoteError::Store(e),
            _ => QuoteError::UnknownSite,
        })?;
        let prices = prices.ok_or(QuoteError::UnknownExpert)?;
        let plan = if request.package {
            Plan::Package
        } else {
            let consulted = match client {
                Some(c) => self.store.has_consulted(c.id, expert.id).await?,
                None => false,
            };
            Plan::PerMinute { first_with_expert: !consulted }
        };
        let no_package = |_: tariff::TariffError| QuoteError::NoPackage;
        let rules = self.settings.consultations.tariff_rules();
        let charge = tariff::charge(&prices, plan, request.seconds, &rules).map_err(no_package)?;
        let affordable_seconds = match client {
            Some(c) => Some(match credit.spendable(c, site.currency).await? {
                Some(available) => tariff::affordable_seconds(&prices, plan, available).map_err(no_package)?,
                None => 0,
            }),
            None => None,
        };
        Ok(Quote { site: site.code.clone(), prices, plan, charge, for_client: client.is_some(), affordable_seconds })
    }

    /// SP-tariffs: imposes `typed` (major units, either separator) as the per-minute price
    /// of every expert on `site`, or lets experts set their own again when it is empty. The
    /// tariff follows the site's bounds (AT-min and the maximum). Lifting it is refused
    /// with [`TariffError::LiftUnlists`] while experts listed there only through it would
    /// silently disappear, unless `lift_confirmed`.
    pub async fn set_site_tariff(
        &self,
        site: &SiteCode,
        typed: &str,
        lift_confirmed: bool,
    ) -> Result<Site, TariffError> {
        let mut site = self.sites.by_code(site).await?.ok_or(TariffError::UnknownSite)?;
        site.imposed_per_minute = match typed.trim() {
            "" if site.imposed_per_minute.is_some() && !lift_confirmed => {
                let experts = self.listed_only_through_tariff(&site).await?;
                if experts > 0 {
                    return Err(TariffError::LiftUnlists { experts, currency: site.currency });
                }
                None
            }
            "" => None,
            t => {
                let tariff = Money::parse_major(t, site.currency).map_err(|_| TariffError::NotAnAmount)?;
                check_site_tariff(tariff, site.currency, &self.settings.pricing.limits(&site.code))?;
                Some(tariff)
            }
        };
        self.store.update_site(&site).await?;
        self.sites.changed();
        self.changes.changed();
        Ok(site)
    }

    /// SP-tariffs: replaces a site's tariffs (what its numbers cost) with `rows` as an
    /// operator typed them; rows left blank are dropped. Numbers are written as dialled in
    /// the site's country or with their country code, prices in major units. Nothing is
    /// saved unless every row is right.
    pub async fn set_site_tariffs(&self, site: &SiteCode, rows: &[TariffRow]) -> Result<Site, TariffError> {
        let mut site = self.sites.by_code(site).await?.ok_or(TariffError::UnknownSite)?;
        let limits = self.settings.pricing.limits(&site.code);
        let mut tariffs: Vec<Tariff> = Vec::new();
        for (index, row) in rows.iter().enumerate().filter(|(_, r)| !r.is_blank()) {
            let problem = |problem| TariffError::Row { row: index + 1, problem };
            let price = |typed: &str| match typed.trim() {
                "" => Ok(None),
                t => Money::parse_major(t, site.currency).map(Some).map_err(|_| problem(TariffRowProblem::NotAnAmount)),
            };
            let phone_number = match row.number.trim() {
                "" => None,
                n => Some(
                    augure_domain::phone::to_e164(n, Some(site.code.as_str()))
                        .map_err(|_| problem(TariffRowProblem::Phone(n.chars().take(40).collect())))?,
                ),
            };
            let code = match row.code.trim() {
                c if !c.is_empty() && !tariffs.iter().any(|t| t.code == c) => c.to_owned(),
                _ => (1..)
                    .map(|n| format!("tariff-{n}"))
                    .find(|c| !rows.iter().any(|r| r.code == *c) && !tariffs.iter().any(|t| t.code == *c))
                    .unwrap_or_default(),
            };
            let tariff = Tariff {
                code,
                label: row.label.trim().to_owned(),
                phone_number,
                per_minute: price(&row.per_minute)?,
                per_call: price(&row.per_call)?,
            };
            check_tariff(&tariff, limits.max_per_minute, limits.max_email).map_err(problem)?;
            tariffs.push(tariff);
        }
        site.tariffs = tariffs;
        self.store.update_site(&site).await?;
        self.sites.changed();
        Ok(site)
    }

    /// How many experts listed on `site` (which imposes its tariff) have no per-minute
    /// price of their own in its currency.
    async fn listed_only_through_tariff(&self, site: &Site) -> Result<usize, TariffError> {
        let sites = self.sites.list().await?;
        let lifted = Site { imposed_per_minute: None, ..site.clone() };
        let entries = self.store.directory().await?;
        Ok(entries
            .iter()
            .filter(|e| {
                crate::directory::chosen_sites(&e.visible_sites, e.site_id, &sites).iter().any(|s| s.id == site.id)
            })
            .filter(|e| crate::directory::listing_gaps(Some(&e.card.profile), &[site]).is_empty())
            .filter(|e| pricing::effective_prices(&e.card.profile.prices, &lifted).is_none())
            .count())
    }
}

//! What an expert charges: one price set per currency (WG-rate, PH-free, PH-package,
//! SP-email), each checked against the operator's minimum (AT-min) and maximum, and the
//! price that applies on a site, where an operator may impose its own per-minute tariff
//! (SP-tariffs). [`effective_prices`] is the one place that decides what a client on a
//! site is shown and charged.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::site::Site;

/// What an operator sets a minimum price for, per site (AT-min).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Phone, chat and video share one per-minute price (WG-rate).
    PerMinute,
    /// A fixed-price package (PH-package).
    Package,
    /// One email consultation (SP-email).
    EmailConsultation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("the price must be in the site's currency")]
    WrongCurrency,
    #[error("the price is below the minimum of {0} minor units")]
    BelowMinimum(i64),
    #[error("the price is above the maximum of {0} minor units")]
    AboveMaximum(i64),
}

/// AT-min: a price an expert sets must reach the operator's minimum for that service type
/// on that site, in that site's currency, and stay within the operator's maximum (a
/// mistyped price would otherwise drain a client's credit in one minute).
pub fn check_price(price: Money, minimum: Money, maximum: i64) -> Result<(), PriceError> {
    if price.currency != minimum.currency {
        return Err(PriceError::WrongCurrency);
    }
    if price.minor < minimum.minor.max(1) {
        return Err(PriceError::BelowMinimum(minimum.minor.max(1)));
    }
    if price.minor > maximum {
        return Err(PriceError::AboveMaximum(maximum));
    }
    Ok(())
}

/// PH-package: a fixed price for a number of minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Package {
    pub price: Money,
    pub minutes: u32,
}

/// An expert's prices in one currency, for every site of that currency they are listed
/// on. The per-minute price may be absent only where every such site imposes its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PriceSet {
    pub currency: Currency,
    /// WG-rate: one price for phone, chat and video.
    pub per_minute: Option<Money>,
    pub package: Option<Package>,
    /// PH-free: first minutes offered to a new client, 0 for none.
    pub free_minutes: u32,
    /// SP-email: the price of one email consultation.
    pub email: Option<Money>,
}

impl PriceSet {
    /// A per-minute price alone, in its currency.
    pub fn per_minute(price: Money) -> Self {
        Self { currency: price.currency, per_minute: Some(price), package: None, free_minutes: 0, email: None }
    }
}

/// What a client on one site is shown and charged for an expert.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SitePrices {
    pub per_minute: Money,
    pub package: Option<Package>,
    pub free_minutes: u32,
    pub email: Option<Money>,
    /// The per-minute price is the site's tariff, not the expert's (SP-tariffs).
    pub imposed: bool,
}

impl SitePrices {
    pub fn currency(&self) -> Currency {
        self.per_minute.currency
    }
}

/// The expert's effective prices on `site`: their price set in the site's currency, except
/// that a site imposing a per-minute tariff (SP-tariffs) charges that price to every expert
/// on it — the expert's own per-minute price and package (priced against it) are ignored
/// there; their free minutes and email price still apply. `None` when the expert has no
/// price for the site: they cannot be consulted there.
pub fn effective_prices(own: &[PriceSet], site: &Site) -> Option<SitePrices> {
    let set = own.iter().find(|p| p.currency == site.currency);
    match site.imposed_per_minute.filter(|t| t.currency == site.currency) {
        Some(tariff) => Some(SitePrices {
            per_minute: tariff,
            package: None,
            free_minutes: set.map_or(0, |s| s.free_minutes),
            email: set.and_then(|s| s.email),
            imposed: true,
        }),
        None => {
            let set = set?;
            Some(SitePrices {
                per_minute: set.per_minute?,
                package: set.package,
                free_minutes: set.free_minutes,
                email: set.email,
                imposed: false,
            })
        }
    }
}

/// The operator's bounds for one site (AT-min, and the maximums against typos), in minor
/// units of the site's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceLimits {
    pub min_per_minute: i64,
    pub min_package: i64,
    pub min_email: i64,
    pub max_per_minute: i64,
    pub max_package: i64,
    pub max_email: i64,
    pub max_free_minutes: u32,
    pub max_package_minutes: u32,
}

impl PriceLimits {
    fn bounds(&self, service: ServiceType) -> (i64, i64) {
        match service {
            ServiceType::PerMinute => (self.min_per_minute, self.max_per_minute),
            ServiceType::Package => (self.min_package, self.max_package),
            ServiceType::EmailConsultation => (self.min_email, self.max_email),
        }
    }

    /// Checks one price of `service` against these bounds.
    pub fn check(&self, price: Money, service: ServiceType) -> Result<(), PriceSetError> {
        let (min, max) = self.bounds(service);
        match check_price(price, Money::new(min, price.currency), max) {
            Ok(()) => Ok(()),
            Err(PriceError::BelowMinimum(m)) => {
                Err(PriceSetError::BelowMinimum { service, minimum: Money::new(m, price.currency) })
            }
            Err(PriceError::AboveMaximum(m)) => {
                Err(PriceSetError::AboveMaximum { service, maximum: Money::new(m, price.currency) })
            }
            Err(PriceError::WrongCurrency) => Err(PriceSetError::WrongCurrency(price.currency)),
        }
    }
}

/// Why a price set cannot be used on a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceSetError {
    #[error("a per-minute price in {0} is needed")]
    PerMinuteMissing(Currency),
    #[error("an email consultation price in {0} is needed to offer email")]
    EmailPriceMissing(Currency),
    #[error("{service:?} price below the site minimum ({minimum:?})")]
    BelowMinimum { service: ServiceType, minimum: Money },
    #[error("{service:?} price above the maximum ({maximum:?})")]
    AboveMaximum { service: ServiceType, maximum: Money },
    #[error("a package lasts 1 to {max} minutes")]
    PackageMinutes { max: u32 },
    #[error("free minutes: at most {max}")]
    TooManyFreeMinutes { max: u32 },
    #[error("a price in {0} given for sites of another currency")]
    WrongCurrency(Currency),
}

/// What the expert's choices ask of one site's price set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteNeeds {
    /// The site imposes its per-minute tariff: the expert's own is not needed there.
    pub imposed: bool,
    /// The expert offers email consultations.
    pub email: bool,
}

/// AT-min, PH-free, PH-package, SP-email: checks a price set for one site the expert
/// chose. Every price given is checked against the site's bounds, even where a tariff
/// makes it unused (it applies again if the operator lifts the tariff); a per-minute
/// price is needed unless the site imposes one, an email price when email is offered.
pub fn check_price_set(
    set: &PriceSet,
    site_currency: Currency,
    limits: &PriceLimits,
    needs: SiteNeeds,
) -> Result<(), PriceSetError> {
    if set.currency != site_currency {
        return Err(PriceSetError::WrongCurrency(set.currency));
    }
    let same =
        |m: Money| if m.currency == site_currency { Ok(m) } else { Err(PriceSetError::WrongCurrency(m.currency)) };
    match set.per_minute {
        Some(price) => limits.check(same(price)?, ServiceType::PerMinute)?,
        None if !needs.imposed => return Err(PriceSetError::PerMinuteMissing(site_currency)),
        None => {}
    }
    if let Some(package) = set.package {
        if !(1..=limits.max_package_minutes).contains(&package.minutes) {
            return Err(PriceSetError::PackageMinutes { max: limits.max_package_minutes });
        }
        limits.check(same(package.price)?, ServiceType::Package)?;
    }
    if set.free_minutes > limits.max_free_minutes {
        return Err(PriceSetError::TooManyFreeMinutes { max: limits.max_free_minutes });
    }
    match set.email {
        Some(price) => limits.check(same(price)?, ServiceType::EmailConsultation)?,
        None if needs.email => return Err(PriceSetError::EmailPriceMissing(site_currency)),
        None => {}
    }
    Ok(())
}

/// SP-tariffs: a per-minute tariff an operator imposes on a site follows the same bounds
/// as the experts' prices there.
pub fn check_site_tariff(tariff: Money, site_currency: Currency, limits: &PriceLimits) -> Result<(), PriceSetError> {
    if tariff.currency != site_currency {
        return Err(PriceSetError::WrongCurrency(tariff.currency));
    }
    limits.check(tariff, ServiceType::PerMinute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SiteCode, SiteId};

    const EUR: Currency = Currency::Eur;
    const CHF: Currency = Currency::Chf;

    fn limits(min_per_minute: i64) -> PriceLimits {
        PriceLimits {
            min_per_minute,
            min_package: 1000,
            min_email: 1000,
            max_per_minute: 10_000,
            max_package: 1_000_000,
            max_email: 100_000,
            max_free_minutes: 10,
            max_package_minutes: 180,
        }
    }

    fn site(code: &str, currency: Currency, imposed: Option<i64>) -> Site {
        Site {
            id: SiteId(1),
            code: code.parse::<SiteCode>().unwrap(),
            name: code.into(),
            currency,
            time_zone: chrono_tz::Europe::Zurich,
            default_locale: "fr".into(),
            phone_numbers: vec![],
            tariffs: vec![],
            imposed_per_minute: imposed.map(|m| Money::new(m, currency)),
        }
    }

    fn full(currency: Currency, per_minute: i64) -> PriceSet {
        PriceSet {
            currency,
            per_minute: Some(Money::new(per_minute, currency)),
            package: Some(Package { price: Money::new(4500, currency), minutes: 30 }),
            free_minutes: 3,
            email: Some(Money::new(3000, currency)),
        }
    }

    const OPEN: SiteNeeds = SiteNeeds { imposed: false, email: false };

    #[test]
    fn at_min_prices_reach_the_operators_minimum() {
        let min = Money::new(150, EUR);
        let max = 10_000;
        assert_eq!(check_price(Money::new(150, EUR), min, max), Ok(()));
        assert_eq!(check_price(Money::new(149, EUR), min, max), Err(PriceError::BelowMinimum(150)));
        assert_eq!(check_price(Money::new(500, CHF), min, max), Err(PriceError::WrongCurrency));
        let free = Money::zero(EUR);
        assert_eq!(check_price(Money::zero(EUR), free, max), Err(PriceError::BelowMinimum(1)), "never free");
    }

    #[test]
    fn prices_stay_within_the_operators_maximum() {
        let min = Money::new(150, EUR);
        assert_eq!(check_price(Money::new(10_000, EUR), min, 10_000), Ok(()));
        assert_eq!(check_price(Money::new(10_001, EUR), min, 10_000), Err(PriceError::AboveMaximum(10_000)));
        assert_eq!(check_price(Money::new(i64::MAX, EUR), min, 10_000), Err(PriceError::AboveMaximum(10_000)));
    }

    #[test]
    fn at_min_each_price_of_a_set_is_checked_against_its_sites_minimum_in_its_currency() {
        assert_eq!(check_price_set(&full(CHF, 250), CHF, &limits(200), OPEN), Ok(()));
        assert_eq!(
            check_price_set(&full(CHF, 190), CHF, &limits(200), OPEN),
            Err(PriceSetError::BelowMinimum { service: ServiceType::PerMinute, minimum: Money::new(200, CHF) })
        );
        let mut cheap_email = full(EUR, 250);
        cheap_email.email = Some(Money::new(999, EUR));
        assert_eq!(
            check_price_set(&cheap_email, EUR, &limits(100), OPEN),
            Err(PriceSetError::BelowMinimum {
                service: ServiceType::EmailConsultation,
                minimum: Money::new(1000, EUR)
            })
        );
        let mut dear_package = full(EUR, 250);
        dear_package.package = Some(Package { price: Money::new(1_000_001, EUR), minutes: 30 });
        assert_eq!(
            check_price_set(&dear_package, EUR, &limits(100), OPEN),
            Err(PriceSetError::AboveMaximum { service: ServiceType::Package, maximum: Money::new(1_000_000, EUR) })
        );
        assert_eq!(check_price_set(&full(EUR, 250), CHF, &limits(100), OPEN), Err(PriceSetError::WrongCurrency(EUR)));
    }

    #[test]
    fn ph_package_and_ph_free_stay_within_the_operators_bounds() {
        let mut long = full(EUR, 250);
        long.package = Some(Package { price: Money::new(4500, EUR), minutes: 181 });
        assert_eq!(check_price_set(&long, EUR, &limits(100), OPEN), Err(PriceSetError::PackageMinutes { max: 180 }));
        let mut generous = full(EUR, 250);
        generous.free_minutes = 11;
        assert_eq!(
            check_price_set(&generous, EUR, &limits(100), OPEN),
            Err(PriceSetError::TooManyFreeMinutes { max: 10 })
        );
    }

    #[test]
    fn sp_options_a_site_needs_a_per_minute_price_unless_it_imposes_one_and_an_email_price_for_email() {
        let none = PriceSet { currency: CHF, per_minute: None, package: None, free_minutes: 0, email: None };
        assert_eq!(check_price_set(&none, CHF, &limits(200), OPEN), Err(PriceSetError::PerMinuteMissing(CHF)));
        let imposed = SiteNeeds { imposed: true, email: false };
        assert_eq!(check_price_set(&none, CHF, &limits(200), imposed), Ok(()));
        let email = SiteNeeds { imposed: true, email: true };
        assert_eq!(check_price_set(&none, CHF, &limits(200), email), Err(PriceSetError::EmailPriceMissing(CHF)));
    }

    #[test]
    fn sp_tariffs_the_site_tariff_replaces_the_experts_per_minute_price_and_package_on_that_site_only() {
        let own = [full(EUR, 250), full(CHF, 320)];
        let fr = effective_prices(&own, &site("FR", EUR, None)).unwrap();
        assert_eq!((fr.per_minute, fr.imposed), (Money::new(250, EUR), false));
        assert!(fr.package.is_some());
        let ch = effective_prices(&own, &site("CH", CHF, Some(290))).unwrap();
        assert_eq!((ch.per_minute, ch.imposed, ch.package), (Money::new(290, CHF), true, None));
        assert_eq!((ch.free_minutes, ch.email), (3, Some(Money::new(3000, CHF))), "the expert's own still apply");
        let only_eur = [full(EUR, 250)];
        assert_eq!(effective_prices(&only_eur, &site("CH", CHF, None)), None, "no CHF price: not sold in CH");
        assert_eq!(effective_prices(&only_eur, &site("CH", CHF, Some(290))).unwrap().per_minute, Money::new(290, CHF));
    }

    #[test]
    fn sp_tariffs_a_site_tariff_follows_the_sites_bounds() {
        assert_eq!(check_site_tariff(Money::new(290, CHF), CHF, &limits(200)), Ok(()));
        assert!(matches!(
            check_site_tariff(Money::new(150, CHF), CHF, &limits(200)),
            Err(PriceSetError::BelowMinimum { .. })
        ));
        assert_eq!(check_site_tariff(Money::new(290, EUR), CHF, &limits(200)), Err(PriceSetError::WrongCurrency(EUR)));
    }
}

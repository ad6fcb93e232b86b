//! What an expert offers: consultation modes, specialties, languages, prices.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a consultation happens (SP-options, WG-channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Phone,
    Chat,
    Email,
    Video,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Phone, Mode::Chat, Mode::Email, Mode::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Phone => "phone",
            Mode::Chat => "chat",
            Mode::Email => "email",
            Mode::Video => "video",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| format!("unknown mode {s:?}"))
    }
}

/// The specialties ("univers") an operator starts with (SP-options); the list is data an
/// admin edits, these are only its initial content.
pub const DEFAULT_SPECIALTIES: [&str; 10] = [
    "astrology",
    "cartomancy",
    "clairvoyance",
    "numerology",
    "tarot",
    "magnetism",
    "coaching",
    "dream-interpretation",
    "mediumship",
    "channeling",
];

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
pub fn check_price(price: crate::Money, minimum: crate::Money, maximum: i64) -> Result<(), PriceError> {
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

/// What an expert's profile still lacks to appear in the listing (SP-ranking's home
/// listing and the public profile), in the order the profile form asks for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingGap {
    Headline,
    Specialty,
    Language,
    Price,
}

impl ListingGap {
    pub fn as_str(self) -> &'static str {
        match self {
            ListingGap::Headline => "headline",
            ListingGap::Specialty => "specialty",
            ListingGap::Language => "language",
            ListingGap::Price => "price",
        }
    }
}

/// The profile facts the listing rule reads.
#[derive(Clone, Copy, Debug)]
pub struct ListingFacts<'a> {
    pub headline: &'a str,
    pub specialties: &'a [String],
    pub languages: &'a [String],
    pub price_per_minute: Option<crate::Money>,
}

/// The listing rule, the one place it is written: an expert is listed (on the home page,
/// in the API's directory and with a public profile) once their profile has a headline
/// with something visible, a specialty, a spoken language and a per-minute price. `None`
/// is an expert who never saved a profile: everything is missing. Empty: listed. A photo
/// is not required (cards show an initial until one is approved).
pub fn listing_gaps(profile: Option<ListingFacts<'_>>) -> Vec<ListingGap> {
    let Some(p) = profile else {
        return vec![ListingGap::Headline, ListingGap::Specialty, ListingGap::Language, ListingGap::Price];
    };
    let mut gaps = Vec::new();
    if p.headline.chars().all(crate::text::is_invisible) {
        gaps.push(ListingGap::Headline);
    }
    if p.specialties.iter().all(|s| s.trim().is_empty()) {
        gaps.push(ListingGap::Specialty);
    }
    if p.languages.iter().all(|l| l.trim().is_empty()) {
        gaps.push(ListingGap::Language);
    }
    if p.price_per_minute.is_none_or(|m| m.minor <= 0) {
        gaps.push(ListingGap::Price);
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, Money};

    #[test]
    fn at_min_prices_reach_the_operators_minimum() {
        let min = Money::new(150, Currency::Eur);
        let max = 10_000;
        assert_eq!(check_price(Money::new(150, Currency::Eur), min, max), Ok(()));
        assert_eq!(check_price(Money::new(149, Currency::Eur), min, max), Err(PriceError::BelowMinimum(150)));
        assert_eq!(check_price(Money::new(500, Currency::Chf), min, max), Err(PriceError::WrongCurrency));
        let free = Money::zero(Currency::Eur);
        assert_eq!(check_price(Money::zero(Currency::Eur), free, max), Err(PriceError::BelowMinimum(1)), "never free");
    }

    #[test]
    fn prices_stay_within_the_operators_maximum() {
        let min = Money::new(150, Currency::Eur);
        assert_eq!(check_price(Money::new(10_000, Currency::Eur), min, 10_000), Ok(()));
        assert_eq!(check_price(Money::new(10_001, Currency::Eur), min, 10_000), Err(PriceError::AboveMaximum(10_000)));
        assert_eq!(
            check_price(Money::new(i64::MAX, Currency::Eur), min, 10_000),
            Err(PriceError::AboveMaximum(10_000))
        );
    }

    #[test]
    fn sp_ranking_listing_needs_a_headline_a_specialty_a_language_and_a_price() {
        use ListingGap::*;
        assert_eq!(listing_gaps(None), [Headline, Specialty, Language, Price], "no profile: everything is missing");
        let (specialties, languages) = (vec!["tarot".to_owned()], vec!["fr".to_owned()]);
        let complete = ListingFacts {
            headline: "Tarot de Marseille",
            specialties: &specialties,
            languages: &languages,
            price_per_minute: Some(Money::new(250, Currency::Eur)),
        };
        assert_eq!(listing_gaps(Some(complete)), [], "listed");
        let none: Vec<String> = Vec::new();
        let blank = ListingFacts {
            headline: " \u{200B} ",
            specialties: &none,
            languages: &languages,
            price_per_minute: Some(Money::zero(Currency::Eur)),
        };
        assert_eq!(listing_gaps(Some(blank)), [Headline, Specialty, Price], "a price of 0 is no price");
        let no_language = ListingFacts { languages: &none, price_per_minute: None, ..complete };
        assert_eq!(listing_gaps(Some(no_language)), [Language, Price]);
    }
}

//! What an expert offers: consultation modes, specialties, languages (prices: `pricing`).

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

// The price rules live in `pricing`; these names stay reachable from here.
pub use crate::pricing::{PriceError, ServiceType, check_price};

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
    /// A per-minute price of their own above zero, or a price set where the sites
    /// impose their tariff (SP-tariffs).
    pub has_price: bool,
}

/// The listing rule, the one place it is written: an expert is listed (on the home page,
/// in the API's directory and with a public profile) once their profile has a headline
/// with something visible, a specialty, a spoken language and a price. `None`
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
    if !p.has_price {
        gaps.push(ListingGap::Price);
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_ranking_listing_needs_a_headline_a_specialty_a_language_and_a_price() {
        use ListingGap::*;
        assert_eq!(listing_gaps(None), [Headline, Specialty, Language, Price], "no profile: everything is missing");
        let (specialties, languages) = (vec!["tarot".to_owned()], vec!["fr".to_owned()]);
        let complete = ListingFacts {
            headline: "Tarot de Marseille",
            specialties: &specialties,
            languages: &languages,
            has_price: true,
        };
        assert_eq!(listing_gaps(Some(complete)), [], "listed");
        let none: Vec<String> = Vec::new();
        let blank =
            ListingFacts { headline: " \u{200B} ", specialties: &none, languages: &languages, has_price: false };
        assert_eq!(listing_gaps(Some(blank)), [Headline, Specialty, Price], "no price");
        let no_language = ListingFacts { languages: &none, has_price: false, ..complete };
        assert_eq!(listing_gaps(Some(no_language)), [Language, Price]);
    }
}

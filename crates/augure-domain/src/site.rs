//! Sites are country storefronts: each sells in one currency and lives in one time zone.
//! Their phone numbers and tariffs are data an operator edits, never code.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ids::SiteId;
use crate::money::{Currency, Money};

/// A storefront's short code, two or three ASCII letters, upper case (`FR`, `CH`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a site code is 2 or 3 letters, got {0:?}")]
pub struct InvalidSiteCode(pub String);

impl SiteCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SiteCode {
    type Err = InvalidSiteCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(SiteCode(s.to_ascii_uppercase()))
        } else {
            Err(InvalidSiteCode(s.to_owned()))
        }
    }
}

impl TryFrom<String> for SiteCode {
    type Error = InvalidSiteCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SiteCode> for String {
    fn from(c: SiteCode) -> String {
        c.0
    }
}

impl fmt::Display for SiteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A price list entry shown to clients (SP-tariffs): e.g. a premium-rate number's price
/// per minute, or a per-call fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// Stable key, e.g. `audiotel` or `prepaid`.
    pub code: String,
    /// What clients read, in the site's language.
    pub label: String,
    /// The number this tariff applies to, if any (E.164).
    pub phone_number: Option<String>,
    pub per_minute: Option<Money>,
    pub per_call: Option<Money>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub id: SiteId,
    pub code: SiteCode,
    pub name: String,
    pub currency: Currency,
    pub time_zone: Tz,
    /// Locale used when a visitor expresses no preference (`fr`, `it`, `en`).
    pub default_locale: String,
    /// Numbers clients dial, E.164.
    pub phone_numbers: Vec<String>,
    pub tariffs: Vec<Tariff>,
    /// SP-tariffs: a per-minute price the operator imposes on every expert listed here,
    /// in the site's currency; `None` lets each expert set their own.
    pub imposed_per_minute: Option<Money>,
}

/// A site before it has an id: what an operator or the demo seeds create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSite {
    pub code: SiteCode,
    pub name: String,
    pub currency: Currency,
    pub time_zone: Tz,
    pub default_locale: String,
    pub phone_numbers: Vec<String>,
    pub tariffs: Vec<Tariff>,
    pub imposed_per_minute: Option<Money>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_codes_are_normalized_and_checked() {
        assert_eq!("ch".parse::<SiteCode>().unwrap().as_str(), "CH");
        for bad in ["", "F", "FRAN", "F1", "é"] {
            assert!(bad.parse::<SiteCode>().is_err(), "{bad:?} accepted");
        }
    }
}

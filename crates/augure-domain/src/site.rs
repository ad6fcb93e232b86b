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

/// The longest label a site tariff may have ("Numéro 0901 : 2,90 CHF/min").
pub const TARIFF_LABEL_MAX: usize = 80;

/// Why one of a site's tariffs, as an operator typed it, cannot be saved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TariffRowProblem {
    #[error("a label is needed")]
    NoLabel,
    #[error("the label is longer than {TARIFF_LABEL_MAX} characters")]
    LabelTooLong,
    #[error(transparent)]
    Label(#[from] crate::TextError),
    /// The number as typed.
    #[error("not a phone number: {0:?}")]
    Phone(String),
    #[error("not an amount")]
    NotAnAmount,
    #[error("a price per minute or per call is needed")]
    NoPrice,
    #[error("above {} minor units", .0.minor)]
    AboveMaximum(Money),
}

/// SP-tariffs: a tariff's label and prices. A tariff says what a client pays on a number:
/// at least one positive price, each at most `max` (the operator's bound against typos).
pub fn check_tariff(t: &Tariff, max_per_minute: i64, max_per_call: i64) -> Result<(), TariffRowProblem> {
    let label = t.label.trim();
    if label.is_empty() {
        return Err(TariffRowProblem::NoLabel);
    }
    if label.chars().count() > TARIFF_LABEL_MAX {
        return Err(TariffRowProblem::LabelTooLong);
    }
    crate::check_line(label)?;
    if t.per_minute.is_none() && t.per_call.is_none() {
        return Err(TariffRowProblem::NoPrice);
    }
    for (price, max) in [(t.per_minute, max_per_minute), (t.per_call, max_per_call)] {
        if let Some(price) = price {
            if price.minor <= 0 {
                return Err(TariffRowProblem::NotAnAmount);
            }
            if price.minor > max {
                return Err(TariffRowProblem::AboveMaximum(Money::new(max, price.currency)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tariff_tests {
    use super::*;
    use crate::Currency;

    fn tariff(label: &str, per_minute: Option<i64>, per_call: Option<i64>) -> Tariff {
        Tariff {
            code: "t1".into(),
            label: label.into(),
            phone_number: None,
            per_minute: per_minute.map(|m| Money::new(m, Currency::Chf)),
            per_call: per_call.map(|m| Money::new(m, Currency::Chf)),
        }
    }

    #[test]
    fn sp_tariffs_a_tariff_has_a_label_and_a_bounded_price() {
        assert_eq!(check_tariff(&tariff("0901 : 2,90 CHF/min", Some(290), None), 1000, 5000), Ok(()));
        assert_eq!(check_tariff(&tariff("Forfait", None, Some(1500)), 1000, 5000), Ok(()));
        assert_eq!(check_tariff(&tariff("  ", Some(290), None), 1000, 5000), Err(TariffRowProblem::NoLabel));
        assert_eq!(check_tariff(&tariff("x", None, None), 1000, 5000), Err(TariffRowProblem::NoPrice));
        assert_eq!(check_tariff(&tariff("x", Some(0), None), 1000, 5000), Err(TariffRowProblem::NotAnAmount));
        assert_eq!(
            check_tariff(&tariff("x", Some(1001), None), 1000, 5000),
            Err(TariffRowProblem::AboveMaximum(Money::new(1000, Currency::Chf)))
        );
        assert_eq!(
            check_tariff(&tariff(&"a".repeat(81), Some(1), None), 1000, 5000),
            Err(TariffRowProblem::LabelTooLong)
        );
        assert!(matches!(check_tariff(&tariff("a\u{0}b", Some(1), None), 1000, 5000), Err(TariffRowProblem::Label(_))));
    }
}

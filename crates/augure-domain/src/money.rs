//! Money is an integer count of a currency's minor unit (cents, centimes). No floats.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The currencies a site can sell in. Each knows its ISO 4217 code and minor-unit exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Eur,
    Chf,
    Cad,
    Usd,
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 5] = [Currency::Eur, Currency::Chf, Currency::Cad, Currency::Usd, Currency::Gbp];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Chf => "CHF",
            Currency::Cad => "CAD",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
        }
    }

    /// Number of decimal places of the minor unit.
    pub fn exponent(self) -> u32 {
        2
    }

    /// Symbol used when formatting an amount for people.
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Eur => "€",
            Currency::Chf => "CHF",
            Currency::Cad => "$ CA",
            Currency::Usd => "$ US",
            Currency::Gbp => "£",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("cannot combine {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("not an amount: {0:?}")]
    Malformed(String),
}

/// An amount in minor units of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self × numerator ÷ denominator`, rounded half away from zero, computed exactly in
    /// 128 bits. The building block for per-second charges and commission rates.
    pub fn mul_ratio_half_up(self, numerator: i64, denominator: i64) -> Result<Money, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::Overflow);
        }
        let product = i128::from(self.minor) * i128::from(numerator);
        let den = i128::from(denominator);
        let (q, r) = (product / den, product % den);
        // Round half away from zero: compare twice the remainder with the divisor.
        let rounded = if 2 * r.abs() >= den.abs() { if (product < 0) != (den < 0) { q - 1 } else { q + 1 } } else { q };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Parses a decimal amount in major units as people type it: `12`, `12.5`, `12,50`.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_owned());
        let trimmed = text.trim();
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let normalized = digits.replace(',', ".");
        let (whole, frac, has_point) = match normalized.split_once('.') {
            Some((whole, frac)) => (whole, frac, true),
            None => (normalized.as_str(), "", false),
        };
        let exp = currency.exponent() as usize;
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > exp
            || (has_point && frac.is_empty())
        {
            return Err(malformed());
        }
        let scale = 10_i64.pow(exp as u32);
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let frac_value: i64 =
            if frac.is_empty() { 0 } else { format!("{frac:0<exp$}").parse().map_err(|_| malformed())? };
        let minor = whole.checked_mul(scale).and_then(|v| v.checked_add(frac_value)).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }

    /// The plain decimal `parse_major` reads back, e.g. `1234.50`: for forms, not people.
    pub fn to_major(self) -> String {
        let exp = self.currency.exponent();
        let scale = 10_u64.pow(exp);
        let abs = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = exp as usize)
    }

    /// Formats for people in a locale's conventions: `12,50 €` (fr, it), `€12.50` (en).
    pub fn format(self, locale: &str) -> String {
        let exp = self.currency.exponent();
        let scale = 10_u64.pow(exp);
        let abs = self.minor.unsigned_abs();
        let (whole, frac) = (abs / scale, abs % scale);
        let sign = if self.minor < 0 { "-" } else { "" };
        let english = locale.starts_with("en");
        let (group, decimal) = if english { (',', '.') } else { ('\u{202f}', ',') };
        let whole = group_thousands(whole, group);
        let number = format!("{whole}{decimal}{frac:0width$}", width = exp as usize);
        if english {
            match self.currency {
                Currency::Eur | Currency::Gbp => format!("{sign}{}{number}", self.currency.symbol()),
                _ => format!("{sign}{number} {}", self.currency.symbol()),
            }
        } else {
            format!("{sign}{number}\u{a0}{}", self.currency.symbol())
        }
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

fn group_thousands(value: u64, separator: char) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const EUR: Currency = Currency::Eur;

    #[test]
    fn adding_different_currencies_is_refused() {
        let err = Money::new(100, EUR).checked_add(Money::new(100, Currency::Chf));
        assert_eq!(err, Err(MoneyError::CurrencyMismatch(EUR, Currency::Chf)));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(Money::new(i64::MAX, EUR).checked_add(Money::new(1, EUR)), Err(MoneyError::Overflow));
    }

    #[test]
    fn rounding_is_half_up_on_the_exact_total() {
        // 2.99 €/min for 61 s = 303.98... → 304 cents.
        assert_eq!(Money::new(299, EUR).mul_ratio_half_up(61, 60).unwrap().minor, 304);
        // 1 cent × 1/2 = 0.5 → 1 (half rounds up), −0.5 → −1 (away from zero).
        assert_eq!(Money::new(1, EUR).mul_ratio_half_up(1, 2).unwrap().minor, 1);
        assert_eq!(Money::new(-1, EUR).mul_ratio_half_up(1, 2).unwrap().minor, -1);
        assert_eq!(Money::new(1, EUR).mul_ratio_half_up(1, 3).unwrap().minor, 0);
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Money::parse_major("12", EUR).unwrap().minor, 1200);
        assert_eq!(Money::parse_major("12,5", EUR).unwrap().minor, 1250);
        assert_eq!(Money::parse_major(" 0.07 ", EUR).unwrap().minor, 7);
        assert_eq!(Money::parse_major("-3.10", EUR).unwrap().minor, -310);
        for bad in ["", "1.234", "abc", "1e3", "12.", ".5", "1.-5", "99999999999999999999"] {
            assert!(Money::parse_major(bad, EUR).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn formats_per_locale() {
        assert_eq!(Money::new(123_456, EUR).format("fr"), "1\u{202f}234,56\u{a0}€");
        assert_eq!(Money::new(123_456, EUR).format("en"), "€1,234.56");
        assert_eq!(Money::new(-5, Currency::Chf).format("it"), "-0,05\u{a0}CHF");
        assert_eq!(Money::new(990, Currency::Cad).format("en"), "9.90 $ CA");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in -1_000_000_000_i64..1_000_000_000) {
            let m = Money::new(minor, EUR);
            let typed = m.format("en").replace(['€', ','], "");
            prop_assert_eq!(Money::parse_major(&typed, EUR).unwrap(), m);
        }

        #[test]
        fn to_major_then_parse_round_trips(minor in -1_000_000_000_000_i64..1_000_000_000_000) {
            let m = Money::new(minor, EUR);
            prop_assert_eq!(Money::parse_major(&m.to_major(), EUR).unwrap(), m);
        }

        #[test]
        fn ratio_of_one_is_identity(minor in any::<i64>(), k in 1_i64..1000) {
            prop_assert_eq!(Money::new(minor, EUR).mul_ratio_half_up(k, k).unwrap().minor, minor);
        }
    }
}

//! Prepaid credit rules.

use crate::{Currency, Money};

/// Why the terms typed for a credit pack were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackTermsError {
    #[error("not an amount")]
    Malformed,
    #[error("a pack costs something and its bonus is not negative")]
    OutOfRange,
}

/// A credit pack's terms as an admin types them, in major units of the site's currency
/// (a blank bonus is none): a price above zero and a bonus that is not negative.
pub fn pack_terms(price: &str, bonus: &str, currency: Currency) -> Result<(Money, Money), PackTermsError> {
    let bonus = if bonus.trim().is_empty() { "0" } else { bonus };
    let price = Money::parse_major(price, currency).map_err(|_| PackTermsError::Malformed)?;
    let bonus = Money::parse_major(bonus, currency).map_err(|_| PackTermsError::Malformed)?;
    if price.minor <= 0 || bonus.minor < 0 {
        return Err(PackTermsError::OutOfRange);
    }
    Ok((price, bonus))
}

/// What can still be refunded on a paid purchase: what was paid and not yet refunded, and
/// never more than the client has left unspent (spent credit has bought consultations).
pub fn refundable(paid: i64, already_refunded: i64, unspent: i64) -> i64 {
    (paid - already_refunded).min(unspent).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unspent_and_unrefunded_credit_is_refundable() {
        assert_eq!(refundable(2000, 0, 2200), 2000, "bonus credit is not paid money");
        assert_eq!(refundable(2000, 500, 2200), 1500);
        assert_eq!(refundable(2000, 0, 300), 300, "what was spent stays spent");
        assert_eq!(refundable(2000, 2000, 900), 0);
        assert_eq!(refundable(2000, 0, -50), 0, "a held balance never makes it negative");
    }

    #[test]
    fn a_pack_costs_something_and_its_bonus_is_not_negative() {
        let eur = Currency::Eur;
        assert_eq!(pack_terms("20", "", eur), Ok((Money::new(2000, eur), Money::zero(eur))), "a blank bonus is none");
        assert_eq!(pack_terms("20,50", "2", eur), Ok((Money::new(2050, eur), Money::new(200, eur))));
        assert_eq!(pack_terms("0", "", eur), Err(PackTermsError::OutOfRange));
        assert_eq!(pack_terms("-5", "", eur), Err(PackTermsError::OutOfRange));
        assert_eq!(pack_terms("20", "-1", eur), Err(PackTermsError::OutOfRange));
        assert_eq!(pack_terms("twenty", "", eur), Err(PackTermsError::Malformed));
        assert_eq!(pack_terms("20", "x", eur), Err(PackTermsError::Malformed));
    }
}

//! Prepaid credit rules.

use crate::{Currency, Money};

/// Why the terms typed for a credit pack were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PackTermsError {
    #[error("not an amount")]
    Malformed,
    #[error("a pack costs something and its bonus is not negative")]
    OutOfRange,
    #[error("a pack costs at most {0:?}")]
    PriceAboveMaximum(Money),
    #[error("a pack's bonus is at most {0:?}")]
    BonusAboveMaximum(Money),
}

/// The most a pack may cost and give as a bonus, in minor units of its currency
/// (settings `pricing.max_pack_price`, `pricing.max_pack_bonus`). One mistyped pack
/// must not be able to sell an amount that strains the ledger's shared accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackLimits {
    pub max_price: i64,
    pub max_bonus: i64,
}

/// A credit pack's terms as an admin types them, in major units of the site's currency
/// (a blank bonus is none): a price above zero and a bonus that is not negative, both
/// within `limits`.
pub fn pack_terms(
    price: &str,
    bonus: &str,
    currency: Currency,
    limits: PackLimits,
) -> Result<(Money, Money), PackTermsError> {
    let bonus = if bonus.trim().is_empty() { "0" } else { bonus };
    let price = Money::parse_major(price, currency).map_err(|_| PackTermsError::Malformed)?;
    let bonus = Money::parse_major(bonus, currency).map_err(|_| PackTermsError::Malformed)?;
    if price.minor <= 0 || bonus.minor < 0 {
        return Err(PackTermsError::OutOfRange);
    }
    if price.minor > limits.max_price {
        return Err(PackTermsError::PriceAboveMaximum(Money::new(limits.max_price, currency)));
    }
    if bonus.minor > limits.max_bonus {
        return Err(PackTermsError::BonusAboveMaximum(Money::new(limits.max_bonus, currency)));
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
        let terms = |price, bonus| pack_terms(price, bonus, eur, LIMITS);
        assert_eq!(terms("20", ""), Ok((Money::new(2000, eur), Money::zero(eur))), "a blank bonus is none");
        assert_eq!(terms("20,50", "2"), Ok((Money::new(2050, eur), Money::new(200, eur))));
        assert_eq!(terms("0", ""), Err(PackTermsError::OutOfRange));
        assert_eq!(terms("-5", ""), Err(PackTermsError::OutOfRange));
        assert_eq!(terms("20", "-1"), Err(PackTermsError::OutOfRange));
        assert_eq!(terms("twenty", ""), Err(PackTermsError::Malformed));
        assert_eq!(terms("20", "x"), Err(PackTermsError::Malformed));
    }

    const LIMITS: PackLimits = PackLimits { max_price: 1_000_000, max_bonus: 500_000 };

    #[test]
    fn a_pack_price_and_bonus_stay_within_the_limits() {
        let cad = Currency::Cad;
        let terms = |price, bonus| pack_terms(price, bonus, cad, LIMITS);
        assert_eq!(terms("10000", "5000"), Ok((Money::new(1_000_000, cad), Money::new(500_000, cad))), "the bounds");
        assert_eq!(terms("10000.01", ""), Err(PackTermsError::PriceAboveMaximum(Money::new(1_000_000, cad))));
        assert_eq!(
            terms("92233720368547758.07", ""),
            Err(PackTermsError::PriceAboveMaximum(Money::new(1_000_000, cad))),
            "the pack that wedged a currency"
        );
        assert_eq!(terms("20", "5000.01"), Err(PackTermsError::BonusAboveMaximum(Money::new(500_000, cad))));
    }
}

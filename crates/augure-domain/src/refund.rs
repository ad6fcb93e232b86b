//! What a refund takes back besides the money paid, and how money the provider takes
//! back on its own splits between unspent credit and debt.

/// The part of a purchase's bonus that refunding `amount` takes back, when `refunded_before`
/// of its `price` was refunded already and the client has `unspent` credit.
///
/// The bonus goes back in proportion to the price refunded. Rounding: the bonus due for a
/// refunded total `r` is `⌊r × bonus / price⌋`, and a refund takes the difference between
/// the totals after and before it. Each refund is thus rounded down (in the client's
/// favour), partial refunds never add up to more than the bonus, and refunding the whole
/// price takes back exactly the whole bonus. It comes out of what is left once `amount`
/// itself is taken: never more than that.
pub fn bonus_taken_back(price: i64, bonus: i64, refunded_before: i64, amount: i64, unspent: i64) -> i64 {
    if price <= 0 || bonus <= 0 || amount <= 0 {
        return 0;
    }
    let due = |refunded: i64| {
        let refunded = i128::from(refunded.clamp(0, price));
        // At most `bonus`, since refunded ≤ price: the cast back cannot truncate.
        (refunded * i128::from(bonus) / i128::from(price)) as i64
    };
    let owed = due(refunded_before.saturating_add(amount)) - due(refunded_before);
    owed.min(unspent.saturating_sub(amount)).max(0)
}

/// How `amount` taken back by the provider splits: what comes out of the client's
/// unspent credit, and the rest (already spent) that the client now owes.
pub fn take_back(amount: i64, unspent: i64) -> (i64, i64) {
    let amount = amount.max(0);
    let taken = amount.min(unspent.max(0));
    (taken, amount - taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_refund_takes_the_whole_bonus_back() {
        assert_eq!(bonus_taken_back(2000, 200, 0, 2000, 2200), 200);
    }

    #[test]
    fn the_bonus_goes_back_in_proportion_rounded_down() {
        assert_eq!(bonus_taken_back(2000, 200, 0, 500, 2200), 50);
        // 1/3 of 1 € of bonus is 0,333… €: 0,33 € goes back.
        assert_eq!(bonus_taken_back(3000, 100, 0, 1000, 3100), 33);
    }

    #[test]
    fn partial_refunds_add_up_to_the_bonus_exactly() {
        // Three thirds: 33 + 33 + 34, never 99 nor 102.
        let mut before = 0;
        let mut taken = 0;
        for _ in 0..3 {
            taken += bonus_taken_back(3000, 100, before, 1000, 10_000);
            before += 1000;
        }
        assert_eq!(taken, 100);
        // Halves of an odd bonus: 0 + 1, not 1 + 1.
        assert_eq!(bonus_taken_back(2, 1, 0, 1, 10) + bonus_taken_back(2, 1, 1, 1, 10), 1);
    }

    #[test]
    fn the_bonus_comes_out_of_what_is_left_only() {
        // 20 € refunded of 20,50 € unspent: 0,50 € of the 2 € bonus is left to take.
        assert_eq!(bonus_taken_back(2000, 200, 0, 2000, 2050), 50);
        assert_eq!(bonus_taken_back(2000, 200, 0, 2000, 2000), 0);
        assert_eq!(bonus_taken_back(2000, 200, 0, 2000, 1000), 0);
    }

    #[test]
    fn no_bonus_no_price_nothing_taken() {
        assert_eq!(bonus_taken_back(2000, 0, 0, 2000, 2000), 0);
        assert_eq!(bonus_taken_back(0, 200, 0, 2000, 2000), 0);
        assert_eq!(bonus_taken_back(i64::MAX, i64::MAX, 0, i64::MAX, i64::MAX), 0);
        assert_eq!(bonus_taken_back(i64::MAX, i64::MAX, i64::MAX - 1, 1, i64::MAX), 1);
    }

    #[test]
    fn what_was_spent_becomes_debt() {
        assert_eq!(take_back(2000, 2500), (2000, 0));
        assert_eq!(take_back(2000, 500), (500, 1500));
        assert_eq!(take_back(2000, -10), (0, 2000));
    }
}

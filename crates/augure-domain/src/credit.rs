//! Prepaid credit rules.

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
}

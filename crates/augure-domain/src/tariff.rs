//! What a live consultation costs (SPEC §3): the only place money is computed for one.
//! Billable time counts in whole seconds; free first minutes (PH-free) are consumed first;
//! a package (PH-package) covers its duration for its price and later seconds overflow to
//! the per-minute price (WG-rate); every charge is computed on the total, P × N ÷ 60
//! rounded half-up to the minor unit, never summed from rounded slices; the commission
//! (PH-commission, AT-split) is the charge × rate rounded half-up, and the expert's share
//! is the rest, so the parts always add up to the charge.

use crate::money::Money;
use crate::pricing::{Package, SitePrices};

/// How the client chose to pay when starting (PH-package: the client chooses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// By the minute; `first_with_expert` is whether this is the client's first
    /// consultation with this expert, the only one free minutes apply to (PH-free).
    PerMinute { first_with_expert: bool },
    /// The expert's package, held whole at the start.
    Package,
}

/// The operator's settings the arithmetic needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TariffRules {
    /// PH-package: a package consultation shorter than this is a network problem and
    /// costs nothing (default 120 s).
    pub very_short_seconds: u64,
}

impl Default for TariffRules {
    fn default() -> Self {
        Self { very_short_seconds: 120 }
    }
}

/// The cost of a consultation's first `seconds` billable seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub billable_seconds: u64,
    /// Of those, the seconds given free (PH-free).
    pub free_seconds: u64,
    /// Of those, the seconds the package covers.
    pub package_seconds: u64,
    pub charge: Money,
}

/// Why a consultation cannot be priced with these prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("the expert sells no package")]
    NoPackage,
}

/// P × N ÷ 60, rounded half-up to the minor unit (P per minute, N seconds).
pub fn per_minute_charge(per_minute: Money, seconds: u64) -> Money {
    let minor = (i128::from(per_minute.minor) * i128::from(seconds) + 30).div_euclid(60);
    Money::new(saturate(minor), per_minute.currency)
}

fn saturate(minor: i128) -> i64 {
    i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX })
}

/// The free seconds this plan gives: the expert's free minutes on the client's first
/// consultation with them, by the minute; none otherwise.
pub fn free_seconds(prices: &SitePrices, plan: Plan) -> u64 {
    match plan {
        Plan::PerMinute { first_with_expert: true } => u64::from(prices.free_minutes) * 60,
        _ => 0,
    }
}

fn package_of(prices: &SitePrices, plan: Plan) -> Result<Option<Package>, TariffError> {
    match plan {
        Plan::PerMinute { .. } => Ok(None),
        Plan::Package => prices.package.map(Some).ok_or(TariffError::NoPackage),
    }
}

/// What the first `seconds` billable seconds cost with `prices` under `plan`.
pub fn charge(prices: &SitePrices, plan: Plan, seconds: u64, rules: &TariffRules) -> Result<Charge, TariffError> {
    let currency = prices.per_minute.currency;
    if let Some(package) = package_of(prices, plan)? {
        let covered = u64::from(package.minutes) * 60;
        if seconds < rules.very_short_seconds.min(covered.max(1)) {
            return Ok(Charge {
                billable_seconds: seconds,
                free_seconds: 0,
                package_seconds: seconds,
                charge: Money::new(0, currency),
            });
        }
        let overflow = seconds.saturating_sub(covered);
        let minor = i128::from(package.price.minor) + i128::from(per_minute_charge(prices.per_minute, overflow).minor);
        return Ok(Charge {
            billable_seconds: seconds,
            free_seconds: 0,
            package_seconds: seconds.min(covered),
            charge: Money::new(saturate(minor), currency),
        });
    }
    let free = free_seconds(prices, plan).min(seconds);
    Ok(Charge {
        billable_seconds: seconds,
        free_seconds: free,
        package_seconds: 0,
        charge: per_minute_charge(prices.per_minute, seconds - free),
    })
}

/// What a client must hold to start: the full package price (PH-package), else nothing
/// beyond the first slice the engine reserves.
pub fn needed_to_start(prices: &SitePrices, plan: Plan) -> Result<Money, TariffError> {
    Ok(match package_of(prices, plan)? {
        Some(package) => package.price,
        None => Money::new(0, prices.per_minute.currency),
    })
}

/// The largest number of seconds whose charge is at most `credit` (the inverse of
/// [`charge`]); `u64::MAX` when every second is free of charge. With a package, a credit
/// below its price affords nothing.
pub fn affordable_seconds(prices: &SitePrices, plan: Plan, credit: Money) -> Result<u64, TariffError> {
    let credit = credit.minor.max(0);
    if let Some(package) = package_of(prices, plan)? {
        if credit < package.price.minor {
            // Not enough to start; only a very short (free) consultation fits.
            return Ok(0);
        }
        // The package's price pays its whole span; what is left buys per-minute overflow.
        let covered = u64::from(package.minutes) * 60;
        let beyond = per_minute_affordable(prices.per_minute.minor, credit - package.price.minor);
        return Ok(covered.saturating_add(beyond));
    }
    let free = free_seconds(prices, plan);
    Ok(free.saturating_add(per_minute_affordable(prices.per_minute.minor, credit)))
}

/// The largest n with round_half_up(n × p ÷ 60) ≤ c: n × p + 30 < 60 (c + 1), so
/// n = ⌊(60 c + 29) ÷ p⌋.
fn per_minute_affordable(per_minute: i64, credit: i64) -> u64 {
    if per_minute <= 0 {
        return u64::MAX;
    }
    let n = (i128::from(credit) * 60 + 29) / i128::from(per_minute);
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A commission rate in basis points (30 % = 3000), as settings and admins give it; at
/// most 100 %.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Rate(u32);

impl TryFrom<u32> for Rate {
    type Error = String;
    fn try_from(bp: u32) -> Result<Self, Self::Error> {
        Rate::from_basis_points(bp).ok_or_else(|| format!("a rate is at most 10000 basis points (100 %), not {bp}"))
    }
}

impl From<Rate> for u32 {
    fn from(rate: Rate) -> u32 {
        rate.0
    }
}

impl Rate {
    /// At most 100 %.
    pub fn from_basis_points(bp: u32) -> Option<Rate> {
        (bp <= 10_000).then_some(Rate(bp))
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    /// Reads a percentage as an admin types it: `25`, `12,5`, `12.25 %`; at most two
    /// decimals (a basis point) and at most 100.
    pub fn parse_percent(text: &str) -> Option<Rate> {
        let number = text.trim().trim_end_matches('%').trim_end();
        let (whole, frac) = number.split_once([',', '.']).unwrap_or((number, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !digits(whole) || !digits(frac) {
            return None;
        }
        if number.len() > whole.len() && frac.is_empty() {
            return None;
        }
        let whole: u32 = whole.parse().ok()?;
        let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
        Rate::from_basis_points(whole * 100 + frac)
    }

    /// The plain number [`Rate::parse_percent`] reads back, for forms: `30`, `12.5`.
    pub fn to_percent(self) -> String {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }

    /// For people: `30 %`, `12,5 %` (fr, with a narrow no-break space), `30%` (en, it).
    pub fn format(self, locale: &str) -> String {
        let plain = self.to_percent();
        if locale.starts_with("en") {
            format!("{plain}%")
        } else if locale.starts_with("it") {
            format!("{}%", plain.replace('.', ","))
        } else {
            format!("{}\u{202f}%", plain.replace('.', ","))
        }
    }
}

/// A settled charge split between the platform and the expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub commission: Money,
    /// The expert's share: the charge minus the commission.
    pub earnings: Money,
}

/// PH-commission / AT-split: the commission is charge × rate rounded half-up, the expert
/// keeps the rest.
pub fn split(charge: Money, rate: Rate) -> Split {
    let commission = (i128::from(charge.minor) * i128::from(rate.0) + 5_000).div_euclid(10_000);
    let commission = saturate(commission);
    Split {
        commission: Money::new(commission, charge.currency),
        earnings: Money::new(charge.minor - commission, charge.currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    const EUR: Currency = Currency::Eur;

    fn prices(per_minute: i64, free_minutes: u32, package: Option<(i64, u32)>) -> SitePrices {
        SitePrices {
            per_minute: Money::new(per_minute, EUR),
            package: package.map(|(price, minutes)| Package { price: Money::new(price, EUR), minutes }),
            free_minutes,
            email: None,
            imposed: false,
        }
    }

    const FIRST: Plan = Plan::PerMinute { first_with_expert: true };
    const AGAIN: Plan = Plan::PerMinute { first_with_expert: false };

    fn cost(p: &SitePrices, plan: Plan, seconds: u64) -> i64 {
        charge(p, plan, seconds, &TariffRules::default()).unwrap().charge.minor
    }

    #[test]
    fn wg_rate_per_minute_charges_round_half_up_on_the_total() {
        let p = prices(155, 0, None);
        assert_eq!(cost(&p, AGAIN, 60), 155);
        // 1,55 € × 10 s ÷ 60 = 25,83… cents → 26.
        assert_eq!(cost(&p, AGAIN, 10), 26);
        // Exactly half a cent rounds up: 3 cents/min × 10 s = 0,5 cent → 1.
        assert_eq!(cost(&prices(3, 0, None), AGAIN, 10), 1);
        // Six slices of 10 s, each rounded, would make 156; the total is 155.
        assert_eq!(cost(&p, AGAIN, 60), 155);
        assert_ne!(6 * cost(&p, AGAIN, 10), cost(&p, AGAIN, 60));
    }

    #[test]
    fn ph_free_free_minutes_apply_to_the_first_consultation_only() {
        let p = prices(300, 5, None);
        let first = charge(&p, FIRST, 10 * 60, &TariffRules::default()).unwrap();
        assert_eq!((first.free_seconds, first.charge.minor), (300, 1500), "5 of 10 minutes free");
        assert_eq!(cost(&p, AGAIN, 10 * 60), 3000, "not on the next one");
        let short = charge(&p, FIRST, 120, &TariffRules::default()).unwrap();
        assert_eq!((short.free_seconds, short.charge.minor), (120, 0), "the unused rest is lost");
    }

    #[test]
    fn ph_package_short_normal_and_overflow() {
        let p = prices(300, 5, Some((4500, 30)));
        assert_eq!(cost(&p, Plan::Package, 90), 0, "very short: a network problem");
        assert_eq!(cost(&p, Plan::Package, 120), 4500, "shorter than the package still pays it");
        assert_eq!(cost(&p, Plan::Package, 30 * 60), 4500);
        assert_eq!(cost(&p, Plan::Package, 31 * 60), 4800, "overflow at the per-minute price, no free minutes");
        assert_eq!(needed_to_start(&p, Plan::Package).unwrap().minor, 4500);
        assert_eq!(
            charge(&prices(300, 0, None), Plan::Package, 60, &TariffRules::default()),
            Err(TariffError::NoPackage)
        );
    }

    #[test]
    fn ph_commission_splits_a_charge_into_parts_that_add_up() {
        let thirty = Rate::from_basis_points(3000).unwrap();
        let s = split(Money::new(775, EUR), thirty);
        // 7,75 € × 30 % = 2,325 → 2,33 €.
        assert_eq!((s.commission.minor, s.earnings.minor), (233, 542));
        let ten = Rate::from_basis_points(1000).unwrap();
        assert_eq!(split(Money::new(4500, EUR), ten).earnings.minor, 4050, "AT-split");
        assert_eq!(Rate::from_basis_points(10_001), None);
    }

    #[test]
    fn ph_commission_rates_read_and_print_as_percentages() {
        let bp = |t: &str| Rate::parse_percent(t).map(Rate::basis_points);
        assert_eq!(bp("25"), Some(2500));
        assert_eq!(bp(" 12,5 % "), Some(1250));
        assert_eq!(bp("12.25%"), Some(1225));
        assert_eq!(bp("100"), Some(10_000));
        assert_eq!(bp("0"), Some(0));
        for refused in ["", "%", "100.01", "101", "-5", "12.345", "12.", ".5", "1e2", "abc", "1 000"] {
            assert_eq!(bp(refused), None, "{refused:?}");
        }
        let rate = Rate::from_basis_points(1250).unwrap();
        assert_eq!(
            (rate.format("fr"), rate.format("en"), rate.format("it")),
            ("12,5\u{202f}%".into(), "12.5%".into(), "12,5%".into())
        );
        assert_eq!(Rate::from_basis_points(3000).unwrap().to_percent(), "30");
        assert_eq!(Rate::from_basis_points(1205).unwrap().to_percent(), "12.05");
    }

    #[test]
    fn the_quote_of_the_issue_reads_as_the_tariff_computes_it() {
        // 10 minutes at 1,55 €/min with 5 free minutes: 7,75 €.
        let p = prices(155, 5, None);
        let c = charge(&p, FIRST, 600, &TariffRules::default()).unwrap();
        assert_eq!((c.billable_seconds, c.free_seconds, c.charge.minor), (600, 300, 775));
        assert_eq!(affordable_seconds(&p, FIRST, Money::new(775, EUR)).unwrap(), 600);
    }

    fn any_prices() -> impl Strategy<Value = SitePrices> {
        (1i64..100_000, 0u32..10, proptest::option::of((1i64..1_000_000, 1u32..180)))
            .prop_map(|(p, f, k)| prices(p, f, k))
    }

    fn any_plan() -> impl Strategy<Value = Plan> {
        prop_oneof![Just(FIRST), Just(AGAIN), Just(Plan::Package)]
    }

    proptest! {
        #[test]
        fn charges_never_decrease_with_time(p in any_prices(), plan in any_plan(), n in 0u64..100_000, more in 0u64..10_000) {
            let rules = TariffRules::default();
            if let (Ok(a), Ok(b)) = (charge(&p, plan, n, &rules), charge(&p, plan, n + more, &rules)) {
                prop_assert!(a.charge.minor <= b.charge.minor);
            }
        }

        #[test]
        fn affordable_seconds_is_the_largest_affordable_duration(p in any_prices(), plan in any_plan(), credit in 0i64..2_000_000) {
            let rules = TariffRules::default();
            let Ok(n) = affordable_seconds(&p, plan, Money::new(credit, EUR)) else { return Ok(()) };
            let cost = |s| charge(&p, plan, s, &rules).unwrap().charge.minor;
            if plan == Plan::Package && credit < p.package.unwrap().price.minor {
                // A package needs its whole price to start.
                prop_assert_eq!(n, 0);
            } else {
                prop_assert!(cost(n) <= credit, "{n} s cost {} > {credit}", cost(n));
                prop_assert!(cost(n + 1) > credit, "{} s cost {} ≤ {credit}", n + 1, cost(n + 1));
            }
        }

        #[test]
        fn a_rate_reads_back_what_it_prints(bp in 0u32..=10_000) {
            let rate = Rate::from_basis_points(bp).unwrap();
            prop_assert_eq!(Rate::parse_percent(&rate.to_percent()), Some(rate));
            prop_assert_eq!(Rate::parse_percent(&rate.format("fr")), Some(rate));
        }

        #[test]
        fn commission_and_earnings_add_up_to_the_charge(minor in 0i64..1_000_000_000, bp in 0u32..=10_000) {
            let s = split(Money::new(minor, EUR), Rate::from_basis_points(bp).unwrap());
            prop_assert_eq!(s.commission.minor + s.earnings.minor, minor);
            prop_assert!(s.commission.minor >= 0 && s.earnings.minor >= 0);
        }

        #[test]
        fn a_charge_is_within_half_a_minor_unit_of_the_exact_price(p in 1i64..10_000, total in 0u64..1_000_000) {
            let exact = cost(&prices(p, 0, None), AGAIN, total);
            // |charge × 60 − P × N| ≤ 30: rounded once, on the total.
            prop_assert!((i128::from(exact) * 60 - i128::from(p) * i128::from(total)).abs() <= 30);
        }

        #[test]
        fn free_minutes_only_ever_lower_the_first_charge(p in any_prices(), n in 0u64..100_000) {
            let rules = TariffRules::default();
            prop_assert!(charge(&p, FIRST, n, &rules).unwrap().charge.minor <= charge(&p, AGAIN, n, &rules).unwrap().charge.minor);
        }
    }
}

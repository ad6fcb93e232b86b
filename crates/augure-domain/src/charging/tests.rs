//! The plans applied to a ledger through its own rules ([`crate::ledger::plan_batch`]):
//! every chain is accepted, money only moves client → clearing → expert and platform, and
//! the total is the tariff's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::*;
use crate::consultation::ConsultationPolicy;
use crate::ledger::{AccountKind, Balances, KnownTransfer, LedgerAccount, Outcome, TransferId};
use crate::meter::Side;
use crate::money::Currency;
use crate::pricing::Package;

const ID: ConsultationId = ConsultationId(7);

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// When the holds in these tests lapse: long after they are settled.
fn later() -> DateTime<Utc> {
    t0() + Duration::hours(1)
}

fn slice() -> Slice {
    Slice { seconds: 300, expires_at: later() }
}

fn accounts() -> ConsultationAccounts {
    ConsultationAccounts {
        client_credit: AccountId(1),
        clearing: AccountId(2),
        expert_earnings: AccountId(3),
        platform_revenue: AccountId(4),
    }
}

/// A ledger with a client holding `credit`, as the store would hold it.
struct Books {
    accounts: HashMap<AccountId, LedgerAccount>,
    known: HashMap<String, KnownTransfer>,
    next: i64,
}

impl Books {
    fn new(credit: i64) -> Self {
        let kinds = [
            (1, AccountKind::ClientCredit),
            (2, AccountKind::ConsultationClearing),
            (3, AccountKind::ExpertEarnings),
            (4, AccountKind::PlatformRevenue),
        ];
        let accounts = kinds
            .into_iter()
            .map(|(id, kind)| {
                let balances = Balances { credits_posted: if id == 1 { credit } else { 0 }, ..Balances::default() };
                let account = LedgerAccount {
                    id: AccountId(id),
                    kind,
                    currency: Currency::Eur,
                    flags: kind.default_flags(),
                    balances,
                };
                (AccountId(id), account)
            })
            .collect();
        Self { accounts, known: HashMap::new(), next: 1 }
    }

    /// Applies a chain; panics if the ledger refuses any of it.
    fn apply(&mut self, requests: &[TransferRequest]) {
        let outcomes = crate::ledger::plan_batch(&mut self.accounts, &self.known, requests, t0());
        for outcome in outcomes {
            match outcome {
                Outcome::Created(p) => {
                    if let Some((key, state)) = &p.resolves {
                        self.known.get_mut(key).unwrap().hold_state = Some(*state);
                    }
                    let hold_state = matches!(p.request.mode, TransferMode::Pending { .. })
                        .then_some(crate::ledger::HoldState::Pending);
                    let known = KnownTransfer {
                        id: TransferId(self.next),
                        request: p.request.clone(),
                        hold_state,
                        amount: p.amount,
                    };
                    self.next += 1;
                    self.known.insert(p.request.key.clone(), known);
                }
                Outcome::Exists(_) | Outcome::SameAs(_) => {}
                Outcome::Failed(e) => panic!("refused: {e:?} in {requests:#?}"),
            }
        }
    }

    fn available(&self) -> i64 {
        self.accounts[&AccountId(1)].balances.available()
    }

    fn balances(&self, id: i64) -> Balances {
        self.accounts[&AccountId(id)].balances
    }
}

fn per_minute(price: i64, free_minutes: u32) -> SitePrices {
    SitePrices {
        per_minute: Money::new(price, Currency::Eur),
        package: None,
        free_minutes,
        email: None,
        imposed: false,
    }
}

fn pricing(prices: &SitePrices, plan: Plan) -> Pricing<'_> {
    Pricing { prices, plan, rules: TariffRules::default(), rate: Rate::from_basis_points(3000).unwrap() }
}

/// Runs grants at each of `grants` billable seconds, then settles at `end`; returns the
/// books and the settlement.
fn run(pricing: &Pricing<'_>, credit: i64, grants: &[u64], end: u64) -> (Books, SettlementPlan) {
    let mut books = Books::new(credit);
    let mut state = GrantState::default();
    for &at in grants {
        let plan = plan_grant(ID, pricing, &accounts(), state, at, books.available(), slice()).unwrap();
        books.apply(&plan.requests);
        state = plan.state;
    }
    let settlement = plan_settlement(ID, pricing, &accounts(), state, end, false).unwrap();
    books.apply(&settlement.requests);
    (books, settlement)
}

#[test]
fn wg_rate_a_consultation_posts_the_tariff_of_its_total_through_its_grants() {
    let prices = per_minute(299, 0);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: false });
    let (books, settled) = run(&p, 5_000, &[0, 290, 580], 700);
    // 2.99 × 700 ÷ 60 = 34.883… → 34.88 €, computed once on the total.
    assert_eq!(settled.charge, 3488);
    assert_eq!(books.balances(1).debits_posted, 3488);
    assert_eq!(books.balances(1).debits_pending, 0, "nothing stays held");
    assert_eq!(books.available(), 5_000 - 3488);
    // PH-commission: 30 % to the platform, the rest to the expert, from the clearing.
    assert_eq!(books.balances(4).credits_posted, 1046);
    assert_eq!(books.balances(3).credits_posted, 3488 - 1046);
    assert_eq!(books.balances(2).net_posted(), 0, "the clearing is emptied");
}

#[test]
fn a_grant_holds_a_slice_or_what_is_left() {
    let prices = per_minute(300, 0);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: false });
    let first = plan_grant(ID, &p, &accounts(), GrantState::default(), 0, 10_000, slice()).unwrap();
    assert_eq!(first.state, GrantState { seq: 1, posted: 0, held: 1500 }, "five minutes at 3 €");
    let short = plan_grant(ID, &p, &accounts(), GrantState::default(), 0, 700, slice()).unwrap();
    assert_eq!(short.state.held, 700, "what is left");
    let r = reach(&p, short.state, 0).unwrap();
    assert_eq!((r.held_until, r.cut), (140, 140), "7 € at 3 €/min is 2 min 20 s");
    let r = reach(&p, first.state, 8_500).unwrap();
    assert_eq!((r.held_until, r.cut), (300, 2000), "the slice, and all 100 €");
}

#[test]
fn ph_free_free_minutes_hold_nothing_and_the_slice_after_them_is_held() {
    let prices = per_minute(300, 5);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: true });
    let first = plan_grant(ID, &p, &accounts(), GrantState::default(), 0, 10_000, slice()).unwrap();
    assert!(first.requests.is_empty(), "five free minutes cost nothing to hold");
    assert_eq!(reach(&p, first.state, 10_000).unwrap().held_until, 300);
    let (books, settled) = run(&p, 10_000, &[0, 290], 420);
    assert_eq!(settled.charge, 600, "two paid minutes after the five free ones");
    assert_eq!(books.available(), 9_400);
}

#[test]
fn ph_package_is_held_whole_at_the_start_and_a_very_short_one_costs_nothing() {
    let prices = SitePrices {
        package: Some(Package { price: Money::new(4_000, Currency::Eur), minutes: 20 }),
        ..per_minute(300, 0)
    };
    let p = pricing(&prices, Plan::Package);
    let first = plan_grant(ID, &p, &accounts(), GrantState::default(), 0, 10_000, slice()).unwrap();
    assert_eq!(first.state.held, 4_000, "the whole package");
    assert_eq!(reach(&p, first.state, 6_000).unwrap().held_until, 1200);
    let (books, settled) = run(&p, 10_000, &[0], 100);
    assert_eq!(settled.charge, 0, "under two minutes: a network problem");
    assert_eq!(books.available(), 10_000);
    let (books, settled) = run(&p, 10_000, &[0, 1190], 1300);
    assert_eq!(settled.charge, 4_500, "the package and 100 s of overflow at 3 €/min");
    assert_eq!(books.available(), 5_500);
}

#[test]
fn a_settlement_never_posts_more_than_was_held() {
    let prices = per_minute(300, 0);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: false });
    // 7 € held for 140 s; the meter said 150 s (the cut came late): 7 € is all.
    let (books, settled) = run(&p, 700, &[0], 150);
    assert_eq!(settled.charge, 700);
    assert_eq!(books.available(), 0);
}

#[test]
fn a_lapsed_hold_settles_what_was_posted() {
    let prices = per_minute(300, 0);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: false });
    let state = GrantState { seq: 2, posted: 1450, held: 1500 };
    let settled = plan_settlement(ID, &p, &accounts(), state, 400, true).unwrap();
    assert_eq!(settled.charge, 1450);
    assert!(settled.requests.iter().all(|r| r.mode == TransferMode::Posted), "no post of a lapsed hold");
}

#[test]
fn replaying_a_plan_moves_nothing_twice() {
    let prices = per_minute(300, 0);
    let p = pricing(&prices, Plan::PerMinute { first_with_expert: false });
    let mut books = Books::new(10_000);
    let grant = plan_grant(ID, &p, &accounts(), GrantState::default(), 0, 10_000, slice()).unwrap();
    books.apply(&grant.requests);
    books.apply(&grant.requests);
    let settle = plan_settlement(ID, &p, &accounts(), grant.state, 60, false).unwrap();
    books.apply(&settle.requests);
    books.apply(&settle.requests);
    assert_eq!(books.available(), 10_000 - 300);
}

proptest! {
    /// Whatever the prices, credit and the instants of the grants and the end, every chain
    /// is accepted by the ledger, the client pays exactly the tariff of the billable time
    /// (or all their credit when it ran out), the client is never below zero, the split
    /// adds up and the clearing is emptied.
    #[test]
    fn grants_and_settlement_follow_the_tariff_within_the_credit(
        price in 1i64..2_000,
        free in 0u32..10,
        first in any::<bool>(),
        package in proptest::option::of((1i64..20_000, 1u32..60)),
        credit in 0i64..50_000,
        steps in proptest::collection::vec(1u64..400, 0..8),
        tail in 0u64..600,
        rate in 0u32..=10_000,
    ) {
        let prices = SitePrices {
            package: package.map(|(minor, minutes)| Package { price: Money::new(minor, Currency::Eur), minutes }),
            ..per_minute(price, free)
        };
        let plan = if package.is_some() { Plan::Package } else { Plan::PerMinute { first_with_expert: first } };
        let p = Pricing { rate: Rate::from_basis_points(rate).unwrap(), ..pricing(&prices, plan) };
        let mut books = Books::new(credit);
        let mut state = GrantState::default();
        let mut at = 0u64;
        let mut cut = u64::MAX;
        for (i, step) in std::iter::once(0).chain(steps.iter().copied()).enumerate() {
            at += step;
            // The engine grants only before the cut; the meter never runs past it.
            if i > 0 && at > cut {
                at = cut;
            }
            let plan = plan_grant(ID, &p, &accounts(), state, at, books.available(), slice()).unwrap();
            books.apply(&plan.requests);
            prop_assert!(plan.state.posted >= state.posted, "posted never goes back");
            state = plan.state;
            cut = reach(&p, state, books.available()).unwrap().cut;
            prop_assert!(books.available() >= 0);
        }
        let end = (at + tail).min(cut);
        let settled = plan_settlement(ID, &p, &accounts(), state, end, false).unwrap();
        books.apply(&settled.requests);
        let tariff = p.charge(end).unwrap();
        prop_assert!(settled.charge <= tariff, "never more than the tariff");
        prop_assert!(settled.charge <= credit, "never more than the credit");
        if state.posted + state.held >= tariff {
            prop_assert_eq!(settled.charge, tariff, "the tariff of the time when it was held");
        }
        prop_assert_eq!(books.balances(1).debits_pending, 0);
        prop_assert_eq!(books.balances(1).debits_posted, settled.charge);
        prop_assert_eq!(settled.split.commission.minor + settled.split.earnings.minor, settled.charge);
        prop_assert_eq!(books.balances(2).net_posted(), 0);
        prop_assert_eq!(books.balances(2).credits_pending, 0);
    }
}

/// SP-beep, found by the engine bench: the warning fired on the clock, then the next grant
/// came while the billed time still lagged a heartbeat behind; it took the warning back
/// and the client was warned twice. Only credit that moves the cut does that.
#[test]
fn sp_beep_a_grant_after_the_warning_does_not_warn_again() {
    let policy = ConsultationPolicy { grant_seconds: 60, warning_seconds: 60, ..ConsultationPolicy::default() };
    let at = |s| t0() + Duration::seconds(s);
    let prices = per_minute(300, 0);
    let rate = Rate::from_basis_points(3000).unwrap();
    let plan = Plan::PerMinute { first_with_expert: false };
    let mut s = Session::new(ID, prices, plan, TariffRules::default(), rate, accounts(), t0());
    // 5,60 € of credit at 3 €/min: the cut at 112 s; the first grant holds 60 s.
    s.granted(GrantState { seq: 1, posted: 0, held: 300 }, 260, t0(), &policy).unwrap();
    assert_eq!(s.reach.cut, 112);
    s.start(t0());
    for side in [Side::Client, Side::Expert] {
        s.heard(side, t0());
    }
    s.heard(Side::Client, at(50));
    s.heard(Side::Expert, at(45));
    assert_eq!(s.next_due(&policy).map(|(_, due)| due), Some(Due::Warning));
    s.warned = true;
    // The next slice at 54 s, while only 45 s are billed (the expert last heard then).
    s.granted(GrantState { seq: 2, posted: 225, held: 300 }, 35, at(54), &policy).unwrap();
    assert_eq!(s.reach.cut, 112, "the cut has not moved");
    assert!(s.warned, "the warning given stays given");
    assert_ne!(s.next_due(&policy).map(|(_, due)| due), Some(Due::Warning));
    // Credit that lands moves the cut: the next warning is for the new cut.
    s.granted(GrantState { seq: 2, posted: 225, held: 300 }, 35 + 1500, at(55), &policy).unwrap();
    assert!(!s.warned && s.reach.cut > 112);
}

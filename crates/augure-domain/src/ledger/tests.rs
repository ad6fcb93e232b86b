use std::collections::HashMap;

use chrono::Duration;
use proptest::prelude::*;

use super::*;

const EUR: Currency = Currency::Eur;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap()
}

/// A tiny in-memory ledger over the pure planner: what the stores do, minus SQL.
#[derive(Clone, Default)]
struct Book {
    accounts: HashMap<AccountId, LedgerAccount>,
    known: HashMap<String, KnownTransfer>,
    transfers: Vec<ReplayedTransfer>,
    entries: Vec<Entry>,
    versions: HashMap<AccountId, i64>,
    heads: HashMap<AccountId, TransferId>,
}

impl Book {
    fn account(&mut self, kind: AccountKind) -> AccountId {
        let id = AccountId(self.accounts.len() as i64 + 1);
        let account =
            LedgerAccount { id, kind, currency: EUR, flags: kind.default_flags(), balances: Balances::default() };
        self.accounts.insert(id, account);
        id
    }

    fn submit(&mut self, requests: &[TransferRequest], now: DateTime<Utc>) -> Vec<Result<TransferId, LedgerError>> {
        let outcomes = plan_batch(&mut self.accounts, &self.known, requests, now);
        let mut ids: Vec<Option<TransferId>> = Vec::new();
        let mut results = Vec::new();
        for outcome in outcomes {
            let result = match outcome {
                Outcome::Created(p) => {
                    let id = TransferId(self.transfers.len() as i64 + 1);
                    let pending_id = p.request.pending_key.as_ref().map(|k| self.known[k].id);
                    if let Some((key, state)) = &p.resolves {
                        self.known.get_mut(key).unwrap().hold_state = Some(*state);
                    }
                    self.transfers.push(ReplayedTransfer {
                        id,
                        debit: p.request.debit,
                        credit: p.request.credit,
                        amount: p.amount,
                        mode: p.request.mode,
                        pending_id,
                    });
                    for (account, balances) in [(p.request.debit, p.debit_after), (p.request.credit, p.credit_after)] {
                        let v = self.versions.entry(account).or_insert(0);
                        *v += 1;
                        let previous = self.heads.insert(account, id);
                        self.entries.push(Entry { account, transfer: id, version: *v, balances, previous });
                    }
                    let hold_state =
                        matches!(p.request.mode, TransferMode::Pending { .. }).then_some(HoldState::Pending);
                    self.known.insert(
                        p.request.key.clone(),
                        KnownTransfer { id, request: p.request.clone(), hold_state, amount: p.amount },
                    );
                    Ok(id)
                }
                Outcome::Exists(id) => Ok(id),
                Outcome::SameAs(i) => ids[i].ok_or(LedgerError::LinkedTransferFailed),
                Outcome::Failed(e) => Err(e),
            };
            ids.push(result.as_ref().ok().copied());
            results.push(result);
        }
        results
    }

    fn balances(&self, id: AccountId) -> Balances {
        self.accounts[&id].balances
    }

    fn audit(&self) -> Audit {
        audit(&Books {
            accounts: self.accounts.values().cloned().collect(),
            transfers: self.transfers.clone(),
            entries: self.entries.clone(),
            heads: self.heads.clone(),
        })
    }
}

fn req(key: &str, debit: AccountId, credit: AccountId, amount: i64, mode: TransferMode) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        debit,
        credit,
        amount: Some(amount),
        currency: EUR,
        code: "test".into(),
        user_data: None,
        mode,
        pending_key: None,
        linked: false,
    }
}

fn resolve(key: &str, hold: &TransferRequest, amount: Option<i64>, mode: TransferMode) -> TransferRequest {
    TransferRequest { key: key.into(), amount, mode, pending_key: Some(hold.key.clone()), ..hold.clone() }
}

/// A client with `credit` bought from the provider.
fn funded(credit: i64) -> (Book, AccountId, AccountId, AccountId) {
    let mut book = Book::default();
    let provider = book.account(AccountKind::ProviderClearing);
    let client = book.account(AccountKind::ClientCredit);
    let expert = book.account(AccountKind::ExpertEarnings);
    if credit > 0 {
        book.submit(&[req("buy", provider, client, credit, TransferMode::Posted)], t0())[0].clone().unwrap();
    }
    (book, provider, client, expert)
}

#[test]
fn client_credit_cannot_be_overdrawn() {
    let (mut book, _, client, expert) = funded(1000);
    let r = book.submit(&[req("spend", client, expert, 1001, TransferMode::Posted)], t0());
    assert_eq!(r[0], Err(LedgerError::ExceedsCredits));
    assert_eq!(book.balances(client).available(), 1000);
    assert!(book.submit(&[req("spend2", client, expert, 1000, TransferMode::Posted)], t0())[0].is_ok());
    assert_eq!(book.balances(client).available(), 0);
}

#[test]
fn same_key_same_content_returns_the_first_result_and_moves_money_once() {
    let (mut book, _, client, expert) = funded(1000);
    let spend = req("spend", client, expert, 300, TransferMode::Posted);
    let first = book.submit(std::slice::from_ref(&spend), t0())[0].clone().unwrap();
    let again = book.submit(std::slice::from_ref(&spend), t0())[0].clone().unwrap();
    assert_eq!(first, again);
    assert_eq!(book.balances(client).available(), 700);
    let changed = TransferRequest { amount: Some(301), ..spend };
    assert_eq!(book.submit(&[changed], t0())[0], Err(LedgerError::KeyReusedWithDifferentContent));
    assert!(book.audit().problems.is_empty());
}

#[test]
fn a_hold_reserves_credit_and_is_posted_in_part_with_the_rest_released() {
    let (mut book, _, client, expert) = funded(1000);
    let hold = req("hold", client, expert, 600, TransferMode::Pending { expires_at: None });
    book.submit(std::slice::from_ref(&hold), t0())[0].clone().unwrap();
    assert_eq!(book.balances(client).available(), 400);
    assert_eq!(
        book.submit(&[req("x", client, expert, 401, TransferMode::Posted)], t0())[0],
        Err(LedgerError::ExceedsCredits)
    );
    book.submit(&[resolve("post", &hold, Some(250), TransferMode::PostPending)], t0())[0].clone().unwrap();
    assert_eq!(book.balances(client).available(), 750);
    assert_eq!(book.balances(expert).credits_posted, 250);
    assert_eq!(book.balances(expert).credits_pending, 0);
    let twice = book.submit(&[resolve("void", &hold, None, TransferMode::VoidPending)], t0());
    assert_eq!(twice[0], Err(LedgerError::HoldAlreadyResolved("posted".into())));
    assert!(book.audit().problems.is_empty());
}

#[test]
fn posting_more_than_the_hold_is_refused() {
    let (mut book, _, client, expert) = funded(1000);
    let hold = req("hold", client, expert, 100, TransferMode::Pending { expires_at: None });
    book.submit(std::slice::from_ref(&hold), t0());
    let r = book.submit(&[resolve("post", &hold, Some(101), TransferMode::PostPending)], t0());
    assert_eq!(r[0], Err(LedgerError::ExceedsHold));
}

#[test]
fn a_hold_cannot_be_expired_before_its_time() {
    let (mut book, _, client, expert) = funded(1000);
    let at = t0() + Duration::minutes(5);
    let hold = req("hold", client, expert, 500, TransferMode::Pending { expires_at: Some(at) });
    book.submit(std::slice::from_ref(&hold), t0());
    let early = book.submit(&[resolve("expire", &hold, None, TransferMode::Expire)], at - Duration::seconds(1));
    assert_eq!(early[0], Err(LedgerError::HoldNotExpired));
    let never = req("open", client, expert, 100, TransferMode::Pending { expires_at: None });
    book.submit(std::slice::from_ref(&never), t0());
    let r = book.submit(&[resolve("expire-open", &never, None, TransferMode::Expire)], at);
    assert_eq!(r[0], Err(LedgerError::HoldNotExpired), "a hold without a deadline never expires");
    assert_eq!(book.balances(client).available(), 400);
    assert!(book.audit().problems.is_empty());
}

#[test]
fn an_expired_hold_cannot_be_posted_only_expired() {
    let (mut book, _, client, expert) = funded(1000);
    let hold =
        req("hold", client, expert, 500, TransferMode::Pending { expires_at: Some(t0() + Duration::minutes(5)) });
    book.submit(std::slice::from_ref(&hold), t0());
    let later = t0() + Duration::minutes(5);
    assert_eq!(
        book.submit(&[resolve("post", &hold, None, TransferMode::PostPending)], later)[0],
        Err(LedgerError::HoldExpired)
    );
    book.submit(&[resolve("expire", &hold, None, TransferMode::Expire)], later)[0].clone().unwrap();
    assert_eq!(book.balances(client).available(), 1000);
    assert!(book.audit().problems.is_empty());
}

#[test]
fn linked_transfers_succeed_or_fail_together() {
    let (mut book, _, client, expert) = funded(1000);
    let platform = book.account(AccountKind::PlatformRevenue);
    let mut share = req("share", client, expert, 700, TransferMode::Posted);
    share.linked = true;
    let commission = req("commission", client, platform, 400, TransferMode::Posted);
    let r = book.submit(&[share.clone(), commission], t0());
    assert_eq!(r, [Err(LedgerError::LinkedTransferFailed), Err(LedgerError::ExceedsCredits)]);
    assert_eq!(book.balances(client).available(), 1000, "nothing moved");
    let commission = req("commission2", client, platform, 300, TransferMode::Posted);
    let r = book.submit(&[share, commission], t0());
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(book.balances(client).available(), 0);
    assert!(book.audit().problems.is_empty());
}

#[test]
fn a_chain_left_open_at_the_end_of_a_batch_fails() {
    let (mut book, _, client, expert) = funded(1000);
    let mut share = req("share", client, expert, 100, TransferMode::Posted);
    share.linked = true;
    assert_eq!(book.submit(&[share], t0()), [Err(LedgerError::LinkedTransferFailed)]);
    assert_eq!(book.balances(client).available(), 1000);
}

#[test]
fn currencies_do_not_mix() {
    let (mut book, _, client, expert) = funded(1000);
    let mut chf = req("chf", client, expert, 10, TransferMode::Posted);
    chf.currency = Currency::Chf;
    assert_eq!(book.submit(&[chf], t0())[0], Err(LedgerError::CurrencyMismatch));
    assert_eq!(
        book.submit(&[req("self", client, client, 1, TransferMode::Posted)], t0())[0],
        Err(LedgerError::SameAccount)
    );
    assert_eq!(
        book.submit(&[req("zero", client, expert, 0, TransferMode::Posted)], t0())[0],
        Err(LedgerError::AmountMustBePositive)
    );
}

#[test]
fn an_oversized_transfer_is_refused_alone_and_the_shared_account_keeps_working() {
    let (mut book, provider, client, _) = funded(0);
    let other = book.account(AccountKind::ClientCredit);
    // A pack priced 92,233,720,368,547,758.07: once credited, the provider's clearing
    // account could take no other purchase without overflowing.
    for (key, mode) in [("huge", TransferMode::Posted), ("huge-hold", TransferMode::Pending { expires_at: None })] {
        let r = book.submit(&[req(key, provider, client, i64::MAX, mode)], t0());
        assert_eq!(r[0], Err(LedgerError::AmountTooLarge), "{key}");
    }
    let r = book.submit(&[req("over", provider, client, MAX_TRANSFER_AMOUNT + 1, TransferMode::Posted)], t0());
    assert_eq!(r[0], Err(LedgerError::AmountTooLarge));
    assert_eq!(book.balances(provider), Balances::default(), "nothing moved");
    for (i, account) in [client, other, client].into_iter().enumerate() {
        let r = book.submit(&[req(&format!("buy{i}"), provider, account, 2000, TransferMode::Posted)], t0());
        assert!(r[0].is_ok(), "{r:?}");
    }
    let r = book.submit(&[req("largest", provider, other, MAX_TRANSFER_AMOUNT, TransferMode::Posted)], t0());
    assert!(r[0].is_ok(), "the cap itself is accepted: {r:?}");
    assert_eq!(book.balances(client).available(), 4000);
    assert!(book.audit().problems.is_empty());
}

#[test]
fn audit_finds_a_tampered_balance() {
    let (mut book, _, client, _) = funded(1000);
    book.accounts.get_mut(&client).unwrap().balances.credits_posted += 1;
    let audit = book.audit();
    assert!(!audit.problems.is_empty());
}

#[test]
fn audit_finds_a_broken_history_chain() {
    let (mut book, _, client, expert) = funded(1000);
    book.submit(&[req("spend", client, expert, 100, TransferMode::Posted)], t0());
    assert!(book.audit().problems.is_empty());

    // An entry that skips the account's previous transfer hides it from the history.
    let mut skipped = book.clone();
    let entry = skipped.entries.iter_mut().rfind(|e| e.account == client).unwrap();
    entry.previous = None;
    assert!(skipped.audit().problems.iter().any(|p| p.contains("entry of transfer")));

    // A history that starts anywhere but the last transfer.
    let mut stale = book.clone();
    let first = stale.entries.iter().find(|e| e.account == client).unwrap().transfer;
    stale.heads.insert(client, first);
    assert!(stale.audit().problems.iter().any(|p| p.contains("history starts at")));
}

#[derive(Clone, Debug)]
enum Op {
    Spend(usize, i64),
    Hold(usize, i64),
    Post(usize, i64),
    Void(usize),
    Expire(usize),
    Buy(usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3_usize, 1..800_i64).prop_map(|(c, a)| Op::Spend(c, a)),
        (0..3_usize, 1..800_i64).prop_map(|(c, a)| Op::Hold(c, a)),
        (0..40_usize, 0..900_i64).prop_map(|(h, a)| Op::Post(h, a)),
        (0..40_usize).prop_map(Op::Void),
        (0..40_usize).prop_map(Op::Expire),
        (0..3_usize, 1..2000_i64).prop_map(|(c, a)| Op::Buy(c, a)),
    ]
}

proptest! {
    /// Any sequence of operations: money is conserved, no credit account goes below
    /// zero, each hold resolves at most once, and the audit replays to the same state.
    #[test]
    fn ledger_invariants_hold_under_any_sequence(ops in prop::collection::vec(op(), 1..60)) {
        let mut book = Book::default();
        let provider = book.account(AccountKind::ProviderClearing);
        let expert = book.account(AccountKind::ExpertEarnings);
        let clients: Vec<_> = (0..3).map(|_| book.account(AccountKind::ClientCredit)).collect();
        let mut holds: Vec<TransferRequest> = Vec::new();
        let now = t0() + Duration::minutes(10);
        for (i, op) in ops.iter().enumerate() {
            let key = format!("op{i}");
            let request = match op {
                Op::Buy(c, a) => req(&key, provider, clients[*c], *a, TransferMode::Posted),
                Op::Spend(c, a) => req(&key, clients[*c], expert, *a, TransferMode::Posted),
                Op::Hold(c, a) => {
                    let expires = if a % 2 == 0 { Some(t0()) } else { None };
                    let h = req(&key, clients[*c], expert, *a, TransferMode::Pending { expires_at: expires });
                    holds.push(h.clone());
                    h
                }
                Op::Post(h, a) if !holds.is_empty() => {
                    let hold = &holds[h % holds.len()];
                    resolve(&key, hold, (*a > 0).then_some(*a), TransferMode::PostPending)
                }
                Op::Void(h) if !holds.is_empty() => resolve(&key, &holds[h % holds.len()], None, TransferMode::VoidPending),
                Op::Expire(h) if !holds.is_empty() => resolve(&key, &holds[h % holds.len()], None, TransferMode::Expire),
                _ => continue,
            };
            let _ = book.submit(&[request], now);
            for c in &clients {
                let b = book.balances(*c);
                prop_assert!(b.available() >= 0, "overdraft: {:?}", b);
            }
        }
        let audit = book.audit();
        prop_assert!(audit.problems.is_empty(), "{:?}", audit.problems);
        let (debits, credits) = audit.trial_balance[&EUR];
        prop_assert_eq!(debits, credits);
    }

    /// A transfer and its reversal restore both balances.
    #[test]
    fn a_transfer_and_its_reversal_restore_balances(funds in 1..10_000_i64, amount in 1..10_000_i64) {
        let (mut book, _, client, expert) = funded(funds);
        let before = (book.balances(client), book.balances(expert));
        if book.submit(&[req("t", client, expert, amount, TransferMode::Posted)], t0())[0].is_ok() {
            book.submit(&[req("r", expert, client, amount, TransferMode::Posted)], t0())[0].clone().unwrap();
            let after = (book.balances(client), book.balances(expert));
            prop_assert_eq!(before.0.net_posted(), after.0.net_posted());
            prop_assert_eq!(before.1.net_posted(), after.1.net_posted());
        } else {
            prop_assert!(amount > funds);
        }
    }

    /// Two transfers move the same as one of their sum.
    #[test]
    fn two_transfers_equal_their_sum(a in 1..5_000_i64, b in 1..5_000_i64) {
        let (mut two, _, c2, e2) = funded(10_000);
        two.submit(&[req("a", c2, e2, a, TransferMode::Posted), req("b", c2, e2, b, TransferMode::Posted)], t0());
        let (mut one, _, c1, e1) = funded(10_000);
        one.submit(&[req("ab", c1, e1, a + b, TransferMode::Posted)], t0());
        prop_assert_eq!(two.balances(c2), one.balances(c1));
        prop_assert_eq!(two.balances(e2), one.balances(e1));
    }
}

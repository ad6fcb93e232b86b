//! `augure ledger verify`: the books replayed from zero.

use std::collections::{BTreeMap, HashMap};

use super::*;

/// One transfer as `verify` replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedTransfer {
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    /// What moved (for a post: the posted part; for a void or expiry: 0).
    pub amount: i64,
    pub mode: TransferMode,
    /// For post, void and expire: the hold resolved.
    pub pending_id: Option<TransferId>,
}

/// One account's entry: its balances right after a transfer, numbered per account, and
/// the account's previous transfer, so that an account's history is a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub account: AccountId,
    pub transfer: TransferId,
    pub version: i64,
    pub balances: Balances,
    pub previous: Option<TransferId>,
}

/// The whole ledger at one moment, as `verify` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Books {
    pub accounts: Vec<LedgerAccount>,
    /// In the order they were applied (by id).
    pub transfers: Vec<ReplayedTransfer>,
    pub entries: Vec<Entry>,
    /// Each account's last transfer, where its history chain starts.
    pub heads: HashMap<AccountId, TransferId>,
}

/// What `augure ledger verify` found. Empty `problems` means the ledger is sound.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    pub accounts: usize,
    pub transfers: usize,
    /// Σ debits posted and Σ credits posted per currency (equal when sound).
    pub trial_balance: BTreeMap<Currency, (i64, i64)>,
    pub problems: Vec<String>,
}

/// Replays every transfer from zero and checks: each account's stored balances equal the
/// replay; each entry equals the balances after its transfer, versions run 1, 2, 3…, and
/// its chain names the account's previous transfer (the account its last one); no balance
/// ever broke its account's limits; every hold was resolved at most once; and per currency
/// Σ debits = Σ credits, pending and posted.
pub fn audit(books: &Books) -> Audit {
    let Books { accounts, transfers, entries, heads } = books;
    let mut audit = Audit { accounts: accounts.len(), transfers: transfers.len(), ..Audit::default() };
    let by_id: HashMap<AccountId, &LedgerAccount> = accounts.iter().map(|a| (a.id, a)).collect();
    let mut replay: HashMap<AccountId, Balances> = accounts.iter().map(|a| (a.id, Balances::default())).collect();
    let mut versions: HashMap<AccountId, i64> = HashMap::new();
    let mut lasts: HashMap<AccountId, TransferId> = HashMap::new();
    let mut holds: HashMap<TransferId, (i64, usize)> = HashMap::new();
    let mut entries_by_transfer: HashMap<(TransferId, AccountId), &Entry> = HashMap::new();
    for e in entries {
        if entries_by_transfer.insert((e.transfer, e.account), e).is_some() {
            audit.problems.push(format!("transfer {} has two entries on account {}", e.transfer, e.account));
        }
    }
    for t in transfers {
        let (Some(debit), Some(credit)) = (by_id.get(&t.debit), by_id.get(&t.credit)) else {
            audit.problems.push(format!("transfer {} names an unknown account", t.id));
            continue;
        };
        let (d, c) =
            (replay.get(&t.debit).copied().unwrap_or_default(), replay.get(&t.credit).copied().unwrap_or_default());
        let (mut d2, mut c2) = (d, c);
        match t.mode {
            TransferMode::Posted => {
                d2.debits_posted += t.amount;
                c2.credits_posted += t.amount;
            }
            TransferMode::Pending { .. } => {
                d2.debits_pending += t.amount;
                c2.credits_pending += t.amount;
                holds.insert(t.id, (t.amount, 0));
            }
            TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire => {
                let Some(hold) = t.pending_id.and_then(|p| holds.get_mut(&p)) else {
                    audit.problems.push(format!("transfer {} resolves an unknown hold", t.id));
                    continue;
                };
                hold.1 += 1;
                if hold.1 > 1 {
                    audit.problems.push(format!("hold {:?} resolved more than once", t.pending_id));
                }
                d2.debits_pending -= hold.0;
                c2.credits_pending -= hold.0;
                d2.debits_posted += t.amount;
                c2.credits_posted += t.amount;
                if t.amount > hold.0 {
                    audit.problems.push(format!("transfer {} posts more than its hold", t.id));
                }
            }
        }
        for (account, after, flags) in [(debit, d2, debit.flags), (credit, c2, credit.flags)] {
            if !after.respects(flags) {
                audit.problems.push(format!("transfer {} breaks the limits of account {}", t.id, account.id));
            }
            let version = versions.entry(account.id).or_insert(0);
            *version += 1;
            let previous = lasts.insert(account.id, t.id);
            match entries_by_transfer.get(&(t.id, account.id)) {
                Some(e) if e.balances == after && e.version == *version && e.previous == previous => {}
                Some(e) => audit.problems.push(format!(
                    "entry of transfer {} on account {}: stored {:?} v{} after {:?}, replayed {:?} v{} after {:?}",
                    t.id, account.id, e.balances, e.version, e.previous, after, version, previous
                )),
                None => audit.problems.push(format!("transfer {} has no entry on account {}", t.id, account.id)),
            }
        }
        replay.insert(t.debit, d2);
        replay.insert(t.credit, c2);
    }
    let mut pending_sums: BTreeMap<Currency, (i64, i64)> = BTreeMap::new();
    for account in accounts {
        if heads.get(&account.id) != lasts.get(&account.id) {
            audit.problems.push(format!(
                "account {}: history starts at {:?}, its last transfer is {:?}",
                account.id,
                heads.get(&account.id),
                lasts.get(&account.id)
            ));
        }
        let replayed = replay.get(&account.id).copied().unwrap_or_default();
        if replayed != account.balances {
            audit
                .problems
                .push(format!("account {}: stored {:?}, replayed {:?}", account.id, account.balances, replayed));
        }
        let sums = audit.trial_balance.entry(account.currency).or_default();
        sums.0 += account.balances.debits_posted;
        sums.1 += account.balances.credits_posted;
        let pending = pending_sums.entry(account.currency).or_default();
        pending.0 += account.balances.debits_pending;
        pending.1 += account.balances.credits_pending;
    }
    for (currency, (debits, credits)) in &audit.trial_balance {
        if debits != credits {
            audit.problems.push(format!("{currency}: Σ debits posted {debits} ≠ Σ credits posted {credits}"));
        }
    }
    for (currency, (debits, credits)) in &pending_sums {
        if debits != credits {
            audit.problems.push(format!("{currency}: Σ debits pending {debits} ≠ Σ credits pending {credits}"));
        }
    }
    audit
}

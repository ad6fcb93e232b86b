//! A batch of requests decided against the accounts and holds the store loaded: replays,
//! linked chains, and the balances each accepted transfer leaves.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;

/// What a caller asks the ledger to do. `key` is the idempotency key: the same key with
/// the same content returns the first result; with other content it is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub key: String,
    pub debit: AccountId,
    pub credit: AccountId,
    /// Required for posted and pending transfers; for a post, `None` posts the whole hold.
    pub amount: Option<i64>,
    pub currency: Currency,
    /// What the movement is for, e.g. `purchase`, `consumption`, `refund`.
    pub code: String,
    /// A reference for people and reports (a purchase, a consultation).
    pub user_data: Option<String>,
    pub mode: TransferMode,
    /// For post and void: the key of the hold.
    pub pending_key: Option<String>,
    /// Linked to the next request: the chain succeeds or fails as a whole.
    pub linked: bool,
}

impl TransferRequest {
    /// The request as the ledger keeps it: instants to the microsecond, the precision of
    /// the store. A replay is compared in this form, so a hold whose expiry carries
    /// nanoseconds is still recognised as the same request.
    pub fn as_stored(&self) -> TransferRequest {
        let micros = |at: DateTime<Utc>| DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        let mode = match self.mode {
            TransferMode::Pending { expires_at } => TransferMode::Pending { expires_at: expires_at.map(micros) },
            other => other,
        };
        TransferRequest { mode, ..self.clone() }
    }
}

/// A transfer already in the ledger, as the planner needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownTransfer {
    pub id: TransferId,
    pub request: TransferRequest,
    /// For holds: where they stand now.
    pub hold_state: Option<HoldState>,
    /// What actually moved.
    pub amount: i64,
}

/// A transfer the planner accepted, with the balances it leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTransfer {
    pub request: TransferRequest,
    pub amount: i64,
    pub debit_after: Balances,
    pub credit_after: Balances,
    /// For post/void: the hold's key, whose state becomes `resolved`.
    pub resolves: Option<(String, HoldState)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted now: the store writes it.
    Created(Box<PlannedTransfer>),
    /// Already in the ledger with the same content: nothing to write.
    Exists(TransferId),
    /// Repeats the request at this index of the same batch: the same transfer.
    SameAs(usize),
    Failed(LedgerError),
}

/// Plans a batch of transfers against the accounts and holds the store loaded (and locked).
/// Transfers apply in order, each seeing the ones before it; a failure inside a linked
/// chain fails the whole chain and undoes its earlier members. Pure.
pub fn plan_batch(
    accounts: &mut HashMap<AccountId, LedgerAccount>,
    known: &HashMap<String, KnownTransfer>,
    requests: &[TransferRequest],
    now: DateTime<Utc>,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(requests.len());
    // Holds as they stand during the batch: key → hold (with the batch's own holds).
    let mut holds: HashMap<String, Hold> = known
        .values()
        .filter_map(|t| match (t.request.mode, t.hold_state) {
            (TransferMode::Pending { expires_at }, Some(state)) => Some((
                t.request.key.clone(),
                Hold { debit: t.request.debit, credit: t.request.credit, amount: t.amount, state, expires_at },
            )),
            _ => None,
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Where the open linked chain began, and the state to restore if it fails.
    let mut chain_start: Option<ChainStart> = None;
    let mut chain_failed = false;
    for (i, request) in requests.iter().enumerate() {
        if chain_start.is_none() && request.linked {
            chain_start = Some((i, accounts.clone(), holds.clone()));
            chain_failed = false;
        }
        let outcome = if chain_failed {
            Outcome::Failed(LedgerError::LinkedTransferFailed)
        } else if let Some(existing) = known.get(&request.key) {
            if existing.request == request.as_stored() {
                Outcome::Exists(existing.id)
            } else {
                Outcome::Failed(LedgerError::KeyReusedWithDifferentContent)
            }
        } else if let Some(&earlier) = seen.get(&request.key) {
            match &outcomes[earlier] {
                Outcome::Created(p) if p.request == *request => Outcome::SameAs(earlier),
                _ => Outcome::Failed(LedgerError::KeyReusedWithDifferentContent),
            }
        } else {
            plan_one(accounts, &mut holds, request, now)
        };
        if !matches!(outcome, Outcome::Failed(_)) {
            seen.entry(request.key.clone()).or_insert(i);
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        outcomes.push(outcome);
        if let Some((start, saved_accounts, saved_holds)) = &chain_start {
            if failed && !chain_failed {
                chain_failed = true;
                *accounts = saved_accounts.clone();
                holds = saved_holds.clone();
                for earlier in outcomes.iter_mut().take(i).skip(*start) {
                    *earlier = Outcome::Failed(LedgerError::LinkedTransferFailed);
                }
                for key in requests[*start..i].iter().map(|r| &r.key) {
                    seen.remove(key);
                }
            }
            if !request.linked {
                chain_start = None;
                chain_failed = false;
            }
        }
    }
    // A chain left open at the end of the batch fails: its last link is missing.
    if let Some((start, saved_accounts, _)) = chain_start {
        *accounts = saved_accounts;
        for outcome in outcomes.iter_mut().skip(start) {
            if !matches!(outcome, Outcome::Failed(_)) {
                *outcome = Outcome::Failed(LedgerError::LinkedTransferFailed);
            }
        }
    }
    outcomes
}

type ChainStart = (usize, HashMap<AccountId, LedgerAccount>, HashMap<String, Hold>);

fn plan_one(
    accounts: &mut HashMap<AccountId, LedgerAccount>,
    holds: &mut HashMap<String, Hold>,
    request: &TransferRequest,
    now: DateTime<Utc>,
) -> Outcome {
    let debit = match accounts.get(&request.debit) {
        Some(a) => a.clone(),
        None => return Outcome::Failed(LedgerError::AccountNotFound(request.debit)),
    };
    let credit = match accounts.get(&request.credit) {
        Some(a) => a.clone(),
        None => return Outcome::Failed(LedgerError::AccountNotFound(request.credit)),
    };
    let hold = match request.mode {
        TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire => {
            match request.pending_key.as_ref().and_then(|k| holds.get(k)) {
                Some(h) => Some(*h),
                None => return Outcome::Failed(LedgerError::HoldNotFound),
            }
        }
        _ => None,
    };
    match apply(&debit, &credit, request.currency, request.amount, request.mode, hold.as_ref(), now) {
        Ok(m) => {
            if let Some(a) = accounts.get_mut(&request.debit) {
                a.balances = m.debit;
            }
            if let Some(a) = accounts.get_mut(&request.credit) {
                a.balances = m.credit;
            }
            let resolves = resolved_state(request.mode).zip(request.pending_key.clone()).map(|(state, key)| {
                if let Some(h) = holds.get_mut(&key) {
                    h.state = state;
                }
                (key, state)
            });
            if let TransferMode::Pending { expires_at } = request.mode {
                holds.insert(
                    request.key.clone(),
                    Hold {
                        debit: request.debit,
                        credit: request.credit,
                        amount: m.amount,
                        state: HoldState::Pending,
                        expires_at,
                    },
                );
            }
            Outcome::Created(Box::new(PlannedTransfer {
                request: request.clone(),
                amount: m.amount,
                debit_after: m.debit,
                credit_after: m.credit,
                resolves,
            }))
        }
        Err(e) => Outcome::Failed(e),
    }
}

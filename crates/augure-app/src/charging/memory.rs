//! The engine's storage in memory, on the ledger's own rules
//! ([`augure_domain::ledger::plan_batch`]) and with the store's guards (one open
//! consultation per expert, grants in sequence, one settlement, leases by node): what the
//! deterministic simulation and the engine's benchmark run on. A write is all or nothing,
//! like the store's transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use augure_domain::consultation::EndReason;
use augure_domain::ledger::{
    AccountId, AccountKind, Balances, HoldState, KnownTransfer, LedgerAccount, LedgerError, Outcome, TransferId,
    TransferMode, TransferRequest,
};
use augure_domain::{ConsultationId, Currency};
use augure_store::{
    Checkpoint, Consultation, ConsultationStatus, ConsultationWrite, GrantRecord, GrantState, NewConsultation, Settled,
    SettlementRecord, StoreError, StoreResult, Transfer,
};
use chrono::{DateTime, Utc};

use super::locked;
use super::port::ChargingPort;

#[derive(Default)]
struct State {
    accounts: HashMap<AccountId, LedgerAccount>,
    known: HashMap<String, KnownTransfer>,
    transfers: Vec<Transfer>,
    consultations: BTreeMap<ConsultationId, Consultation>,
    /// Writes that would each be one transaction in the store.
    transactions: u64,
    /// Grants written in a batch of several.
    batched_grants: u64,
}

/// Consultations and a ledger in memory.
#[derive(Default)]
pub struct MemoryPort {
    state: Mutex<State>,
}

impl MemoryPort {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new empty account of `kind`.
    pub fn open_account(&self, kind: AccountKind, currency: Currency) -> AccountId {
        let mut state = locked(&self.state);
        let id = AccountId(state.accounts.len() as i64 + 1);
        let account = LedgerAccount { id, kind, currency, flags: kind.default_flags(), balances: Balances::default() };
        state.accounts.insert(id, account);
        id
    }

    /// Applies transfers outside any consultation (a purchase, a refund); each result in
    /// order, all or nothing.
    pub fn transfer(&self, requests: &[TransferRequest], now: DateTime<Utc>) -> Result<Vec<Transfer>, LedgerError> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        state.apply(requests, now)
    }

    pub fn account(&self, id: AccountId) -> LedgerAccount {
        locked(&self.state).accounts[&id].clone()
    }

    pub fn accounts(&self) -> Vec<LedgerAccount> {
        let mut all: Vec<LedgerAccount> = locked(&self.state).accounts.values().cloned().collect();
        all.sort_by_key(|a| a.id);
        all
    }

    pub fn transfers(&self) -> Vec<Transfer> {
        locked(&self.state).transfers.clone()
    }

    pub fn consultations(&self) -> Vec<Consultation> {
        locked(&self.state).consultations.values().cloned().collect()
    }

    /// Writes so far, each of which the store would make one transaction.
    pub fn transactions(&self) -> u64 {
        locked(&self.state).transactions
    }

    /// Grants written in batches of several so far.
    pub fn batched_grants(&self) -> u64 {
        locked(&self.state).batched_grants
    }
}

impl State {
    /// Plans the batch on a copy; commits only if every transfer is accepted.
    fn apply(&mut self, requests: &[TransferRequest], now: DateTime<Utc>) -> Result<Vec<Transfer>, LedgerError> {
        let mut accounts = self.accounts.clone();
        let outcomes = augure_domain::ledger::plan_batch(&mut accounts, &self.known, requests, now);
        if let Some(e) = first_error(&outcomes) {
            return Err(e);
        }
        self.accounts = accounts;
        let mut out: Vec<Transfer> = Vec::with_capacity(outcomes.len());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let transfer = match outcome {
                Outcome::Created(p) => {
                    if let Some((key, state)) = &p.resolves
                        && let Some(hold) = self.known.get_mut(key)
                    {
                        hold.hold_state = Some(*state);
                    }
                    let id = TransferId(self.transfers.len() as i64 + 1);
                    let hold_state =
                        matches!(p.request.mode, TransferMode::Pending { .. }).then_some(HoldState::Pending);
                    let known = KnownTransfer { id, request: p.request.clone(), hold_state, amount: p.amount };
                    self.known.insert(p.request.key.clone(), known);
                    let r = &p.request;
                    let t = Transfer {
                        id,
                        key: r.key.clone(),
                        debit: r.debit,
                        credit: r.credit,
                        amount: p.amount,
                        requested_amount: r.amount,
                        currency: r.currency,
                        code: r.code.clone(),
                        user_data: r.user_data.clone(),
                        mode: r.mode,
                        pending_id: None,
                        pending_key: r.pending_key.clone(),
                        linked: r.linked,
                        created_at: now,
                    };
                    self.transfers.push(t.clone());
                    t
                }
                Outcome::Exists(id) => self.transfers[(id.0 - 1) as usize].clone(),
                Outcome::SameAs(earlier) => out[earlier].clone(),
                Outcome::Failed(_) => unreachable!("no failure after first_error: transfer {i}"),
            };
            out.push(transfer);
        }
        Ok(out)
    }

    /// A grant's change to its consultation, its transfers applied.
    fn granted(&mut self, grant: &GrantRecord) {
        if let Some(c) = self.open(grant.id, &grant.node) {
            c.status = ConsultationStatus::Live;
            c.grant = grant.state;
            c.billable_seconds = c.billable_seconds.max(grant.billable_seconds);
            c.started_at = c.started_at.or(grant.started_at);
            c.checkpoint_at = grant.at;
            c.lease_until = grant.lease_until;
        }
    }

    fn open(&mut self, id: ConsultationId, node: &str) -> Option<&mut Consultation> {
        self.consultations.get_mut(&id).filter(|c| c.status.is_open() && c.node == node)
    }
}

/// The reason a batch failed: the first failure that is not only its chain's.
fn first_error(outcomes: &[Outcome]) -> Option<LedgerError> {
    let failures = outcomes.iter().filter_map(|o| match o {
        Outcome::Failed(e) => Some(e.clone()),
        _ => None,
    });
    let all: Vec<LedgerError> = failures.collect();
    all.iter().find(|e| **e != LedgerError::LinkedTransferFailed).cloned().or_else(|| all.into_iter().next())
}

#[async_trait]
impl ChargingPort for MemoryPort {
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation> {
        let mut state = locked(&self.state);
        if state.consultations.values().any(|c| c.expert == new.expert && c.status.is_open()) {
            return Err(StoreError::Conflict("live_consultation"));
        }
        state.transactions += 1;
        let id = ConsultationId(state.consultations.len() as i64 + 1);
        let c = Consultation {
            id,
            client: new.client,
            expert: new.expert,
            terms: new.terms.clone(),
            status: new.status,
            node: new.node.clone(),
            lease_until: new.lease_until,
            opened_at: new.at,
            started_at: None,
            grant: GrantState::default(),
            billable_seconds: 0,
            checkpoint_at: new.at,
            ended: None,
        };
        state.consultations.insert(id, c.clone());
        Ok(c)
    }

    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation> {
        locked(&self.state).consultations.get(&id).cloned().ok_or(StoreError::NotFound)
    }

    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        let fits = state.open(grant.id, &grant.node).is_some_and(|c| c.grant.seq + 1 == grant.state.seq);
        if !state.consultations.contains_key(&grant.id) {
            return Err(StoreError::NotFound);
        }
        if !fits {
            return Ok(ConsultationWrite::Stale);
        }
        let transfers = match state.apply(requests, now) {
            Ok(t) => t,
            Err(e) => return Ok(ConsultationWrite::Refused(e)),
        };
        state.granted(grant);
        Ok(ConsultationWrite::Applied(transfers))
    }

    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        let mut ids: Vec<ConsultationId> = grants.iter().map(|g| g.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let fits = ids.len() == grants.len()
            && grants.iter().all(|g| state.open(g.id, &g.node).is_some_and(|c| c.grant.seq + 1 == g.state.seq));
        if grants.is_empty() || !fits || state.apply(requests, now).is_err() {
            return Ok(false);
        }
        for grant in grants {
            state.granted(grant);
        }
        state.batched_grants += grants.len() as u64;
        Ok(true)
    }

    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        if !state.consultations.contains_key(&settlement.id) {
            return Err(StoreError::NotFound);
        }
        let fits = state.open(settlement.id, &settlement.node).is_some_and(|c| c.grant.seq == settlement.seq);
        if !fits {
            return Ok(ConsultationWrite::Stale);
        }
        let transfers = match state.apply(requests, now) {
            Ok(t) => t,
            Err(e) => return Ok(ConsultationWrite::Refused(e)),
        };
        if let Some(c) = state.open(settlement.id, &settlement.node) {
            c.status = ConsultationStatus::Settled;
            c.billable_seconds = settlement.billable_seconds;
            c.started_at = c.started_at.or(settlement.started_at);
            c.ended = Some(settlement.settled);
        }
        Ok(ConsultationWrite::Applied(transfers))
    }

    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        let mut touched = 0;
        for cp in checkpoints {
            if let Some(c) = state.open(cp.id, node) {
                c.billable_seconds = c.billable_seconds.max(cp.billable_seconds);
                c.started_at = c.started_at.or(cp.started_at);
                c.checkpoint_at = now;
                c.lease_until = lease_until;
                touched += 1;
            }
        }
        Ok(touched)
    }

    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        let c = state.consultations.get_mut(&id).ok_or(StoreError::NotFound)?;
        if c.status != ConsultationStatus::Ringing {
            return Ok(false);
        }
        c.status = ConsultationStatus::Lost;
        c.ended = Some(Settled { reason, ended_at: at, charge: 0, commission: 0, earnings: 0 });
        Ok(true)
    }

    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>> {
        let state = locked(&self.state);
        Ok(state.consultations.values().filter(|c| c.status.is_open() && c.node == node).cloned().collect())
    }

    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>> {
        let state = locked(&self.state);
        let mut lapsed: Vec<Consultation> =
            state.consultations.values().filter(|c| c.status.is_open() && c.lease_until <= now).cloned().collect();
        lapsed.sort_by_key(|c| (c.lease_until, c.id));
        lapsed.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(lapsed)
    }

    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut state = locked(&self.state);
        state.transactions += 1;
        let c = state.consultations.get_mut(&id).ok_or(StoreError::NotFound)?;
        if !c.status.is_open() || c.lease_until > now {
            return Ok(false);
        }
        c.node = node.into();
        c.lease_until = lease_until;
        Ok(true)
    }

    async fn available_credit(&self, account: AccountId) -> StoreResult<i64> {
        let state = locked(&self.state);
        Ok(state.accounts.get(&account).ok_or(StoreError::NotFound)?.balances.available())
    }
}

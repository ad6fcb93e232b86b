//! The engine's port on the real store, with every write transaction counted and timed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use augure_app::charging::{ChargingPort, StorePort};
use augure_domain::ConsultationId;
use augure_domain::consultation::EndReason;
use augure_domain::ledger::{AccountId, TransferRequest};
use augure_store::{
    Checkpoint, Consultation, ConsultationWrite, GrantRecord, NewConsultation, SettlementRecord, StoreResult,
};
use chrono::{DateTime, Utc};

use super::pct_f;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Create,
    Grant,
    /// Several grants in one transaction.
    Grants,
    Settle,
    Checkpoint,
    Lost,
    TakeOver,
}

const KINDS: [Kind; 7] =
    [Kind::Create, Kind::Grant, Kind::Grants, Kind::Settle, Kind::Checkpoint, Kind::Lost, Kind::TakeOver];

/// Every write transaction the engine made: when it ended (ms since the run's start) and
/// how long it took (µs), per kind; and the grants per consultation (a timer that fires
/// again and again would show there).
pub struct Writes {
    t0: Mutex<Option<Instant>>,
    log: [Mutex<Vec<(u64, u64)>>; 7],
    grants: Mutex<HashMap<ConsultationId, u32>>,
    reads: AtomicU64,
    /// Each batch of several grants written: when it ended (ms) and how many.
    batched: Mutex<Vec<(u64, usize)>>,
}

impl Writes {
    pub fn new() -> Self {
        Self {
            t0: Mutex::new(None),
            log: Default::default(),
            grants: Mutex::default(),
            reads: AtomicU64::new(0),
            batched: Mutex::default(),
        }
    }

    pub fn start(&self, t0: Instant) {
        *self.t0.lock().expect("t0") = Some(t0);
    }

    fn record(&self, kind: Kind, began: Instant) -> u64 {
        let t0 = self.t0.lock().expect("t0").unwrap_or(began);
        let at = t0.elapsed().as_millis() as u64;
        let took = began.elapsed().as_micros() as u64;
        self.log[kind as usize].lock().expect("log").push((at, took));
        at
    }

    /// Grants written in batches that ended in `window`, and how many batches.
    pub fn batched_in(&self, (from, to): (u64, u64)) -> (usize, usize) {
        let log = self.batched.lock().expect("batched");
        let inside = log.iter().filter(|(at, _)| (from..to).contains(at));
        inside.fold((0, 0), |(grants, batches), (_, n)| (grants + n, batches + 1))
    }

    pub fn entries(&self, kind: Kind, (from, to): (u64, u64)) -> Vec<(u64, u64)> {
        let log = self.log[kind as usize].lock().expect("log");
        log.iter().copied().filter(|(at, _)| (from..to).contains(at)).collect()
    }

    pub fn count(&self, window: (u64, u64)) -> usize {
        KINDS.iter().map(|&k| self.entries(k, window).len()).sum()
    }

    pub fn kinds(&self, window: (u64, u64)) -> String {
        let parts: Vec<String> = KINDS
            .iter()
            .map(|&k| (k, self.entries(k, window).len()))
            .filter(|(_, c)| *c > 0)
            .map(|(k, c)| format!("{k:?} {c}"))
            .collect();
        parts.join(", ")
    }

    pub fn busiest_second(&self, window: (u64, u64)) -> usize {
        let mut per_second: HashMap<u64, usize> = HashMap::new();
        for k in KINDS {
            for (at, _) in self.entries(k, window) {
                *per_second.entry(at / 1000).or_default() += 1;
            }
        }
        per_second.values().copied().max().unwrap_or(0)
    }

    pub fn latency_ms(&self, kind: Kind) -> (f64, f64) {
        self.latency_ms_in(kind, (0, u64::MAX))
    }

    /// p50 and p99 of the writes of `kind` that ended in `window`.
    pub fn latency_ms_in(&self, kind: Kind, window: (u64, u64)) -> (f64, f64) {
        let mut took: Vec<f64> = self.entries(kind, window).iter().map(|(_, t)| *t as f64 / 1e3).collect();
        took.sort_by(f64::total_cmp);
        (pct_f(&took, 50.0), pct_f(&took, 99.0))
    }

    pub fn most_grants(&self) -> u32 {
        self.grants.lock().expect("grants").values().copied().max().unwrap_or(0)
    }
}

/// The real store, with every write transaction the engine makes counted and timed.
pub struct CountingPort {
    pub inner: StorePort,
    pub writes: Arc<Writes>,
}

#[async_trait]
impl ChargingPort for CountingPort {
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation> {
        let began = Instant::now();
        let out = self.inner.create_consultation(new).await;
        self.writes.record(Kind::Create, began);
        out
    }

    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation> {
        self.writes.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.consultation(id).await
    }

    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        let began = Instant::now();
        let out = self.inner.grant_consultation(grant, requests, now).await;
        self.writes.record(Kind::Grant, began);
        *self.writes.grants.lock().expect("grants").entry(grant.id).or_default() += 1;
        out
    }

    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let began = Instant::now();
        let out = self.inner.grant_consultations(grants, requests, now).await;
        let at = self.writes.record(Kind::Grants, began);
        if matches!(out, Ok(true)) {
            let mut counts = self.writes.grants.lock().expect("grants");
            for grant in grants {
                *counts.entry(grant.id).or_default() += 1;
            }
            self.writes.batched.lock().expect("batched").push((at, grants.len()));
        }
        out
    }

    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        let began = Instant::now();
        let out = self.inner.settle_consultation(settlement, requests, now).await;
        self.writes.record(Kind::Settle, began);
        out
    }

    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let began = Instant::now();
        let out = self.inner.checkpoint_consultations(node, checkpoints, lease_until, now).await;
        self.writes.record(Kind::Checkpoint, began);
        out
    }

    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let began = Instant::now();
        let out = self.inner.mark_consultation_lost(id, reason, at).await;
        self.writes.record(Kind::Lost, began);
        out
    }

    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>> {
        self.writes.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.node_consultations(node).await
    }

    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>> {
        self.writes.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.lapsed_consultations(now, limit).await
    }

    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let began = Instant::now();
        let out = self.inner.take_over_consultation(id, node, lease_until, now).await;
        self.writes.record(Kind::TakeOver, began);
        out
    }

    async fn available_credit(&self, account: AccountId) -> StoreResult<i64> {
        self.writes.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.available_credit(account).await
    }
}

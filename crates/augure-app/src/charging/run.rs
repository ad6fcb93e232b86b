//! How the engine acts: the first grant, each later grant, the settlement, the timers, the
//! tick, and the recovery of consultations a stopped node left open.

use std::sync::Arc;

use augure_domain::charging::{self, Due, GrantPlan, GrantState, Pricing, Session};
use augure_domain::consultation::{ConsultationPolicy, EndReason};
use augure_domain::ledger::LedgerError;
use augure_domain::{ConsultationId, Money};
use augure_store::{
    Checkpoint, Consultation, ConsultationStatus, ConsultationWrite, GrantRecord, Settled, SettlementRecord,
};
use chrono::{DateTime, Duration, Utc};

use super::{Ended, EngineError, Inner, Live, Notice, NoticeEvent, Slot, locked};

pub(super) fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000).min(1 << 40))
}

/// How many times one wake-up acts on a consultation at most (a grant, the warning and
/// the cut can all fall at one instant).
const ACTS_PER_WAKE: usize = 8;

impl Inner {
    pub(super) fn slot(&self, id: ConsultationId) -> Result<Slot, EngineError> {
        locked(&self.sessions).get(&id).cloned().ok_or(EngineError::NotLive)
    }

    pub(super) async fn notify(&self, id: ConsultationId, event: NoticeEvent) {
        let Ok(slot) = self.slot(id) else { return };
        let guard = slot.lock().await;
        if let Some(live) = guard.as_ref() {
            self.send(id, live, event);
        }
    }

    fn send(&self, id: ConsultationId, live: &Live, event: NoticeEvent) {
        self.emit(Notice { id, client: live.client, expert: live.expert, event });
    }

    pub(super) fn emit(&self, notice: Notice) {
        if let Some(observer) = self.observer.get() {
            let _ = observer.send(notice.clone());
        }
        // Nobody listening is fine: the store has what matters.
        let _ = self.notices.send(notice);
    }

    /// Changes a live session and reschedules its timer.
    pub(super) async fn update<T>(
        &self,
        id: ConsultationId,
        change: impl FnOnce(&mut Live, DateTime<Utc>, &ConsultationPolicy) -> T,
    ) -> Result<T, EngineError> {
        let slot = self.slot(id)?;
        let mut guard = slot.lock().await;
        let live = guard.as_mut().ok_or(EngineError::NotLive)?;
        let out = change(live, self.clock.now(), &self.policy);
        self.reschedule(id, &live.session);
        Ok(out)
    }

    fn reschedule(&self, id: ConsultationId, session: &Session) {
        let at = session.next_due(&self.policy).map(|(at, _)| at);
        if locked(&self.timers).set(id, at) {
            self.wake.notify_one();
        }
    }

    /// Marks a ringing consultation lost and tells its parties; false if it was not
    /// ringing any more.
    pub(super) async fn lose(&self, id: ConsultationId, reason: EndReason) -> Result<bool, EngineError> {
        if !self.port.mark_consultation_lost(id, reason, self.clock.now()).await? {
            return Ok(false);
        }
        let c = self.port.consultation(id).await?;
        self.emit(Notice { id, client: c.client, expert: c.expert, event: NoticeEvent::Lost { reason } });
        Ok(true)
    }

    pub(super) async fn answer(&self, id: ConsultationId) -> Result<(), EngineError> {
        let c = self.port.consultation(id).await?;
        if c.status != ConsultationStatus::Ringing || c.node != self.policy.node_id {
            return Err(EngineError::NotLive);
        }
        let now = self.clock.now();
        let t = &c.terms;
        let session = Session::new(id, t.prices.clone(), t.plan, self.policy.tariff_rules(), t.rate, t.accounts, now);
        let mut live = Live { session, client: c.client, expert: c.expert };
        if let Err(e) = self.grant(&mut live, now).await {
            // The credit went elsewhere since the ring: the consultation never starts.
            self.lose(id, EndReason::NoCredit).await?;
            return Err(match e {
                EngineError::Ledger(LedgerError::ExceedsCredits) => EngineError::NotEnoughCredit,
                other => other,
            });
        }
        // In the map before its timer: a wake-up never finds a timer without its session.
        let next = live.session.next_due(&self.policy).map(|(at, _)| at);
        locked(&self.sessions).insert(id, Arc::new(tokio::sync::Mutex::new(Some(live))));
        if locked(&self.timers).set(id, next) {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Posts what the billable time costs so far and holds the next slice. A refusal for
    /// want of credit (spent elsewhere meanwhile) is retried once on a fresh balance.
    async fn grant(&self, live: &mut Live, now: DateTime<Utc>) -> Result<(), EngineError> {
        let session = &mut live.session;
        let mut available = self.port.available_credit(session.accounts.client_credit).await?;
        for attempt in 0..2 {
            let (plan, record) = self.plan_grant(session, available, now)?;
            match self.port.grant_consultation(&record, &plan.requests, now).await? {
                ConsultationWrite::Applied(_) => {
                    self.granted(session, &plan, available, now)?;
                    return Ok(());
                }
                ConsultationWrite::Refused(LedgerError::ExceedsCredits) if attempt == 0 => {
                    available = self.port.available_credit(session.accounts.client_credit).await?;
                }
                ConsultationWrite::Refused(e) => return Err(EngineError::Ledger(e)),
                ConsultationWrite::Stale => return Err(EngineError::NotLive),
            }
        }
        Err(EngineError::Ledger(LedgerError::ExceedsCredits))
    }

    /// The grant of `session` now, from `available` credit, and its record.
    pub(super) fn plan_grant(
        &self,
        session: &Session,
        available: i64,
        now: DateTime<Utc>,
    ) -> Result<(GrantPlan, GrantRecord), EngineError> {
        let billable = session.meter.billable_seconds(now);
        let plan = charging::plan_grant(
            session.id,
            &session.pricing(),
            &session.accounts,
            session.grant,
            billable,
            available,
            charging::Slice {
                seconds: self.policy.grant_seconds,
                expires_at: now + seconds(self.policy.hold_expiry_seconds),
            },
        )?;
        let record = GrantRecord {
            id: session.id,
            node: self.policy.node_id.clone(),
            state: plan.state,
            billable_seconds: billable,
            started_at: session.started_at,
            lease_until: now + seconds(self.policy.lease_seconds),
            at: now,
        };
        Ok((plan, record))
    }

    /// `session` after its grant `plan`, planned from `available` credit, was written.
    pub(super) fn granted(
        &self,
        session: &mut Session,
        plan: &GrantPlan,
        available: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let before = session.grant;
        let taken = (plan.state.posted + plan.state.held) - (before.posted + before.held);
        session.granted(plan.state, available - taken, now, &self.policy)?;
        Ok(())
    }

    pub(super) async fn credit_changed(&self, id: ConsultationId) -> Result<(), EngineError> {
        let slot = self.slot(id)?;
        let mut guard = slot.lock().await;
        let live = guard.as_mut().ok_or(EngineError::NotLive)?;
        let now = self.clock.now();
        let was_paused = live.session.paused_until().is_some();
        live.session.unpause(now);
        // A new grant holds from the new credit at once: the cut and the warning move.
        if let Err(e) = self.grant(live, now).await {
            tracing::warn!(consultation = %id, error = %e, "grant after a top-up failed");
            let available = self.port.available_credit(live.session.accounts.client_credit).await?;
            let state = live.session.grant;
            live.session.granted(state, available, now, &self.policy)?;
        }
        if was_paused {
            self.send(id, live, NoticeEvent::Resumed);
        }
        let cut_at = live.session.cut_at().filter(|_| live.session.reach.cut != u64::MAX);
        self.send(id, live, NoticeEvent::Extended { cut_at });
        self.reschedule(id, &live.session);
        Ok(())
    }

    pub(super) async fn end(&self, id: ConsultationId, reason: EndReason) -> Result<Ended, EngineError> {
        let slot = self.slot(id)?;
        let mut guard = slot.lock().await;
        let live = guard.as_mut().ok_or(EngineError::NotLive)?;
        let ended = self.settle(live, reason, self.clock.now()).await?;
        self.finish(id, &mut guard, ended);
        Ok(ended)
    }

    /// Forgets a settled consultation and tells its parties.
    fn finish(&self, id: ConsultationId, guard: &mut Option<Live>, ended: Ended) {
        if let Some(live) = guard.take() {
            self.send(id, &live, NoticeEvent::Ended(ended));
        }
        locked(&self.sessions).remove(&id);
        locked(&self.timers).set(id, None);
    }

    /// Settles at the meter's billable time now: the last post, the split, the release.
    async fn settle(&self, live: &mut Live, reason: EndReason, now: DateTime<Utc>) -> Result<Ended, EngineError> {
        let session = &mut live.session;
        session.meter.end(now);
        let billable = session.meter.billable_seconds(now);
        let record = |seq, settled| SettlementRecord {
            id: session.id,
            node: self.policy.node_id.clone(),
            seq,
            billable_seconds: billable,
            started_at: session.started_at,
            settled,
        };
        let pricing = session.pricing();
        self.write_settlement(session.id, &pricing, &session.accounts, session.grant, billable, reason, now, record)
            .await
    }

    /// Writes a settlement; a hold that lapsed meanwhile settles what was posted, and a
    /// settlement written already (another node, an earlier attempt) is read back.
    #[allow(clippy::too_many_arguments)]
    async fn write_settlement(
        &self,
        id: ConsultationId,
        pricing: &Pricing<'_>,
        accounts: &charging::ConsultationAccounts,
        state: GrantState,
        billable: u64,
        reason: EndReason,
        ended_at: DateTime<Utc>,
        record: impl Fn(u32, Settled) -> SettlementRecord,
    ) -> Result<Ended, EngineError> {
        let currency = pricing.prices.currency();
        let mut lapsed = false;
        loop {
            let plan = charging::plan_settlement(id, pricing, accounts, state, billable, lapsed)?;
            let settled = Settled {
                reason,
                ended_at,
                charge: plan.charge,
                commission: plan.split.commission.minor,
                earnings: plan.split.earnings.minor,
            };
            match self.port.settle_consultation(&record(state.seq, settled), &plan.requests, ended_at).await? {
                ConsultationWrite::Applied(_) => return Ok(ended_of(&settled, billable, currency)),
                ConsultationWrite::Refused(LedgerError::HoldExpired) if !lapsed => lapsed = true,
                ConsultationWrite::Refused(e) => return Err(EngineError::Ledger(e)),
                ConsultationWrite::Stale => {
                    let c = self.port.consultation(id).await?;
                    return match c.ended {
                        Some(settled) if c.status == ConsultationStatus::Settled => {
                            Ok(ended_of(&settled, c.billable_seconds, currency))
                        }
                        _ => Err(EngineError::NotLive),
                    };
                }
            }
        }
    }

    pub(super) async fn run_one(&self, id: ConsultationId, now: DateTime<Utc>) {
        let Ok(slot) = self.slot(id) else { return };
        let mut guard = slot.lock().await;
        let mut failed = false;
        for _ in 0..ACTS_PER_WAKE {
            let Some(live) = guard.as_mut() else { break };
            let Some((at, what)) = live.session.next_due(&self.policy) else { break };
            if at > now {
                break;
            }
            match self.act(live, what, now).await {
                Ok(Some(ended)) => self.finish(id, &mut guard, ended),
                Ok(None) => {}
                Err(e) => {
                    // Retried a little later: a store that failed may answer again.
                    tracing::error!(consultation = %id, error = %e, "consultation timer failed");
                    let retry = now + seconds(self.policy.heartbeat_seconds.max(1));
                    locked(&self.timers).set(id, Some(retry));
                    failed = true;
                    break;
                }
            }
        }
        if let (Some(live), false) = (guard.as_ref(), failed) {
            self.reschedule(id, &live.session);
        }
    }

    /// One due thing; `Some` when it ended the consultation.
    async fn act(&self, live: &mut Live, what: Due, now: DateTime<Utc>) -> Result<Option<Ended>, EngineError> {
        let id = live.session.id;
        match what {
            Due::Grant => {
                if let Err(e) = self.grant(live, now).await {
                    // The held slice is the last: the cut comes at its end.
                    tracing::warn!(consultation = %id, error = %e, "next grant refused");
                    let state = live.session.grant;
                    live.session.granted(state, 0, now, &self.policy)?;
                }
                Ok(None)
            }
            Due::Warning => {
                live.session.warned = true;
                if let Some(cut_at) = live.session.cut_at() {
                    self.send(id, live, NoticeEvent::Warning { cut_at });
                }
                Ok(None)
            }
            Due::Cut => {
                // Credit that landed without a word (another tab's top-up) still counts.
                let available = self.port.available_credit(live.session.accounts.client_credit).await?;
                if available > 0 && self.grant(live, now).await.is_ok() {
                    let billable = live.session.meter.billable_seconds(now);
                    if live.session.reach.cut > billable {
                        return Ok(None);
                    }
                }
                Ok(Some(self.settle(live, EndReason::CreditExhausted, now).await?))
            }
            Due::Reconnect(_) => Ok(Some(self.settle(live, EndReason::Disconnected, now).await?)),
            Due::PauseOver => Ok(Some(self.settle(live, EndReason::TopUpAbandoned, now).await?)),
        }
    }

    pub(super) async fn tick(&self) -> Result<u64, EngineError> {
        let now = self.clock.now();
        let slots: Vec<Slot> = locked(&self.sessions).values().cloned().collect();
        let mut checkpoints = Vec::with_capacity(slots.len());
        for slot in slots {
            if let Some(live) = slot.lock().await.as_ref() {
                checkpoints.push(Checkpoint {
                    id: live.session.id,
                    billable_seconds: live.session.meter.billable_seconds(now),
                    started_at: live.session.started_at,
                });
            }
        }
        if checkpoints.is_empty() {
            return Ok(0);
        }
        let lease_until = now + seconds(self.policy.lease_seconds);
        Ok(self.port.checkpoint_consultations(&self.policy.node_id, &checkpoints, lease_until, now).await?)
    }

    pub(super) async fn recover(&self) -> Result<usize, EngineError> {
        let open = self.port.node_consultations(&self.policy.node_id).await?;
        let mut settled = 0;
        for c in open {
            if locked(&self.sessions).contains_key(&c.id) {
                continue;
            }
            self.settle_recorded(&c).await?;
            settled += 1;
        }
        Ok(settled)
    }

    pub(super) async fn recover_lapsed(&self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let lease_until = now + seconds(self.policy.lease_seconds);
        let mut settled = 0;
        for c in self.port.lapsed_consultations(now, 100).await? {
            if locked(&self.sessions).contains_key(&c.id) {
                continue;
            }
            if self.port.take_over_consultation(c.id, &self.policy.node_id, lease_until, now).await? {
                let c = self.port.consultation(c.id).await?;
                self.settle_recorded(&c).await?;
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Settles a consultation from what the store holds: its grant and its last
    /// checkpoint, never time after it. A ringing one is lost.
    async fn settle_recorded(&self, c: &Consultation) -> Result<(), EngineError> {
        if c.status == ConsultationStatus::Ringing {
            self.lose(c.id, EndReason::Interrupted).await?;
            return Ok(());
        }
        let rules = self.policy.tariff_rules();
        let pricing = Pricing { prices: &c.terms.prices, plan: c.terms.plan, rules, rate: c.terms.rate };
        let record = |seq, settled| SettlementRecord {
            id: c.id,
            node: self.policy.node_id.clone(),
            seq,
            billable_seconds: c.billable_seconds,
            started_at: c.started_at,
            settled,
        };
        let ended = self
            .write_settlement(
                c.id,
                &pricing,
                &c.terms.accounts,
                c.grant,
                c.billable_seconds,
                EndReason::Interrupted,
                c.checkpoint_at,
                record,
            )
            .await?;
        self.emit(Notice { id: c.id, client: c.client, expert: c.expert, event: NoticeEvent::Ended(ended) });
        Ok(())
    }
}

fn ended_of(settled: &Settled, billable: u64, currency: augure_domain::Currency) -> Ended {
    Ended {
        reason: settled.reason,
        billable_seconds: billable,
        charge: Money::new(settled.charge, currency),
        commission: Money::new(settled.commission, currency),
        earnings: Money::new(settled.earnings, currency),
    }
}

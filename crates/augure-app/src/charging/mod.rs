//! The charging engine (ARCHITECTURE, "The charging engine"): runs every live
//! consultation of this node, whatever its channel. Credit is held a slice at a time;
//! the warning, the cut, the next grant and the ends of graces are timers on the
//! [`Clock`], one queue for the node; every grant and the settlement are written with
//! their ledger transfers in one transaction; the meter's checkpoints and the node's
//! leases go to the store in one batch per tick. What is decided is pure
//! ([`augure_domain::charging`]); this module does the I/O and keeps time.
//!
//! A consultation is settled exactly once whatever ends it: either side, idleness, the
//! cut, a disconnection, an administrator, or the node stopping — then the node settles
//! it when it starts again ([`Engine::recover`]), or another node once its lease ran out
//! ([`Engine::recover_lapsed`]), up to its last checkpoint.

mod batch;
mod drive;
mod memory;
mod port;
mod run;
#[cfg(any(test, feature = "simulation"))]
pub mod simulation;
pub(crate) mod timers;

pub use memory::MemoryPort;
pub use port::{ChargingPort, StorePort};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use augure_domain::charging::{PauseError, Session};
use augure_domain::consultation::{ConsultationPolicy, EndReason};
use augure_domain::ledger::LedgerError;
use augure_domain::meter::Side;
use augure_domain::tariff::{self, TariffError};
use augure_domain::{Clock, ConsultationId, Money, UserId};
use augure_store::{ConsultationStatus, ConsultationTerms, NewConsultation, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, broadcast, mpsc};

use timers::Timers;

/// What the parties of a consultation are told, as it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: ConsultationId,
    pub client: UserId,
    pub expert: UserId,
    pub event: NoticeEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeEvent {
    /// SP-beep: the credit runs out at `cut_at`.
    Warning {
        cut_at: DateTime<Utc>,
    },
    /// The credit now lasts until `cut_at` (a top-up landed); `None`: no limit in sight.
    Extended {
        cut_at: Option<DateTime<Utc>>,
    },
    /// The client is adding credit: nothing is billed until `until` at the latest.
    Paused {
        until: DateTime<Utc>,
    },
    Resumed,
    /// `side` dropped: both see "reconnecting…".
    Reconnecting {
        side: Side,
    },
    Back {
        side: Side,
    },
    Ended(Ended),
    /// It never started (SP-lost): unanswered, refused, left while ringing, no credit.
    Lost {
        reason: EndReason,
    },
}

/// How a consultation ended and what it cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ended {
    pub reason: EndReason,
    pub billable_seconds: u64,
    pub charge: Money,
    pub commission: Money,
    pub earnings: Money,
}

/// A live consultation as its parties see it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveView {
    /// The real start (first reply, bridge), before a checkpoint makes it durable.
    pub started_at: Option<DateTime<Utc>>,
    /// The meter runs now: started, both sides there, not paused.
    pub running: bool,
    /// The time shown ([`augure_domain::meter::Meter::shown_seconds`]): the billable time,
    /// or up to now while both sides are heard.
    pub billable_seconds: u64,
    /// What the billable time costs so far (the tariff of the total).
    pub charge: Money,
    /// The client's credit once this charge is paid.
    pub credit_left: Money,
    /// When the credit runs out if nothing changes; `None` while the meter is stopped or
    /// when no limit is in sight.
    pub cut_at: Option<DateTime<Utc>>,
    pub warned: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub client_away: bool,
    pub expert_away: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("this consultation is not live on this node")]
    NotLive,
    #[error("the expert is already in a consultation")]
    ExpertBusy,
    #[error("not enough credit to start")]
    NotEnoughCredit,
    #[error(transparent)]
    Pause(#[from] PauseError),
    #[error(transparent)]
    Tariff(#[from] TariffError),
    #[error("the ledger refused: {0}")]
    Ledger(LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A live consultation on this node; `None` once it ended.
struct Live {
    session: Session,
    client: UserId,
    expert: UserId,
}

type Slot = Arc<tokio::sync::Mutex<Option<Live>>>;

/// The engine of one node. Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    port: Arc<dyn ChargingPort>,
    clock: Arc<dyn Clock>,
    policy: ConsultationPolicy,
    /// By id: the order every sweep takes, so a simulation replays identically.
    sessions: Mutex<BTreeMap<ConsultationId, Slot>>,
    timers: Mutex<Timers>,
    wake: Notify,
    notices: broadcast::Sender<Notice>,
    /// The one reader that must see every notice (the channels act on each end): never
    /// lags, unlike the broadcast.
    observer: std::sync::OnceLock<mpsc::UnboundedSender<Notice>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never leaves these maps half-changed: each change is one call.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    pub fn new(port: Arc<dyn ChargingPort>, clock: Arc<dyn Clock>, policy: ConsultationPolicy) -> Self {
        let (notices, _) = broadcast::channel(4096);
        Self {
            inner: Arc::new(Inner {
                port,
                clock,
                policy,
                sessions: Mutex::default(),
                timers: Mutex::default(),
                wake: Notify::new(),
                notices,
                observer: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn policy(&self) -> &ConsultationPolicy {
        &self.inner.policy
    }

    /// Every notice from now on (a receiver that lags loses the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// Every notice from now on, none lost: for the one service that acts on them (the
    /// channels). `None` when someone took it already.
    pub fn observe(&self) -> Option<mpsc::UnboundedReceiver<Notice>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.observer.set(tx).ok().map(|()| rx)
    }

    /// Live consultations on this node.
    pub fn live_count(&self) -> usize {
        locked(&self.inner.sessions).len()
    }

    /// The earliest timer of this node.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        locked(&self.inner.timers).next()
    }

    /// A client asks for an expert: the consultation rings, holding the expert (nobody
    /// else can reach them meanwhile). Refused when the client's credit does not pay
    /// the first minute (or the whole package), or the expert is busy.
    pub async fn ring(
        &self,
        client: UserId,
        expert: UserId,
        terms: ConsultationTerms,
    ) -> Result<ConsultationId, EngineError> {
        let inner = &self.inner;
        let available = inner.port.available_credit(terms.accounts.client_credit).await?;
        if !can_start(&terms, available, &inner.policy)? {
            return Err(EngineError::NotEnoughCredit);
        }
        let now = inner.clock.now();
        let new = NewConsultation {
            client,
            expert,
            terms,
            status: ConsultationStatus::Ringing,
            node: inner.policy.node_id.clone(),
            lease_until: now + run::seconds(inner.policy.lease_seconds),
            at: now,
        };
        match inner.port.create_consultation(&new).await {
            Ok(c) => Ok(c.id),
            Err(StoreError::Conflict("live_consultation")) => Err(EngineError::ExpertBusy),
            Err(e) => Err(e.into()),
        }
    }

    /// The expert answers: the first slice is held and the consultation is live (the
    /// meter waits for the real start, [`Engine::first_reply`]).
    pub async fn answer(&self, id: ConsultationId) -> Result<(), EngineError> {
        self.inner.answer(id).await
    }

    /// Rings and answers at once (a call bridged by the phone provider).
    pub async fn open(
        &self,
        client: UserId,
        expert: UserId,
        terms: ConsultationTerms,
    ) -> Result<ConsultationId, EngineError> {
        let id = self.ring(client, expert, terms).await?;
        self.answer(id).await?;
        Ok(id)
    }

    /// A ringing consultation nobody answered, refused, or left (SP-lost); false if it
    /// was no longer ringing.
    pub async fn abandon(&self, id: ConsultationId, reason: EndReason) -> Result<bool, EngineError> {
        self.inner.lose(id, reason).await
    }

    /// The real start (the expert's first reply in a chat): billing begins.
    pub async fn first_reply(&self, id: ConsultationId) -> Result<(), EngineError> {
        self.inner.update(id, |live, now, _| live.session.start(now)).await
    }

    /// A frame or heartbeat from `side`.
    pub async fn heard(&self, id: ConsultationId, side: Side) -> Result<(), EngineError> {
        let back = self
            .inner
            .update(id, |live, now, _| {
                let was_away = live.session.is_away(side);
                live.session.heard(side, now);
                was_away
            })
            .await?;
        if back {
            self.inner.notify(id, NoticeEvent::Back { side }).await;
        }
        Ok(())
    }

    /// `side`'s connection is gone: billing stops at the last moment it was heard from,
    /// and it has the reconnection grace to come back.
    pub async fn dropped(&self, id: ConsultationId, side: Side) -> Result<(), EngineError> {
        self.inner.update(id, |live, now, policy| live.session.dropped(side, now, policy)).await?;
        self.inner.notify(id, NoticeEvent::Reconnecting { side }).await;
        Ok(())
    }

    /// The client opens the top-up after the warning: the consultation pauses (meter and
    /// messages) until credit lands or the grace ends.
    pub async fn pause_for_top_up(&self, id: ConsultationId) -> Result<DateTime<Utc>, EngineError> {
        let until = self.inner.update(id, |live, now, policy| live.session.pause(now, policy)).await??;
        self.inner.notify(id, NoticeEvent::Paused { until }).await;
        Ok(until)
    }

    /// The client's credit changed (a top-up landed): the engine extends what it holds,
    /// moves the warning and the cut, and ends a pause.
    pub async fn credit_changed(&self, id: ConsultationId) -> Result<(), EngineError> {
        self.inner.credit_changed(id).await
    }

    /// Ends a live consultation and settles it; a consultation that ended already (or is
    /// not on this node) is `NotLive`.
    pub async fn end(&self, id: ConsultationId, reason: EndReason) -> Result<Ended, EngineError> {
        self.inner.end(id, reason).await
    }

    /// Ends and settles every live consultation of this node (graceful shutdown).
    pub async fn end_all(&self, reason: EndReason) -> usize {
        let ids: Vec<ConsultationId> = locked(&self.inner.sessions).keys().copied().collect();
        let mut ended = 0;
        for id in ids {
            if self.inner.end(id, reason).await.is_ok() {
                ended += 1;
            }
        }
        ended
    }

    /// What the parties of a live consultation see now.
    pub async fn view(&self, id: ConsultationId) -> Option<LiveView> {
        let slot = locked(&self.inner.sessions).get(&id).cloned()?;
        let guard = slot.lock().await;
        let session = &guard.as_ref()?.session;
        let now = self.inner.clock.now();
        // What the parties see ticks each second; the bill follows at the next heartbeat.
        let fresh = chrono::Duration::seconds(i64::try_from(self.inner.policy.heartbeat_seconds * 2).unwrap_or(10));
        let billable = session.meter.shown_seconds(now, fresh);
        let charge = session.pricing().charge(billable).ok()?;
        // What is held and not yet owed is the client's still, beside what is not held —
        // as of the last grant or credit change, the figure the cut is computed from (the
        // parties' tabs ask every second: no store read here).
        let available = session.available;
        let unspent = session.grant.posted + session.grant.held - charge;
        let currency = session.prices.currency();
        Some(LiveView {
            started_at: session.started_at,
            running: session.meter.is_running(),
            billable_seconds: billable,
            charge: Money::new(charge, currency),
            credit_left: Money::new((available + unspent).max(0), currency),
            cut_at: session.cut_at().filter(|_| session.reach.cut != u64::MAX),
            warned: session.warned,
            paused_until: session.paused_until(),
            client_away: session.is_away(Side::Client),
            expert_away: session.is_away(Side::Expert),
        })
    }

    /// Acts on every timer due now; returns how many consultations it woke.
    pub async fn run_due(&self) -> usize {
        self.inner.run_due().await
    }

    /// The node's tick: every live consultation's checkpoint and lease in one batch.
    pub async fn tick(&self) -> Result<u64, EngineError> {
        self.inner.tick().await
    }

    /// At start, before the node reports ready: settles every open consultation this
    /// node ran (it stopped meanwhile) up to its last checkpoint. Returns how many.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        self.inner.recover().await
    }

    /// Settles the consultations of nodes whose lease ran out (they did not come back).
    pub async fn recover_lapsed(&self) -> Result<usize, EngineError> {
        self.inner.recover_lapsed().await
    }

    /// Runs the timers, the ticks and the lapsed-lease sweep until `stop` resolves.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        self.inner.run_loop(stop).await
    }
}

/// Whether `available` credit pays the start: the whole package (PH-package), or by the
/// minute the first `start_minimum_seconds` at the paid price — free minutes are a gift on
/// top of credit, not a way in without any.
fn can_start(terms: &ConsultationTerms, available: i64, policy: &ConsultationPolicy) -> Result<bool, TariffError> {
    let needed = tariff::needed_to_start(&terms.prices, terms.plan)?;
    Ok(match terms.plan {
        tariff::Plan::Package => available >= needed.minor,
        tariff::Plan::PerMinute { .. } => {
            let minimum = tariff::per_minute_charge(terms.prices.per_minute, policy.start_minimum_seconds);
            available >= minimum.minor.max(1)
        }
    })
}

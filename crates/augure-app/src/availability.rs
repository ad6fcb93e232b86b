//! What an expert does with their availability from the dashboard (SP-status,
//! WG-channels, WG-pause) and the heartbeats that keep chat live (SP-chat-presence).

use std::collections::BTreeSet;
use std::sync::Arc;

use augure_domain::UserId;
use augure_domain::availability::{AvailabilityPolicy, ExpectedReturn, Presence, Status};
use augure_domain::{Clock, Mode};
use augure_store::{ExpertPresence, Store, StoreError, StoreResult, User};
use chrono::{DateTime, Utc};

use crate::directory::DirectoryChanges;

#[derive(Clone)]
pub struct Availability {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: AvailabilityPolicy,
    changes: DirectoryChanges,
}

/// A change the expert asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Available,
    Unavailable,
    /// WG-pause: away for the pause length, back by itself.
    Pause,
    /// "Back to available" before the pause ends.
    Resume,
    Mode(Mode, bool),
}

impl Availability {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        policy: AvailabilityPolicy,
        changes: DirectoryChanges,
    ) -> Self {
        Self { store, clock, policy, changes }
    }

    /// Where writes that change the listing are announced.
    pub fn changes(&self) -> &DirectoryChanges {
        &self.changes
    }

    pub fn policy(&self) -> &AvailabilityPolicy {
        &self.policy
    }

    /// The expert's presence; one who never set it is unavailable with no mode on.
    pub async fn presence(&self, user: UserId) -> StoreResult<ExpertPresence> {
        match self.store.presence(user).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound) => Ok(ExpertPresence {
                user_id: user,
                status: Status::Unavailable,
                modes_on: Vec::new(),
                paused_until: None,
                last_heartbeat: None,
                bank_details_at: None,
                updated_at: self.clock.now(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The platform's view of the expert's availability (what the domain rules read).
    pub async fn domain_presence(&self, expert: &User) -> StoreResult<Presence> {
        Ok(domain_presence(&self.presence(expert.id).await?, expert.created_at))
    }

    /// SP-return with WG-pause: when the expert is expected back, given the next start of
    /// their planning ([`AvailabilityPolicy::expected_return`]).
    pub async fn expected_return(
        &self,
        expert: &User,
        next_planned: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<ExpectedReturn>> {
        let presence = self.domain_presence(expert).await?;
        Ok(self.policy.expected_return(&presence, next_planned, self.clock.now()))
    }

    /// The modes a client can use right now with this expert.
    pub async fn live_modes(&self, expert: &User) -> StoreResult<BTreeSet<Mode>> {
        let p = self.presence(expert.id).await?;
        Ok(self.policy.live_modes(&domain_presence(&p, expert.created_at), self.clock.now()))
    }

    /// Applies a change. Busy belongs to the platform: while busy, only modes change.
    /// An expert who had no live mode and now has one is back: the clients waiting for
    /// them are emailed (SP-return, see [`crate::planning`]).
    pub async fn change(&self, user: UserId, change: Change) -> StoreResult<ExpertPresence> {
        let now = self.clock.now();
        let mut p = self.presence(user).await?;
        let signed_up_at = self.store.user_by_id(user).await?.created_at;
        let was_live = !self.policy.live_modes(&domain_presence(&p, signed_up_at), now).is_empty();
        let busy = p.status == Status::Busy;
        match change {
            Change::Available if !busy => {
                p.status = Status::Available;
                p.paused_until = None;
            }
            Change::Unavailable if !busy => {
                p.status = Status::Unavailable;
                p.paused_until = None;
            }
            Change::Pause if !busy => p.paused_until = Some(now + chrono::Duration::minutes(self.policy.pause_minutes)),
            Change::Resume if !busy => {
                p.paused_until = None;
                p.status = Status::Available;
            }
            Change::Mode(mode, on) => {
                p.modes_on.retain(|m| *m != mode);
                if on {
                    p.modes_on.push(mode);
                    p.modes_on.sort();
                }
            }
            _ => {}
        }
        p.updated_at = now;
        self.store.save_presence(&p).await?;
        self.changes.changed();
        let is_live = !self.policy.live_modes(&domain_presence(&p, signed_up_at), now).is_empty();
        if !was_live && is_live {
            self.queue_back_alerts(user, now, now).await;
        }
        if change == Change::Pause
            && let Some(until) = p.paused_until.filter(|until| *until > now)
        {
            // The pause ends by itself, with nothing written then: the job waits for it.
            self.queue_back_alerts(user, until, now).await;
        }
        Ok(p)
    }

    /// The expert's action is saved whatever happens here; a failure is logged and the
    /// alerts wait for the next return.
    async fn queue_back_alerts(&self, user: UserId, run_at: DateTime<Utc>, now: DateTime<Utc>) {
        if let Err(e) = crate::planning::queue_back_alerts(&*self.store, user, run_at, now).await {
            tracing::error!(error = %e, expert = %user, "expert-back alerts not queued");
        }
    }

    /// The platform's own status: Busy while the expert is in a consultation, Available
    /// again after it (SP-status). Only the platform sets or lifts Busy.
    pub async fn set_busy(&self, user: UserId, busy: bool) -> StoreResult<()> {
        let mut p = self.presence(user).await?;
        let was_busy = p.status == Status::Busy;
        if busy == was_busy {
            return Ok(());
        }
        p.status = if busy { Status::Busy } else { Status::Available };
        p.updated_at = self.clock.now();
        self.store.save_presence(&p).await?;
        self.changes.changed();
        Ok(())
    }

    /// A dashboard is open: chat stays live until the grace period after the last one.
    pub async fn heartbeat(&self, user: UserId) -> StoreResult<()> {
        let mut p = self.presence(user).await?;
        let now = self.clock.now();
        // Heartbeats while chat is live change nothing a client sees; the first one after
        // a gap brings chat back, and the listing must show it.
        let was_live = p
            .last_heartbeat
            .is_some_and(|at| now - at <= chrono::Duration::seconds(self.policy.presence_grace_seconds));
        let before = p.clone();
        p.last_heartbeat = Some(now);
        p.updated_at = now;
        self.store.save_presence(&p).await?;
        if !was_live {
            self.changes.changed();
            // A chat-only expert whose dashboard comes back is back for clients too.
            let signed_up_at = self.store.user_by_id(user).await?.created_at;
            let live = |p: &ExpertPresence| !self.policy.live_modes(&domain_presence(p, signed_up_at), now).is_empty();
            if !live(&before) && live(&p) {
                self.queue_back_alerts(user, now, now).await;
            }
        }
        Ok(())
    }
}

/// The domain's view of a stored presence.
fn domain_presence(p: &ExpertPresence, signed_up_at: DateTime<Utc>) -> Presence {
    Presence {
        status: p.status,
        modes_on: p.modes_on.iter().copied().collect(),
        paused_until: p.paused_until,
        last_heartbeat: p.last_heartbeat,
        signed_up_at,
        has_bank_details: p.bank_details_at.is_some(),
    }
}

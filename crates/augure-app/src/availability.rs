//! What an expert does with their availability from the dashboard (SP-status,
//! WG-channels, WG-pause) and the heartbeats that keep chat live (SP-chat-presence).

use std::sync::Arc;

use augure_domain::UserId;
use augure_domain::availability::{AvailabilityPolicy, Status};
use augure_domain::{Clock, Mode};
use augure_store::{ExpertPresence, Store, StoreError, StoreResult};

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

    /// Applies a change. Busy belongs to the platform: while busy, only modes change.
    pub async fn change(&self, user: UserId, change: Change) -> StoreResult<ExpertPresence> {
        let now = self.clock.now();
        let mut p = self.presence(user).await?;
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
        Ok(p)
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
        p.last_heartbeat = Some(now);
        p.updated_at = now;
        self.store.save_presence(&p).await?;
        if !was_live {
            self.changes.changed();
        }
        Ok(())
    }
}

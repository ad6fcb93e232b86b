//! What moves the engine: the timers, and the writes they call for. The 1-minute warning
//! writes nothing and must be on time; grants, cuts, settlements and the tick's
//! checkpoints write, and one at a time (they share the clearing account). So the node
//! runs two loops: the timers, which say each warning at once and hand everything else
//! to the writer, and the writer, which batches the grants that fell due together, then
//! does the rest one by one, and ticks. A slow write delays writes, never a warning.

use std::sync::Mutex;

use augure_domain::ConsultationId;
use augure_domain::charging::Due;
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use super::run::seconds;
use super::{Inner, locked};

impl Inner {
    /// Everything due now, in order: the warnings, then the writes.
    pub(super) async fn run_due(&self) -> usize {
        let now = self.clock.now();
        let due = locked(&self.timers).take_due(now);
        let writes = self.run_warnings(&due, now).await;
        self.run_writes(&writes).await;
        due.len()
    }

    /// Says the warnings among `due`; returns the consultations whose due act writes.
    async fn run_warnings(&self, due: &[ConsultationId], now: DateTime<Utc>) -> Vec<ConsultationId> {
        let mut writes = Vec::new();
        for &id in due {
            let warning = match self.slot(id) {
                Ok(slot) => matches!(
                    slot.lock().await.as_ref().and_then(|live| live.session.next_due(&self.policy)),
                    Some((at, Due::Warning)) if at <= now
                ),
                Err(_) => false,
            };
            if warning {
                self.run_one(id, now).await;
            } else {
                writes.push(id);
            }
        }
        writes
    }

    /// The grants due among `ids` in one transaction, then what is left for each.
    async fn run_writes(&self, ids: &[ConsultationId]) {
        if ids.is_empty() {
            return;
        }
        // Later than when they fell due, if the writer was busy: still due now.
        let now = self.clock.now();
        self.grant_together(ids, now).await;
        for &id in ids {
            self.run_one(id, now).await;
        }
    }

    pub(super) async fn run_loop(&self, stop: impl std::future::Future<Output = ()>) {
        let (halt, halted) = watch::channel(false);
        let queue: Mutex<Vec<ConsultationId>> = Mutex::default();
        let queued = Notify::new();
        let stopping = async {
            stop.await;
            let _ = halt.send(true);
        };
        let timers = async {
            let mut halted = halted.clone();
            loop {
                let sleep = async {
                    match self.next_timer() {
                        Some(at) => self.clock.sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = sleep => {}
                    () = self.wake.notified() => {}
                    _ = halted.wait_for(|h| *h) => return,
                }
                let now = self.clock.now();
                let due = locked(&self.timers).take_due(now);
                let writes = self.run_warnings(&due, now).await;
                if !writes.is_empty() {
                    locked(&queue).extend(writes);
                    queued.notify_one();
                }
            }
        };
        let writer = async {
            let mut halted = halted.clone();
            let tick_every = seconds(self.policy.checkpoint_seconds.max(1));
            let mut next_tick = self.clock.now() + tick_every;
            loop {
                tokio::select! {
                    () = self.clock.sleep_until(next_tick) => {}
                    () = queued.notified() => {}
                    _ = halted.wait_for(|h| *h) => return,
                }
                let mut ids = std::mem::take(&mut *locked(&queue));
                ids.sort_unstable();
                ids.dedup();
                self.run_writes(&ids).await;
                let now = self.clock.now();
                if now >= next_tick {
                    if let Err(e) = self.tick().await {
                        tracing::error!(error = %e, "consultation checkpoint failed");
                    }
                    if let Err(e) = self.recover_lapsed().await {
                        tracing::error!(error = %e, "settling lapsed consultations failed");
                    }
                    next_tick = now + tick_every;
                }
            }
        };
        tokio::join!(stopping, timers, writer);
    }

    fn next_timer(&self) -> Option<DateTime<Utc>> {
        locked(&self.timers).next()
    }
}

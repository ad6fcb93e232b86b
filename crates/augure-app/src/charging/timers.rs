//! The engine's timers: one instant per live consultation (its next due thing), kept in
//! order so one task sleeps until the earliest of them all, whatever their number.

use std::collections::{BTreeSet, HashMap};

use augure_domain::ConsultationId;
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct Timers {
    queue: BTreeSet<(DateTime<Utc>, ConsultationId)>,
    at: HashMap<ConsultationId, DateTime<Utc>>,
}

impl Timers {
    /// Sets (or clears) when `id` is due; true if that is now the earliest of all, so the
    /// sleeping task must wake to wait for it instead.
    pub fn set(&mut self, id: ConsultationId, at: Option<DateTime<Utc>>) -> bool {
        if let Some(old) = self.at.remove(&id) {
            self.queue.remove(&(old, id));
        }
        let Some(at) = at else { return false };
        let earliest = self.next().is_none_or(|first| at < first);
        self.queue.insert((at, id));
        self.at.insert(id, at);
        earliest
    }

    /// Takes every consultation due at `now`, earliest first.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<ConsultationId> {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.queue.first() {
            if at > now {
                break;
            }
            self.queue.pop_first();
            self.at.remove(&id);
            due.push(id);
        }
        due
    }

    pub fn next(&self) -> Option<DateTime<Utc>> {
        self.queue.first().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn timers_come_due_in_order_and_a_reset_replaces_the_old_instant() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut timers = Timers::default();
        assert!(timers.set(ConsultationId(1), Some(t0 + Duration::seconds(30))));
        assert!(!timers.set(ConsultationId(2), Some(t0 + Duration::seconds(40))));
        assert!(timers.set(ConsultationId(2), Some(t0 + Duration::seconds(10))), "now the earliest");
        assert_eq!(timers.queue.len(), 2, "one instant per consultation");
        assert_eq!(timers.take_due(t0 + Duration::seconds(30)), [ConsultationId(2), ConsultationId(1)]);
        assert_eq!(timers.next(), None);
        timers.set(ConsultationId(3), Some(t0));
        timers.set(ConsultationId(3), None);
        assert!(timers.take_due(t0 + Duration::days(1)).is_empty(), "a cleared timer never fires");
    }
}

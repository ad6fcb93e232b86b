//! The meter of a live consultation (SPEC §4): which time is billable. It runs from the
//! real start (the expert's first reply in chat, the bridge on the phone) only while both
//! parties are there and the consultation is not paused for a top-up; a side that drops
//! stops it at the last moment that side was heard from, not when the drop is noticed.
//! Pure: the engine feeds it events with their instants and reads back the billable time
//! and the instants of the warning and the cut.

use chrono::{DateTime, Duration, Utc};

/// One of the two parties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Expert,
}

/// What the meter knows of the consultation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    /// The real start, once it happened.
    started: Option<DateTime<Utc>>,
    /// Last heard from each side while it is there; `None` while it is away.
    client: Option<DateTime<Utc>>,
    expert: Option<DateTime<Utc>>,
    /// Since when a top-up pause runs, if one does.
    paused: Option<DateTime<Utc>>,
    /// Billable time already counted, in milliseconds, and since when it runs now.
    counted_ms: i64,
    running_since: Option<DateTime<Utc>>,
    ended: bool,
}

impl Meter {
    /// A consultation both parties joined at `at` (the ring answered, the chat opened).
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            started: None,
            client: Some(at),
            expert: Some(at),
            paused: None,
            counted_ms: 0,
            running_since: None,
            ended: false,
        }
    }

    fn should_run(&self) -> bool {
        !self.ended && self.started.is_some() && self.client.is_some() && self.expert.is_some() && self.paused.is_none()
    }

    /// Stops counting at `at`, or at the last moment both sides were heard from if that
    /// is earlier: billing only ever counts time both were there.
    fn stop(&mut self, at: DateTime<Utc>) {
        let until = self.confirmed().map_or(at, |confirmed| confirmed.min(at));
        if let Some(since) = self.running_since.take() {
            self.counted_ms += (until - since).num_milliseconds().max(0);
        }
    }

    /// Counts from `at` if it should run and does not yet.
    fn resume(&mut self, at: DateTime<Utc>) {
        if self.should_run() && self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    /// The real start (the first reply); later calls change nothing.
    pub fn start(&mut self, at: DateTime<Utc>) {
        if self.started.is_none() && !self.ended {
            self.started = Some(at);
            self.resume(at);
        }
    }

    /// A frame or heartbeat from `side` at `at`; a side that was away is back.
    pub fn heard(&mut self, side: Side, at: DateTime<Utc>) {
        if self.ended {
            return;
        }
        let last = self.side_mut(side);
        *last = Some(last.map_or(at, |l| l.max(at)));
        self.resume(at);
    }

    /// Both sides were heard up to this instant: billing never runs past it.
    fn confirmed(&self) -> Option<DateTime<Utc>> {
        Some(self.client?.min(self.expert?))
    }

    /// `side` is noticed gone: the meter stops at the last moment both were heard from,
    /// not when the drop is noticed.
    pub fn dropped(&mut self, side: Side) {
        if self.side_mut(side).is_none() {
            return;
        }
        if let Some(confirmed) = self.confirmed() {
            self.stop(confirmed);
        }
        *self.side_mut(side) = None;
    }

    /// When `side` was last heard from, while it is there.
    pub fn last_heard(&self, side: Side) -> Option<DateTime<Utc>> {
        match side {
            Side::Client => self.client,
            Side::Expert => self.expert,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Option<DateTime<Utc>> {
        match side {
            Side::Client => &mut self.client,
            Side::Expert => &mut self.expert,
        }
    }

    /// A top-up pause begins: nothing is billed until [`Meter::unpause`].
    pub fn pause(&mut self, at: DateTime<Utc>) {
        if self.paused.is_none() && !self.ended {
            self.stop(at);
            self.paused = Some(at);
        }
    }

    pub fn unpause(&mut self, at: DateTime<Utc>) {
        if self.paused.take().is_some() {
            self.resume(at);
        }
    }

    pub fn paused_since(&self) -> Option<DateTime<Utc>> {
        self.paused
    }

    /// The consultation ends at `at`; the meter counts nothing more.
    pub fn end(&mut self, at: DateTime<Utc>) {
        self.stop(at);
        self.ended = true;
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Billable time up to `at`, in whole seconds (what the tariff prices): while it runs,
    /// only up to the last moment both sides were heard from, so that a drop noticed late
    /// never takes back time already billed.
    pub fn billable_seconds(&self, at: DateTime<Utc>) -> u64 {
        u64::try_from(self.billable_ms(at) / 1000).unwrap_or(0)
    }

    /// The time the parties are shown at `at`: while the meter runs and both sides were
    /// heard within `fresh`, all of it up to `at` — the billable time catches up at their
    /// next heartbeat, so the clock and the charge beside it move together each second.
    /// If a side turns out to have gone, the bill is less than was shown, never more.
    pub fn shown_seconds(&self, at: DateTime<Utc>, fresh: Duration) -> u64 {
        let both_fresh = self.confirmed().is_some_and(|confirmed| at - confirmed <= fresh);
        let ms = match self.running_since {
            Some(since) if both_fresh => self.counted_ms + (at - since).num_milliseconds().max(0),
            _ => self.billable_ms(at),
        };
        u64::try_from(ms / 1000).unwrap_or(0)
    }

    fn billable_ms(&self, at: DateTime<Utc>) -> i64 {
        let running = match (self.running_since, self.confirmed()) {
            (Some(since), Some(confirmed)) => (at.min(confirmed) - since).num_milliseconds().max(0),
            _ => 0,
        };
        self.counted_ms + running
    }

    /// When the credit runs out if the meter keeps running: `affordable` is the most
    /// billable seconds the credit pays ([`crate::tariff::affordable_seconds`]). `None`
    /// while the meter is stopped (nothing is being spent).
    pub fn cut_at(&self, affordable: u64) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        let affordable_ms = i64::try_from(affordable).unwrap_or(i64::MAX).saturating_mul(1000);
        // Bounded so the instant stays representable (about 292 000 years).
        let left_ms = affordable_ms.saturating_sub(self.counted_ms).clamp(0, 1 << 53);
        Some(since + Duration::milliseconds(left_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_time_shown_runs_with_the_clock_while_both_sides_are_heard_and_bills_no_more() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let s = |n: i64| t0 + Duration::seconds(n);
        let fresh = Duration::seconds(10);
        let mut m = Meter::new(t0);
        m.start(t0);
        m.heard(Side::Client, s(5));
        m.heard(Side::Expert, s(5));
        // Heard at 5 s: billed up to 5 s, shown up to the clock.
        assert_eq!((m.billable_seconds(s(8)), m.shown_seconds(s(8), fresh)), (5, 8));
        // Not heard for longer than `fresh`: only what was confirmed is shown.
        assert_eq!(m.shown_seconds(s(16), fresh), 5);
        // The expert dropped after 5 s: both show and bill 5 s.
        m.dropped(Side::Expert);
        assert_eq!((m.billable_seconds(s(9)), m.shown_seconds(s(9), fresh)), (5, 5));
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::seconds(seconds)
    }

    #[test]
    fn sp_chat_billing_starts_at_the_first_reply() {
        let mut m = Meter::new(t(0));
        assert_eq!(m.billable_seconds(t(30)), 0, "ringing and waiting are free");
        m.start(t(30));
        m.heard(Side::Client, t(90));
        m.heard(Side::Expert, t(90));
        assert_eq!(m.billable_seconds(t(90)), 60);
        m.start(t(60));
        assert_eq!(m.billable_seconds(t(90)), 60, "a second start changes nothing");
    }

    #[test]
    fn a_drop_stops_billing_when_the_side_was_last_heard() {
        let mut m = Meter::new(t(0));
        m.start(t(0));
        m.heard(Side::Client, t(40));
        m.heard(Side::Expert, t(50));
        // The client's tab went silent at 40 s; the drop is noticed at 55 s.
        assert_eq!(m.billable_seconds(t(55)), 40, "only what both were heard for");
        m.dropped(Side::Client);
        assert_eq!(m.billable_seconds(t(55)), 40);
        assert_eq!(m.billable_seconds(t(100)), 40, "nothing while away");
        m.heard(Side::Client, t(100));
        m.heard(Side::Expert, t(110));
        m.heard(Side::Client, t(110));
        assert_eq!(m.billable_seconds(t(110)), 50, "resumed on reconnection");
    }

    #[test]
    fn a_top_up_pause_is_not_billed() {
        let mut m = Meter::new(t(0));
        m.start(t(0));
        m.heard(Side::Expert, t(98));
        // The client opens the top-up: their frame says they are there.
        m.heard(Side::Client, t(100));
        m.pause(t(100));
        assert_eq!(m.billable_seconds(t(100)), 98, "up to when both were last heard");
        m.heard(Side::Expert, t(150));
        assert!(!m.is_running(), "a heartbeat does not end the pause");
        m.unpause(t(200));
        m.heard(Side::Client, t(260));
        m.heard(Side::Expert, t(260));
        assert_eq!(m.billable_seconds(t(260)), 158);
    }

    #[test]
    fn the_cut_is_when_the_affordable_seconds_are_used() {
        let mut m = Meter::new(t(0));
        m.start(t(10));
        assert_eq!(m.cut_at(300), Some(t(310)));
        m.heard(Side::Client, t(20));
        m.heard(Side::Expert, t(20));
        m.pause(t(20));
        assert_eq!(m.cut_at(300), None, "nothing spent while paused");
        m.unpause(t(50));
        assert_eq!(m.cut_at(300), Some(t(340)), "the pause moved the cut");
        m.heard(Side::Client, t(340));
        m.heard(Side::Expert, t(340));
        m.end(t(340));
        assert_eq!(m.billable_seconds(t(1000)), 300, "ended at the cut: exactly what the credit pays");
    }

    #[derive(Clone, Debug)]
    enum Event {
        Start,
        Heard(Side),
        Dropped(Side),
        Pause,
        Unpause,
    }

    fn event() -> impl Strategy<Value = (u8, Event)> {
        let side = prop_oneof![Just(Side::Client), Just(Side::Expert)];
        let e = prop_oneof![
            Just(Event::Start),
            side.clone().prop_map(Event::Heard),
            side.prop_map(Event::Dropped),
            Just(Event::Pause),
            Just(Event::Unpause),
        ];
        (0u8..30, e)
    }

    proptest! {
        /// Billable time never runs backwards, never exceeds the time since the real start,
        /// and never grows while a side is away or the consultation is paused.
        #[test]
        fn billable_time_counts_only_when_both_are_there(events in proptest::collection::vec(event(), 1..60)) {
            let mut m = Meter::new(t(0));
            let mut now = t(0);
            let mut before = 0;
            for (gap, e) in events {
                let stopped = !m.is_running();
                let at_stop = m.billable_seconds(now);
                now += Duration::milliseconds(i64::from(gap) * 700);
                if stopped {
                    prop_assert_eq!(m.billable_seconds(now), at_stop, "grew while stopped");
                }
                match e {
                    Event::Start => m.start(now),
                    Event::Heard(side) => m.heard(side, now),
                    Event::Dropped(side) => m.dropped(side),
                    Event::Pause => m.pause(now),
                    Event::Unpause => m.unpause(now),
                }
                let billed = m.billable_seconds(now);
                prop_assert!(billed >= before, "ran backwards: {before} → {billed}");
                let since_start = m.started.map_or(0, |s| (now - s).num_seconds().max(0) as u64);
                prop_assert!(billed <= since_start, "{billed} s billed, {since_start} s since the start");
                if m.is_running() {
                    prop_assert!(m.client.is_some() && m.expert.is_some() && m.paused.is_none());
                }
                before = billed;
            }
        }
    }
}

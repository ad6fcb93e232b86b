//! A live consultation as its node runs it: the meter, where its credit stands, and what
//! is due next (a grant, the warning, the cut, the end of a grace). Pure: the engine feeds
//! it events with their instants, asks [`Session::next_due`] when to wake, and writes
//! what it plans.

use chrono::{DateTime, Duration, Utc};

use super::{ConsultationAccounts, GrantState, Pricing, Reach, reach};
use crate::ConsultationId;
use crate::consultation::ConsultationPolicy;
use crate::meter::{Meter, Side};
use crate::pricing::SitePrices;
use crate::tariff::{Plan, Rate, TariffError, TariffRules};

/// What wakes a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The held slice is nearly used: hold the next one.
    Grant,
    /// SP-beep: the credit runs out in a minute.
    Warning,
    /// The credit ran out.
    Cut,
    /// A side that dropped did not come back in time.
    Reconnect(Side),
    /// A top-up pause ended without credit.
    PauseOver,
}

/// Why a top-up pause is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PauseError {
    #[error("a pause is only for adding credit after the warning")]
    NotWarned,
    #[error("no pause left for this consultation")]
    NoPauseLeft,
    #[error("the consultation is already paused")]
    AlreadyPaused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: ConsultationId,
    pub prices: SitePrices,
    pub plan: Plan,
    pub rules: TariffRules,
    pub rate: Rate,
    pub accounts: ConsultationAccounts,
    pub meter: Meter,
    pub grant: GrantState,
    /// The client's credit outside this consultation, as of the last grant or top-up.
    pub available: i64,
    pub reach: Reach,
    pub warned: bool,
    pub pauses: u32,
    pause_until: Option<DateTime<Utc>>,
    /// When each side that dropped must be back by.
    client_back_by: Option<DateTime<Utc>>,
    expert_back_by: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
}

impl Session {
    /// A session answered at `at`, before its first grant.
    pub fn new(
        id: ConsultationId,
        prices: SitePrices,
        plan: Plan,
        rules: TariffRules,
        rate: Rate,
        accounts: ConsultationAccounts,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            prices,
            plan,
            rules,
            rate,
            accounts,
            meter: Meter::new(at),
            grant: GrantState::default(),
            available: 0,
            reach: Reach { held_until: 0, cut: 0 },
            warned: false,
            pauses: 0,
            pause_until: None,
            client_back_by: None,
            expert_back_by: None,
            started_at: None,
        }
    }

    pub fn pricing(&self) -> Pricing<'_> {
        Pricing { prices: &self.prices, plan: self.plan, rules: self.rules, rate: self.rate }
    }

    /// After a grant was written (or the client's credit changed): where the credit now
    /// reaches. A cut moved later, past the warning, takes the warning back; a grant that
    /// only moves credit into the hold leaves the cut, and the warning given, where they
    /// are (the billed time may lag the clock by a heartbeat: it must not warn twice).
    pub fn granted(
        &mut self,
        state: GrantState,
        available: i64,
        at: DateTime<Utc>,
        policy: &ConsultationPolicy,
    ) -> Result<(), TariffError> {
        let before = self.reach.cut;
        self.grant = state;
        self.available = available.max(0);
        self.reach = reach(&self.pricing(), state, self.available)?;
        if self.warned
            && self.reach.cut > before
            && self.reach.cut > self.meter.billable_seconds(at).saturating_add(policy.warning_seconds)
        {
            self.warned = false;
        }
        Ok(())
    }

    /// The expert's first reply (chat) or the bridge (phone): billing starts.
    pub fn start(&mut self, at: DateTime<Utc>) {
        if self.started_at.is_none() {
            self.started_at = Some(at);
        }
        self.meter.start(at);
    }

    /// A frame or heartbeat from `side`: it is there (back, if it had dropped).
    pub fn heard(&mut self, side: Side, at: DateTime<Utc>) {
        self.meter.heard(side, at);
        *self.back_by(side) = None;
    }

    /// `side` is noticed gone at `at`: it has the reconnection grace to come back.
    pub fn dropped(&mut self, side: Side, at: DateTime<Utc>, policy: &ConsultationPolicy) {
        if self.meter.last_heard(side).is_some() {
            self.meter.dropped(side);
            *self.back_by(side) = Some(at + seconds(policy.reconnect_grace_seconds));
        }
    }

    fn back_by(&mut self, side: Side) -> &mut Option<DateTime<Utc>> {
        match side {
            Side::Client => &mut self.client_back_by,
            Side::Expert => &mut self.expert_back_by,
        }
    }

    /// The client opens the top-up after the warning: nothing is billed, for at most the
    /// top-up grace, at most `max_topup_pauses` times.
    pub fn pause(&mut self, at: DateTime<Utc>, policy: &ConsultationPolicy) -> Result<DateTime<Utc>, PauseError> {
        if self.pause_until.is_some() {
            return Err(PauseError::AlreadyPaused);
        }
        if !self.warned {
            return Err(PauseError::NotWarned);
        }
        if self.pauses >= policy.max_topup_pauses {
            return Err(PauseError::NoPauseLeft);
        }
        self.pauses += 1;
        self.meter.pause(at);
        let until = at + seconds(policy.topup_grace_seconds);
        self.pause_until = Some(until);
        Ok(until)
    }

    /// The pause ends (credit landed, or the client came back without buying).
    pub fn unpause(&mut self, at: DateTime<Utc>) {
        if self.pause_until.take().is_some() {
            self.meter.unpause(at);
        }
    }

    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.pause_until
    }

    /// Whether a side is away (dropped, within its grace).
    pub fn is_away(&self, side: Side) -> bool {
        match side {
            Side::Client => self.client_back_by.is_some(),
            Side::Expert => self.expert_back_by.is_some(),
        }
    }

    /// When the warning and the cut fall if the meter keeps running.
    pub fn cut_at(&self) -> Option<DateTime<Utc>> {
        self.meter.cut_at(self.reach.cut)
    }

    /// The next thing due and its instant: the earliest of the next grant (a little before
    /// the held slice is used, unless it is the last one the credit pays), the warning, the
    /// cut, the end of a reconnection grace or of a pause. Timers of the meter only exist
    /// while it runs.
    pub fn next_due(&self, policy: &ConsultationPolicy) -> Option<(DateTime<Utc>, Due)> {
        let mut due: Vec<(DateTime<Utc>, Due)> = Vec::with_capacity(5);
        if self.reach.held_until < self.reach.cut {
            let lead = policy.grant_seconds.div_ceil(10).clamp(1, 30);
            if let Some(at) = self.meter.cut_at(self.reach.held_until.saturating_sub(lead)) {
                due.push((at, Due::Grant));
            }
        }
        let limited = self.reach.cut != u64::MAX;
        if !self.warned
            && limited
            && let Some(at) = self.meter.cut_at(self.reach.cut.saturating_sub(policy.warning_seconds))
        {
            due.push((at, Due::Warning));
        }
        if limited && let Some(at) = self.meter.cut_at(self.reach.cut) {
            due.push((at, Due::Cut));
        }
        for (side, by) in [(Side::Client, self.client_back_by), (Side::Expert, self.expert_back_by)] {
            if let Some(at) = by {
                due.push((at, Due::Reconnect(side)));
            }
        }
        if let Some(at) = self.pause_until {
            due.push((at, Due::PauseOver));
        }
        // At one instant the end of a grace wins over money: it ends the consultation.
        due.into_iter().min_by_key(|(at, d)| (*at, !matches!(d, Due::Reconnect(_) | Due::PauseOver)))
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000).min(1 << 40))
}

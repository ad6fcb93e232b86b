//! An expert's availability (SP-status, WG-channels, WG-pause, SP-bank) and their place in
//! the home listing (SP-ranking). Pure: the caller passes the time.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::expert::{ListingGap, Mode};

/// SP-status: what the expert shows. `Busy` is set by the platform during a live
/// consultation, never by the expert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Available,
    Busy,
    Unavailable,
}

/// The settings behind availability, with the specification's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailabilityPolicy {
    /// WG-pause: how long "pause" lasts before the expert is back by itself.
    pub pause_minutes: i64,
    /// SP-bank: how long after sign-up an expert may work without bank details.
    pub bank_details_grace_hours: i64,
    /// SP-chat-presence: how long a lost dashboard keeps its rank.
    pub presence_grace_seconds: i64,
    /// SP-ranking: how often the order inside a position rotates.
    pub rotation_minutes: i64,
}

impl Default for AvailabilityPolicy {
    fn default() -> Self {
        Self { pause_minutes: 20, bank_details_grace_hours: 24, presence_grace_seconds: 90, rotation_minutes: 15 }
    }
}

/// What the platform knows about an expert's availability at a given moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    pub status: Status,
    /// Modes the expert switched on (WG-channels).
    pub modes_on: BTreeSet<Mode>,
    /// WG-pause: until when the expert is paused, if they are.
    pub paused_until: Option<DateTime<Utc>>,
    /// SP-chat-presence: the last heartbeat of a dashboard, if one ever connected.
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// SP-bank: when the account opened, and whether bank details are filled in.
    pub signed_up_at: DateTime<Utc>,
    pub has_bank_details: bool,
}

impl AvailabilityPolicy {
    /// SP-bank: every consultation mode is blocked once the grace period is over and the
    /// bank details are still missing.
    pub fn blocked_for_bank_details(&self, p: &Presence, now: DateTime<Utc>) -> bool {
        !p.has_bank_details && now >= p.signed_up_at + Duration::hours(self.bank_details_grace_hours)
    }

    /// SP-bank: when to warn (the banner shows until the details are given).
    pub fn bank_details_deadline(&self, p: &Presence) -> Option<DateTime<Utc>> {
        (!p.has_bank_details).then(|| p.signed_up_at + Duration::hours(self.bank_details_grace_hours))
    }

    /// WG-pause: a pause ends by itself.
    pub fn paused(&self, p: &Presence, now: DateTime<Utc>) -> bool {
        p.paused_until.is_some_and(|until| now < until)
    }

    /// The modes a client can use right now: switched on, not paused, not blocked, chat
    /// only while a dashboard is connected (within the grace period of SP-chat-presence).
    pub fn live_modes(&self, p: &Presence, now: DateTime<Utc>) -> BTreeSet<Mode> {
        if p.status != Status::Available || self.paused(p, now) || self.blocked_for_bank_details(p, now) {
            return BTreeSet::new();
        }
        let connected = p.last_heartbeat.is_some_and(|at| now - at <= Duration::seconds(self.presence_grace_seconds));
        p.modes_on.iter().copied().filter(|m| *m != Mode::Chat || connected).collect()
    }

    /// The next instant after `now` at which [`Self::live_modes`] may give another answer
    /// without anything being saved: a pause ending, chat's grace period running out, the
    /// SP-bank deadline. `None`: nothing changes until the expert does something.
    pub fn live_modes_change_at(&self, p: &Presence, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let candidates = [
            p.paused_until,
            p.last_heartbeat.map(|at| at + Duration::seconds(self.presence_grace_seconds) + Duration::nanoseconds(1)),
            self.bank_details_deadline(p),
        ];
        candidates.into_iter().flatten().filter(|at| *at > now).min()
    }

    /// SP-ranking: the position (1 best … 8) the listing gives this expert now.
    pub fn position(&self, p: &Presence, now: DateTime<Utc>) -> u8 {
        position_for(&self.live_modes(p, now))
    }
}

/// What the expert's dashboard says of them: one statement, from which every other
/// part of the page follows. The first that applies wins, in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpertStatus {
    /// Not in the listing, whatever the availability: what the profile lacks
    /// ([`crate::expert::listing_gaps`], the rule the listing applies).
    NotListed(Vec<ListingGap>),
    /// SP-status: in a consultation (set by the platform).
    Busy,
    /// SP-bank: every mode is blocked until the bank details are given.
    Blocked,
    /// The expert chose to be unavailable.
    Unavailable,
    /// WG-pause: away until `until`; `back`: whether some mode is live again then by
    /// itself (false when every mode is off, for instance).
    Paused { until: DateTime<Utc>, back: bool },
    /// Available, but no mode a client can use: none switched on (or chat only, with no
    /// dashboard open).
    NoModeLive,
    /// Available and listed at `position` (1 best … 8), with these modes live.
    Available { position: u8, live: BTreeSet<Mode> },
}

/// SP-return: when a client can expect an expert who is away now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedReturn {
    /// WG-pause: the pause ends then and the expert is back by themselves.
    PauseEnds(DateTime<Utc>),
    /// The next planned start (SP-planning).
    Planned(DateTime<Utc>),
}

impl ExpectedReturn {
    pub fn at(self) -> DateTime<Utc> {
        match self {
            ExpectedReturn::PauseEnds(at) | ExpectedReturn::Planned(at) => at,
        }
    }
}

impl AvailabilityPolicy {
    /// The dashboard's statement (see [`ExpertStatus`]). `gaps` is what the listing rule
    /// finds missing in the profile.
    pub fn expert_status(&self, p: &Presence, gaps: &[ListingGap], now: DateTime<Utc>) -> ExpertStatus {
        if !gaps.is_empty() {
            return ExpertStatus::NotListed(gaps.to_vec());
        }
        match p.status {
            Status::Busy => return ExpertStatus::Busy,
            _ if self.blocked_for_bank_details(p, now) => return ExpertStatus::Blocked,
            Status::Unavailable => return ExpertStatus::Unavailable,
            Status::Available => {}
        }
        if let Some(until) = p.paused_until.filter(|_| self.paused(p, now)) {
            return ExpertStatus::Paused { until, back: self.back_after_pause(p, now).is_some() };
        }
        let live = self.live_modes(p, now);
        if live.is_empty() {
            return ExpertStatus::NoModeLive;
        }
        ExpertStatus::Available { position: position_for(&live), live }
    }

    /// WG-pause: when the pause ends, if some mode is live again then by itself (a
    /// dashboard connected now is taken to stay connected).
    pub fn back_after_pause(&self, p: &Presence, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let until = p.paused_until.filter(|_| self.paused(p, now))?;
        let connected = p.last_heartbeat.is_some_and(|at| now - at <= Duration::seconds(self.presence_grace_seconds));
        let then = Presence { paused_until: None, last_heartbeat: connected.then_some(until), ..p.clone() };
        (!self.live_modes(&then, until).is_empty()).then_some(until)
    }

    /// SP-return with WG-pause: a paused expert who comes back by themselves is expected
    /// at the pause's end; otherwise at `next_planned`, the next planned start, if any.
    /// Says nothing about whether the expert is away now: callers show it only then.
    pub fn expected_return(
        &self,
        p: &Presence,
        next_planned: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<ExpectedReturn> {
        if let Some(until) = self.back_after_pause(p, now) {
            return Some(ExpectedReturn::PauseEnds(until));
        }
        next_planned.filter(|at| *at > now).map(ExpectedReturn::Planned)
    }
}

/// SP-ranking, positions 1–8 of the seed: available with phone, chat and email first; then
/// two of them, then one (phone before chat before email: live modes first); anyone with
/// none of the three live comes last (8: unavailable, with the alert button).
pub fn position_for(live: &BTreeSet<Mode>) -> u8 {
    let (phone, chat, email) = (live.contains(&Mode::Phone), live.contains(&Mode::Chat), live.contains(&Mode::Email));
    match (phone, chat, email) {
        (true, true, true) => 1,
        (true, true, false) => 2,
        (true, false, true) => 3,
        (false, true, true) => 4,
        (true, false, false) => 5,
        (false, true, false) => 6,
        (false, false, true) => 7,
        (false, false, false) => 8,
    }
}

/// SP-ranking's fairness inside a position: the order rotates every `rotation_minutes`,
/// each expert's place drawn from a hash of their id and the current period, so old and
/// new experts take turns at the top and the order is stable within a period (no
/// reshuffle on every page load). Returns the sort key: lower shows first.
pub fn rotation_key(expert_id: i64, now: DateTime<Utc>, rotation_minutes: i64) -> u64 {
    let period = now.timestamp().div_euclid(60 * rotation_minutes.max(1));
    // SplitMix64 over (id, period): cheap, well spread, the same on every node.
    let mut z = (expert_id as u64) ^ (period as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// When the rotation period containing `now` ends and the order inside positions changes.
pub fn rotation_period_end(now: DateTime<Utc>, rotation_minutes: i64) -> DateTime<Utc> {
    let length = 60 * rotation_minutes.max(1);
    let next = (now.timestamp().div_euclid(length) + 1) * length;
    DateTime::from_timestamp(next, 0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap()
    }

    fn presence(modes: &[Mode]) -> Presence {
        Presence {
            status: Status::Available,
            modes_on: modes.iter().copied().collect(),
            paused_until: None,
            last_heartbeat: Some(t0()),
            signed_up_at: t0() - Duration::days(30),
            has_bank_details: true,
        }
    }

    use Mode::{Chat, Email, Phone, Video};

    #[test]
    fn sp_ranking_three_modes_first_then_fewer_then_unavailable() {
        let policy = AvailabilityPolicy::default();
        let cases: [(&[Mode], u8); 9] = [
            (&[Phone, Chat, Email], 1),
            (&[Phone, Chat, Email, Video], 1),
            (&[Phone, Chat], 2),
            (&[Phone, Email], 3),
            (&[Chat, Email], 4),
            (&[Phone], 5),
            (&[Chat], 6),
            (&[Email], 7),
            (&[Video], 8),
        ];
        for (modes, expected) in cases {
            assert_eq!(policy.position(&presence(modes), t0()), expected, "{modes:?}");
        }
        let mut away = presence(&[Phone, Chat, Email]);
        away.status = Status::Unavailable;
        assert_eq!(policy.position(&away, t0()), 8);
    }

    #[test]
    fn sp_chat_presence_keeps_the_rank_for_the_grace_period() {
        let policy = AvailabilityPolicy::default();
        let p = presence(&[Phone, Chat, Email]);
        assert_eq!(policy.position(&p, t0() + Duration::seconds(90)), 1);
        assert_eq!(policy.position(&p, t0() + Duration::seconds(91)), 3, "chat drops, phone + email remain");
        let never_connected = Presence { last_heartbeat: None, ..p };
        assert!(!policy.live_modes(&never_connected, t0()).contains(&Chat));
    }

    #[test]
    fn wg_pause_ends_by_itself() {
        let policy = AvailabilityPolicy::default();
        let paused = Presence { paused_until: Some(t0() + Duration::minutes(20)), ..presence(&[Phone]) };
        assert!(policy.live_modes(&paused, t0() + Duration::minutes(19)).is_empty());
        assert_eq!(policy.position(&paused, t0() + Duration::minutes(19)), 8);
        let later = t0() + Duration::minutes(20);
        assert_eq!(policy.live_modes(&paused, later), [Phone].into_iter().collect());
    }

    #[test]
    fn sp_bank_blocks_every_mode_after_24_hours_without_bank_details() {
        let policy = AvailabilityPolicy::default();
        let new_expert = Presence { signed_up_at: t0(), has_bank_details: false, ..presence(&[Phone, Email]) };
        assert_eq!(policy.bank_details_deadline(&new_expert), Some(t0() + Duration::hours(24)));
        assert!(!policy.blocked_for_bank_details(&new_expert, t0() + Duration::hours(23)));
        assert_eq!(policy.position(&new_expert, t0() + Duration::hours(23)), 3);
        assert!(policy.blocked_for_bank_details(&new_expert, t0() + Duration::hours(24)));
        assert_eq!(policy.position(&new_expert, t0() + Duration::hours(24)), 8);
        let filled = Presence { has_bank_details: true, ..new_expert };
        assert_eq!(policy.position(&filled, t0() + Duration::hours(48)), 3, "unblocked as soon as they are filled");
        assert_eq!(policy.bank_details_deadline(&filled), None);
    }

    #[test]
    fn sp_ranking_rotation_is_stable_within_a_period_and_fair_across_periods() {
        let ids: Vec<i64> = (1..=10).collect();
        let order = |now| {
            let mut v = ids.clone();
            v.sort_by_key(|id| rotation_key(*id, now, 15));
            v
        };
        assert_eq!(order(t0()), order(t0() + Duration::seconds(59)), "no reshuffle within a period");
        // Over a day of 15-minute periods every expert is first several times.
        let mut firsts = std::collections::HashMap::new();
        for period in 0..96 {
            *firsts.entry(order(t0() + Duration::minutes(15 * period))[0]).or_insert(0) += 1;
        }
        assert_eq!(firsts.len(), 10, "everyone reaches the top: {firsts:?}");
        assert!(firsts.values().all(|n| *n <= 20), "no one hogs it: {firsts:?}");
    }

    #[test]
    fn live_modes_hold_until_the_announced_change() {
        let policy = AvailabilityPolicy::default();
        let mut p = presence(&[Phone, Chat, Email]);
        p.paused_until = Some(t0() + Duration::minutes(5));
        p.has_bank_details = false;
        p.signed_up_at = t0() - Duration::hours(1);
        let mut now = t0();
        // Walk through every announced change: between two of them the answer is constant.
        while let Some(next) = policy.live_modes_change_at(&p, now) {
            assert!(next > now);
            let live = policy.live_modes(&p, now);
            for step in [1, 7, 29] {
                let probe = now + (next - now) * step / 30;
                assert_eq!(policy.live_modes(&p, probe), live, "changed before {next}");
            }
            now = next;
        }
        assert!(policy.live_modes(&p, now).is_empty(), "blocked for bank details in the end");
        assert_eq!(policy.live_modes_change_at(&presence(&[Phone]), t0() + Duration::hours(1)), None);
    }

    #[test]
    fn the_rotation_order_holds_until_the_period_ends() {
        let now = t0() + Duration::seconds(123);
        let end = rotation_period_end(now, 15);
        assert!(end > now && end - now <= Duration::minutes(15));
        assert_eq!(rotation_key(42, now, 15), rotation_key(42, end - Duration::seconds(1), 15));
        assert_eq!(end.timestamp() % (15 * 60), 0);
    }
    #[test]
    fn the_dashboard_says_one_thing_paused_unavailable_not_listed_or_the_position() {
        use crate::expert::ListingGap::{Headline, Price};
        let policy = AvailabilityPolicy::default();
        let now = t0();
        let available = presence(&[Phone, Chat, Email]);
        let live: BTreeSet<Mode> = [Phone, Chat, Email].into_iter().collect();
        assert_eq!(policy.expert_status(&available, &[], now), ExpertStatus::Available { position: 1, live });
        // WG-pause: paused, never "available — position 8".
        let until = now + Duration::minutes(20);
        let paused = Presence { paused_until: Some(until), ..available.clone() };
        assert_eq!(policy.expert_status(&paused, &[], now), ExpertStatus::Paused { until, back: true });
        let dashboard_still_open = Presence { last_heartbeat: Some(until), ..paused.clone() };
        assert_eq!(
            policy.expert_status(&dashboard_still_open, &[], until),
            ExpertStatus::Available { position: 1, live: [Phone, Chat, Email].into_iter().collect() },
            "the pause ends by itself"
        );
        // Every mode off: unavailable, whatever the status button says; a pause then
        // ends with nothing live.
        let none = presence(&[]);
        assert_eq!(policy.expert_status(&none, &[], now), ExpertStatus::NoModeLive);
        let paused_none = Presence { paused_until: Some(until), ..none.clone() };
        assert_eq!(policy.expert_status(&paused_none, &[], now), ExpertStatus::Paused { until, back: false });
        let video = presence(&[Video]);
        assert_eq!(
            policy.expert_status(&video, &[], now),
            ExpertStatus::Available { position: 8, live: [Video].into_iter().collect() }
        );
        // Chat only, no dashboard: nothing live.
        let chat = Presence { last_heartbeat: None, ..presence(&[Chat]) };
        assert_eq!(policy.expert_status(&chat, &[], now), ExpertStatus::NoModeLive);
        // The expert's own choice, SP-bank, a consultation.
        let away = Presence { status: Status::Unavailable, paused_until: Some(until), ..available.clone() };
        assert_eq!(policy.expert_status(&away, &[], now), ExpertStatus::Unavailable);
        let unbanked = Presence { has_bank_details: false, ..available.clone() };
        assert_eq!(policy.expert_status(&unbanked, &[], now), ExpertStatus::Blocked);
        let busy = Presence { status: Status::Busy, ..available.clone() };
        assert_eq!(policy.expert_status(&busy, &[], now), ExpertStatus::Busy);
        // Not listed comes first: what is missing, not a position nobody sees.
        assert_eq!(
            policy.expert_status(&available, &[Headline, Price], now),
            ExpertStatus::NotListed(vec![Headline, Price])
        );
    }

    #[test]
    fn sp_return_while_paused_is_the_end_of_the_pause() {
        let policy = AvailabilityPolicy::default();
        let now = t0();
        let until = now + Duration::minutes(20);
        let planned = Some(now + Duration::hours(3));
        let paused = Presence { paused_until: Some(until), ..presence(&[Phone]) };
        assert_eq!(policy.expected_return(&paused, planned, now), Some(ExpectedReturn::PauseEnds(until)));
        assert_eq!(policy.expected_return(&paused, None, now).map(ExpectedReturn::at), Some(until));
        // Chat only: back at the end if the dashboard is open now.
        let chat = Presence { paused_until: Some(until), ..presence(&[Chat]) };
        assert_eq!(policy.back_after_pause(&chat, now), Some(until));
        let gone = Presence { last_heartbeat: Some(now - Duration::minutes(5)), ..chat };
        assert_eq!(policy.back_after_pause(&gone, now), None);
        // Not back by themselves (every mode off): the planning says when.
        let off = Presence { paused_until: Some(until), ..presence(&[]) };
        assert_eq!(policy.expected_return(&off, planned, now), Some(ExpectedReturn::Planned(now + Duration::hours(3))));
        assert_eq!(policy.expected_return(&presence(&[]), Some(now - Duration::hours(1)), now), None, "past starts");
    }
}

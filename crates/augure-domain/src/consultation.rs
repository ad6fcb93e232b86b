//! The rules of a live consultation that are settings (SPEC §4, §6): how credit is
//! granted and checkpointed, the warning before the cut (SP-beep), presence and top-up
//! graces, chat idleness (SP-chat-idle), ringing, reviews (SP-review), and the commission
//! per site and channel (PH-commission, AT-split). Each has the spec's default.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::SiteCode;
use crate::tariff::{Rate, TariffRules};

/// What the platform sells; each has its own commission rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Phone,
    Chat,
    Video,
    Email,
    Appointment,
    Event,
}

impl Channel {
    pub const ALL: [Channel; 6] =
        [Channel::Phone, Channel::Chat, Channel::Video, Channel::Email, Channel::Appointment, Channel::Event];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Chat => "chat",
            Channel::Video => "video",
            Channel::Email => "email",
            Channel::Appointment => "appointment",
            Channel::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Why a consultation ended: what both parties are told, and what the settlement records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// The client hung up or closed the chat.
    ClientLeft,
    /// The expert did.
    ExpertLeft,
    /// SP-chat-idle: nobody wrote or typed for the idle time.
    Idle,
    /// The credit ran out: the cut.
    CreditExhausted,
    /// A side dropped and did not come back within the reconnection grace.
    Disconnected,
    /// A top-up pause ended without new credit.
    TopUpAbandoned,
    /// The first slice could not be held (the credit went elsewhere meanwhile).
    NoCredit,
    /// An administrator ended it.
    ForceEnded,
    /// The node running it stopped (crash or shutdown): settled up to its last checkpoint.
    Interrupted,
    /// SP-lost: the expert did not answer the ring in time…
    NoAnswer,
    /// …or refused it.
    Refused,
}

impl EndReason {
    pub const ALL: [EndReason; 11] = [
        EndReason::ClientLeft,
        EndReason::ExpertLeft,
        EndReason::Idle,
        EndReason::CreditExhausted,
        EndReason::Disconnected,
        EndReason::TopUpAbandoned,
        EndReason::NoCredit,
        EndReason::ForceEnded,
        EndReason::Interrupted,
        EndReason::NoAnswer,
        EndReason::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ClientLeft => "client_left",
            EndReason::ExpertLeft => "expert_left",
            EndReason::Idle => "idle",
            EndReason::CreditExhausted => "credit_exhausted",
            EndReason::Disconnected => "disconnected",
            EndReason::TopUpAbandoned => "top_up_abandoned",
            EndReason::NoCredit => "no_credit",
            EndReason::ForceEnded => "force_ended",
            EndReason::Interrupted => "interrupted",
            EndReason::NoAnswer => "no_answer",
            EndReason::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Commission rates per channel, in basis points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelRates {
    pub phone: Rate,
    pub chat: Rate,
    pub video: Rate,
    pub email: Rate,
    pub appointment: Rate,
    pub event: Rate,
}

impl Default for ChannelRates {
    /// PH-commission: 30 % for phone, and by default for chat, video and email; AT-split:
    /// 10 % for appointments and events.
    fn default() -> Self {
        let rate = |bp| Rate::from_basis_points(bp).unwrap_or_else(|| unreachable!("{bp} ≤ 10000"));
        Self {
            phone: rate(3000),
            chat: rate(3000),
            video: rate(3000),
            email: rate(3000),
            appointment: rate(1000),
            event: rate(1000),
        }
    }
}

impl ChannelRates {
    pub fn of(&self, channel: Channel) -> Rate {
        match channel {
            Channel::Phone => self.phone,
            Channel::Chat => self.chat,
            Channel::Video => self.video,
            Channel::Email => self.email,
            Channel::Appointment => self.appointment,
            Channel::Event => self.event,
        }
    }
}

/// The operator's commission: `default`, replaced for a site by its entry in `per_site`
/// (by site code; channels an entry leaves out take the spec's defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommissionRates {
    pub default: ChannelRates,
    pub per_site: BTreeMap<String, ChannelRates>,
}

impl CommissionRates {
    /// The rate for `channel` on `site`; an admin's rate for the expert (`expert`) wins.
    pub fn rate(&self, site: &SiteCode, channel: Channel, expert: Option<Rate>) -> Rate {
        // Environment variables reach us lower-cased: codes match whatever their case.
        let own = self.per_site.iter().find(|(code, _)| code.eq_ignore_ascii_case(site.as_str())).map(|(_, r)| r);
        expert.unwrap_or_else(|| own.unwrap_or(&self.default).of(channel))
    }
}

/// Settings of live consultations, in seconds unless named otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsultationPolicy {
    /// Credit is held a slice at a time: this many seconds, or what is left.
    pub grant_seconds: u64,
    /// SP-beep: both parties are warned this long before the credit runs out.
    pub warning_seconds: u64,
    /// The meter's durable checkpoint is written at least this often.
    pub checkpoint_seconds: u64,
    /// Each side's tab says it is there this often.
    pub heartbeat_seconds: u64,
    /// A side that dropped may come back within this; otherwise the consultation ends,
    /// settled up to the drop.
    pub reconnect_grace_seconds: u64,
    /// After the warning, adding credit pauses the consultation for at most this…
    pub topup_grace_seconds: u64,
    /// …and at most this many times per consultation.
    pub max_topup_pauses: u32,
    /// SP-chat-idle: a chat ends after this long with no message and no typing.
    pub chat_idle_seconds: u64,
    /// An unanswered ring alerts the expert by SMS after this…
    pub ring_alert_seconds: u64,
    /// …and is a lost consultation (SP-lost) after this.
    pub ring_timeout_seconds: u64,
    /// SP-review: a consultation longer than this invites the client to review it.
    pub review_after_seconds: u64,
    /// PH-package: a package consultation shorter than this is not billed.
    pub package_very_short_seconds: u64,
    /// A client may start by the minute with credit for at least this long (the chat's
    /// "buy credit first" below it).
    pub start_minimum_seconds: u64,
    /// The node running a consultation holds it this long past its last checkpoint; after
    /// that any node may settle it.
    pub lease_seconds: u64,
    /// A hold nobody settles (every node gone) gives the credit back after this.
    pub hold_expiry_seconds: u64,
    /// This node's stable name: its consultations' leases carry it, and it settles its own
    /// when it starts again.
    pub node_id: String,
    pub commission: CommissionRates,
    /// Chat messages: length, pace, masking of contact details, retention.
    pub chat: crate::chat::ChatPolicy,
}

impl Default for ConsultationPolicy {
    fn default() -> Self {
        Self {
            grant_seconds: 300,
            warning_seconds: 60,
            checkpoint_seconds: 30,
            heartbeat_seconds: 5,
            reconnect_grace_seconds: 60,
            topup_grace_seconds: 120,
            max_topup_pauses: 2,
            chat_idle_seconds: 240,
            ring_alert_seconds: 10,
            ring_timeout_seconds: 60,
            review_after_seconds: 180,
            package_very_short_seconds: 120,
            start_minimum_seconds: 60,
            lease_seconds: 90,
            hold_expiry_seconds: 86_400,
            node_id: "local".into(),
            chat: Default::default(),
            commission: CommissionRates::default(),
        }
    }
}

impl ConsultationPolicy {
    /// What the tariff functions need of these settings.
    pub fn tariff_rules(&self) -> TariffRules {
        TariffRules { very_short_seconds: self.package_very_short_seconds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(code: &str) -> SiteCode {
        code.parse().unwrap()
    }

    #[test]
    fn ph_commission_and_at_split_default_to_the_specs_rates() {
        let rates = CommissionRates::default();
        for channel in [Channel::Phone, Channel::Chat, Channel::Video, Channel::Email] {
            assert_eq!(rates.rate(&site("FR"), channel, None).basis_points(), 3000, "{channel:?}");
        }
        for channel in [Channel::Appointment, Channel::Event] {
            assert_eq!(rates.rate(&site("FR"), channel, None).basis_points(), 1000, "{channel:?}");
        }
    }

    #[test]
    fn a_site_may_set_its_own_rates_and_an_admins_rate_for_an_expert_wins() {
        let mut rates = CommissionRates::default();
        let swiss = ChannelRates { chat: Rate::from_basis_points(2500).unwrap(), ..ChannelRates::default() };
        rates.per_site.insert("ch".into(), swiss);
        assert_eq!(rates.rate(&site("CH"), Channel::Chat, None).basis_points(), 2500);
        assert_eq!(rates.rate(&site("FR"), Channel::Chat, None).basis_points(), 3000);
        let negotiated = Rate::from_basis_points(2000).unwrap();
        assert_eq!(rates.rate(&site("CH"), Channel::Chat, Some(negotiated)), negotiated);
    }

    #[test]
    fn the_specs_defaults_are_the_policys() {
        let policy = ConsultationPolicy::default();
        assert_eq!((policy.grant_seconds, policy.warning_seconds, policy.chat_idle_seconds), (300, 60, 240));
        assert_eq!((policy.reconnect_grace_seconds, policy.topup_grace_seconds, policy.max_topup_pauses), (60, 120, 2));
        assert_eq!(policy.tariff_rules().very_short_seconds, 120);
    }
}

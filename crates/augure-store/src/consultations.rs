//! Consultations as the store keeps them: the terms frozen when one opens, where its
//! credit stands (the grant), its durable checkpoint and lease, and its settlement.

pub use augure_domain::charging::{ConsultationAccounts, GrantState};
use augure_domain::consultation::{Channel, EndReason};
use augure_domain::ledger::LedgerError;
use augure_domain::pricing::SitePrices;
use augure_domain::tariff::{Plan, Rate};
use augure_domain::{ConsultationId, SiteId, UserId};
use chrono::{DateTime, Utc};

use crate::Transfer;

/// Where a consultation stands. Ringing and live ones hold their expert: an expert has at
/// most one of them at a time, on every channel and node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsultationStatus {
    /// Waiting for the expert to answer; nothing is held yet.
    Ringing,
    /// Answered: credit is held and the meter may run.
    Live,
    /// Ended and paid: the charge is split between the expert and the platform.
    Settled,
    /// Never answered, refused, or left by the client while ringing (SP-lost).
    Lost,
}

impl ConsultationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationStatus::Ringing => "ringing",
            ConsultationStatus::Live => "live",
            ConsultationStatus::Settled => "settled",
            ConsultationStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ConsultationStatus::Ringing, ConsultationStatus::Live, ConsultationStatus::Settled, ConsultationStatus::Lost]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// Ringing or live: it holds its expert.
    pub fn is_open(self) -> bool {
        matches!(self, ConsultationStatus::Ringing | ConsultationStatus::Live)
    }
}

/// What a consultation costs, frozen when it opens: a price change during it changes
/// nothing for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsultationTerms {
    pub site: SiteId,
    pub channel: Channel,
    pub plan: Plan,
    /// The expert's prices for the site's currency (or the site's tariff).
    pub prices: SitePrices,
    /// The commission rate (site and channel, or the expert's own).
    pub rate: Rate,
    pub accounts: ConsultationAccounts,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsultation {
    pub client: UserId,
    pub expert: UserId,
    pub terms: ConsultationTerms,
    /// Ringing (a chat waiting for the expert) or live (already answered).
    pub status: ConsultationStatus,
    /// The node that runs it and until when its lease holds.
    pub node: String,
    pub lease_until: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// What the settlement recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settled {
    pub reason: EndReason,
    pub ended_at: DateTime<Utc>,
    /// What the client paid, and its split: commission + earnings = charge.
    pub charge: i64,
    pub commission: i64,
    pub earnings: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consultation {
    pub id: ConsultationId,
    pub client: UserId,
    pub expert: UserId,
    pub terms: ConsultationTerms,
    pub status: ConsultationStatus,
    pub node: String,
    pub lease_until: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    /// The real start (first reply, bridge), once known durably.
    pub started_at: Option<DateTime<Utc>>,
    pub grant: GrantState,
    /// The meter's durable checkpoint: billable seconds as of `checkpoint_at`.
    pub billable_seconds: u64,
    pub checkpoint_at: DateTime<Utc>,
    /// Once settled (or lost: a reason, no money).
    pub ended: Option<Settled>,
}

/// A grant: the new credit state of consultation `id`, written with its transfers. It
/// applies only if the consultation is open, run by `node` and at grant `state.seq − 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: ConsultationId,
    pub node: String,
    pub state: GrantState,
    pub billable_seconds: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub lease_until: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A settlement: the end of consultation `id`, written with its transfers. It applies only
/// if the consultation is open, run by `node` and at grant `seq`: exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    pub id: ConsultationId,
    pub node: String,
    pub seq: u32,
    pub billable_seconds: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub settled: Settled,
}

/// A meter reading in a node's tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub id: ConsultationId,
    pub billable_seconds: u64,
    pub started_at: Option<DateTime<Utc>>,
}

/// What became of a grant or a settlement and its transfers, written in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsultationWrite {
    /// Written: the transfers, in request order (replays answer with the stored ones).
    Applied(Vec<Transfer>),
    /// The ledger refused a transfer: nothing was written.
    Refused(LedgerError),
    /// The consultation is no longer where the record expects it (ended, another grant,
    /// another node): nothing was written.
    Stale,
}

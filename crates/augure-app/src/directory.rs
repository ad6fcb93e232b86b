//! The expert directory: every expert ranked as SP-ranking says (position by live modes,
//! a rotating order inside each position), with the filters clients use.

use std::collections::BTreeSet;
use std::sync::Arc;

use augure_domain::availability::{AvailabilityPolicy, Presence, Status, rotation_key};
use augure_domain::{Clock, Mode};
use augure_store::{DirectoryEntry, Store, StoreResult};
use chrono::{DateTime, Utc};

/// What a client narrows the listing with. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryQuery {
    pub specialty: Option<String>,
    pub language: Option<String>,
    /// Experts offering this mode.
    pub mode: Option<Mode>,
    /// Per-minute price at most this, in minor units.
    pub max_price: Option<i64>,
    /// Only experts a client can consult right now.
    pub available_now: bool,
    /// A name (any part, any case) or an exact expert code.
    pub search: Option<String>,
}

/// An expert in the listing.
#[derive(Clone, Debug)]
pub struct Listed {
    pub entry: DirectoryEntry,
    /// SP-ranking position, 1 (best) to 8 (unavailable).
    pub position: u8,
    pub live_modes: BTreeSet<Mode>,
}

#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: AvailabilityPolicy,
}

impl Directory {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policy: AvailabilityPolicy) -> Self {
        Self { store, clock, policy }
    }

    pub async fn listing(&self, query: &DirectoryQuery) -> StoreResult<Vec<Listed>> {
        let now = self.clock.now();
        let entries = self.store.directory().await?;
        let mut listed: Vec<Listed> = entries
            .into_iter()
            .map(|entry| {
                let presence = presence_of(&entry);
                let live_modes = self.policy.live_modes(&presence, now);
                Listed { position: augure_domain::availability::position_for(&live_modes), live_modes, entry }
            })
            .filter(|l| matches(query, l))
            .collect();
        let rotation = self.policy.rotation_minutes;
        listed.sort_by_key(|l| (l.position, rotation_key(l.entry.card.profile.user_id.0, now, rotation)));
        Ok(listed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The domain's view of a stored presence; an expert who never set one is unavailable.
fn presence_of(entry: &DirectoryEntry) -> Presence {
    match &entry.presence {
        Some(p) => Presence {
            status: p.status,
            modes_on: p.modes_on.iter().copied().collect(),
            paused_until: p.paused_until,
            last_heartbeat: p.last_heartbeat,
            signed_up_at: entry.signed_up_at,
            has_bank_details: p.bank_details_at.is_some(),
        },
        None => Presence {
            status: Status::Unavailable,
            modes_on: BTreeSet::new(),
            paused_until: None,
            last_heartbeat: None,
            signed_up_at: entry.signed_up_at,
            has_bank_details: false,
        },
    }
}

fn matches(q: &DirectoryQuery, l: &Listed) -> bool {
    let p = &l.entry.card.profile;
    let specialty = q.specialty.as_ref().is_none_or(|s| p.specialties.iter().any(|x| x == s));
    let language = q.language.as_ref().is_none_or(|s| p.languages.iter().any(|x| x.eq_ignore_ascii_case(s)));
    let mode = q.mode.is_none_or(|m| p.modes.contains(&m));
    let price = q.max_price.is_none_or(|max| p.price_per_minute.minor <= max);
    let available = !q.available_now || l.position < 8;
    let search = q.search.as_ref().map(|s| s.trim()).filter(|s| !s.is_empty()).is_none_or(|s| {
        let by_code = l.entry.card.expert_code.is_some_and(|c| c.to_string() == s);
        by_code || l.entry.card.display_name.to_lowercase().contains(&s.to_lowercase())
    });
    specialty && language && mode && price && available && search
}

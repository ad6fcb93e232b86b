//! The expert directory: every expert ranked as SP-ranking says (position by live modes,
//! a rotating order inside each position), with the filters clients use.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use augure_domain::availability::{AvailabilityPolicy, ExpectedReturn, Presence, Status, rotation_key};
use augure_domain::expert::{ListingFacts, ListingGap};
use augure_domain::pricing::{SitePrices, effective_prices};
use augure_domain::{Clock, Mode, Site, SiteId};
use augure_store::{DirectoryEntry, ExpertProfile, Store, StoreResult};
use chrono::{DateTime, Utc};

/// What a client narrows the listing with. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryQuery {
    pub specialty: Option<String>,
    pub language: Option<String>,
    /// Experts offering this mode.
    pub mode: Option<Mode>,
    /// Per-minute price at most this, in minor units of the currency of `site` (of each
    /// expert's home site without one): the price clients there pay.
    pub max_price: Option<i64>,
    /// Only experts a client can consult right now.
    pub available_now: bool,
    /// A name (any part, any case) or an exact expert code.
    pub search: Option<String>,
    /// Only experts listed on this site (SP-options).
    pub site: Option<augure_domain::SiteId>,
}

/// An expert in the listing.
#[derive(Clone, Debug)]
pub struct Listed {
    pub entry: Arc<DirectoryEntry>,
    /// SP-return: the end of the expert's pause, or the start of their next planned slot,
    /// in the listing's snapshot (whether or not they are away now).
    pub expected_return: Option<ExpectedReturn>,
    /// Which ranking this came from: equal numbers mean equal entries and positions, so
    /// pages may reuse what they rendered for it.
    pub snapshot: u64,
    /// SP-ranking position, 1 (best) to 8 (unavailable).
    pub position: u8,
    pub live_modes: BTreeSet<Mode>,
    /// What the expert costs on the site browsed (on their home site when none is).
    pub prices: SitePrices,
}

/// The listing is read on every storefront page; it is served from memory and read again
/// from the store when something on this node changed it, or after `cache_ms`.
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: AvailabilityPolicy,
    cache_ms: i64,
    /// How far ahead plannings go (SP-planning), to read the expected returns.
    planning_days: i64,
    cache: Arc<RwLock<Option<Snapshot>>>,
    /// One reload at a time: a burst of requests after a change reads the store once.
    reload: Arc<tokio::sync::Mutex<()>>,
    changes: DirectoryChanges,
}

/// The listing as of `computed_at`, already ranked: valid while nothing changes and
/// until `valid_until` (the cache's age limit, a pause or grace period ending, the
/// rotation turning), whichever comes first.
struct Snapshot {
    entries: Arc<Vec<Arc<DirectoryEntry>>>,
    id: u64,
    /// Every entry in listing order.
    ranked: Arc<Vec<Ranked>>,
    computed_at: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    generation: u64,
}

/// The entries and their ranking, as one snapshot holds them.
type RankedView = (Arc<Vec<Arc<DirectoryEntry>>>, Arc<Vec<Ranked>>, u64);

struct Ranked {
    position: u8,
    live_modes: BTreeSet<Mode>,
    index: usize,
    expected_return: Option<ExpectedReturn>,
    /// The effective prices on each site listing the expert where they sell (SP-tariffs).
    prices: Vec<(SiteId, SitePrices)>,
    /// The prices at home, shown when no site is browsed.
    home: Option<SitePrices>,
}

impl Ranked {
    /// The prices to show when browsing `site`; `None` where the expert is not listed or
    /// has no price: they are not shown there.
    fn prices_on(&self, site: Option<SiteId>) -> Option<&SitePrices> {
        match site {
            None => self.home.as_ref(),
            Some(site) => self.prices.iter().find(|(s, _)| *s == site).map(|(_, p)| p),
        }
    }
}

/// Where an entry is listed: the sites the expert chose; until they choose, their
/// sign-up site (or everywhere for accounts without one).
fn listed_sites(entry: &DirectoryEntry) -> Option<Vec<SiteId>> {
    chosen_site_ids(&entry.visible_sites, entry.site_id)
}

fn chosen_site_ids(visible: &[SiteId], home: Option<SiteId>) -> Option<Vec<SiteId>> {
    if visible.is_empty() { home.map(|s| vec![s]) } else { Some(visible.to_vec()) }
}

/// The sites an expert is shown on when listed: those they chose (SP-options), else their
/// sign-up site, else every site.
pub fn chosen_sites<'a>(visible: &[SiteId], home: Option<SiteId>, sites: &'a [Site]) -> Vec<&'a Site> {
    let chosen = chosen_site_ids(visible, home);
    sites.iter().filter(|s| chosen.as_ref().is_none_or(|c| c.contains(&s.id))).collect()
}

/// The listing rule ([`augure_domain::expert::listing_gaps`]) applied to a stored profile
/// shown on `on` (its chosen sites): what it lacks to be listed; `None` is no profile saved
/// yet. A price counts only where a client could pay it (without any site, any price does): the expert's own per-minute price
/// in a chosen site's currency, or that site's imposed tariff. The directory lists only
/// experts for whom this is empty, and the dashboard names what it finds.
pub fn listing_gaps(profile: Option<&ExpertProfile>, on: &[&Site]) -> Vec<ListingGap> {
    augure_domain::expert::listing_gaps(profile.map(|p| ListingFacts {
        headline: &p.headline,
        specialties: &p.specialties,
        languages: &p.languages,
        has_price: if on.is_empty() {
            // An installation without sites yet lists by the expert's own prices.
            p.prices.iter().any(|s| s.per_minute.is_some_and(|m| m.minor > 0))
        } else {
            on.iter().any(|site| effective_prices(&p.prices, site).is_some_and(|e| e.per_minute.minor > 0))
        },
    }))
}

/// Tells the directory that an expert's card or presence changed, and lets pages follow
/// those changes live. Cheap to clone; handed to every service that writes either.
#[derive(Clone)]
pub struct DirectoryChanges {
    generation: Arc<AtomicU64>,
    events: tokio::sync::broadcast::Sender<u64>,
}

impl Default for DirectoryChanges {
    fn default() -> Self {
        Self { generation: Arc::new(AtomicU64::new(0)), events: tokio::sync::broadcast::channel(64).0 }
    }
}

impl DirectoryChanges {
    /// Something listed changed: the next listing reads the store, and live pages refresh.
    pub fn changed(&self) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        // Nobody listening is fine.
        let _ = self.events.send(generation);
    }

    /// A stream of change numbers; a lagging receiver just sees a later one.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<u64> {
        self.events.subscribe()
    }

    fn current(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

impl Directory {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        policy: AvailabilityPolicy,
        cache_ms: i64,
        planning_days: i64,
    ) -> Self {
        Self {
            planning_days,
            store,
            clock,
            policy,
            cache_ms,
            cache: Arc::new(RwLock::new(None)),
            reload: Arc::new(tokio::sync::Mutex::new(())),
            changes: DirectoryChanges::default(),
        }
    }

    pub fn changes(&self) -> &DirectoryChanges {
        &self.changes
    }

    fn cached(&self, now: DateTime<Utc>) -> Option<RankedView> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache
            .as_ref()
            .filter(|s| s.generation == self.changes.current() && now >= s.computed_at && now < s.valid_until)
            .map(|s| (s.entries.clone(), s.ranked.clone(), s.id))
    }

    async fn ranked(&self, now: DateTime<Utc>) -> StoreResult<RankedView> {
        if let Some(hit) = self.cached(now) {
            return Ok(hit);
        }
        let _one_reader = self.reload.lock().await;
        if let Some(hit) = self.cached(now) {
            return Ok(hit);
        }
        // Read before loading: a change during the load makes this snapshot stale at once.
        let generation = self.changes.current();
        let sites = self.store.list_sites().await?;
        let entries: Arc<Vec<Arc<DirectoryEntry>>> = Arc::new(
            self.store
                .directory()
                .await?
                .into_iter()
                .filter(|e| {
                    let on = chosen_sites(&e.visible_sites, e.site_id, &sites);
                    listing_gaps(Some(&e.card.profile), &on).is_empty()
                })
                .map(Arc::new)
                .collect(),
        );
        static SNAPSHOTS: AtomicU64 = AtomicU64::new(0);
        let id = SNAPSHOTS.fetch_add(1, Ordering::Relaxed) + 1;
        let rotation = self.policy.rotation_minutes;
        let mut valid_until = (now + chrono::Duration::milliseconds(self.cache_ms.max(0)))
            .min(augure_domain::availability::rotation_period_end(now, rotation));
        let returns = self.expected_returns(&entries, &sites, now).await?;
        // A card's expected return moves on once that time has come (a pause's end is
        // already one of the presence's changes below).
        if let Some(first) = returns.values().min() {
            valid_until = valid_until.min(*first);
        }
        let mut keyed: Vec<(u64, Ranked)> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let presence = presence_of(entry);
            if let Some(at) = self.policy.live_modes_change_at(&presence, now) {
                valid_until = valid_until.min(at);
            }
            let live_modes = self.policy.live_modes(&presence, now);
            let position = augure_domain::availability::position_for(&live_modes);
            let listed = listed_sites(entry);
            let on = |site: &&Site| listed.as_ref().is_none_or(|l| l.contains(&site.id));
            let prices = sites
                .iter()
                .filter(on)
                .filter_map(|site| Some((site.id, effective_prices(&entry.card.profile.prices, site)?)))
                .collect();
            let home = crate::pricing::home_site(&sites, entry.site_id, listed.as_deref().unwrap_or_default());
            keyed.push((
                rotation_key(entry.card.profile.user_id.0, now, rotation),
                Ranked {
                    position,
                    live_modes,
                    index,
                    home: crate::pricing::home_prices(&entry.card.profile, home),
                    prices,
                    expected_return: self.policy.expected_return(
                        &presence,
                        returns.get(&entry.card.profile.user_id).copied(),
                        now,
                    ),
                },
            ));
        }
        keyed.sort_unstable_by_key(|(key, r)| (r.position, *key));
        let ranked = Arc::new(keyed.into_iter().map(|(_, r)| r).collect::<Vec<_>>());
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some(Snapshot {
            entries: entries.clone(),
            id,
            ranked: ranked.clone(),
            computed_at: now,
            valid_until,
            generation,
        });
        Ok((entries, ranked, id))
    }

    /// Every expert matching the query, ranked.
    pub async fn listing(&self, query: &DirectoryQuery) -> StoreResult<Vec<Listed>> {
        Ok(self.page(query, 0, usize::MAX).await?.1)
    }

    /// One page of the ranked listing, and how many experts match in all.
    pub async fn page(&self, query: &DirectoryQuery, skip: usize, take: usize) -> StoreResult<(usize, Vec<Listed>)> {
        let (entries, ranked, snapshot) = self.ranked(self.clock.now()).await?;
        let mut total = 0;
        let mut page = Vec::new();
        // The site and its prices are checked on the compact ranked rows; the entries only
        // for other filters.
        let unfiltered = *query == DirectoryQuery { site: query.site, ..DirectoryQuery::default() };
        for r in ranked.iter() {
            let Some(prices) = r.prices_on(query.site) else { continue };
            if !unfiltered && !prefilter(query, &entries[r.index], r.position, prices) {
                continue;
            }
            if total >= skip && page.len() < take {
                page.push(Listed {
                    position: r.position,
                    live_modes: r.live_modes.clone(),
                    entry: entries[r.index].clone(),
                    expected_return: r.expected_return,
                    snapshot,
                    prices: prices.clone(),
                });
            }
            total += 1;
        }
        Ok((total, page))
    }

    /// The sites showing the expert with this code (listed there, with a price there), for
    /// a search made on a site that does not: `None` for an unknown code.
    pub async fn sites_listing(&self, code: u32) -> StoreResult<Option<Vec<SiteId>>> {
        let (entries, ranked, _) = self.ranked(self.clock.now()).await?;
        Ok(ranked
            .iter()
            .find(|r| entries[r.index].card.expert_code.is_some_and(|c| c.0 == code))
            .map(|r| r.prices.iter().map(|(site, _)| *site).collect()))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// SP-return for every expert with a planning: the start of their next slot, read in
    /// their site's zone (the first site's for accounts without one).
    async fn expected_returns(
        &self,
        entries: &[Arc<DirectoryEntry>],
        sites: &[Site],
        now: DateTime<Utc>,
    ) -> StoreResult<std::collections::HashMap<augure_domain::UserId, DateTime<Utc>>> {
        // Local dates differ from UTC by less than a day either way.
        let from = (now - chrono::Duration::days(1)).date_naive();
        let to = (now + chrono::Duration::days(self.planning_days + 1)).date_naive();
        let slots = self.store.planning_between(from, to).await?;
        if slots.is_empty() {
            return Ok(Default::default());
        }
        let default_zone = sites.first().map_or(chrono_tz::Europe::Paris, |s| s.time_zone);
        let zone_of = |entry: &DirectoryEntry| {
            entry.site_id.and_then(|id| sites.iter().find(|s| s.id == id)).map_or(default_zone, |s| s.time_zone)
        };
        let zones: std::collections::HashMap<_, _> =
            entries.iter().map(|e| (e.card.profile.user_id, zone_of(e))).collect();
        let mut returns = std::collections::HashMap::new();
        for (user, slot) in slots {
            let Some(zone) = zones.get(&user) else { continue };
            let start = slot.bounds(*zone).0;
            if start > now {
                returns.entry(user).and_modify(|at: &mut DateTime<Utc>| *at = (*at).min(start)).or_insert(start);
            }
        }
        Ok(returns)
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

/// Filters before cloning the entry: most of a filtered listing is thrown away.
fn prefilter(q: &DirectoryQuery, entry: &DirectoryEntry, position: u8, prices: &SitePrices) -> bool {
    let p = &entry.card.profile;
    let specialty = q.specialty.as_ref().is_none_or(|s| p.specialties.iter().any(|x| x == s));
    let language = q.language.as_ref().is_none_or(|s| p.languages.iter().any(|x| x.eq_ignore_ascii_case(s)));
    let mode = q.mode.is_none_or(|m| p.modes.contains(&m));
    let price = q.max_price.is_none_or(|max| prices.per_minute.minor <= max);
    let available = !q.available_now || position < 8;
    let search = q.search.as_ref().map(|s| s.trim()).filter(|s| !s.is_empty()).is_none_or(|s| {
        let by_code = entry.card.expert_code.is_some_and(|c| c.to_string() == s);
        by_code || augure_domain::search::name_matches(&entry.card.display_name, s)
    });
    specialty && language && mode && price && available && search
}

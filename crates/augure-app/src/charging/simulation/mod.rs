//! The deterministic simulation of the charging engine (issue 11): worlds of concurrent
//! consultations under the fake clock, on the in-memory port, with random first replies,
//! heartbeats, drops noticed late, reconnections, top-ups and pauses, duplicate and late
//! events, hang-ups on either side, and crashes after which the node restarts (or another
//! takes over once the lease ran out). After every step the books are checked: money is
//! conserved per currency, nothing is negative, no client pays beyond the tariff of the
//! time both parties were there, started and not paused; at the end every consultation
//! is settled exactly once and nothing stays held.
//!
//! [`simulate`] runs worlds on any [`SimBooks`]: the unit suite runs 500 worlds of 20 in
//! memory (`AUGURE_SIM_WORLDS`, `AUGURE_SIM_SEED` replay a run; a failure prints its
//! seed), the end-to-end suite a few hundred consultations on each real backend.

mod books;

pub use books::{MemoryBooks, Owner, SimBooks, StoreBooks};

use std::collections::HashMap;
use std::sync::Arc;

use augure_domain::charging::Pricing;
use augure_domain::consultation::{Channel, ConsultationPolicy, EndReason};
use augure_domain::ledger::{AccountId, AccountKind, TransferMode, TransferRequest};
use augure_domain::meter::Side;
use augure_domain::pricing::{Package, SitePrices};
use augure_domain::tariff::{Plan, Rate};
use augure_domain::{Clock, ConsultationId, Currency, FakeClock, Money, UserId};
use augure_store::{ConsultationAccounts, ConsultationStatus, ConsultationTerms};
use chrono::{DateTime, Duration, Utc};

use super::{Engine, EngineError, NoticeEvent};

/// Consultations per world.
pub const PER_WORLD: usize = 20;

/// splitmix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, per_thousand: u64) -> bool {
        self.below(1000) < per_thousand
    }
}

/// Closed intervals of time, in order.
type Spans = Vec<(DateTime<Utc>, DateTime<Utc>)>;

fn intersect(a: &Spans, b: &Spans) -> Spans {
    let mut out = Vec::new();
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            let (s, e) = (a0.max(b0), a1.min(b1));
            if s < e {
                out.push((s, e));
            }
        }
    }
    out
}

fn measure_ms(spans: &Spans, minus: &Spans) -> i64 {
    let mut total = 0;
    for &(s, e) in spans {
        let mut ms = (e - s).num_milliseconds();
        for &(p0, p1) in minus {
            let (x, y) = (s.max(p0), e.min(p1));
            if x < y {
                ms -= (y - x).num_milliseconds();
            }
        }
        total += ms;
    }
    total
}

#[derive(Default)]
struct Presence {
    closed: Spans,
    /// Joined at, last heard at: while connected.
    open: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Gone since (its last heard), until the engine is told at `notice_at`.
    gone_notice_at: Option<DateTime<Utc>>,
    back_at: Option<DateTime<Utc>>,
}

impl Presence {
    fn spans(&self) -> Spans {
        let mut all = self.closed.clone();
        all.extend(self.open);
        all
    }
}

struct Run {
    client: UserId,
    expert: UserId,
    credit: AccountId,
    terms: ConsultationTerms,
    funded: i64,
    ring_at: DateTime<Utc>,
    reply_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    id: Option<ConsultationId>,
    started: Option<DateTime<Utc>>,
    sides: [Presence; 2],
    pauses: Spans,
    paused_since: Option<DateTime<Utc>>,
    done: bool,
    ended: Vec<super::Ended>,
    /// The checkpoint the store held when the node crashed: all a recovery may bill.
    checkpoint_at_crash: Option<u64>,
}

impl Run {
    /// What the time both parties were there, started and not paused, is worth: the most
    /// anyone may be charged.
    fn reference_ms(&self) -> i64 {
        let Some(started) = self.started else { return 0 };
        let both = intersect(&self.sides[0].spans(), &self.sides[1].spans());
        let from = vec![(started, DateTime::<Utc>::MAX_UTC)];
        let mut pauses = self.pauses.clone();
        pauses.extend(self.paused_since.map(|p| (p, DateTime::<Utc>::MAX_UTC)));
        measure_ms(&intersect(&both, &from), &pauses)
    }
}

struct World {
    rng: Rng,
    clock: FakeClock,
    books: Arc<dyn SimBooks>,
    clients: Vec<UserId>,
    engine: Engine,
    notices: tokio::sync::broadcast::Receiver<super::Notice>,
    policy: ConsultationPolicy,
    runs: Vec<Run>,
    by_id: HashMap<ConsultationId, usize>,
    providers: HashMap<Currency, AccountId>,
    clearing: HashMap<Currency, AccountId>,
    seed: u64,
    keys: u64,
    crashes: u32,
}

/// What the worlds went through.
#[derive(Debug, Default)]
pub struct Stats {
    pub consultations: usize,
    pub settled: usize,
    /// Settled with a charge.
    pub charged: usize,
    /// Consultations paused for a top-up at least once.
    pub pauses: usize,
    pub crashes: u32,
    /// By end reason (`open` would be a bug).
    pub ends: std::collections::BTreeMap<&'static str, usize>,
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Expert => 1,
    }
}

const SIDES: [Side; 2] = [Side::Client, Side::Expert];

impl World {
    async fn new(seed: u64, books: Arc<dyn SimBooks>) -> Self {
        let mut rng = Rng(seed);
        let clock = FakeClock::new(t0());
        let policy = ConsultationPolicy { node_id: "a".into(), ..ConsultationPolicy::default() };
        let engine = Engine::new(books.port(), Arc::new(clock.clone()), policy.clone());
        let now = t0();
        let site = books.site(now).await;
        let notices = engine.subscribe();
        let mut providers = HashMap::new();
        let mut clearing = HashMap::new();
        let mut revenue = HashMap::new();
        for currency in [Currency::Eur, Currency::Chf] {
            let platform = |kind| books.account(Owner::Platform, kind, currency, now);
            providers.insert(currency, platform(AccountKind::ProviderClearing).await);
            clearing.insert(currency, platform(AccountKind::ConsultationClearing).await);
            revenue.insert(currency, platform(AccountKind::PlatformRevenue).await);
        }
        let mut runs = Vec::new();
        for i in 0..PER_WORLD {
            let currency = if rng.chance(300) { Currency::Chf } else { Currency::Eur };
            let per_minute = Money::new(1 + rng.below(500) as i64, currency);
            let package = rng.chance(200).then(|| Package {
                price: Money::new(500 + rng.below(5000) as i64, currency),
                minutes: 1 + rng.below(30) as u32,
            });
            let prices = SitePrices {
                per_minute,
                package,
                free_minutes: if rng.chance(300) { rng.below(6) as u32 } else { 0 },
                email: None,
                imposed: false,
            };
            let plan = if package.is_some() && rng.chance(700) {
                Plan::Package
            } else {
                Plan::PerMinute { first_with_expert: rng.chance(500) }
            };
            let credit = books.account(Owner::Client(i), AccountKind::ClientCredit, currency, now).await;
            let accounts = ConsultationAccounts {
                client_credit: credit,
                clearing: clearing[&currency],
                expert_earnings: books.account(Owner::Expert(i), AccountKind::ExpertEarnings, currency, now).await,
                platform_revenue: revenue[&currency],
            };
            let terms = ConsultationTerms {
                site,
                channel: Channel::Chat,
                plan,
                prices,
                rate: Rate::from_basis_points(rng.below(10_001) as u32).unwrap(),
                accounts,
            };
            let ring_at = t0() + Duration::seconds(rng.below(600) as i64);
            let reply_at = ring_at + Duration::milliseconds(rng.below(90_000) as i64);
            let end_at = reply_at + Duration::milliseconds(rng.below(1_500_000) as i64);
            runs.push(Run {
                client: books.person(Owner::Client(i), now).await,
                expert: books.person(Owner::Expert(i), now).await,
                credit,
                terms,
                funded: 0,
                ring_at,
                reply_at,
                end_at,
                id: None,
                started: None,
                sides: Default::default(),
                pauses: Vec::new(),
                paused_since: None,
                done: false,
                ended: Vec::new(),
                checkpoint_at_crash: None,
            });
        }
        let mut world = Self {
            rng,
            clock,
            clients: runs.iter().map(|r| r.client).collect(),
            books,
            engine,
            notices,
            policy,
            runs,
            by_id: HashMap::new(),
            providers,
            clearing,
            seed,
            keys: 0,
            crashes: 0,
        };
        for i in 0..PER_WORLD {
            // Most clients can pay a while; some only a minute or two, so cuts happen.
            let per_minute = world.runs[i].terms.prices.per_minute.minor;
            let package = world.runs[i].terms.prices.package.map_or(0, |p| p.price.minor);
            let minutes = if world.rng.chance(400) { 1 + world.rng.below(3) } else { 5 + world.rng.below(40) };
            world.fund(i, package + per_minute * minutes as i64).await;
        }
        world
    }

    async fn fund(&mut self, i: usize, amount: i64) {
        self.keys += 1;
        let run = &mut self.runs[i];
        let currency = run.terms.prices.currency();
        let request = TransferRequest {
            key: format!("purchase:{}:{}", self.seed, self.keys),
            debit: self.providers[&currency],
            credit: run.credit,
            amount: Some(amount),
            currency,
            code: "purchase".into(),
            user_data: None,
            mode: TransferMode::Posted,
            pending_key: None,
            linked: false,
        };
        self.books.transfer(request, self.clock.now()).await;
        run.funded += amount;
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("simulation seed {}: {what}", self.seed)
    }

    async fn run(mut self, stats: &mut Stats) {
        let horizon = t0() + Duration::minutes(45);
        let mut next_tick = t0() + Duration::seconds(self.policy.checkpoint_seconds as i64);
        while self.clock.now() < horizon && self.runs.iter().any(|r| !r.done) {
            let step = t0().max(self.clock.now()) + Duration::milliseconds(500 + self.rng.below(4500) as i64);
            // Every timer in between fires at its own instant.
            while let Some(at) = self.engine.next_wake().filter(|at| *at <= step) {
                self.clock.set(at.max(self.clock.now()));
                self.engine.run_due().await;
                self.drain();
                self.check(false).await;
            }
            self.clock.set(step);
            if step >= next_tick {
                self.engine.tick().await.expect("checkpoint");
                next_tick = step + Duration::seconds(self.policy.checkpoint_seconds as i64);
            }
            for i in 0..self.runs.len() {
                self.step(i).await;
            }
            if self.rng.chance(1) {
                self.crash().await;
            }
            self.engine.run_due().await;
            self.drain();
            self.check(false).await;
        }
        // Whatever is still open ends now.
        for i in 0..self.runs.len() {
            if let (Some(id), false) = (self.runs[i].id, self.runs[i].done) {
                let _ = self.engine.end(id, EndReason::ClientLeft).await;
            }
        }
        self.drain();
        self.check(true).await;
        self.check_end().await;
        for c in self.books.consultations(&self.clients).await {
            *stats.ends.entry(c.ended.map_or("open", |e| e.reason.as_str())).or_default() += 1;
            if let Some(e) = c.ended.filter(|_| c.status == ConsultationStatus::Settled) {
                stats.settled += 1;
                stats.charged += usize::from(e.charge > 0);
            }
        }
        stats.consultations += self.runs.len();
        stats.pauses += self.runs.iter().filter(|r| !r.pauses.is_empty()).count();
        stats.crashes += self.crashes;
    }

    async fn step(&mut self, i: usize) {
        let now = self.clock.now();
        if self.runs[i].done {
            // Late and duplicate events after the end change nothing.
            if let (Some(id), true) = (self.runs[i].id, self.rng.chance(20)) {
                let late = self.engine.heard(id, Side::Client).await;
                assert!(matches!(late, Err(EngineError::NotLive)), "seed {}: late event {late:?}", self.seed);
            }
            return;
        }
        let Some(id) = self.runs[i].id else {
            if now >= self.runs[i].ring_at {
                self.start(i).await;
            }
            return;
        };
        // First reply (sometimes twice).
        if self.runs[i].started.is_none() && now >= self.runs[i].reply_at {
            let first = self.runs[i].started.is_none();
            self.heard(i, Side::Expert).await;
            if self.engine.first_reply(id).await.is_ok() && first {
                self.runs[i].started = Some(now);
            }
            if self.rng.chance(100) {
                let _ = self.engine.first_reply(id).await;
            }
        }
        for side in SIDES {
            self.presence(i, side).await;
        }
        // Top-ups, pauses.
        if let Some(view) = self.engine.view(id).await {
            if view.warned && view.paused_until.is_none() && self.rng.chance(150) {
                if self.engine.pause_for_top_up(id).await.is_ok() {
                    self.runs[i].paused_since = Some(now);
                }
            } else if self.rng.chance(if view.paused_until.is_some() { 150 } else { 8 }) {
                let per_minute = self.runs[i].terms.prices.per_minute.minor;
                let minutes = 1 + self.rng.below(10) as i64;
                self.fund(i, per_minute * minutes).await;
                if self.engine.credit_changed(id).await.is_ok()
                    && let Some(since) = self.runs[i].paused_since.take()
                {
                    self.runs[i].pauses.push((since, now));
                }
            }
        }
        if now >= self.runs[i].end_at {
            let side = if self.rng.chance(500) { Side::Client } else { Side::Expert };
            self.heard(i, side).await;
            let reason = if side == Side::Client { EndReason::ClientLeft } else { EndReason::ExpertLeft };
            let _ = self.engine.end(id, reason).await;
            if self.rng.chance(100) {
                let again = self.engine.end(id, reason).await;
                assert!(again.is_err(), "seed {}: a second end settled again", self.seed);
            }
        }
    }

    async fn start(&mut self, i: usize) {
        let run = &self.runs[i];
        let id = match self.engine.ring(run.client, run.expert, run.terms.clone()).await {
            Ok(id) => id,
            Err(EngineError::NotEnoughCredit) => {
                self.runs[i].done = true;
                return;
            }
            Err(e) => self.fail(format!("ring: {e}")),
        };
        self.by_id.insert(id, i);
        self.runs[i].id = Some(id);
        if self.rng.chance(50) {
            // Nobody answers: lost, nothing held.
            assert!(self.engine.abandon(id, EndReason::ClientLeft).await.unwrap());
            self.runs[i].done = true;
            return;
        }
        match self.engine.answer(id).await {
            Ok(()) => {
                let now = self.clock.now();
                for side in SIDES {
                    self.runs[i].sides[side_index(side)].open = Some((now, now));
                }
            }
            Err(e) => self.fail(format!("answer: {e}")),
        }
    }

    async fn heard(&mut self, i: usize, side: Side) {
        let now = self.clock.now();
        let Some(id) = self.runs[i].id else { return };
        let p = &mut self.runs[i].sides[side_index(side)];
        if p.gone_notice_at.is_some() || p.back_at.is_some() || p.open.is_none() {
            return;
        }
        if self.engine.heard(id, side).await.is_ok()
            && let Some((_, last)) = &mut self.runs[i].sides[side_index(side)].open
        {
            *last = now;
        }
    }

    /// Heartbeats every 5 s, drops noticed late, reconnections.
    async fn presence(&mut self, i: usize, side: Side) {
        let now = self.clock.now();
        let Some(id) = self.runs[i].id else { return };
        let s = side_index(side);
        if let Some(notice_at) = self.runs[i].sides[s].gone_notice_at {
            if now >= notice_at {
                self.runs[i].sides[s].gone_notice_at = None;
                let _ = self.engine.dropped(id, side).await;
                // Back within the grace, mostly.
                let back = notice_at + Duration::seconds(self.rng.below(80) as i64);
                self.runs[i].sides[s].back_at = Some(back);
            }
            return;
        }
        if let Some(back) = self.runs[i].sides[s].back_at {
            if now >= back {
                self.runs[i].sides[s].back_at = None;
                if self.engine.heard(id, side).await.is_ok() {
                    self.runs[i].sides[s].open = Some((now, now));
                }
            }
            return;
        }
        if self.rng.chance(4) {
            // The connection dies silently: the last heartbeat was the last word.
            if let Some(open) = self.runs[i].sides[s].open.take() {
                self.runs[i].sides[s].closed.push(open);
            }
            let notice = now + Duration::milliseconds(self.rng.below(12_000) as i64);
            self.runs[i].sides[s].gone_notice_at = Some(notice);
            return;
        }
        let last = self.runs[i].sides[s].open.map(|(_, l)| l);
        if last.is_some_and(|l| now - l >= Duration::seconds(self.policy.heartbeat_seconds as i64)) {
            self.heard(i, side).await;
            if self.rng.chance(50) {
                self.heard(i, side).await;
            }
        }
    }

    /// The node dies. Either it starts again and settles its own before it is ready, or
    /// it never does and another node settles them once their leases ran out.
    async fn crash(&mut self) {
        // What the old node said before it died is heard.
        self.drain();
        self.crashes += 1;
        if std::env::var("AUGURE_SIM_TRACE").is_ok() {
            eprintln!("{} crash", self.clock.now());
        }
        for c in self.books.consultations(&self.clients).await {
            if c.status == ConsultationStatus::Live {
                let i = self.by_id[&c.id];
                self.runs[i].checkpoint_at_crash = Some(c.billable_seconds);
            }
        }
        let restarts = self.rng.chance(500);
        let policy = if restarts {
            self.policy.clone()
        } else {
            ConsultationPolicy { node_id: format!("b{}", self.keys), ..self.policy.clone() }
        };
        let engine = Engine::new(self.books.port(), Arc::new(self.clock.clone()), policy.clone());
        self.notices = engine.subscribe();
        self.engine = engine;
        self.policy = policy;
        if restarts {
            self.clock.advance(Duration::seconds(self.rng.below(30) as i64));
            self.engine.recover().await.expect("recovery");
        } else {
            self.clock.advance(Duration::seconds(self.policy.lease_seconds as i64 + self.rng.below(60) as i64));
            self.engine.recover_lapsed().await.expect("lapsed recovery");
        }
        for run in &mut self.runs {
            if run.id.is_some() && !run.done {
                run.done = true;
            }
            // Runs not started yet start on the new node.
        }
        self.drain();
        for c in self.books.consultations(&self.clients).await {
            if c.status.is_open() {
                self.fail(format!("consultation {} still open after the recovery", c.id));
            }
        }
    }

    fn drain(&mut self) {
        while let Ok(notice) = self.notices.try_recv() {
            if std::env::var("AUGURE_SIM_TRACE").is_ok() {
                eprintln!("{} {notice:?}", self.clock.now());
            }
            if let NoticeEvent::Ended(ended) = notice.event {
                let Some(&i) = self.by_id.get(&notice.id) else { continue };
                self.runs[i].ended.push(ended);
                self.runs[i].done = true;
                if let Some(since) = self.runs[i].paused_since.take() {
                    self.runs[i].pauses.push((since, self.clock.now()));
                }
            }
        }
    }

    /// The books after every step.
    async fn check(&self, everything: bool) {
        let accounts = self.books.accounts().await;
        for currency in [Currency::Eur, Currency::Chf] {
            let mine = accounts.iter().filter(|a| a.currency == currency);
            let (mut d, mut c, mut dp, mut cp) = (0i64, 0i64, 0i64, 0i64);
            for a in mine {
                d += a.balances.debits_posted;
                c += a.balances.credits_posted;
                dp += a.balances.debits_pending;
                cp += a.balances.credits_pending;
                if !a.balances.respects(a.flags) {
                    self.fail(format!("account {} broke its limits: {:?}", a.id, a.balances));
                }
            }
            if d != c || dp != cp {
                self.fail(format!("{currency:?} not conserved: {d} ≠ {c} or {dp} ≠ {cp}"));
            }
        }
        // Settled ones no longer change: every step checks the open ones, the end all.
        let consultations = if everything {
            self.books.consultations(&self.clients).await
        } else {
            self.books.open_consultations().await.into_iter().filter(|c| self.by_id.contains_key(&c.id)).collect()
        };
        let mut in_clearing: HashMap<AccountId, i64> = HashMap::new();
        for c in &consultations {
            let i = self.by_id[&c.id];
            let run = &self.runs[i];
            let pricing = Pricing {
                prices: &run.terms.prices,
                plan: run.terms.plan,
                rules: self.policy.tariff_rules(),
                rate: run.terms.rate,
            };
            // Posted so far is never beyond the tariff of the reference time.
            let reference = u64::try_from(run.reference_ms() / 1000).unwrap_or(0);
            let allowed = pricing.charge(reference).unwrap();
            let taken = c.ended.map_or(c.grant.posted, |e| e.charge);
            if taken > allowed {
                self.fail(format!("consultation {} charged {taken} > {allowed} for {reference} s", c.id));
            }
            if c.status == ConsultationStatus::Live {
                *in_clearing.entry(run.terms.accounts.clearing).or_default() += c.grant.posted;
            }
        }
        for (account, expected) in [self.clearing[&Currency::Eur], self.clearing[&Currency::Chf]]
            .into_iter()
            .map(|a| (a, in_clearing.get(&a).copied().unwrap_or(0)))
        {
            let held = accounts.iter().find(|a| a.id == account).map_or(0, |a| a.balances.net_posted());
            if held != expected {
                self.fail(format!("clearing {account} holds {held}, live consultations posted {expected}"));
            }
        }
    }

    async fn check_end(&self) {
        let transfers = self.books.transfers().await;
        for c in self.books.consultations(&self.clients).await {
            let i = self.by_id[&c.id];
            let run = &self.runs[i];
            match c.status {
                ConsultationStatus::Settled => {
                    let settled = c.ended.unwrap();
                    if run.ended.len() != 1 {
                        self.fail(format!("consultation {} ended {} times: {c:?}", c.id, run.ended.len()));
                    }
                    if settled.commission + settled.earnings != settled.charge || settled.charge > run.funded {
                        self.fail(format!("consultation {} settled {settled:?}", c.id));
                    }
                    let prefix = format!("consultation:{}:", c.id);
                    let splits =
                        transfers.iter().filter(|t| t.key.starts_with(&prefix) && t.mode == TransferMode::Posted);
                    let paid: i64 = splits.map(|t| t.amount).sum();
                    if paid != settled.charge {
                        self.fail(format!("consultation {} split {paid} of {}", c.id, settled.charge));
                    }
                    let pricing = Pricing {
                        prices: &run.terms.prices,
                        plan: run.terms.plan,
                        rules: self.policy.tariff_rules(),
                        rate: run.terms.rate,
                    };
                    let tariff = pricing.charge(c.billable_seconds).unwrap();
                    if settled.reason != EndReason::Interrupted && settled.charge != tariff.min(run.funded) {
                        self.fail(format!(
                            "consultation {} charged {} for {} s: the tariff says {tariff}",
                            c.id, settled.charge, c.billable_seconds
                        ));
                    }
                    // The meter loses at most a heartbeat at each stop (a drop, a pause, the end).
                    let stops = run.sides.iter().map(|p| p.closed.len()).sum::<usize>() + run.pauses.len() + 2;
                    let reference = u64::try_from(run.reference_ms() / 1000).unwrap_or(0);
                    let slack = stops as u64 * (self.policy.heartbeat_seconds + 1);
                    let left = matches!(settled.reason, EndReason::ClientLeft | EndReason::ExpertLeft);
                    if left && c.billable_seconds + slack < reference {
                        self.fail(format!("consultation {} billed {} s of {reference} s", c.id, c.billable_seconds));
                    }
                    if let Some(checkpoint) = run.checkpoint_at_crash
                        && settled.reason == EndReason::Interrupted
                        && c.billable_seconds != checkpoint
                    {
                        self.fail(format!(
                            "consultation {} billed {} s past its checkpoint {checkpoint} s",
                            c.id, c.billable_seconds
                        ));
                    }
                }
                ConsultationStatus::Lost => {}
                other => self.fail(format!("consultation {} left {other:?}", c.id)),
            }
        }
        for a in self.books.accounts().await {
            if a.balances.debits_pending != 0 || a.balances.credits_pending != 0 {
                self.fail(format!("account {} still holds {:?}", a.id, a.balances));
            }
            if a.kind == AccountKind::ConsultationClearing && a.balances.net_posted() != 0 {
                self.fail(format!("clearing {} keeps {}", a.id, a.balances.net_posted()));
            }
        }
    }
}

/// Runs `worlds` worlds from seed `first` on the books each gets from `books`.
pub async fn simulate(worlds: u64, first: u64, books: impl Fn(u64) -> Arc<dyn SimBooks>) -> Stats {
    let mut stats = Stats::default();
    for n in 0..worlds {
        let seed = first.wrapping_add(n);
        World::new(seed, books(seed)).await.run(&mut stats).await;
    }
    stats
}

#[cfg(test)]
#[tokio::test]
async fn the_engine_settles_every_consultation_once_within_the_tariff_under_random_events_and_crashes() {
    let worlds: u64 = std::env::var("AUGURE_SIM_WORLDS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let first: u64 = std::env::var("AUGURE_SIM_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x0A06_0E11);
    let ports = std::sync::Mutex::new(Vec::new());
    let stats = simulate(worlds, first, |_| {
        let port = Arc::new(super::MemoryPort::new());
        ports.lock().expect("ports").push(port.clone());
        Arc::new(MemoryBooks(port))
    })
    .await;
    let batched: u64 = ports.lock().expect("ports").iter().map(|p| p.batched_grants()).sum();
    println!("{stats:#?}\ngrants written in batches: {batched}");
    assert_eq!(stats.consultations as u64, worlds * PER_WORLD as u64);
    if worlds >= 100 {
        // The runs went through every way a consultation ends, and most were paid.
        let engine_ends = EndReason::ALL
            .into_iter()
            // Idleness, refusals and unanswered rings are the channels' ends, not the engine's.
            .filter(|r| {
                !matches!(
                    r,
                    EndReason::Idle
                        | EndReason::NoCredit
                        | EndReason::ForceEnded
                        | EndReason::NoAnswer
                        | EndReason::Refused
                )
            });
        for reason in engine_ends {
            assert!(stats.ends.get(reason.as_str()).is_some_and(|n| *n > 0), "no run ended by {reason:?}: {stats:#?}");
        }
        assert!(stats.charged * 2 > stats.settled, "{stats:#?}");
        assert!(stats.pauses > 0 && stats.crashes > 0, "{stats:#?}");
        // The grants falling due together went through the batch, under the same checks.
        assert!(batched > 0, "no grant was batched");
    }
}

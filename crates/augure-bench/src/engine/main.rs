//! `cargo run --release -p augure-bench --bin engine [-- --consultations N --slices S --backend sqlite|postgres|both]`
//! (or `AUGURE_BENCH_CONSULTATIONS`, `AUGURE_BENCH_SLICES`, `AUGURE_BENCH_BACKEND`).
//!
//! The charging engine in real time (issue 11): N live chats on one node with the
//! `SystemClock`, grant slices of 60 s and a checkpoint every 30 s, `Engine::run` driving
//! the timers and ticks. Starts are spread over the first slice (each rings, is answered
//! and gets its first reply at once), then the consultations run S more slices, both
//! sides heard every 5 s from a few tasks. One client in five is funded for 75 s to
//! S minutes, so warnings and cuts happen during the run; the others for an hour.
//!
//! Measured, per backend, through a counting [`ChargingPort`] in front of the real store:
//! write transactions per second against the bound `1.1 × N ÷ slice + 1 per checkpoint
//! tick` (the start slice, which also rings and answers every consultation, is reported
//! apart), how late warnings and cuts reach a subscriber, the process's CPU time per
//! consultation-minute, and after the run that no client credit went below zero and the
//! ledger replays (`Ledger::verify`). PostgreSQL is measured when `AUGURE_TEST_POSTGRES_URL`
//! (or the default local URL) answers, in a fresh schema dropped afterwards.

// Rates, ratios and percentiles for display: no money is computed with floats here.
#![allow(clippy::float_arithmetic)]

mod port;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use augure_app::charging::{Engine, EngineError, NoticeEvent, StorePort};
use augure_app::{Ledger, SystemClock};
use augure_domain::consultation::{Channel, ConsultationPolicy, EndReason};
use augure_domain::ledger::{AccountId, AccountKind, TransferMode, TransferRequest};
use augure_domain::meter::Side;
use augure_domain::pricing::SitePrices;
use augure_domain::site::NewSite;
use augure_domain::tariff::{self, Plan, Rate};
use augure_domain::{ConsultationId, Currency, Money, Role, UserId};
use augure_store::{ConsultationAccounts, ConsultationTerms, LedgerOwner, NewUser, Store};
use chrono::{DateTime, Utc};
use port::{CountingPort, Kind, Writes};
use tokio::sync::{broadcast, mpsc, watch};

const SLICE_SECONDS: u64 = 60;
const CHECKPOINT_SECONDS: u64 = 30;
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Each heartbeat task goes through its consultations in this many steps per heartbeat
/// period, so the engine sees a steady trickle instead of a burst every 5 s.
const HEARTBEAT_STEPS: usize = 10;
const HEARTBEAT_TASKS: usize = 4;
/// Enough concurrent starts to keep up with 10,000 starts a minute over a store that
/// takes a few milliseconds per write; more only queue behind SQLite's one writer.
const START_TASKS: usize = 8;
const SETUP_TASKS: usize = 8;
/// One client in this many runs out of credit during the run (20 %).
const LIMITED_EVERY: usize = 5;
/// Linux reports process times in USER_HZ ticks, 100 a second on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The engine logs what went wrong (a refused grant, a failed timer) and retries: shown.
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUGURE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let config = Config::read();
    println!(
        "engine bench: {} consultations, grant slice {SLICE_SECONDS} s, starts over one slice then {} slices, \
         checkpoint every {CHECKPOINT_SECONDS} s, heartbeats every {} s, 1 client in {LIMITED_EVERY} runs out of credit\n",
        config.consultations,
        config.slices,
        HEARTBEAT.as_secs()
    );
    let mut columns: Vec<(String, Vec<(&'static str, String)>)> = Vec::new();
    if config.backend != "postgres" {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("engine.db").display());
        let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(&url).await.expect("sqlite"));
        let rows = bench("SQLite (temp file, WAL, synchronous=FULL)", store, &config).await;
        columns.push(("SQLite".into(), rows));
    }
    if config.backend != "sqlite" {
        let url = std::env::var("AUGURE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        match augure_store_postgres::connect_fresh_schema(&url).await {
            Ok((store, _schema)) => {
                let rows = bench("PostgreSQL (fresh schema, synchronous_commit=on)", Arc::new(store), &config).await;
                columns.push(("PostgreSQL".into(), rows));
            }
            Err(e) => println!("PostgreSQL skipped: {url}: {e}"),
        }
    }
    print_table(&columns);
}

struct Config {
    consultations: usize,
    slices: u64,
    backend: String,
}

impl Config {
    fn read() -> Self {
        let env = |name: &str| std::env::var(name).ok();
        let mut config = Config {
            consultations: env("AUGURE_BENCH_CONSULTATIONS").and_then(|v| v.parse().ok()).unwrap_or(10_000),
            slices: env("AUGURE_BENCH_SLICES").and_then(|v| v.parse().ok()).unwrap_or(3),
            backend: env("AUGURE_BENCH_BACKEND").unwrap_or_else(|| "both".into()),
        };
        let usage = "usage: engine [--consultations N] [--slices S] [--backend sqlite|postgres|both]";
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().unwrap_or_else(|| panic!("{usage}"));
            match flag.as_str() {
                "--consultations" => config.consultations = value.parse().unwrap_or_else(|_| panic!("{usage}")),
                "--slices" => config.slices = value.parse().unwrap_or_else(|_| panic!("{usage}")),
                "--backend" => config.backend = value,
                _ => panic!("{usage}"),
            }
        }
        assert!(config.consultations > 0 && config.slices > 0, "{usage}");
        assert!(["sqlite", "postgres", "both"].contains(&config.backend.as_str()), "{usage}");
        config
    }
}

/// One consultation to run: its parties, frozen terms and how long its credit lasts.
struct Pair {
    client: UserId,
    expert: UserId,
    terms: ConsultationTerms,
    limited: bool,
}

async fn bench(name: &str, store: Arc<dyn Store>, config: &Config) -> Vec<(&'static str, String)> {
    let n = config.consultations;
    println!("== {name}");
    let started = Instant::now();
    let pairs = Arc::new(setup(&store, n, config.slices).await);
    println!(
        "  setup: {n} clients, {n} experts, their accounts and purchases in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let writes = Arc::new(Writes::new());
    let port = Arc::new(CountingPort { inner: StorePort(store.clone()), writes: writes.clone() });
    let policy = ConsultationPolicy {
        grant_seconds: SLICE_SECONDS,
        checkpoint_seconds: CHECKPOINT_SECONDS,
        heartbeat_seconds: HEARTBEAT.as_secs(),
        node_id: "bench".into(),
        ..ConsultationPolicy::default()
    };
    let warning = chrono::Duration::seconds(policy.warning_seconds as i64);
    let engine = Engine::new(port, Arc::new(SystemClock), policy);
    let slice = Duration::from_secs(SLICE_SECONDS);
    let window_end = slice * (config.slices as u32 + 1);

    let t0 = tokio::time::Instant::now();
    writes.start(t0.into_std());
    let (stop_engine, engine_stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(async { drop(engine_stopped.await) }).await }
    });
    let (stop, stopped) = watch::channel(false);
    let notices = tokio::spawn(watch_notices(engine.subscribe(), warning, stopped.clone()));
    let mut beat_senders = Vec::new();
    let mut beaters = Vec::new();
    for _ in 0..HEARTBEAT_TASKS {
        let (tx, rx) = mpsc::unbounded_channel();
        beat_senders.push(tx);
        beaters.push(tokio::spawn(heartbeats(engine.clone(), rx, stopped.clone())));
    }
    let mut starters = Vec::new();
    for part in 0..START_TASKS {
        let (engine, pairs, senders) = (engine.clone(), pairs.clone(), beat_senders.clone());
        starters.push(tokio::spawn(async move {
            let mut lags_ms = Vec::new();
            let mut refused = BTreeMap::<String, usize>::new();
            for i in (part..n).step_by(START_TASKS) {
                let due = t0 + slice.mul_f64(i as f64 / n as f64);
                tokio::time::sleep_until(due).await;
                lags_ms.push(due.elapsed().as_secs_f64() * 1e3);
                match start(&engine, &pairs[i]).await {
                    Ok(id) => drop(senders[i % HEARTBEAT_TASKS].send(id)),
                    Err(e) => *refused.entry(e.to_string()).or_default() += 1,
                }
            }
            (lags_ms, refused)
        }));
    }
    drop(beat_senders);
    let sampler = tokio::spawn(sample(engine.clone(), t0, window_end));

    tokio::time::sleep_until(t0 + window_end).await;
    let _ = stop.send(true);
    let samples = sampler.await.expect("sampler");
    let (mut start_lags, mut refused) = (Vec::new(), BTreeMap::<String, usize>::new());
    for starter in starters {
        let (lags, errors) = starter.await.expect("starter");
        start_lags.extend(lags);
        for (e, k) in errors {
            *refused.entry(e).or_default() += k;
        }
    }
    let mut heard = 0;
    for beater in beaters {
        heard += beater.await.expect("heartbeats");
    }
    let seen = notices.await.expect("notices");
    let live_at_end = engine.live_count();

    // The rest end now, outside the measured window.
    let ending = Instant::now();
    let ended = engine.end_all(EndReason::ClientLeft).await;
    let end_all_seconds = ending.elapsed().as_secs_f64();
    let _ = stop_engine.send(());
    runner.await.expect("engine");
    let books = check_books(&store, &pairs).await;

    // Figures.
    let steady = (slice.as_millis() as u64, window_end.as_millis() as u64);
    let start_window = (0, slice.as_millis() as u64);
    let steady_seconds = (steady.1 - steady.0) as f64 / 1e3;
    let bound = 1.1 * n as f64 / SLICE_SECONDS as f64 + 1.0 / CHECKPOINT_SECONDS as f64;
    let steady_tps = writes.count(steady) as f64 / steady_seconds;
    let start_tps = writes.count(start_window) as f64 / SLICE_SECONDS as f64;
    let per_slice: Vec<String> = (1..=config.slices)
        .map(|s| {
            let ms = SLICE_SECONDS * 1000;
            format!("{:.0}", writes.count((s * ms, (s + 1) * ms)) as f64 / SLICE_SECONDS as f64)
        })
        .collect();
    let busiest = writes.busiest_second(steady);
    let (cpu_seconds, consultation_minutes) = samples.steady(SLICE_SECONDS as f64);
    let cpu_per_minute_ms = cpu_seconds * 1e3 / consultation_minutes.max(f64::MIN_POSITIVE);
    let limited = pairs.iter().filter(|p| p.limited).count();
    let kinds = writes.kinds(steady);
    let (grant_p50, grant_p99) = writes.latency_ms(Kind::Grant);
    let (checkpoint_p50, checkpoint_p99) = writes.latency_ms(Kind::Checkpoint);
    let (settle_p50, settle_p99) = writes.latency_ms(Kind::Settle);
    let most_grants = writes.most_grants();
    let slice_ms = SLICE_SECONDS * 1000;
    let grant_p50_per_slice: Vec<String> = (0..=config.slices)
        .map(|s| format!("{:.1}", writes.latency_ms_in(Kind::Grant, (s * slice_ms, (s + 1) * slice_ms)).0))
        .collect();
    let repeats = {
        let (mut late, mut moved, mut after): (Vec<i64>, Vec<i64>, Vec<i64>) = (vec![], vec![], vec![]);
        for &(l, m, a) in &seen.repeats {
            late.push(l);
            moved.push(m);
            after.push(a);
        }
        late.sort_unstable();
        moved.sort_unstable();
        after.sort_unstable();
        let range = |v: &[i64]| format!("{}..{}", v.first().copied().unwrap_or(0), v.last().copied().unwrap_or(0));
        format!(
            "{} (late {} ms, cut_at moved {} ms, after the one before {} ms)",
            late.len(),
            range(&late),
            range(&moved),
            range(&after)
        )
    };
    // Grants per live consultation per slice: 1.0 if each grant bought a whole slice.
    let (batched_grants, batches) = writes.batched_in(steady);
    let steady_grants = writes.entries(Kind::Grant, steady).len() + batched_grants;
    let (batch_p50, batch_p99) = writes.latency_ms(Kind::Grants);
    let grants_per_slice = steady_grants as f64 / steady_seconds * SLICE_SECONDS as f64
        / (consultation_minutes * 60.0 / steady_seconds).max(f64::MIN_POSITIVE);

    start_lags.sort_by(f64::total_cmp);
    println!(
        "  starts: {} ok, lag behind schedule p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; refused: {refused:?}",
        n - refused.values().sum::<usize>(),
        pct_f(&start_lags, 50.0),
        pct_f(&start_lags, 99.0),
        start_lags.last().copied().unwrap_or_default()
    );
    println!("  start slice: {start_tps:.0} transactions/s ({})", writes.kinds(start_window));
    println!(
        "  steady ({} slices): {steady_tps:.0} transactions/s = {:.2} × bound {bound:.1}; per slice {}; busiest second {busiest}",
        config.slices,
        steady_tps / bound,
        per_slice.join(" / ")
    );
    println!(
        "    by kind: {kinds}; {grants_per_slice:.3} grants per live consultation per slice; most grants for one consultation: {most_grants}"
    );
    println!(
        "    write latency: grant p50 {grant_p50:.1} ms, p99 {grant_p99:.1} ms; settle p50 {settle_p50:.1} ms, p99 {settle_p99:.1} ms; checkpoint batch p50 {checkpoint_p50:.0} ms, p99 {checkpoint_p99:.0} ms"
    );
    println!("    grant p50 per slice (start slice first): {} ms", grant_p50_per_slice.join(" / "));
    println!(
        "    batched: {batched_grants} of {steady_grants} steady grants in {batches} transactions; batch write p50 {batch_p50:.1} ms, p99 {batch_p99:.1} ms"
    );
    println!("  repeated warnings: {repeats}");
    println!(
        "  notices: {} warnings, {} cuts (of {limited} limited), {} cuts without a warning seen, {} lagged; ends {:?}",
        seen.warnings.len(),
        seen.cuts.len(),
        seen.cuts_unmatched,
        seen.lagged,
        seen.ends
    );
    println!(
        "  heartbeats: {heard} heard calls; {live_at_end} live at the end of the window, {ended} ended by end_all in {end_all_seconds:.1} s"
    );
    println!(
        "  CPU: {cpu_seconds:.1} s over {consultation_minutes:.0} consultation-minutes in the steady window = {cpu_per_minute_ms:.2} ms each (this process)"
    );
    println!("  books: {}\n", books.summary);

    let lateness = |v: &[i64]| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            format!("{} / {} / {} ms", pct(v, 50.0), pct(v, 99.0), v.last().copied().unwrap_or_default())
        }
    };
    vec![
        ("consultations started", format!("{} of {n}", n - refused.values().sum::<usize>())),
        ("start lag p99", format!("{:.0} ms", pct_f(&start_lags, 99.0))),
        ("tx/s, start slice (create+grant)", format!("{start_tps:.0}")),
        ("tx/s, steady window", format!("{steady_tps:.0}")),
        ("bound 1.1×N/slice + 1/tick", format!("{bound:.1}")),
        ("steady ÷ bound", format!("{:.2}", steady_tps / bound)),
        ("tx/s per steady slice", per_slice.join(" / ")),
        ("grants per live consultation per slice", format!("{grants_per_slice:.3}")),
        ("busiest second (tx)", busiest.to_string()),
        ("grant write p50 / p99", format!("{grant_p50:.1} / {grant_p99:.1} ms")),
        ("grant p50 per slice", format!("{} ms", grant_p50_per_slice.join(" / "))),
        ("steady grants batched / in transactions", format!("{batched_grants} / {batches}")),
        ("batch write p50 / p99", format!("{batch_p50:.1} / {batch_p99:.1} ms")),
        ("settle write p50 / p99", format!("{settle_p50:.1} / {settle_p99:.1} ms")),
        ("checkpoint batch p50 / p99", format!("{checkpoint_p50:.0} / {checkpoint_p99:.0} ms")),
        ("consultations warned / limited", format!("{} / {limited}", seen.warnings.len())),
        ("warning late p50/p99/max (first)", lateness(&seen.warnings)),
        ("warnings repeated", seen.repeats.len().to_string()),
        ("cuts seen / limited", format!("{} / {limited}", seen.cuts.len())),
        ("cut late p50/p99/max", lateness(&seen.cuts)),
        ("CPU per consultation-minute", format!("{cpu_per_minute_ms:.2} ms")),
        ("end_all of the rest", format!("{ended} in {end_all_seconds:.1} s")),
        ("overdraft / ledger verify", books.verdict),
    ]
}

/// Rings, answers, gets the first reply and hears both sides: a chat that bills.
async fn start(engine: &Engine, pair: &Pair) -> Result<ConsultationId, EngineError> {
    let id = engine.ring(pair.client, pair.expert, pair.terms.clone()).await?;
    engine.answer(id).await?;
    engine.first_reply(id).await?;
    engine.heard(id, Side::Client).await?;
    engine.heard(id, Side::Expert).await?;
    Ok(id)
}

/// Hears both sides of each consultation given to this task once per heartbeat period,
/// a tenth of them at a time; returns how many `heard` calls it made. Each consultation
/// keeps the step it was given, so one that ends never moves another's turn.
async fn heartbeats(
    engine: Engine,
    mut new: mpsc::UnboundedReceiver<ConsultationId>,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let mut live: Vec<(ConsultationId, usize)> = Vec::new();
    // Bursts after a late tick, so the period stays 5 s on average.
    let mut every = tokio::time::interval(HEARTBEAT / HEARTBEAT_STEPS as u32);
    let (mut step, mut given, mut calls) = (0, 0, 0);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return calls,
        }
        while let Ok(id) = new.try_recv() {
            live.push((id, given % HEARTBEAT_STEPS));
            given += 1;
        }
        let mut gone = Vec::new();
        for &(id, _) in live.iter().filter(|(_, s)| *s == step) {
            for side in [Side::Client, Side::Expert] {
                calls += 1;
                if matches!(engine.heard(id, side).await, Err(EngineError::NotLive)) {
                    gone.push(id);
                }
            }
        }
        if !gone.is_empty() {
            live.retain(|(id, _)| !gone.contains(id));
        }
        step = (step + 1) % HEARTBEAT_STEPS;
    }
}

/// What the subscriber saw: lateness in ms of each warning (against `cut_at − warning`)
/// and each cut (against the `cut_at` of that consultation's warning).
#[derive(Default)]
struct Seen {
    /// The first warning of each consultation.
    warnings: Vec<i64>,
    /// A warning for a consultation warned already: its lateness, how far its `cut_at`
    /// moved from the previous one, and how long after the previous one it came (ms).
    repeats: Vec<(i64, i64, i64)>,
    cuts: Vec<i64>,
    cuts_unmatched: usize,
    lagged: u64,
    ends: BTreeMap<&'static str, usize>,
}

async fn watch_notices(
    mut notices: broadcast::Receiver<augure_app::charging::Notice>,
    warning: chrono::Duration,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen::default();
    // Each consultation's last warning: its `cut_at` and when it came.
    let mut cut_at: HashMap<ConsultationId, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    loop {
        let notice = tokio::select! {
            notice = notices.recv() => notice,
            _ = stop.changed() => break,
        };
        let now = Utc::now();
        match notice {
            Ok(notice) => match notice.event {
                NoticeEvent::Warning { cut_at: at } => {
                    let late = (now - (at - warning)).num_milliseconds();
                    match cut_at.insert(notice.id, (at, now)) {
                        None => seen.warnings.push(late),
                        Some((before, came)) => {
                            seen.repeats.push((late, (at - before).num_milliseconds(), (now - came).num_milliseconds()))
                        }
                    }
                }
                NoticeEvent::Ended(ended) => {
                    *seen.ends.entry(ended.reason.as_str()).or_default() += 1;
                    if ended.reason == EndReason::CreditExhausted {
                        match cut_at.get(&notice.id) {
                            Some((at, _)) => seen.cuts.push((now - *at).num_milliseconds()),
                            None => seen.cuts_unmatched += 1,
                        }
                    }
                }
                NoticeEvent::Lost { reason } => *seen.ends.entry(reason.as_str()).or_default() += 1,
                _ => {}
            },
            Err(broadcast::error::RecvError::Lagged(k)) => seen.lagged += k,
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    seen.warnings.sort_unstable();
    seen.cuts.sort_unstable();
    seen
}

/// Once a second: live consultations and the process's CPU ticks so far.
struct Samples(Vec<(Duration, usize, u64)>);

async fn sample(engine: Engine, t0: tokio::time::Instant, until: Duration) -> Samples {
    let mut out = Vec::new();
    let mut every = tokio::time::interval_at(t0, Duration::from_secs(1));
    loop {
        every.tick().await;
        let at = t0.elapsed();
        out.push((at, engine.live_count(), cpu_ticks()));
        if at >= until {
            return Samples(out);
        }
    }
}

impl Samples {
    /// CPU seconds and consultation-minutes from the end of the start slice on.
    fn steady(&self, from_seconds: f64) -> (f64, f64) {
        let steady: Vec<_> = self.0.iter().filter(|(at, ..)| at.as_secs_f64() >= from_seconds).collect();
        let (Some(first), Some(last)) = (steady.first(), steady.last()) else { return (0.0, 0.0) };
        let cpu = (last.2 - first.2) as f64 / TICKS_PER_SECOND;
        let live_seconds: usize = steady.windows(2).map(|w| w[0].1).sum();
        (cpu, live_seconds as f64 / 60.0)
    }
}

/// utime + stime of this process, in ticks (`/proc/self/stat` fields 14 and 15).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// The site, platform accounts, and per consultation a client with credit and an expert.
async fn setup(store: &Arc<dyn Store>, n: usize, slices: u64) -> Vec<Pair> {
    let now = Utc::now();
    let site = store
        .create_site(&NewSite {
            code: "BE".parse().expect("site code"),
            name: "augure engine bench".into(),
            currency: Currency::Eur,
            time_zone: chrono_tz::Europe::Paris,
            default_locale: "fr".into(),
            phone_numbers: Vec::new(),
            tariffs: Vec::new(),
            imposed_per_minute: None,
        })
        .await
        .expect("site")
        .id;
    let platform = |kind| store.ledger_account(LedgerOwner::Platform, kind, Currency::Eur, now);
    let provider = platform(AccountKind::ProviderClearing).await.expect("provider").id;
    let clearing = platform(AccountKind::ConsultationClearing).await.expect("clearing").id;
    let revenue = platform(AccountKind::PlatformRevenue).await.expect("revenue").id;
    // People and accounts from a few tasks: PostgreSQL takes them in parallel.
    let mut tasks = tokio::task::JoinSet::new();
    for part in 0..SETUP_TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            let mut people = Vec::new();
            for i in (part..n).step_by(SETUP_TASKS) {
                let client = person(&*store, Role::Client, i, now).await;
                let expert = person(&*store, Role::Expert, i, now).await;
                let account = |owner, kind| store.ledger_account(LedgerOwner::User(owner), kind, Currency::Eur, now);
                let credit = account(client, AccountKind::ClientCredit).await.expect("credit").id;
                let earnings = account(expert, AccountKind::ExpertEarnings).await.expect("earnings").id;
                people.push((i, client, expert, credit, earnings));
            }
            people
        });
    }
    let mut people = tasks.join_all().await.concat();
    people.sort_unstable_by_key(|p| p.0);
    let spread = (slices * SLICE_SECONDS).saturating_sub(80).max(1);
    let mut pairs = Vec::with_capacity(n);
    let mut purchases = Vec::with_capacity(n);
    for (i, client, expert, credit, earnings) in people {
        // A few ordinary prices, some of which do not divide into whole cents a second.
        let per_minute = Money::new([60, 90, 120, 150, 180, 240, 300][i % 7], Currency::Eur);
        let limited = i % LIMITED_EVERY == 0;
        // Limited: credit for 75 s up to a little less than the shortest run, spread.
        let seconds = if limited { 75 + (i as u64).wrapping_mul(2_654_435_761) % spread } else { 3600 };
        let amount = tariff::per_minute_charge(per_minute, seconds).minor;
        purchases.push(purchase(i, provider, credit, amount));
        let prices = SitePrices { per_minute, package: None, free_minutes: 0, email: None, imposed: false };
        let terms = ConsultationTerms {
            site,
            channel: Channel::Chat,
            plan: Plan::PerMinute { first_with_expert: false },
            prices,
            rate: Rate::from_basis_points(3000).expect("30 %"),
            accounts: ConsultationAccounts {
                client_credit: credit,
                clearing,
                expert_earnings: earnings,
                platform_revenue: revenue,
            },
        };
        pairs.push(Pair { client, expert, terms, limited });
    }
    for chunk in purchases.chunks(100) {
        let results = store.create_transfers(chunk, now).await.expect("purchases");
        assert!(results.iter().all(Result::is_ok), "a purchase was refused");
    }
    pairs
}

async fn person(store: &dyn Store, role: Role, i: usize, now: DateTime<Utc>) -> UserId {
    let name = format!("{}{i}", if role == Role::Client { "client" } else { "expert" });
    let user = NewUser {
        email: format!("{name}@bench.augure.localhost").parse().expect("email"),
        role,
        display_name: name,
        locale: "fr".into(),
        site_id: None,
        expert_code: None,
        password_hash: "$argon2id$bench".into(),
        created_at: now,
    };
    store.create_user(&user).await.expect("person").id
}

fn purchase(i: usize, provider: AccountId, credit: AccountId, amount: i64) -> TransferRequest {
    TransferRequest {
        key: format!("bench:purchase:{i}"),
        debit: provider,
        credit,
        amount: Some(amount),
        currency: Currency::Eur,
        code: "purchase".into(),
        user_data: None,
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    }
}

struct Books {
    summary: String,
    verdict: String,
}

/// After the run: no client credit below zero or still held, nothing open, and the whole
/// ledger replays to its balances.
async fn check_books(store: &Arc<dyn Store>, pairs: &[Pair]) -> Books {
    let mut negative = 0;
    let mut held = 0;
    for pair in pairs {
        let (account, _) = store.ledger_account_by_id(pair.terms.accounts.client_credit).await.expect("credit");
        negative += usize::from(account.balances.available() < 0 || account.balances.net_posted() < 0);
        held += usize::from(account.balances.debits_pending != 0);
    }
    let open = store.open_consultations(100).await.expect("open").len();
    let audit = Ledger::new(store.clone(), Arc::new(SystemClock)).verify().await.expect("verify");
    let ok = negative == 0 && held == 0 && open == 0 && audit.problems.is_empty();
    Books {
        summary: format!(
            "{} client credits below zero, {held} still held, {open} consultations open; ledger verify: {} accounts, {} transfers, {} problems{}",
            negative,
            audit.accounts,
            audit.transfers,
            audit.problems.len(),
            audit.problems.first().map(|p| format!(" (first: {p})")).unwrap_or_default()
        ),
        verdict: if ok {
            "none / ok".into()
        } else {
            format!("{negative} below zero / {} problems", audit.problems.len())
        },
    }
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn pct_f(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One row per figure, one column per backend.
fn print_table(columns: &[(String, Vec<(&'static str, String)>)]) {
    let Some((_, first)) = columns.first() else { return };
    let label_width = first.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
    let width = |c: usize| {
        let values = columns[c].1.iter().map(|(_, v)| v.chars().count());
        values.chain([columns[c].0.chars().count()]).max().unwrap_or(0)
    };
    let mut header = format!("{:<label_width$}", "");
    for (c, (name, _)) in columns.iter().enumerate() {
        header.push_str(&format!(" | {name:<w$}", w = width(c)));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for (row, (label, _)) in first.iter().enumerate() {
        let mut line = format!("{label:<label_width$}");
        for (c, (_, rows)) in columns.iter().enumerate() {
            line.push_str(&format!(" | {:<w$}", rows[row].1, w = width(c)));
        }
        println!("{line}");
    }
}

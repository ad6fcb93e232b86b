//! The server side of `chat_ws`: the app on a temp SQLite store with `SystemClock`, its
//! background loops as `augure serve` runs them, C pairs each with a live chat, the real
//! router with the bench's echo route next to it, and the generator as a child process
//! led phase by phase over its stdin and stdout (the memory is read between phases).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use augure_adapters::{OutboxMailer, OutboxSmsSender, TestPayments};
use augure_app::accounts::SignUp;
use augure_app::settings::HashingCost;
use augure_app::{App, Settings, SystemClock, demo};
use augure_domain::availability::Status;
use augure_domain::{ConsultationId, Mode, Role};
use augure_store::{ExpertDetails, ExpertPresence, ExpertProfile, Store, User};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};

use super::{SETTLE_SECONDS, rss_bytes};

/// Sign-ups, purchases and starts from a few tasks (password hashing runs beside the one
/// SQLite writer).
const SETUP_TASKS: usize = 4;

/// One chat: its parties, and the consultation once started and accepted.
struct Pair {
    client: User,
    expert: User,
    code: u32,
}

pub async fn run(chats: usize, seconds: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(&url).await.expect("sqlite"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let mut settings = Settings::default();
    // Cheap hashes: thousands of sign-ups and sign-ins are set-up, not what is measured.
    settings.accounts.hashing = HashingCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    // Every tab signs in from 127.0.0.1.
    settings.limits.sign_in_per_minute = 1_000_000;
    settings.public_url = format!("http://{addr}");
    let payments = Arc::new(TestPayments::new(&settings.public_url, settings.payments.webhook_secrets.clone()));
    let mailer = Arc::new(OutboxMailer::new(store.clone()));
    let sms = Arc::new(OutboxSmsSender::new(store.clone()));
    let app = App::new(store.clone(), Arc::new(SystemClock), mailer, sms, payments, settings);
    demo::seed(&app).await.expect("demo data");

    // The loops `augure serve` runs beside the router.
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let worker = app.jobs.clone().spawn(jobs_stopped);
    let (stop_engine, engine_stopped) = tokio::sync::oneshot::channel::<()>();
    let engine = tokio::spawn({
        let engine = app.engine.clone();
        async move { engine.run(async { drop(engine_stopped.await) }).await }
    });
    let (stop_chats, chats_stopped) = tokio::sync::oneshot::channel::<()>();
    let chat_loop = tokio::spawn({
        let chats = app.chats.clone();
        async move { chats.run(async { drop(chats_stopped.await) }).await }
    });

    let setup = Instant::now();
    let pairs = Arc::new(prepare(&app, &store, chats).await);
    let ids = start_chats(&app, &store, &pairs).await;
    println!(
        "setup: {chats} experts and clients with credit, a chat started and accepted for each, in {:.0} s",
        setup.elapsed().as_secs_f64()
    );

    let router = augure_web::router(augure_web::AppState::new(app.clone())).merge(echo_router());
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
    });

    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--generate", &addr.to_string(), "--seconds", &seconds.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("generator process");
    let mut to = child.stdin.take().expect("stdin");
    let mut from = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut plan = String::new();
    for (pair, id) in pairs.iter().zip(&ids) {
        plan.push_str(&format!("chat {} {} {}\n", id.0, pair.client.email, pair.expert.email));
    }
    plan.push_str("go\n");
    to.write_all(plan.as_bytes()).await.expect("plan");

    expect(&mut from, "signed_in").await;
    let before_chats = rss_bytes();
    say(&mut to, "open_chats").await;
    expect(&mut from, "chats_open").await;
    tokio::time::sleep(Duration::from_secs(SETTLE_SECONDS)).await;
    let chats_idle = rss_bytes();
    say(&mut to, "run_chats").await;
    let chat_stats = expect(&mut from, "chats_done").await;
    // The chat tabs stay open, idle: the echo's sockets do not land in memory they freed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_echo = rss_bytes();
    say(&mut to, "open_echo").await;
    expect(&mut from, "echo_open").await;
    tokio::time::sleep(Duration::from_secs(SETTLE_SECONDS)).await;
    let echo_idle = rss_bytes();
    say(&mut to, "close_chats").await;
    expect(&mut from, "chats_closed").await;
    // Every chat ended and settled before the echo runs: it must not share the cores with
    // the settlements.
    let waiting = Instant::now();
    while app.engine.live_count() > 0 && waiting.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let still_live = app.engine.live_count();
    tokio::time::sleep(Duration::from_secs(1)).await;
    say(&mut to, "run_echo").await;
    let echo_stats = expect(&mut from, "echo_done").await;
    let _ = child.wait().await;

    let audit = app.ledger.verify().await.expect("ledger");
    let sockets = (2 * chats) as f64;
    let per_socket = |after: u64, before: u64| after.saturating_sub(before) as f64 / sockets;
    println!(
        "memory: {:.1} MiB before the chat tabs, {:.1} MiB with them idle; {:.1} MiB after their run, {:.1} MiB with the echo sockets idle too",
        mib(before_chats),
        mib(chats_idle),
        mib(before_echo),
        mib(echo_idle)
    );
    println!("chat tabs: {chat_stats}");
    println!("echo sockets: {echo_stats}");
    println!(
        "chats still live after their tabs left: {still_live}; ledger verify: {} problems over {} transfers",
        audit.problems.len(),
        audit.transfers
    );
    let result = json!({
        "chats": chats,
        "seconds": seconds,
        "chat_p50_ms": chat_stats["p50_ms"],
        "chat_p99_ms": chat_stats["p99_ms"],
        "chat_sent": chat_stats["sent"],
        "chat_received": chat_stats["received"],
        "echo_p50_ms": echo_stats["p50_ms"],
        "echo_p99_ms": echo_stats["p99_ms"],
        "echo_sent": echo_stats["sent"],
        "echo_received": echo_stats["received"],
        "chat_bytes_per_socket": per_socket(chats_idle, before_chats),
        "echo_bytes_per_socket": per_socket(echo_idle, before_echo),
        "ledger_problems": audit.problems.len(),
    });
    println!("RESULT {result}");

    let _ = stop_jobs.send(true);
    let _ = worker.await;
    let _ = stop_engine.send(());
    let _ = engine.await;
    let _ = stop_chats.send(());
    let _ = chat_loop.await;
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn say(to: &mut ChildStdin, line: &str) {
    to.write_all(format!("{line}\n").as_bytes()).await.expect("generator stdin");
}

/// Waits for the generator's `word` line (its JSON, if any, is returned); other lines are
/// its progress, passed on.
async fn expect(from: &mut Lines<BufReader<ChildStdout>>, word: &str) -> Value {
    loop {
        let line =
            from.next_line().await.expect("generator stdout").unwrap_or_else(|| panic!("generator gone before {word}"));
        match line.split_once(' ').map_or((line.as_str(), ""), |(w, rest)| (w, rest)) {
            (w, rest) if w == word => return serde_json::from_str(rest).unwrap_or(Value::Null),
            _ => println!("generator: {line}"),
        }
    }
}

/// `count` experts selling chat like the demo's Luna and `count` clients with a 50 €
/// pack bought through the test checkout (as `tests/it/chat_crash.rs` prepares them).
async fn prepare(app: &App, store: &Arc<dyn Store>, count: usize) -> Vec<Pair> {
    let luna = store.user_by_email(&"luna@augure.localhost".parse().expect("email")).await.expect("luna");
    let profile = store.expert_profile(luna.id).await.expect("profile");
    let details = store.expert_details(luna.id).await.expect("details");
    let mut tasks = tokio::task::JoinSet::new();
    for part in 0..SETUP_TASKS {
        let (app, store, profile, details) = (app.clone(), store.clone(), profile.clone(), details.clone());
        tasks.spawn(async move {
            let mut pairs = Vec::new();
            for n in (part..count).step_by(SETUP_TASKS) {
                let sign_up = |login: String, role| SignUp {
                    email: format!("{login}@augure.localhost"),
                    password: demo::DEMO_PASSWORD.into(),
                    display_name: login.clone(),
                    role,
                    locale: "fr".into(),
                    site: Some("FR".parse().expect("site")),
                    accept_terms: true,
                };
                let expert =
                    app.accounts.create(sign_up(format!("bench-expert{n}"), Role::Expert)).await.expect("expert");
                store
                    .upsert_expert_profile(&ExpertProfile { user_id: expert.id, ..profile.clone() })
                    .await
                    .expect("profile");
                store
                    .save_expert_details(&ExpertDetails { user_id: expert.id, ..details.clone() })
                    .await
                    .expect("details");
                let client =
                    app.accounts.create(sign_up(format!("bench-client{n}"), Role::Client)).await.expect("client");
                let packs = app.credit.packs_for(&client).await.expect("packs");
                let pack = packs.iter().find(|p| p.price.minor == 5000).expect("the 50 € pack");
                let (purchase, _) =
                    app.credit.start_purchase(&client, pack.id, "http://127.0.0.1").await.expect("purchase");
                app.credit.pay_test_checkout(&purchase, "4242 4242 4242 4242", 0).await.expect("payment");
                let code = expert.expert_code.expect("expert code").0;
                pairs.push((n, Pair { client, expert, code }));
            }
            pairs
        });
    }
    let mut pairs: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    pairs.sort_unstable_by_key(|(n, _)| *n);
    app.jobs.run_due().await.expect("jobs");
    pairs.into_iter().map(|(_, p)| p).collect()
}

/// Each client asks their expert for a chat and the expert accepts, in-process: the chat
/// is live, its first grant held, billing waits for the expert's first message.
async fn start_chats(app: &App, store: &Arc<dyn Store>, pairs: &Arc<Vec<Pair>>) -> Vec<ConsultationId> {
    let mut tasks = tokio::task::JoinSet::new();
    for part in 0..SETUP_TASKS {
        let (app, store, pairs) = (app.clone(), store.clone(), pairs.clone());
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for n in (part..pairs.len()).step_by(SETUP_TASKS) {
                let pair = &pairs[n];
                // Chat is live while the expert's dashboard beats: fresh, as it would be.
                let now = chrono::Utc::now();
                let presence = ExpertPresence {
                    user_id: pair.expert.id,
                    status: Status::Available,
                    modes_on: vec![Mode::Chat],
                    paused_until: None,
                    last_heartbeat: Some(now),
                    bank_details_at: Some(now),
                    updated_at: now,
                };
                store.save_presence(&presence).await.expect("presence");
                let id = app.chats.start(&pair.client, pair.code, false).await.expect("start a chat");
                app.chats.accept(&pair.expert, id).await.expect("accept");
                ids.push((n, id));
            }
            ids
        });
    }
    let mut ids: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    ids.sort_unstable_by_key(|(n, _)| *n);
    ids.into_iter().map(|(_, id)| id).collect()
}

/// The baseline: a bare WebSocket echo with the chat socket's buffer sizes, outside the
/// app's layers. Only this bench serves it.
fn echo_router() -> axum::Router {
    axum::Router::new().route("/bench/echo", axum::routing::get(echo))
}

async fn echo(upgrade: WebSocketUpgrade) -> Response {
    const BUFFER_BYTES: usize = 4 * 1024;
    upgrade.read_buffer_size(BUFFER_BYTES).write_buffer_size(BUFFER_BYTES).on_upgrade(|mut socket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            match message {
                Message::Text(_) | Message::Binary(_) => {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
                Message::Close(_) => break,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    })
}

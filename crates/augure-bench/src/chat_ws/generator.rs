//! The load generator of `chat_ws`, in a process of its own so that its work does not
//! count in the server's memory. It reads the chats from stdin (`chat ID CLIENT EXPERT`
//! lines, then `go`), signs every party in over HTTP, and then follows the server's
//! commands, one a line: `open_chats`, `run_chats`, `open_echo`, `run_echo`; it answers
//! each with a line of its own (`chats_open`, `chats_done {json}`…).
//!
//! Each chat is one task with its two sockets: one message a second, alternately from
//! each side, at an offset of its own within the second so the load is even; a beat on
//! each socket every 5 s like the page's; the send instant (µs since the epoch) is in the
//! text, written in letters because the chat masks what looks like a phone number.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{WARM_UP_SECONDS, pct};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connections and sign-ins in flight at once: enough to be quick, few enough not to
/// overflow the listen backlog.
const IN_FLIGHT: usize = 32;
const SIGN_IN_TASKS: usize = 8;
const BEAT: Duration = Duration::from_secs(5);
/// What the text starts with, before the instant.
const TAG: &str = "bench";

struct Chat {
    id: i64,
    client: String,
    expert: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Sending; only messages sent from this instant (µs since the epoch) are counted.
    Run(u64),
    Stop,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The real chat: a client tab and an expert tab on one consultation.
    Chat,
    /// The bench's echo route: two sockets, each receiving its own frames back.
    Echo,
}

#[derive(Default)]
struct Stats {
    latencies_ms: Vec<f64>,
    sent: u64,
    received: u64,
    errors: u64,
    first_error: Option<String>,
    closed: u64,
}

impl Stats {
    fn add(&mut self, other: Stats) {
        self.latencies_ms.extend(other.latencies_ms);
        self.sent += other.sent;
        self.received += other.received;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.closed += other.closed;
    }

    fn json(mut self) -> Value {
        self.latencies_ms.sort_by(f64::total_cmp);
        json!({
            "p50_ms": pct(&self.latencies_ms, 50.0),
            "p99_ms": pct(&self.latencies_ms, 99.0),
            "max_ms": self.latencies_ms.last().copied().unwrap_or(f64::NAN),
            "sent": self.sent,
            "received": self.received,
            "errors": self.errors,
            "first_error": self.first_error,
            "closed": self.closed,
        })
    }
}

pub async fn run(addr: String, seconds: u64) {
    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    let mut chats = Vec::new();
    while let Ok(Some(line)) = commands.next_line().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["go"] => break,
            ["chat", id, client, expert] => {
                chats.push(Chat { id: id.parse().expect("id"), client: (*client).into(), expert: (*expert).into() })
            }
            _ => panic!("generator: unexpected line {line:?}"),
        }
    }
    // reqwest is built with rustls but no provider of its own: the app's, as the tests do.
    augure_adapters::install_tls_provider();
    let base = format!("http://{addr}");
    let cookies = Arc::new(sign_in_all(&base, &chats).await);
    println!("signed_in");
    let ws = format!("ws://{addr}");
    // The chat tabs stay open (idle, beating) while the echo sockets open, so that each
    // memory reading counts its own sockets only, not memory the other freed.
    wait_for(&mut commands, "open_chats").await;
    let mut chat_group = Group::open(Target::Chat, &ws, &chats, &cookies).await;
    println!("chats_open");
    wait_for(&mut commands, "run_chats").await;
    println!("chats_done {}", chat_group.run(seconds).await);
    wait_for(&mut commands, "open_echo").await;
    let mut echo_group = Group::open(Target::Echo, &ws, &chats, &cookies).await;
    println!("echo_open");
    wait_for(&mut commands, "close_chats").await;
    chat_group.stop().await;
    println!("chats_closed");
    wait_for(&mut commands, "run_echo").await;
    println!("echo_done {}", echo_group.run(seconds).await);
    echo_group.stop().await;
}

/// One pair of sockets per chat, a task each, led through the phases together.
struct Group {
    phase: watch::Sender<Phase>,
    reports: mpsc::UnboundedReceiver<Stats>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Group {
    async fn open(target: Target, ws: &str, chats: &[Chat], cookies: &Arc<Vec<(String, String)>>) -> Group {
        let (phase, phases) = watch::channel(Phase::Idle);
        let (ready, mut readies) = mpsc::unbounded_channel::<bool>();
        let (report, reports) = mpsc::unbounded_channel::<Stats>();
        let gate = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut tasks = Vec::with_capacity(chats.len());
        for (n, chat) in chats.iter().enumerate() {
            let (paths, cookies) = match target {
                Target::Chat => {
                    let path = format!("/ws?consultation={}", chat.id);
                    ([path.clone(), path], cookies[n].clone())
                }
                Target::Echo => (["/bench/echo".to_owned(), "/bench/echo".to_owned()], (String::new(), String::new())),
            };
            // Spread evenly over the second.
            let offset = Duration::from_micros(1_000_000 * n as u64 / chats.len() as u64);
            let link =
                Link { gate: gate.clone(), phases: phases.clone(), ready: ready.clone(), report: report.clone() };
            let ws = ws.to_owned();
            tasks.push(tokio::spawn(async move { drive(target, &ws, &paths, cookies, link, offset).await }));
        }
        let (mut up, mut down) = (0, 0);
        while up + down < chats.len() {
            match readies.recv().await {
                Some(true) => up += 1,
                Some(false) => down += 1,
                None => break,
            }
        }
        if down > 0 {
            println!("{down} of {} pairs of sockets failed to open", chats.len());
        }
        Group { phase, reports, tasks }
    }

    /// Warm-up, then `seconds` measured; every task reports as it goes back to idle.
    async fn run(&mut self, seconds: u64) -> Value {
        let from = now_us() + WARM_UP_SECONDS * 1_000_000;
        let _ = self.phase.send(Phase::Run(from));
        tokio::time::sleep(Duration::from_secs(WARM_UP_SECONDS + seconds)).await;
        let _ = self.phase.send(Phase::Idle);
        let mut stats = Stats::default();
        let alive = self.tasks.iter().filter(|t| !t.is_finished()).count();
        for _ in 0..alive {
            match tokio::time::timeout(Duration::from_secs(30), self.reports.recv()).await {
                Ok(Some(report)) => stats.add(report),
                _ => break,
            }
        }
        // Tasks whose sockets closed during the run reported on their way out.
        while let Ok(report) = self.reports.try_recv() {
            stats.add(report);
        }
        stats.json()
    }

    async fn stop(self) {
        let _ = self.phase.send(Phase::Stop);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn wait_for(commands: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>, word: &str) {
    loop {
        match commands.next_line().await {
            Ok(Some(line)) if line.trim() == word => return,
            Ok(Some(_)) => {}
            _ => panic!("generator: the server went away before {word}"),
        }
    }
}

/// Each pair's (client cookie, expert cookie), signing in as a browser does.
async fn sign_in_all(base: &str, chats: &[Chat]) -> Vec<(String, String)> {
    let logins: Arc<Vec<(String, String)>> =
        Arc::new(chats.iter().map(|c| (c.client.clone(), c.expert.clone())).collect());
    let mut tasks = tokio::task::JoinSet::new();
    for part in 0..SIGN_IN_TASKS {
        let (logins, base) = (logins.clone(), base.to_owned());
        tasks.spawn(async move {
            let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
            let mut cookies = Vec::new();
            for n in (part..logins.len()).step_by(SIGN_IN_TASKS) {
                let (client, expert) = &logins[n];
                let client = sign_in(&http, &format!("{base}/login"), client).await;
                let expert = sign_in(&http, &format!("{base}/expert/login"), expert).await;
                cookies.push((n, (client, expert)));
            }
            cookies
        });
    }
    let mut cookies: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
    cookies.sort_unstable_by_key(|(n, _)| *n);
    cookies.into_iter().map(|(_, c)| c).collect()
}

async fn sign_in(http: &reqwest::Client, url: &str, email: &str) -> String {
    let form = [("email", email), ("password", augure_app::demo::DEMO_PASSWORD)];
    let response = http.post(url).form(&form).send().await.expect("sign in");
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok());
    let cookie = cookie.unwrap_or_else(|| panic!("no session cookie for {email}: {}", response.status()));
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// What ties a pair's task to its group.
struct Link {
    gate: Arc<Semaphore>,
    phases: watch::Receiver<Phase>,
    ready: mpsc::UnboundedSender<bool>,
    report: mpsc::UnboundedSender<Stats>,
}

/// One pair of sockets from opening to the group's stop; its figures go to the group at
/// the end of each run.
async fn drive(
    target: Target,
    ws: &str,
    paths: &[String; 2],
    (first_cookie, second_cookie): (String, String),
    link: Link,
    offset: Duration,
) {
    let Link { gate, mut phases, ready, report } = link;
    let mut stats = Stats::default();
    let opened = {
        let _permit = gate.acquire().await.expect("gate");
        match (connect(ws, &paths[0], &first_cookie).await, connect(ws, &paths[1], &second_cookie).await) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        }
    };
    let Some(mut sockets) = opened else {
        let _ = ready.send(false);
        return;
    };
    if target == Target::Chat {
        // The expert's first reply starts the billing: the client's tab is told.
        let started = async {
            sockets[1].send(send_frame("Bonjour")).await.ok()?;
            loop {
                let frame = parse(sockets[0].next().await?.ok()?)?;
                if frame["type"] == "started" {
                    return Some(());
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), started).await.ok().flatten().is_none() {
            let _ = ready.send(false);
            return;
        }
    }
    let _ = ready.send(true);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, Duration::from_secs(1));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + offset, BEAT);
    let mut turn = 0;
    let mut running = false;
    let [first, second] = &mut sockets;
    loop {
        let phase = *phases.borrow();
        tokio::select! {
            _ = tick.tick() => {
                if let Phase::Run(from) = phase {
                    running = true;
                    let at = now_us();
                    let socket = if turn == 0 { &mut *first } else { &mut *second };
                    if socket.send(send_frame(&format!("{TAG} {}", letters(at)))).await.is_err() {
                        stats.closed += 1;
                        break;
                    }
                    stats.sent += u64::from(at >= from);
                    turn = 1 - turn;
                }
            }
            _ = beat.tick() => {
                for socket in [&mut *first, &mut *second] {
                    let _ = socket.send(Message::text(r#"{"type":"beat"}"#)).await;
                }
            }
            frame = first.next() => if !receive(target, frame, phase, &mut stats) { break },
            frame = second.next() => if !receive(target, frame, phase, &mut stats) { break },
            changed = phases.changed() => {
                let now = *phases.borrow();
                if changed.is_err() || now == Phase::Stop {
                    break;
                }
                if now == Phase::Idle && running {
                    running = false;
                    let _ = report.send(std::mem::take(&mut stats));
                }
            }
        }
    }
    if running || stats.closed > 0 {
        let _ = report.send(std::mem::take(&mut stats));
    }
    if target == Target::Chat {
        // The client leaves: the chat ends and is settled; both tabs are told.
        let _ = sockets[0].send(Message::text(r#"{"type":"leave"}"#)).await;
        let ended = async {
            for socket in &mut sockets {
                while let Some(Ok(message)) = socket.next().await {
                    if parse(message).is_some_and(|f| f["type"] == "ended") {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), ended).await;
    }
    for socket in &mut sockets {
        let _ = socket.close(None).await;
    }
}

async fn connect(ws: &str, path: &str, cookie: &str) -> Option<Socket> {
    let mut request = format!("{ws}{path}").into_client_request().ok()?;
    if !cookie.is_empty() {
        request.headers_mut().insert("cookie", cookie.parse().ok()?);
    }
    // Small buffers: the generator holds thousands of sockets too.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096);
    // No Nagle on the client side, as browsers do.
    match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
        Ok((socket, _)) => Some(socket),
        Err(e) => {
            eprintln!("generator: {path}: {e}");
            None
        }
    }
}

/// Counts a frame that carries a measured text; false when the socket is gone.
fn receive(
    target: Target,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    phase: Phase,
    stats: &mut Stats,
) -> bool {
    let Some(Ok(message)) = frame else {
        stats.closed += 1;
        return false;
    };
    let received_at = now_us();
    let Some(frame) = parse(message) else { return true };
    let measured = match (target, frame["type"].as_str()) {
        // The other party's message, as the reader's tab gets it.
        (Target::Chat, Some("message")) => frame["mine"] == false,
        (Target::Echo, Some("send")) => true,
        (_, Some("error")) => {
            stats.errors += 1;
            stats.first_error.get_or_insert_with(|| frame.to_string());
            false
        }
        _ => false,
    };
    let sent_at = frame["text"].as_str().and_then(|t| t.strip_prefix(TAG)).and_then(|t| number(t.trim()));
    if let (true, Some(sent_at), Phase::Run(from)) = (measured, sent_at, phase)
        && sent_at >= from
    {
        stats.received += 1;
        stats.latencies_ms.push(received_at.saturating_sub(sent_at) as f64 / 1e3);
    }
    true
}

fn parse(message: Message) -> Option<Value> {
    match message {
        Message::Text(text) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

fn send_frame(text: &str) -> Message {
    Message::text(json!({ "type": "send", "text": text }).to_string())
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// `n` in base 26, `a` to `z`.
fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn number(letters: &str) -> Option<u64> {
    letters.bytes().try_fold(0u64, |n, b| b.is_ascii_lowercase().then(|| n * 26 + u64::from(b - b'a')))
}

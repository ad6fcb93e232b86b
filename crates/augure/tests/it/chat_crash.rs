//! The real binary killed with `kill -9` during 20 live chats driven over WebSockets
//! (issue 11): once it is back, every chat is settled before `/readyz` answers ready, each
//! charge is the tariff's for the time up to the chat's last checkpoint, and
//! `augure ledger verify` passes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use augure_adapters::{OutboxMailer, OutboxSmsSender, TestPayments};
use augure_app::accounts::SignUp;
use augure_app::{App, SystemClock, demo};
use augure_domain::availability::Status;
use augure_domain::consultation::EndReason;
use augure_domain::{Mode, Role};
use augure_store::{ConsultationStatus, ConsultationStore, ExpertPresence, Store, UserStore};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CHATS: usize = 20;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_augure"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("AUGURE_LOG", "warn")
        .env("AUGURE_CONFIG", "/nonexistent/augure.toml")
        // A checkpoint every 2 s, so a few seconds of chat leave one behind.
        .env("AUGURE_CONSULTATIONS__CHECKPOINT_SECONDS", "2")
        .env("AUGURE_LIMITS__SIGN_IN_PER_MINUTE", "1000")
        .env_remove("AUGURE_CRASH_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.contains("listening on")).unwrap();
    Server { child, base: line.split_whitespace().last().unwrap().to_owned() }
}

/// The demo, plus `CHATS` experts selling chat like Luna and `CHATS` clients with credit
/// bought through the test checkout, written to the database the binary will serve.
async fn prepare(url: &str) -> Vec<(String, String, u32)> {
    let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(url).await.unwrap());
    let settings = augure_testkit::test_settings();
    let payments = Arc::new(TestPayments::new(&settings.public_url, settings.payments.webhook_secrets.clone()));
    let mailer = Arc::new(OutboxMailer::new(store.clone()));
    let sms = Arc::new(OutboxSmsSender::new(store.clone()));
    let app = App::new(store.clone(), Arc::new(SystemClock), mailer, sms, payments, settings);
    demo::seed(&app).await.unwrap();
    let luna = store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let profile = store.expert_profile(luna.id).await.unwrap();
    let details = store.expert_details(luna.id).await.unwrap();
    let now = chrono::Utc::now();
    let mut pairs = Vec::new();
    for n in 0..CHATS {
        let sign_up = |login: String, role, accept_terms| SignUp {
            email: format!("{login}@augure.localhost"),
            password: demo::DEMO_PASSWORD.into(),
            display_name: login.clone(),
            role,
            locale: "fr".into(),
            site: Some("FR".parse().unwrap()),
            accept_terms,
        };
        let expert = app.accounts.create(sign_up(format!("expert{n}"), Role::Expert, true)).await.unwrap();
        store
            .upsert_expert_profile(&augure_store::ExpertProfile { user_id: expert.id, ..profile.clone() })
            .await
            .unwrap();
        store
            .save_expert_details(&augure_store::ExpertDetails { user_id: expert.id, ..details.clone() })
            .await
            .unwrap();
        let presence = ExpertPresence {
            user_id: expert.id,
            status: Status::Available,
            modes_on: vec![Mode::Chat],
            paused_until: None,
            last_heartbeat: Some(now),
            bank_details_at: Some(now),
            updated_at: now,
        };
        store.save_presence(&presence).await.unwrap();
        let client = app.accounts.create(sign_up(format!("client{n}"), Role::Client, true)).await.unwrap();
        let packs = app.credit.packs_for(&client).await.unwrap();
        let pack = packs.iter().find(|p| p.price.minor == 5000).unwrap();
        let (purchase, _) = app.credit.start_purchase(&client, pack.id, "http://127.0.0.1").await.unwrap();
        app.credit.pay_test_checkout(&purchase, "4242 4242 4242 4242", 0).await.unwrap();
        pairs.push((format!("client{n}"), format!("expert{n}"), expert.expert_code.unwrap().0));
    }
    app.jobs.run_due().await.unwrap();
    pairs
}

async fn cookie(base: &str, entry: &str, login: &str) -> String {
    let client = augure_testkit::TestApp::client_without_redirects();
    let email = format!("{login}@augure.localhost");
    let response = client
        .post(format!("{base}{entry}"))
        .form(&[("email", email.as_str()), ("password", demo::DEMO_PASSWORD)])
        .send();
    let response = response.await.unwrap();
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(base: &str, cookie: &str, query: &str) -> Socket {
    let mut request = format!("{}/ws{query}", base.replace("http://", "ws://")).into_client_request().unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.expect("socket").0
}

async fn frame(ws: &mut Socket, kind: &str) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame"))
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            if value["type"] == kind {
                return value;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_twenty_live_chats_settles_each_to_its_checkpoint_before_ready() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chats.db").display());
    let pairs = prepare(&url).await;
    let mut server = serve(&url);
    let base = server.base.clone();
    let http = augure_testkit::TestApp::new_client();
    let mut sockets = Vec::new();
    for (client, expert, code) in &pairs {
        let (client_cookie, expert_cookie) =
            (cookie(&base, "/login", client).await, cookie(&base, "/expert/login", expert).await);
        let mut dashboard = socket(&base, &expert_cookie, "").await;
        let start = augure_testkit::TestApp::client_without_redirects()
            .post(format!("{base}/experts/{code}/chat"))
            .header("cookie", &client_cookie)
            .form(&[("plan", "per_minute")])
            .send()
            .await
            .unwrap();
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let id: i64 = location.strip_prefix("/consultations/").unwrap_or_else(|| panic!("{location}")).parse().unwrap();
        frame(&mut dashboard, "ring").await;
        dashboard.send(Message::text(json!({ "type": "accept", "consultation": id }).to_string())).await.unwrap();
        frame(&mut dashboard, "ring_over").await;
        let mut expert_tab = socket(&base, &expert_cookie, &format!("?consultation={id}")).await;
        let mut client_tab = socket(&base, &client_cookie, &format!("?consultation={id}")).await;
        expert_tab.send(Message::text(json!({ "type": "send", "text": "Bonjour" }).to_string())).await.unwrap();
        frame(&mut client_tab, "started").await;
        sockets.push((id, client_tab, expert_tab, dashboard));
    }
    // The chats run a few seconds, each tab beating; checkpoints are written meanwhile.
    for _ in 0..5 {
        for (_, client_tab, expert_tab, _) in &mut sockets {
            client_tab.send(Message::text(r#"{"type":"beat"}"#)).await.unwrap();
            expert_tab.send(Message::text(r#"{"type":"beat"}"#)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // kill -9: no shutdown, no settlement.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(sockets);
    {
        let store = augure_store_sqlite::connect(&url).await.unwrap();
        let open = store.open_consultations(100).await.unwrap();
        assert_eq!(open.len(), CHATS, "the crash left every chat open");
    }

    let server = serve(&url);
    let ready = http.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert!(ready.status().is_success(), "ready once listening");
    let store = augure_store_sqlite::connect(&url).await.unwrap();
    assert!(store.open_consultations(100).await.unwrap().is_empty(), "every chat settled before ready");
    let mut checkpointed = 0;
    let mut chats = Vec::new();
    for (client, ..) in &pairs {
        let client = store.user_by_email(&format!("{client}@augure.localhost").parse().unwrap()).await.unwrap();
        chats.extend(store.user_consultations(client.id, 10).await.unwrap());
    }
    assert_eq!(chats.len(), CHATS);
    for c in chats {
        assert_eq!(c.status, ConsultationStatus::Settled);
        let settled = c.ended.unwrap();
        assert_eq!(settled.reason, EndReason::Interrupted);
        let rules = augure_domain::tariff::TariffRules { very_short_seconds: 120 };
        let expected =
            augure_domain::tariff::charge(&c.terms.prices, c.terms.plan, c.billable_seconds, &rules).unwrap();
        assert_eq!(settled.charge, expected.charge.minor, "the tariff of the time up to the checkpoint");
        assert_eq!(settled.commission + settled.earnings, settled.charge);
        assert!(c.billable_seconds <= 8, "never time after the crash: {} s", c.billable_seconds);
        checkpointed += usize::from(c.billable_seconds > 0);
    }
    assert!(checkpointed > 0, "some chats were checkpointed with billable time");
    drop(server);
    let verify = Command::new(env!("CARGO_BIN_EXE_augure"))
        .args(["ledger", "verify", "--database-url", &url])
        .env("AUGURE_CONFIG", "/nonexistent/augure.toml")
        .output()
        .unwrap();
    assert!(verify.status.success(), "augure ledger verify: {}", String::from_utf8_lossy(&verify.stdout));
}

//! The test harness: [`TestApp::spawn`] starts the whole application on an ephemeral port
//! with a fresh database (SQLite by default, PostgreSQL when
//! `AUGURE_TEST_DATABASE=postgres`), a [`FakeClock`] and an HTTP client that keeps cookies.
//! Jobs do not run by themselves: tests call [`TestApp::drain_jobs`].

pub mod browser;

use std::net::SocketAddr;
use std::sync::Arc;

use augure_adapters::{OutboxMailer, OutboxSmsSender, TestPayments};
use augure_app::jobs::RunReport;
use augure_app::settings::HashingCost;
use augure_app::{App, Settings};
use augure_domain::FakeClock;
use augure_store::{Store, StoredMail};
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: App,
    pub store: Arc<dyn Store>,
    pub clock: FakeClock,
    /// The test-mode provider the app pays with (to hold its refunds in flight).
    pub payments: Arc<TestPayments>,
    /// Follows redirects and keeps cookies, like a browser.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fixed, ordinary start time so tests read the same on every run.
pub fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).expect("valid instant")
}

/// Settings for tests: the spec's defaults, with cheap password hashing.
pub fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.accounts.hashing = HashingCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    settings
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with adjusted settings.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings();
        adjust(&mut settings);
        let (store, dir) = fresh_store().await;
        let clock = FakeClock::new(start_time());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        settings.public_url = format!("http://{addr}");
        let mailer = Arc::new(OutboxMailer::new(store.clone()));
        let payments = Arc::new(TestPayments::new(&settings.public_url, settings.payments.webhook_secrets.clone()));
        let sms = Arc::new(OutboxSmsSender::new(store.clone()));
        let app = App::new(store.clone(), Arc::new(clock.clone()), mailer, sms, payments.clone(), settings);
        let state = augure_web::AppState::new(app.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(augure_web::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        TestApp { addr, app, store, clock, payments, client: Self::new_client(), stop: Some(stop), _dir: dir }
    }

    /// Another browser: its own cookie jar.
    pub fn new_client() -> reqwest::Client {
        augure_adapters::install_tls_provider();
        reqwest::Client::builder().cookie_store(true).build().expect("http client")
    }

    /// A client that reports redirects instead of following them.
    pub fn client_without_redirects() -> reqwest::Client {
        augure_adapters::install_tls_provider();
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Runs every job due at the fake clock's current time.
    pub async fn drain_jobs(&self) -> RunReport {
        self.app.jobs.run_due().await.expect("job queue")
    }

    /// Mail recorded in the outbox for `email`, oldest first.
    pub async fn mails_to(&self, email: &str) -> Vec<StoredMail> {
        self.store.mail_to(email).await.expect("outbox")
    }

    /// A browser-like client signed in through a sign-in page (`/login`, `/expert/login`,
    /// `/admin/login`).
    pub async fn signed_in(&self, entry: &str, email: &str, password: &str) -> reqwest::Client {
        let client = Self::new_client();
        let page = client.post(self.url(entry)).form(&[("email", email), ("password", password)]).send().await.unwrap();
        assert!(page.status().is_success(), "{entry} {email}: {}", page.status());
        client
    }

    /// An API bearer token for an account.
    pub async fn api_token(&self, email: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().expect("a token").to_owned()
    }
}

/// Page text as people read it: askama escapes apostrophes and quotes.
pub fn unescape(html: &str) -> String {
    html.replace("&#39;", "'").replace("&quot;", "\"").replace("&#38;", "&").replace("&amp;", "&")
}

/// A new, empty, migrated database of the backend the environment asks for.
pub async fn fresh_store() -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    match std::env::var("AUGURE_TEST_DATABASE").as_deref() {
        Ok("postgres") => {
            let url = std::env::var("AUGURE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let (store, _schema) = augure_store_postgres::connect_fresh_schema(&url)
                .await
                .unwrap_or_else(|e| panic!("AUGURE_TEST_DATABASE=postgres but {url} is unusable: {e}"));
            (Arc::new(store), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("augure.db").display());
            let store = augure_store_sqlite::connect(&url).await.expect("open sqlite");
            (Arc::new(store), Some(dir))
        }
    }
}

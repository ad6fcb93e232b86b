//! B11: a password-reset link is a secret. It is made when the mail is sent, handed to the
//! mailer and kept nowhere else: not in the job queue, not in any table.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use augure_app::i18n::I18n;
use augure_app::mail::{MailError, Mailer};
use augure_app::settings::HashingCost;
use augure_app::{Accounts, JobRunner, Ledger, Settings, SignUp};
use augure_domain::{Clock, FakeClock, Role};
use augure_store::{OutboxMail, Store};
use chrono::{DateTime, Duration};

/// SMTP as the store sees it: the mail leaves and nothing of it stays.
#[derive(Default)]
struct SentAway(Mutex<Vec<OutboxMail>>);

#[async_trait]
impl Mailer for SentAway {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }

    fn name(&self) -> &'static str {
        "sent-away"
    }
}

fn reset_token(mail: &OutboxMail) -> String {
    let text = &mail.text_body;
    let start = text.find("/password/reset/").expect("a reset link") + "/password/reset/".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// Every byte of the database: the main file, its write-ahead log and shared memory.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

struct Harness {
    store: Arc<dyn Store>,
    clock: FakeClock,
    settings: Arc<Settings>,
    accounts: Accounts,
    mailer: Arc<SentAway>,
    runner: JobRunner,
    dir: tempfile::TempDir,
}

/// Marie has an account; her welcome mail is sent.
async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(&url).await.unwrap());
    let clock = FakeClock::new(DateTime::from_timestamp(1_795_000_000, 0).unwrap());
    let clock_port: Arc<dyn Clock> = Arc::new(clock.clone());
    let mut settings = Settings::default();
    settings.accounts.hashing = HashingCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
    let settings = Arc::new(settings);
    let accounts = Accounts::new(store.clone(), clock_port.clone(), settings.clone(), Arc::new(I18n::new()));
    let mailer = Arc::new(SentAway::default());
    let ledger = Ledger::new(store.clone(), clock_port.clone());
    let runner = JobRunner::new(store.clone(), clock_port, mailer.clone(), settings.clone(), ledger)
        .with_accounts(accounts.clone());
    accounts
        .sign_up(SignUp {
            email: "marie@example.fr".into(),
            password: "correct horse".into(),
            display_name: "Marie".into(),
            role: Role::Client,
            locale: "fr".into(),
            site: None,
            accept_terms: true,
        })
        .await
        .unwrap();
    assert_eq!(runner.run_due().await.unwrap().done, 1, "the welcome mail");
    Harness { store, clock, settings, accounts, mailer, runner, dir }
}

impl Harness {
    fn reset_mails(&self) -> Vec<OutboxMail> {
        self.mailer.0.lock().unwrap().iter().filter(|m| m.text_body.contains("/password/reset/")).cloned().collect()
    }
}

#[tokio::test]
async fn a_sent_reset_link_is_stored_nowhere() {
    let h = harness().await;
    h.accounts.request_password_reset("marie@example.fr", "it").await.unwrap();
    assert_eq!(h.runner.run_due().await.unwrap().done, 1);
    let token = reset_token(&h.reset_mails()[0]);
    for job in h.store.list_jobs(None, 100).await.unwrap() {
        assert!(!job.payload.to_string().contains(&token), "job {} keeps the link: {}", job.kind, job.payload);
    }
    let bytes = database_bytes(h.dir.path());
    assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the link is somewhere in the database");
    // And the link works.
    h.accounts.reset_password(&token, "brand new pass").await.unwrap();
}

#[tokio::test]
async fn a_reset_mail_that_could_only_arrive_dead_is_not_sent() {
    let h = harness().await;
    h.accounts.request_password_reset("marie@example.fr", "fr").await.unwrap();
    // The worker was away longer than a link lives: the person has asked again by now.
    h.clock.advance(Duration::minutes(h.settings.accounts.reset_link_ttl_minutes));
    assert_eq!(h.runner.run_due().await.unwrap().done, 1);
    assert!(h.reset_mails().is_empty());
}

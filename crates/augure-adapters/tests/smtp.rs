//! The SMTP adapter against a real SMTP server: aiosmtpd (PyPI), started by the test and
//! writing what it receives to a maildir. Without aiosmtpd the suite skips, except with
//! `CI=true`, where it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use augure_adapters::SmtpMailer;
use augure_app::mail::{Mail, MailError, Mailer};
use augure_app::settings::{Settings, SmtpSettings, SmtpTls};
use augure_app::{JobRunner, Ledger, SystemClock};
use augure_store::conformance::service_missing;
use augure_store::{JobStatus, OutboxMail, Store};

struct SmtpSink {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpSink {
    fn start() -> Option<SmtpSink> {
        let python = std::env::var("AUGURE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let probe = Command::new(&python).args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status();
        if !probe.is_ok_and(|s| s.success()) {
            return service_missing(
                "aiosmtpd",
                format!("`{python} -c 'import aiosmtpd'` failed; pip install aiosmtpd"),
            );
        }
        let port = free_port();
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let sink = SmtpSink { child, port, maildir };
        // Wait for the listener: a readiness check, bounded, not a timing assertion.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(sink)
    }

    fn settings(&self) -> SmtpSettings {
        SmtpSettings { host: "127.0.0.1".into(), port: self.port, username: None, password: None, tls: SmtpTls::None }
    }

    fn received(&self) -> Vec<String> {
        let dir: PathBuf = self.maildir.path().join("box").join("new");
        let mut found: Vec<_> = std::fs::read_dir(&dir)
            .map(|it| it.filter_map(|e| e.ok()).map(|e| read(&e.path())).collect())
            .unwrap_or_default();
        found.sort();
        found
    }
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).expect("read mail")).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn mail(to: &str) -> OutboxMail {
    OutboxMail {
        key: "job-1".into(),
        to: to.into(),
        subject: "Réinitialisation du mot de passe".into(),
        text_body: "Bonjour Marie, voici votre lien.".into(),
        html_body: "<p>Bonjour <b>Marie</b>, voici votre lien.</p>".into(),
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn smtp_delivers_text_and_html_to_a_real_server() {
    let Some(sink) = SmtpSink::start() else { return };
    let mailer = SmtpMailer::new(&sink.settings(), "augure <no-reply@augure.localhost>").unwrap();
    mailer.deliver(&mail("marie@example.fr")).await.expect("delivered");
    let received = sink.received();
    assert_eq!(received.len(), 1, "one mail in the sink");
    let raw = &received[0];
    assert!(raw.contains("To: marie@example.fr"), "{raw}");
    assert!(raw.contains("From: augure <no-reply@augure.localhost>"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
    // The subject is encoded (RFC 2047), not sent as raw UTF-8.
    assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
}

#[tokio::test]
async fn unreachable_server_is_a_transient_failure() {
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: free_port(),
        username: None,
        password: None,
        tls: SmtpTls::None,
    };
    let mailer = SmtpMailer::new(&settings, "no-reply@augure.localhost").unwrap();
    let err = mailer.deliver(&mail("marie@example.fr")).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn malformed_recipient_is_a_permanent_failure() {
    let settings =
        SmtpSettings { host: "127.0.0.1".into(), port: 1, username: None, password: None, tls: SmtpTls::None };
    let mailer = SmtpMailer::new(&settings, "no-reply@augure.localhost").unwrap();
    let err = mailer.deliver(&mail("not an address")).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn queued_mail_reaches_the_smtp_server_through_the_job_runner() {
    let Some(sink) = SmtpSink::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        augure_store_sqlite::connect(&format!("sqlite://{}", dir.path().join("a.db").display())).await.unwrap(),
    );
    let mailer = Arc::new(SmtpMailer::new(&sink.settings(), "no-reply@augure.localhost").unwrap());
    let ledger = Ledger::new(store.clone(), Arc::new(SystemClock));
    let runner = JobRunner::new(store.clone(), Arc::new(SystemClock), mailer, Arc::new(Settings::default()), ledger);
    let queued = Mail {
        to: "luna@example.fr".into(),
        subject: "Bienvenue".into(),
        text_body: "Bienvenue sur augure".into(),
        html_body: "<p>Bienvenue sur augure</p>".into(),
        notice: None,
    };
    queued.enqueue(&*store, Some("welcome:1".into()), chrono::Utc::now()).await.unwrap();
    let report = runner.run_due().await.unwrap();
    assert_eq!(report.done, 1);
    assert_eq!(sink.received().len(), 1);
    assert!(sink.received()[0].contains("To: luna@example.fr"));
    assert_eq!(store.list_jobs(Some(JobStatus::Done), 10).await.unwrap().len(), 1);
}

//! The binary itself: backend choice by URL scheme, migrations, admin creation, and a
//! graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn augure() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_augure"));
    command.env_remove("DATABASE_URL").env("AUGURE_LOG", "warn").env("AUGURE_CONFIG", "/nonexistent/augure.toml");
    command
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error() {
    let out = augure().args(["serve", "--database-url", "mysql://localhost/augure"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported database URL scheme \"mysql\""), "{stderr}");
}

#[test]
fn migrate_then_admin_create() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = augure().args(["migrate", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = augure()
        .args(["admin", "create", "--database-url", &url, "--email", "root@example.fr", "--name", "Root"])
        .env("AUGURE_ADMIN_PASSWORD", "a long admin password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin root@example.fr created"));
    let again = augure()
        .args(["admin", "create", "--database-url", &url, "--email", "root@example.fr"])
        .env("AUGURE_ADMIN_PASSWORD", "a long admin password")
        .output()
        .unwrap();
    assert!(!again.status.success(), "a duplicate admin is refused");
}

/// Starts `augure serve` on port 0 and reads the address it prints.
async fn start_server(url: &str) -> (std::process::Child, String) {
    let mut child = augure()
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        lines.find_map(|l| l.ok().filter(|l| l.contains("listening on")))
    })
    .await
    .unwrap()
    .expect("the server prints its address");
    (child, line.split_whitespace().last().unwrap().to_owned())
}

/// Starts `augure serve`, checks it answers, then stops it with SIGTERM and expects a
/// clean exit.
#[tokio::test]
async fn serve_answers_then_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start_server(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let client = augure_testkit::TestApp::new_client();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Without --demo nothing is seeded.
    let sites: serde_json::Value =
        client.get(format!("{base}/api/v1/sites")).send().await.unwrap().json().await.unwrap();
    assert_eq!(sites, serde_json::json!([]));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "graceful stop exits 0, got {status}");
}

#[test]
fn a_real_payment_provider_needs_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = augure()
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("AUGURE_PAYMENTS__PROVIDER", "stripe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stripe_secret_key is required"));
    let out = augure()
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
        .env("AUGURE_PAYMENTS__PROVIDER", "paypal")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown payments.provider \"paypal\""));
}

/// B23: every setting can be an `AUGURE_…` variable, lists too (comma-separated), so that
/// secrets need not sit in a file.
#[test]
fn list_settings_are_read_from_comma_separated_variables() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = augure()
        .args(["ledger", "verify", "--database-url", &url])
        .env("AUGURE_PAYMENTS__WEBHOOK_SECRETS", "whsec_new,whsec_old")
        .env("AUGURE_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,192.0.2.10")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = augure()
        .args(["ledger", "verify", "--database-url", &url])
        .env("AUGURE_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("\"proxy.internal\" is neither"), "{stderr}");
}

/// PH-commission: rates are settings, per site and channel; a rate over 100 % stops the
/// start with the setting named.
#[test]
fn commission_rates_are_settings_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let out = augure()
        .args(["ledger", "verify", "--database-url", &url])
        .env("AUGURE_CONSULTATIONS__COMMISSION__PER_SITE__CH__CHAT", "2500")
        .env("AUGURE_CONSULTATIONS__GRANT_SECONDS", "240")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = augure()
        .args(["ledger", "verify", "--database-url", &url])
        .env("AUGURE_CONSULTATIONS__COMMISSION__DEFAULT__PHONE", "12000")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("at most 10000 basis points (100 %), not 12000"), "{stderr}");
}

/// B13: a stop with a directory event stream open (it never ends by itself) still exits
/// cleanly, well before a supervisor would SIGKILL.
#[tokio::test]
async fn sigterm_with_an_event_stream_open_still_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start_server(&format!("sqlite://{}", dir.path().join("a.db").display())).await;
    let stream = augure_testkit::TestApp::new_client().get(format!("{base}/directory/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 20 s after SIGTERM with a stream open");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(status.success(), "graceful stop exits 0, got {status}");
    drop(stream);
}

/// B3: a server people reach never runs the local defaults by accident: without --demo or
/// a loopback public URL, the test checkout and the outbox stop the start with the setting
/// to add.
#[test]
fn a_public_server_refuses_the_local_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let public = || {
        let mut command = augure();
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .env("AUGURE_PUBLIC_URL", "https://augure.example");
        command
    };
    let stderr = refused_start(public());
    assert!(stderr.contains("test-mode checkout") && stderr.contains("[payments] provider"), "{stderr}");
    let mut stripe = public();
    stripe
        .env("AUGURE_PAYMENTS__PROVIDER", "stripe")
        .env("AUGURE_PAYMENTS__STRIPE_SECRET_KEY", "sk_test_augure")
        .env("AUGURE_PAYMENTS__WEBHOOK_SECRETS", "whsec_endpoint");
    let stderr = refused_start(stripe);
    assert!(stderr.contains("outbox") && stderr.contains("[mail.smtp]"), "{stderr}");
}

/// Runs a server that must refuse to start, and returns what it said; one that starts
/// anyway is stopped and fails the test instead of hanging it.
fn refused_start(mut command: Command) -> String {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started although it should have refused");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Without a `public_url`, links name the address the server listens on: with
/// `--bind 127.0.0.1:PORT` the checkout is on PORT, not on 8080.
#[tokio::test]
async fn the_public_url_defaults_to_the_bound_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let mut child = augure()
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let base = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        lines.find_map(|l| l.ok().filter(|l| l.contains("listening on")))
    })
    .await
    .unwrap()
    .unwrap()
    .split_whitespace()
    .last()
    .unwrap()
    .to_owned();
    let robots = reqwest::get(format!("{base}/robots.txt")).await.unwrap().text().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(robots.contains(&format!("Sitemap: {base}/sitemap.xml")), "{robots}");
}

#[test]
fn a_wildcard_address_without_a_public_url_is_refused_outside_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let mut command = augure();
    command.args(["serve", "--bind", "0.0.0.0:0", "--database-url", &url]).env_remove("AUGURE_PUBLIC_URL");
    let stderr = refused_start(command);
    assert!(stderr.contains("public_url") && stderr.contains("AUGURE_PUBLIC_URL"), "{stderr}");
}

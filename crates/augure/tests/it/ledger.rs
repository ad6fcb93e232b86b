//! The ledger through the application: hold expiry, the admin's books, `augure ledger verify`.

use std::process::Command;

use augure_app::SignUp;
use augure_domain::ledger::AccountId;
use augure_domain::ledger::{AccountKind, TransferMode, TransferRequest};
use augure_domain::{Clock, Currency, Role};
use augure_store::{LedgerOwner, LedgerStore, Store};
use augure_testkit::TestApp;
use chrono::Duration;
use reqwest::StatusCode;

fn request(key: &str, debit: AccountId, credit: AccountId, amount: i64, mode: TransferMode) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        debit,
        credit,
        amount: Some(amount),
        currency: Currency::Eur,
        code: "purchase".into(),
        user_data: None,
        mode,
        pending_key: None,
        linked: false,
    }
}

/// A client account holding `credit`, and an expert account.
async fn funded(store: &dyn Store, app: &TestApp, credit: i64) -> (AccountId, AccountId) {
    let signup = SignUp {
        email: "c@example.fr".into(),
        password: "client password".into(),
        display_name: "C".into(),
        role: Role::Client,
        locale: "fr".into(),
        site: None,
        accept_terms: true,
    };
    let client = app.app.accounts.create(signup).await.unwrap();
    let provider =
        app.app.ledger.account(LedgerOwner::Platform, AccountKind::ProviderClearing, Currency::Eur).await.unwrap();
    let credit_account =
        app.app.ledger.account(LedgerOwner::User(client.id), AccountKind::ClientCredit, Currency::Eur).await.unwrap();
    let revenue =
        app.app.ledger.account(LedgerOwner::Platform, AccountKind::PlatformRevenue, Currency::Eur).await.unwrap();
    let now = app.clock.now();
    store
        .create_transfers(&[request("buy", provider.id, credit_account.id, credit, TransferMode::Posted)], now)
        .await
        .unwrap()[0]
        .as_ref()
        .unwrap();
    (credit_account.id, revenue.id)
}

#[tokio::test]
async fn holds_are_released_when_their_time_runs_out() {
    let app = TestApp::spawn().await;
    let (client, revenue) = funded(&*app.store, &app, 1000).await;
    let now = app.clock.now();
    let hold = request(
        "grant:1",
        client,
        revenue,
        700,
        TransferMode::Pending { expires_at: Some(now + Duration::minutes(5)) },
    );
    app.store.create_transfers(&[hold], now).await.unwrap()[0].as_ref().unwrap();
    assert_eq!(app.app.ledger.expire_holds().await.unwrap(), 0);
    let balance = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.ledger_account_by_id(client).await.unwrap().0.balances.available() }
    };
    assert_eq!(balance(&app).await, 300);
    app.clock.advance(Duration::minutes(5));
    assert_eq!(app.app.ledger.expire_holds().await.unwrap(), 1);
    assert_eq!(app.app.ledger.expire_holds().await.unwrap(), 0, "released once");
    assert_eq!(balance(&app).await, 1000);
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
    assert_eq!(audit.transfers, 3);
}

#[tokio::test]
async fn the_admin_sees_the_trial_balance_and_each_account() {
    let app = TestApp::spawn().await;
    let (client, _) = funded(&*app.store, &app, 2500).await;
    app.app.accounts.create_admin("root@example.fr", "admin password", "Root").await.unwrap();
    let admin = TestApp::new_client();
    admin
        .post(app.url("/admin/login"))
        .form(&[("email", "root@example.fr"), ("password", "admin password")])
        .send()
        .await
        .unwrap();
    let page = admin.get(app.url("/admin/ledger")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Les débits égalent les crédits"), "{html}");
    assert!(html.contains("Crédit client") && html.contains("25,00\u{a0}€"), "{html}");
    let account =
        admin.get(app.url(&format!("/admin/ledger/accounts/{client}"))).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("Achat de crédit") && account.contains(">buy<"), "{account}");
    let missing = admin.get(app.url("/admin/ledger/accounts/999999")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ledger_verify_passes_on_sound_books_and_fails_on_tampered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.db");
    let url = format!("sqlite://{}", path.display());
    {
        let store = augure_store_sqlite::connect(&url).await.unwrap();
        let now = chrono::Utc::now();
        let provider = store
            .ledger_account(LedgerOwner::Platform, AccountKind::ProviderClearing, Currency::Eur, now)
            .await
            .unwrap();
        let revenue = store
            .ledger_account(LedgerOwner::Platform, AccountKind::PlatformRevenue, Currency::Eur, now)
            .await
            .unwrap();
        store
            .create_transfers(&[request("t1", provider.id, revenue.id, 1234, TransferMode::Posted)], now)
            .await
            .unwrap()[0]
            .as_ref()
            .unwrap();
        store.close().await;
    }
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_augure"))
            .args(["ledger", "verify", "--database-url", &url])
            .env("AUGURE_LOG", "warn")
            .output()
            .unwrap()
    };
    let ok = verify();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("EUR: debits posted 1234, credits posted 1234") && stdout.contains("ok:"), "{stdout}");
    // Edit a balance behind the ledger's back, as a faulty script would.
    let tampered = Command::new("python3")
        .args(["-c", &format!("import sqlite3; c = sqlite3.connect({:?}); c.execute('UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE kind = \"platform_revenue\"'); c.commit()", path.display().to_string())])
        .status();
    if !tampered.is_ok_and(|s| s.success()) {
        eprintln!("skipped the tampering half: python3 with sqlite3 unavailable");
        return;
    }
    let bad = verify();
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(stdout.contains("problem: account"), "{stdout}");
    assert!(stdout.contains("Σ debits posted 1234 ≠ Σ credits posted 1235"), "{stdout}");
}

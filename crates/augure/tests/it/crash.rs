//! A crash between a webhook's receipt and its commit (and just after the commit) leaves
//! the books consistent, and the provider's redelivery credits the purchase exactly once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use augure_adapters::TestPayments;
use augure_app::Settings;
use augure_domain::ledger::AccountKind;
use augure_domain::{Currency, Money, Role};
use augure_store::{LedgerOwner, LedgerStore, NewUser, PaymentStore, PurchaseStatus, SiteStore, StoreError, UserStore};

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

fn serve(url: &str, crash_at: Option<&str>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_augure"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("AUGURE_LOG", "warn")
        .env("AUGURE_CONFIG", "/nonexistent/augure.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match crash_at {
        Some(point) => command.env("AUGURE_CRASH_AT", point),
        None => command.env_remove("AUGURE_CRASH_AT"),
    };
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout).lines().map_while(Result::ok).find(|l| l.contains("listening on")).unwrap();
    Server { child, base: line.split_whitespace().last().unwrap().to_owned() }
}

async fn deliver(server: &Server, body: &str, signature: &str) -> Result<reqwest::Response, reqwest::Error> {
    augure_testkit::TestApp::new_client()
        .post(format!("{}/webhooks/payments", server.base))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_around_the_credit_commit_still_credits_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    // A pending purchase of 20 € (+2 € bonus), as the checkout leaves it.
    let (purchase, body, signature) = {
        let store = augure_store_sqlite::connect(&url).await.unwrap();
        let now = chrono::Utc::now();
        let site = store
            .create_site(&augure_domain::site::NewSite {
                code: "FR".parse().unwrap(),
                name: "augure France".into(),
                currency: Currency::Eur,
                time_zone: chrono_tz::Europe::Paris,
                default_locale: "fr".into(),
                phone_numbers: vec![],
                tariffs: vec![],
                imposed_per_minute: None,
            })
            .await
            .unwrap();
        let client = store
            .create_user(&NewUser {
                email: "claire@example.fr".parse().unwrap(),
                role: Role::Client,
                display_name: "Claire".into(),
                locale: "fr".into(),
                site_id: Some(site.id),
                expert_code: None,
                password_hash: "x".into(),
                created_at: now,
            })
            .await
            .unwrap();
        let pack = store
            .create_credit_pack(site.id, Money::new(2000, Currency::Eur), Money::new(200, Currency::Eur), now)
            .await
            .unwrap();
        let purchase = store.create_purchase(client.id, &pack, now).await.unwrap();
        store.set_checkout_session(purchase.id, "cs_test_crash").await.unwrap();
        let purchase = store.purchase(purchase.id).await.unwrap();
        let settings = Settings::default();
        let payments = TestPayments::new("http://unused", settings.payments.webhook_secrets.clone());
        let (body, signature) = payments.completed_event(&purchase, now);
        store.close().await;
        (purchase, body, signature)
    };
    let inspect = || async {
        let store = augure_store_sqlite::connect(&url).await.unwrap();
        let granted = match store.transfer_by_key(&format!("purchase:{}", purchase.id)).await {
            Ok(_) => true,
            Err(StoreError::NotFound) => false,
            Err(e) => panic!("{e}"),
        };
        let status = store.purchase(purchase.id).await.unwrap().status;
        let account = store
            .ledger_account(
                LedgerOwner::User(purchase.user_id),
                AccountKind::ClientCredit,
                Currency::Eur,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        store.close().await;
        (granted, status, account.balances.available())
    };

    // 1. The process dies after receiving the webhook, before committing anything.
    let mut server = serve(&url, Some("webhook-received"));
    assert!(deliver(&server, &body, &signature).await.is_err(), "the connection dies with the process");
    assert!(!server.child.wait().unwrap().success());
    assert_eq!(inspect().await, (false, PurchaseStatus::Pending, 0));

    // 2. The redelivery reaches a process that dies right after the ledger commit.
    let mut server = serve(&url, Some("credit-granted"));
    assert!(deliver(&server, &body, &signature).await.is_err());
    assert!(!server.child.wait().unwrap().success());
    assert_eq!(inspect().await, (true, PurchaseStatus::Pending, 2200), "credited, not yet marked paid");

    // 3. A healthy process gets the next redelivery: it finishes the work without paying
    // twice. The delivery that marks the purchase paid is the one that says "credited"
    // (one per purchase, whatever crashed before); later ones find it done.
    let server = serve(&url, None);
    for expected in ["credited", "already_done", "already_done"] {
        let response = deliver(&server, &body, &signature).await.unwrap();
        assert_eq!(response.status(), 200);
        let outcome: serde_json::Value = response.json().await.unwrap();
        assert_eq!(outcome["outcome"], expected);
    }
    drop(server);
    assert_eq!(inspect().await, (true, PurchaseStatus::Paid, 2200));
    let verify =
        Command::new(env!("CARGO_BIN_EXE_augure")).args(["ledger", "verify", "--database-url", &url]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

//! Payments the provider settles late or takes back: delayed methods, webhooks held up
//! past their signature's lifetime, a double-submitted refund answered 409, refunds made
//! at the provider and chargebacks.

use augure_app::demo;
use augure_domain::Clock;
use augure_store::{JobStatus, PurchaseStatus, RefundStatus};
use augure_testkit::{TestApp, unescape};
use chrono::Duration;
use reqwest::StatusCode;

use crate::credit::{available, last_purchase, pay, shop, start_purchase};

async fn wallet_page(app: &TestApp) -> String {
    unescape(&app.client.get(app.url("/wallet")).send().await.unwrap().text().await.unwrap())
}

/// Buys the 20 € pack (+ 2 € bonus) with `card`; returns the purchase's id.
async fn buy_with(app: &TestApp, card: &str) -> i64 {
    let checkout = start_purchase(app, 2000).await.url().clone();
    assert_eq!(pay(app, &checkout, card, "0").await.url().path(), "/wallet");
    last_purchase(app).await.id
}

async fn admin(app: &TestApp) -> reqwest::Client {
    app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await
}

async fn assert_books_sound(app: &TestApp) {
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

#[tokio::test]
async fn a_delayed_payment_is_credited_only_when_the_money_arrives() {
    let app = shop().await;
    let id = buy_with(&app, "4000 0000 0000 9001").await;
    app.drain_jobs().await;
    // The checkout completed unpaid: nothing is granted yet, and the wallet says why.
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    assert!(wallet_page(&app).await.contains("Paiement en cours de traitement"));
    assert_eq!(last_purchase(&app).await.status, PurchaseStatus::Pending);
    app.clock.advance(Duration::seconds(app.app.settings.payments.test_settle_seconds));
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");
    let purchase = app.store.purchase(id).await.unwrap();
    assert_eq!(purchase.status, PurchaseStatus::Paid);
    assert_books_sound(&app).await;
}

#[tokio::test]
async fn a_delayed_payment_that_fails_grants_nothing() {
    let app = shop().await;
    let id = buy_with(&app, "4000 0000 0000 9019").await;
    app.drain_jobs().await;
    app.clock.advance(Duration::seconds(app.app.settings.payments.test_settle_seconds));
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    assert_eq!(app.store.purchase(id).await.unwrap().status, PurchaseStatus::Failed);
    assert!(wallet_page(&app).await.contains("Échoué"));
}

#[tokio::test]
async fn a_webhook_held_up_past_its_signature_lifetime_still_credits() {
    let app = shop().await;
    buy_with(&app, "4242 4242 4242 4242").await;
    // The worker dies holding the delivery: it comes back after its lease, ten minutes
    // later, long after a signature made at queueing time would have expired.
    let lease = app.clock.now() + Duration::seconds(app.app.settings.jobs.lease_seconds);
    let held = app.store.claim_job(app.clock.now(), lease).await.unwrap().expect("the delivery is queued");
    app.clock.advance(Duration::minutes(10));
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");
    let job = app.store.list_jobs(None, 50).await.unwrap().into_iter().find(|j| j.id == held.id).unwrap();
    assert_eq!(job.status, JobStatus::Done);
}

#[tokio::test]
async fn paying_a_pending_purchase_again_queues_its_delivery_again() {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    pay(&app, &checkout, "4242 4242 4242 4242", "0").await;
    // The first delivery is given up (say the database was away for too long).
    let lease = app.clock.now() + Duration::seconds(60);
    let first = app.store.claim_job(app.clock.now(), lease).await.unwrap().unwrap();
    app.store.fail_job(first.id, "gave up", None, app.clock.now()).await.unwrap();
    assert_eq!(pay(&app, &checkout, "4242 4242 4242 4242", "0").await.url().path(), "/wallet");
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_submitted_refund_answered_409_keeps_the_credit_taken_and_refunds_once() {
    let app = shop().await;
    let id = buy_with(&app, "4242 4242 4242 4242").await;
    app.drain_jobs().await;
    let admin = admin(&app).await;
    let refund = || {
        let admin = admin.clone();
        let url = app.url(&format!("/admin/purchases/{id}/refund"));
        async move { admin.post(url).form(&[("amount", "20"), ("key", "k1")]).send().await.unwrap() }
    };
    let gate = app.payments.pause_refunds().await;
    let first = tokio::spawn(refund());
    for _ in 0..500 {
        if app.payments.refunds_in_flight() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.payments.refunds_in_flight(), 1, "the first submission is at the provider");
    // The second submission reaches the provider while the first is in flight: 409.
    let second = unescape(&refund().await.text().await.unwrap());
    assert!(second.contains("relancé automatiquement"), "{second}");
    assert_eq!(available(&app).await, "0,00\u{a0}€", "the credit stays taken");
    let key = format!("refund:{id}:k1");
    assert_eq!(app.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Pending);
    drop(gate);
    assert_eq!(first.await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Done);
    assert_eq!(last_purchase(&app).await.refunded.minor, 2000, "the refund is counted");
    assert_eq!(available(&app).await, "0,00\u{a0}€", "card refunded, credit not given back");
    assert_books_sound(&app).await;
}

/// Spends `cents` of the client's credit, as a consultation would.
async fn spend(app: &TestApp, cents: i64) {
    use augure_domain::Currency;
    use augure_domain::ledger::{AccountKind, TransferMode, TransferRequest};
    use augure_store::LedgerOwner;
    let claire = app.store.user_by_email(&"claire@augure.localhost".parse().unwrap()).await.unwrap();
    let account = |owner, kind| app.app.ledger.account(owner, kind, Currency::Eur);
    let client = account(LedgerOwner::User(claire.id), AccountKind::ClientCredit).await.unwrap();
    let revenue = account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await.unwrap();
    let spent = TransferRequest {
        key: format!("spent:{cents}"),
        debit: client.id,
        credit: revenue.id,
        amount: Some(cents),
        currency: Currency::Eur,
        code: "consultation".into(),
        user_data: None,
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    };
    app.store.create_transfers(&[spent], app.clock.now()).await.unwrap().remove(0).unwrap();
}

async fn provider_test(app: &TestApp, admin: &reqwest::Client, id: i64, action: &str, amount: &str) {
    let page = admin
        .post(app.url(&format!("/admin/purchases/{id}/provider-test")))
        .form(&[("action", action), ("amount", amount)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    app.drain_jobs().await;
}

#[tokio::test]
async fn a_refund_made_at_the_provider_takes_back_the_unspent_credit_and_records_the_rest_as_debt() {
    let app = shop().await;
    let id = buy_with(&app, "4242 4242 4242 4242").await;
    app.drain_jobs().await;
    spend(&app, 1500).await;
    assert_eq!(available(&app).await, "7,00\u{a0}€");
    let admin = admin(&app).await;
    provider_test(&app, &admin, id, "refund", "20").await;
    // 7 € unspent are taken back; the 13 € already spent are owed.
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    let wallet = wallet_page(&app).await;
    assert!(wallet.contains("Vous devez 13,00\u{a0}€"), "{wallet}");
    assert_eq!(last_purchase(&app).await.refunded.minor, 2000);
    let list = unescape(&admin.get(app.url("/admin/purchases")).send().await.unwrap().text().await.unwrap());
    let incidents = &list[list.find("id=\"payment-incidents\"").expect("listed")..];
    assert!(incidents.contains("Remboursement chez le prestataire") && incidents.contains("13,00\u{a0}€"));
    let alerts = app.mails_to(demo::ADMIN_EMAIL).await;
    assert!(alerts.iter().any(|m| m.mail.text_body.contains(&format!("achat n° {id}"))), "admins are mailed");
    // Delivered again, it changes nothing.
    provider_test(&app, &admin, id, "refund", "0,01").await;
    assert_eq!(last_purchase(&app).await.refunded.minor, 2000);
    // The next purchase pays the debt back first.
    buy_with(&app, "4242 4242 4242 4242").await;
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "9,00\u{a0}€", "22 € bought, 13 € owed");
    assert!(!wallet_page(&app).await.contains("Vous devez"));
    assert_books_sound(&app).await;
}

#[tokio::test]
async fn a_chargeback_takes_the_credit_back_and_a_won_one_gives_it_back() {
    let app = shop().await;
    let id = buy_with(&app, "4242 4242 4242 4242").await;
    app.drain_jobs().await;
    spend(&app, 500).await;
    let admin = admin(&app).await;
    provider_test(&app, &admin, id, "dispute", "").await;
    assert_eq!(available(&app).await, "0,00\u{a0}€", "17 € unspent taken back");
    assert!(wallet_page(&app).await.contains("Vous devez 3,00\u{a0}€"));
    provider_test(&app, &admin, id, "dispute", "").await;
    assert_eq!(available(&app).await, "0,00\u{a0}€", "a dispute is taken back once");
    provider_test(&app, &admin, id, "won", "").await;
    assert_eq!(available(&app).await, "17,00\u{a0}€", "won: the credit comes back");
    assert!(!wallet_page(&app).await.contains("Vous devez"), "and the debt is cancelled");
    provider_test(&app, &admin, id, "won", "").await;
    assert_eq!(available(&app).await, "17,00\u{a0}€", "given back once");
    assert_books_sound(&app).await;
}

#[tokio::test]
async fn back_after_paying_shows_where_the_purchase_stands() {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    pay(&app, &checkout, "4242 4242 4242 4242", "0").await;
    app.drain_jobs().await;
    let back = app.client.get(checkout.clone()).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::OK, "not a bare 410");
    let page = unescape(&back.text().await.unwrap());
    assert!(page.contains("Payé : votre crédit est sur votre compte.") && page.contains("href=\"/wallet\""), "{page}");
    // Sending the card form again changes nothing and says the same.
    let again = unescape(&pay(&app, &checkout, "4242 4242 4242 4242", "0").await.text().await.unwrap());
    assert!(again.contains("id=\"purchase-state\""));
    assert_eq!(available(&app).await, "22,00\u{a0}€");
}

#[tokio::test]
async fn an_abandoned_checkout_expires_and_a_pending_one_can_be_cancelled() {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    let first = last_purchase(&app).await.id;
    app.clock.advance(Duration::minutes(app.app.settings.payments.checkout_expiry_minutes));
    app.drain_jobs().await;
    assert_eq!(app.store.purchase(first).await.unwrap().status, PurchaseStatus::Failed);
    let wallet = wallet_page(&app).await;
    assert!(wallet.contains("Abandonné (non payé)") && !wallet.contains("En attente de paiement"), "{wallet}");
    // Its checkout page says so instead of taking a card.
    let closed = unescape(&app.client.get(checkout.clone()).send().await.unwrap().text().await.unwrap());
    assert!(closed.contains("id=\"purchase-state\""));
    // A payment that still arrives is credited all the same.
    let purchase = app.store.purchase(first).await.unwrap();
    let (body, signature) = crate::credit::test_payments(&app).completed_event(&purchase, app.clock.now());
    crate::credit::post_webhook(&app, &body, &signature).await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");

    start_purchase(&app, 2000).await;
    let second = last_purchase(&app).await.id;
    let page = unescape(&wallet_page(&app).await);
    assert!(page.contains(&format!("action=\"/wallet/purchases/{second}/cancel\"")), "{page}");
    let cancelled = app.client.post(app.url(&format!("/wallet/purchases/{second}/cancel"))).send().await.unwrap();
    assert_eq!(cancelled.url().path(), "/wallet");
    assert_eq!(app.store.purchase(second).await.unwrap().status, PurchaseStatus::Failed);
    assert_books_sound(&app).await;
}

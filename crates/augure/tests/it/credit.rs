//! Prepaid credit end to end: packs, the test-mode checkout, signed webhooks delivered
//! many times, the wallet and receipts, refunds, and the API's Idempotency-Key.

use augure_adapters::TestPayments;
use augure_app::demo;
use augure_domain::Clock;
use augure_store::{Purchase, PurchaseStatus};
use augure_testkit::TestApp;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A demo platform with `claire` (client, FR) signed in on `app.client`.
pub(crate) async fn shop() -> TestApp {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let page = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "claire@augure.localhost"), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.url().path(), "/dashboard");
    app
}

/// The FR pack priced `price` minor units.
pub(crate) async fn pack(app: &TestApp, price: i64) -> i64 {
    let fr = app.store.site_by_code(&"FR".parse().unwrap()).await.unwrap();
    app.store.credit_packs(fr.id).await.unwrap().into_iter().find(|p| p.price.minor == price).unwrap().id
}

pub(crate) async fn start_purchase(app: &TestApp, price: i64) -> reqwest::Response {
    let id = pack(app, price).await;
    app.client.post(app.url("/wallet/purchases")).form(&[("pack_id", id.to_string())]).send().await.unwrap()
}

pub(crate) async fn pay(app: &TestApp, checkout: &reqwest::Url, card: &str, attempt: &str) -> reqwest::Response {
    app.client.post(checkout.clone()).form(&[("card", card), ("attempt", attempt)]).send().await.unwrap()
}

pub(crate) async fn available(app: &TestApp) -> String {
    let html = app.client.get(app.url("/wallet")).send().await.unwrap().text().await.unwrap();
    let start = html.find("id=\"available\">").expect("balance shown") + "id=\"available\">".len();
    html[start..].split('<').next().unwrap().to_owned()
}

pub(crate) async fn last_purchase(app: &TestApp) -> Purchase {
    app.store.recent_purchases(1, 0).await.unwrap().remove(0)
}

pub(crate) fn test_payments(app: &TestApp) -> TestPayments {
    TestPayments::new(&app.app.settings.public_url, app.app.settings.payments.webhook_secrets.clone())
}

pub(crate) async fn post_webhook(app: &TestApp, body: &str, signature: &str) -> reqwest::Response {
    app.client
        .post(app.url("/webhooks/payments"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_buys_credit_with_a_test_card_and_gets_it_from_the_webhook() {
    let app = shop().await;
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    let checkout = start_purchase(&app, 2000).await;
    assert!(checkout.url().path().starts_with("/payments/test-checkout/cs_test_"), "{}", checkout.url());
    let checkout_url = checkout.url().clone();
    assert!(checkout.text().await.unwrap().contains("20,00\u{a0}€"));
    let back = pay(&app, &checkout_url, "4242 4242 4242 4242", "0").await;
    assert_eq!(back.url().path(), "/wallet");
    assert!(back.text().await.unwrap().contains("Paiement reçu"));
    // No credit until the provider's signed webhook arrives.
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "22,00\u{a0}€", "price plus bonus");
    // Dates in the client's site's time zone (Paris, UTC+1 in November), in French.
    let wallet = app.client.get(app.url("/wallet")).send().await.unwrap().text().await.unwrap();
    assert!(wallet.contains("18 nov. 2026, 12:06") && !wallet.contains("2026-11-18"), "{wallet}");
    let purchase = last_purchase(&app).await;
    assert_eq!(purchase.status, PurchaseStatus::Paid);
    let receipt = app.client.get(app.url(&format!("/wallet/receipts/{}", purchase.id))).send().await.unwrap();
    assert_eq!(receipt.status(), StatusCode::OK);
    assert!(receipt.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(receipt.text().await.unwrap().contains("20,00\u{a0}€"));
    // The checkout page is spent: it says so, and takes no card.
    let spent = app.client.get(checkout_url).send().await.unwrap().text().await.unwrap();
    assert!(spent.contains("id=\"purchase-state\"") && !spent.contains("name=\"card\""));
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

#[tokio::test]
async fn a_declined_card_grants_nothing_and_a_retry_card_succeeds_the_second_time() {
    let app = shop().await;
    let checkout = start_purchase(&app, 1000).await.url().clone();
    let declined = pay(&app, &checkout, "4000000000000002", "0").await;
    assert_eq!(declined.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(declined.text().await.unwrap().contains("Paiement refusé"));
    let retry = pay(&app, &checkout, "4000000000000119", "0").await;
    assert_eq!(retry.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry.text().await.unwrap().contains("name=\"attempt\" value=\"1\""));
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    let ok = pay(&app, &checkout, "4000000000000119", "1").await;
    assert_eq!(ok.url().path(), "/wallet");
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "10,00\u{a0}€");
}

#[tokio::test]
async fn a_webhook_delivered_many_times_or_late_credits_once() {
    let app = shop().await;
    start_purchase(&app, 5000).await;
    let purchase = last_purchase(&app).await;
    let payments = test_payments(&app);
    let (body, signature) = payments.completed_event(&purchase, app.clock.now());
    let first: Value = post_webhook(&app, &body, &signature).await.json().await.unwrap();
    assert_eq!(first["outcome"], "credited");
    for _ in 0..4 {
        let again: Value = post_webhook(&app, &body, &signature).await.json().await.unwrap();
        assert_eq!(again["outcome"], "already_done");
    }
    // The provider may also send the same payment as a new event, minutes later.
    app.clock.advance(Duration::minutes(4));
    let (other_body, other_signature) = payments.completed_event(&purchase, app.clock.now());
    let late: Value = post_webhook(&app, &other_body, &other_signature).await.json().await.unwrap();
    assert_eq!(late["outcome"], "already_done");
    assert_eq!(available(&app).await, "58,00\u{a0}€");
}

#[tokio::test]
async fn forged_stale_or_altered_webhooks_are_refused() {
    let app = shop().await;
    start_purchase(&app, 1000).await;
    let purchase = last_purchase(&app).await;
    let (body, signature) = test_payments(&app).completed_event(&purchase, app.clock.now());
    let forged = TestPayments::new("http://x", vec![secrecy::SecretString::from("whsec_attacker".to_owned())]);
    let (forged_body, forged_signature) = forged.completed_event(&purchase, app.clock.now());
    assert_eq!(post_webhook(&app, &forged_body, &forged_signature).await.status(), StatusCode::BAD_REQUEST);
    let altered = body.replace("\"amount_total\":1000", "\"amount_total\":100000");
    assert_eq!(post_webhook(&app, &altered, &signature).await.status(), StatusCode::BAD_REQUEST);
    let missing = app.client.post(app.url("/webhooks/payments")).body(body.clone()).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    app.clock.advance(Duration::seconds(301));
    let stale = post_webhook(&app, &body, &signature).await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    assert_eq!(available(&app).await, "0,00\u{a0}€");
    assert_eq!(last_purchase(&app).await.status, PurchaseStatus::Pending);
}

#[tokio::test]
async fn a_signed_event_that_does_not_match_the_purchase_grants_nothing() {
    let app = shop().await;
    start_purchase(&app, 1000).await;
    let mut purchase = last_purchase(&app).await;
    purchase.price.minor = 999;
    let (body, signature) = test_payments(&app).completed_event(&purchase, app.clock.now());
    assert_eq!(post_webhook(&app, &body, &signature).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(available(&app).await, "0,00\u{a0}€");
}

#[tokio::test]
async fn an_admin_refunds_only_what_is_unspent_and_once_per_request() {
    let app = shop().await;
    start_purchase(&app, 2000).await;
    let purchase = last_purchase(&app).await;
    let (body, signature) = test_payments(&app).completed_event(&purchase, app.clock.now());
    post_webhook(&app, &body, &signature).await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");
    let admin = TestApp::new_client();
    admin
        .post(app.url("/admin/login"))
        .form(&[("email", demo::ADMIN_EMAIL), ("password", demo::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let list = admin.get(app.url("/admin/purchases")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("20,00\u{a0}€"), "{list}");
    assert!(list.contains("Claire (claire@augure.localhost)"), "the buyer by name, not by id: {list}");
    let refund = |amount: &'static str, key: &'static str| {
        let admin = admin.clone();
        let url = app.url(&format!("/admin/purchases/{}/refund", purchase.id));
        async move { admin.post(url).form(&[("amount", amount), ("key", key)]).send().await.unwrap() }
    };
    let done = refund("5", "k1").await;
    assert_eq!(done.status(), StatusCode::OK);
    let done = augure_testkit::unescape(&done.text().await.unwrap());
    assert!(done.contains(&format!("Remboursement de 5,00\u{a0}€ effectué (achat n° {})", purchase.id)), "{done}");
    refund("5", "k1").await;
    // 5 of the 20 paid, and its quarter of the 2 € bonus.
    assert_eq!(available(&app).await, "16,50\u{a0}€", "the same request refunds once");
    // The list reads what is left to refund from the client's account: 15 of the 20 paid.
    let list = admin.get(app.url("/admin/purchases")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("<td>15,00\u{a0}€</td>"), "{list}");
    assert!(list.contains(&format!("action=\"/admin/purchases/{}/refund\"", purchase.id)), "{list}");
    let too_much = refund("15,01", "k2").await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = too_much.text().await.unwrap();
    // The list again, the admin still signed in, with the amount in euros and as typed.
    assert!(page.contains("id=\"refund-error\"") && page.contains("15,00\u{a0}€ au plus"), "{page}");
    assert!(page.contains("action=\"/logout\"") && page.contains("value=\"15,01\""), "{page}");
    let bad = refund("abc", "k3").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(last_purchase(&app).await.refunded.minor, 500);
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

#[tokio::test]
async fn a_refund_the_card_refuses_gives_the_credit_back() {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    assert_eq!(pay(&app, &checkout, "4000 0000 0000 5126", "0").await.url().path(), "/wallet");
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "22,00\u{a0}€");
    let purchase = last_purchase(&app).await;
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let refund = |key: &'static str| {
        let admin = admin.clone();
        let url = app.url(&format!("/admin/purchases/{}/refund", purchase.id));
        async move { admin.post(url).form(&[("amount", "5"), ("key", key)]).send().await.unwrap() }
    };
    let refused = refund("k1").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("a refusé l"));
    assert_eq!(available(&app).await, "22,00\u{a0}€", "the credit taken for the refund came back");
    assert_eq!(last_purchase(&app).await.refunded.minor, 0);
    // Sent again, the same request says what happened instead of asking the card again.
    let again = refund("k1").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("Faites une nouvelle demande"));
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

#[tokio::test]
async fn an_unanswered_refund_waits_on_the_admin_page_until_asked_again() {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    pay(&app, &checkout, "4000 0000 0000 0119", "0").await;
    assert_eq!(pay(&app, &checkout, "4000 0000 0000 0119", "1").await.url().path(), "/wallet");
    app.drain_jobs().await;
    let purchase = last_purchase(&app).await;
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let page = admin
        .post(app.url(&format!("/admin/purchases/{}/refund", purchase.id)))
        .form(&[("amount", "5"), ("key", "k1")])
        .send()
        .await
        .unwrap();
    let page = augure_testkit::unescape(&page.text().await.unwrap());
    assert!(page.contains("relancé automatiquement"), "{page}");
    assert_eq!(available(&app).await, "16,50\u{a0}€", "the credit is taken while the card refund waits");
    // Listed as waiting, with a button that sends the same request again.
    let waiting = &page[page.find("id=\"refunds-pending\"").expect("waiting refunds listed")..];
    assert!(waiting.contains(&format!("#{} · 5,00\u{a0}€", purchase.id)), "{waiting}");
    assert!(waiting.contains("name=\"key\" value=\"k1\"") && waiting.contains("name=\"amount\" value=\"5,00\""));
    let again = admin
        .post(app.url(&format!("/admin/purchases/{}/refund", purchase.id)))
        .form(&[("amount", "5,00"), ("key", "k1")])
        .send()
        .await
        .unwrap();
    let again = augure_testkit::unescape(&again.text().await.unwrap());
    assert!(again.contains(&format!("Remboursement de 5,00\u{a0}€ effectué (achat n° {})", purchase.id)), "{again}");
    assert!(!again.contains("refunds-pending"));
    assert_eq!(available(&app).await, "16,50\u{a0}€", "taken once");
    assert_eq!(last_purchase(&app).await.refunded.minor, 500);
    // The check the refund queued for itself finds it done.
    app.clock.advance(Duration::minutes(5));
    app.drain_jobs().await;
    assert_eq!(available(&app).await, "16,50\u{a0}€");
    let audit = app.app.ledger.verify().await.unwrap();
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

#[tokio::test]
async fn api_purchases_honour_the_idempotency_key() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let token = app.api_token("claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let pack_id = pack(&app, 1000).await;
    let buy = |key: Option<&'static str>, pack_id: i64| {
        let mut request =
            app.client.post(app.url("/api/v1/purchases")).bearer_auth(&token).json(&json!({"pack_id": pack_id}));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send()
    };
    let first = buy(Some("order-1"), pack_id).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let replay = buy(Some("order-1"), pack_id).await.unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    let other_body = buy(Some("order-1"), pack(&app, 2000).await).await.unwrap();
    assert_eq!(other_body.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.recent_purchases(10, 0).await.unwrap().len(), 1);
    buy(None, pack_id).await.unwrap();
    assert_eq!(app.store.recent_purchases(10, 0).await.unwrap().len(), 2, "no key: a new purchase");
    assert_eq!(buy(Some("order-2"), 999_999).await.unwrap().status(), StatusCode::NOT_FOUND);
    let wallet: Value =
        app.client.get(app.url("/api/v1/wallet")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(wallet, json!({"currency": "EUR", "available": 0, "on_hold": 0, "history": []}));
}

#[tokio::test]
async fn an_admin_sells_and_withdraws_packs_per_site() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = TestApp::new_client();
    admin
        .post(app.url("/admin/login"))
        .form(&[("email", demo::ADMIN_EMAIL), ("password", demo::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let added = admin
        .post(app.url("/admin/packs"))
        .form(&[("site", "CH"), ("price", "15"), ("bonus", "1,50")])
        .send()
        .await
        .unwrap();
    assert_eq!(added.url().path(), "/admin/packs");
    assert!(added.text().await.unwrap().contains("15,00\u{a0}CHF"));
    let bad = admin
        .post(app.url("/admin/packs"))
        .form(&[("site", "CH"), ("price", "-3"), ("bonus", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ch = app.store.site_by_code(&"CH".parse().unwrap()).await.unwrap();
    let pack = app.store.credit_packs(ch.id).await.unwrap().into_iter().find(|p| p.price.minor == 1500).unwrap();
    assert_eq!(pack.bonus.minor, 150);
    admin.post(app.url(&format!("/admin/packs/{}/active", pack.id))).form(&[("active", "false")]).send().await.unwrap();
    assert!(app.store.credit_packs(ch.id).await.unwrap().iter().all(|p| p.id != pack.id));
    // giulia shops on CH: a withdrawn pack cannot be bought.
    let giulia = TestApp::new_client();
    giulia
        .post(app.url("/login"))
        .form(&[("email", "giulia@augure.localhost"), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    let refused =
        giulia.post(app.url("/wallet/purchases")).form(&[("pack_id", pack.id.to_string())]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let fr_pack = pack_for(&app, "FR", 1000).await;
    let wrong_site =
        giulia.post(app.url("/wallet/purchases")).form(&[("pack_id", fr_pack.to_string())]).send().await.unwrap();
    assert_eq!(wrong_site.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let transfers = admin.get(app.url("/admin/ledger/transfers")).send().await.unwrap();
    assert_eq!(transfers.status(), StatusCode::OK);
}

async fn pack_for(app: &TestApp, site: &str, price: i64) -> i64 {
    let site = app.store.site_by_code(&site.parse().unwrap()).await.unwrap();
    app.store.credit_packs(site.id).await.unwrap().into_iter().find(|p| p.price.minor == price).unwrap().id
}

/// Every ledger account, whoever owns it.
async fn ledger_accounts(app: &TestApp) -> usize {
    app.store.ledger_accounts(10_000, 0).await.unwrap().len()
}

#[tokio::test]
async fn the_wallet_of_a_client_who_never_bought_is_read_without_creating_an_account() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let token =
        crate::accounts_api::api_signup(&app, "marie@example.fr", "client").await["token"].as_str().unwrap().to_owned();
    let marie = app.signed_in("/login", "marie@example.fr", "correct horse").await;
    let before = ledger_accounts(&app).await;
    let page = marie.get(app.url("/wallet")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("id=\"available\">0,00\u{a0}€<"));
    let wallet: Value =
        app.client.get(app.url("/api/v1/wallet")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(wallet, json!({"currency": "EUR", "available": 0, "on_hold": 0, "history": []}));
    assert_eq!(ledger_accounts(&app).await, before, "reading a wallet writes nothing");
}

/// Credit is a client's: an expert's or admin's token gets 403 on the wallet, as the page
/// does, and no account is created for them.
#[tokio::test]
async fn the_wallet_api_answers_403_to_experts_and_admins() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let before = ledger_accounts(&app).await;
    for (email, password) in [("luna@augure.localhost", demo::DEMO_PASSWORD), (demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD)]
    {
        let token = app.api_token(email, password).await;
        let wallet = app.client.get(app.url("/api/v1/wallet")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(wallet.status(), StatusCode::FORBIDDEN, "{email}");
        assert_eq!(wallet.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(ledger_accounts(&app).await, before, "no client account for them");
}

/// B12: concurrent calls with one `Idempotency-Key` open one purchase; the others get the
/// first answer or "still in progress", never a second purchase.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purchases_with_one_idempotency_key_open_one_purchase() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let token = app.api_token("claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let pack_id = pack(&app, 1000).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let call = app
            .client
            .post(app.url("/api/v1/purchases"))
            .bearer_auth(&token)
            .header("idempotency-key", "order-race")
            .json(&json!({"pack_id": pack_id}));
        calls.spawn(async move {
            let answer = call.send().await.unwrap();
            let status = answer.status();
            (status, answer.json::<Value>().await.unwrap())
        });
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(answer) = calls.join_next().await {
        match answer.unwrap() {
            (StatusCode::CREATED, body) => {
                ids.insert(body["purchase_id"].as_i64().unwrap());
            }
            (StatusCode::CONFLICT, _) => {}
            (other, body) => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "every answer names the same purchase");
    assert_eq!(app.store.recent_purchases(10, 0).await.unwrap().len(), 1, "one purchase opened");
}

/// B23: the payment provider reads problem+json from the webhook endpoint, not a page.
#[tokio::test]
async fn webhook_errors_answer_problem_json() {
    let app = shop().await;
    let refused = app.client.post(app.url("/webhooks/payments")).body("{}").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 400);
}

/// B18: concurrent deliveries of one payment under different event ids credit once, and
/// exactly one of them says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_of_one_payment_say_credited_once() {
    let app = shop().await;
    start_purchase(&app, 1000).await;
    let purchase = last_purchase(&app).await;
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (body, signature) = test_payments(&app).completed_event(&purchase, app.clock.now());
        let delivery = app
            .client
            .post(app.url("/webhooks/payments"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body);
        deliveries.spawn(async move { delivery.send().await.unwrap().json::<Value>().await.unwrap() });
    }
    let mut credited = 0;
    while let Some(answer) = deliveries.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer["received"], true, "{answer}");
        if answer["outcome"] == "credited" {
            credited += 1;
        }
    }
    assert_eq!(credited, 1, "the money moved once, and one delivery says so");
    assert_eq!(available(&app).await, "10,00\u{a0}€");
}

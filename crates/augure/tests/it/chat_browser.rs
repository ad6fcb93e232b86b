//! A chat in two real browsers (SP-chat, issue 11): Claire and Luna each in their own
//! Chromium, driving the pages as rendered — the profile's button, the ring on the
//! dashboard (asserted as an event, not a sound), the composer, the meter — with free
//! minutes and an overflow billed to the tariff's cent; and a client whose connection drops
//! and comes back. Every page passes axe-core.

use augure_app::demo;
use augure_domain::ledger::TransferMode;
use augure_domain::tariff::{self, Plan};
use augure_domain::{ConsultationId, Currency, Money};
use augure_store::ConsultationStatus;
use augure_testkit::TestApp;
use augure_testkit::browser::Browser;
use chrono::Duration;

use crate::chat::user;

/// The demo with Claire funded through the test checkout, Luna's five free minutes, and
/// the engine and chats running as `serve` runs them (on the fake clock).
async fn live_demo() -> TestApp {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    assert!(demo::fund_clients(&app.app).await.unwrap() > 0);
    let mut profile = app.store.expert_profile(user(&app, "luna").await.id).await.unwrap();
    profile.prices.iter_mut().for_each(|p| p.free_minutes = 5);
    app.store.upsert_expert_profile(&profile).await.unwrap();
    app.app.directory.changes().changed();
    let (engine, chats) = (app.app.engine.clone(), app.app.chats.clone());
    tokio::spawn(async move { engine.run(std::future::pending()).await });
    tokio::spawn(async move { chats.run(std::future::pending()).await });
    app
}

async fn axe(browser: &Browser, page: &str, violations: &mut Vec<String>) {
    if let Some(found) = browser.axe_violations().await
        && !found.is_empty()
    {
        violations.push(format!("{page}: {}", found.join(", ")));
    }
}

/// Claire opens Luna's profile and starts a chat; Luna's open dashboard rings and she
/// accepts from it. Returns the chat's id.
async fn ring_and_accept(
    app: &TestApp,
    claire: &Browser,
    luna: &Browser,
    violations: &mut Vec<String>,
) -> ConsultationId {
    luna.sign_in(&app.url("/expert/login"), "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    luna.goto(&app.url("/expert/dashboard")).await;
    luna.wait_for("html[data-socket=open]").await;
    claire.sign_in(&app.url("/login"), "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let code = user(app, "luna").await.expert_code.unwrap().0;
    claire.goto(&app.url(&format!("/experts/{code}"))).await;
    axe(claire, "profile", violations).await;
    claire.click("#start-chat-button").await;
    claire.wait_for("#chat[data-status=ringing]").await;
    axe(claire, "client chat, ringing", violations).await;
    let id: i64 = claire.attribute("#chat", "data-consultation").await.unwrap().parse().unwrap();
    // The ring is an event on the socket: the dashboard records it and lists it.
    luna.wait_for(&format!("html[data-last-ring='{id}']")).await;
    luna.wait_for(&format!("#ring-{id}")).await;
    axe(luna, "dashboard ringing", violations).await;
    luna.click(&format!("#ring-{id} button")).await;
    luna.wait_for("#chat[data-status=live]").await;
    claire.wait_for("#chat[data-status=live]").await;
    ConsultationId(id)
}

async fn say(browser: &Browser, text: &str) {
    browser.type_into("#chat-text", text).await;
    browser.click("#chat-send").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_chat_with_free_minutes_and_an_overflow_costs_the_tariffs_cent() {
    let app = live_demo().await;
    let Some(claire) = Browser::start().await else { return };
    let Some(luna) = Browser::start().await else { return };
    let mut violations = Vec::new();
    let id = ring_and_accept(&app, &claire, &luna, &mut violations).await;

    say(&claire, "Bonjour <b>Luna</b>").await;
    luna.wait_for("#transcript li[data-seq='1']").await;
    assert_eq!(luna.text("#transcript li[data-seq='1'] .message-text").await, "Bonjour <b>Luna</b>", "text, not HTML");
    say(&luna, "Bonjour Claire, je vous écoute.").await;
    claire.wait_for("#transcript li[data-seq='2']").await;
    claire.wait_for("#meter:not([hidden])").await;
    axe(&claire, "client chat, live", &mut violations).await;
    axe(&luna, "expert chat, live", &mut violations).await;

    // Five free minutes and 100 seconds more pass, with a message now and then (a quiet
    // chat ends after 4 minutes); both tabs keep saying they are there.
    app.clock.advance(Duration::seconds(200));
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    say(&luna, "Je vois une belle énergie.").await;
    claire.wait_for("#transcript li[data-seq='3']").await;
    app.clock.advance(Duration::seconds(200));
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    say(&claire, "Merci beaucoup").await;
    luna.wait_for("#transcript li[data-seq='4']").await;
    // A transcript longer than the screen scrolls: keyboard users must reach it too.
    say(&luna, &"Les cartes parlent d'un changement heureux. ".repeat(30)).await;
    claire.wait_for("#transcript li[data-seq='5']").await;
    axe(&claire, "client chat, a transcript that scrolls", &mut violations).await;
    axe(&luna, "expert chat, a transcript that scrolls", &mut violations).await;
    claire.click("#chat-leave").await;
    claire.wait_for("#chat-summary").await;
    let summary = claire.text("#chat-summary").await;
    axe(&claire, "client chat, ended", &mut violations).await;

    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Settled);
    assert!((400..=401).contains(&c.billable_seconds), "billed {} s", c.billable_seconds);
    let prices = app.app.pricing.expert_on_site(c.expert, &"FR".parse().unwrap()).await.unwrap().unwrap();
    let rules = app.app.settings.consultations.tariff_rules();
    let first = Plan::PerMinute { first_with_expert: true };
    let expected = tariff::charge(&prices, first, c.billable_seconds, &rules).unwrap();
    assert_eq!(expected.free_seconds, 300, "the free minutes first");
    let ended = c.ended.unwrap();
    assert_eq!(ended.charge, expected.charge.minor, "stored as the tariff says");
    // In the page's language (Chromium asks for its own).
    let lang = claire.attribute("html", "lang").await.unwrap();
    assert!(summary.contains(&expected.charge.format(&lang)), "shown as the tariff says: {summary}");
    // What left Claire's credit for this chat: the posts of its holds.
    let posted: i64 = app
        .store
        .account_transfers(c.terms.accounts.client_credit, 100)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.key.starts_with(&format!("consultation:{id}:")) && t.mode == TransferMode::PostPending)
        .map(|t| t.amount)
        .sum();
    assert_eq!(Money::new(posted, Currency::Eur), expected.charge, "posted to the ledger as the tariff says");
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
    assert!(violations.is_empty(), "axe-core violations: {violations:#?}");
    claire.quit().await;
    luna.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_client_whose_connection_drops_comes_back_to_the_same_chat() {
    let app = live_demo().await;
    let Some(claire) = Browser::start().await else { return };
    let Some(luna) = Browser::start().await else { return };
    let mut violations = Vec::new();
    let id = ring_and_accept(&app, &claire, &luna, &mut violations).await;
    say(&luna, "Bonjour Claire").await;
    claire.wait_for("#transcript li[data-seq='1']").await;

    // The tab goes away (its socket closes) and comes back.
    claire.goto(&app.url("/dashboard")).await;
    luna.wait_for("#chat-alert:not([hidden])").await;
    assert!(luna.text("#chat-alert").await.contains("reconnexion"), "the expert sees the client reconnecting");
    assert!(app.app.engine.view(id).await.unwrap().client_away);
    claire.goto(&app.url(&format!("/consultations/{id}"))).await;
    claire.wait_for("html[data-socket=open]").await;
    luna.wait_for("#chat-alert[hidden]").await;
    say(&luna, "Vous revoilà").await;
    claire.wait_for("#transcript li[data-seq='2']").await;
    assert!(claire.try_find("#transcript li[data-seq='3']").await.is_err());
    let shown = claire.attribute("#transcript li:last-child", "data-seq").await;
    assert_eq!(shown.as_deref(), Some("2"), "nothing lost, nothing twice");
    assert!(claire.try_find("#transcript li:nth-child(3)").await.is_err(), "two messages, each once");
    assert!(!app.app.engine.view(id).await.unwrap().client_away);
    assert!(violations.is_empty(), "axe-core violations: {violations:#?}");
    claire.quit().await;
    luna.quit().await;
}

//! PH-commission, AT-split: an administrator gives an expert their own commission per
//! channel; the next chat splits by it, the settings' rate applies again when it is
//! cleared, and a refused rate is shown again with what was typed.

use augure_app::demo;
use augure_domain::consultation::Channel;
use augure_domain::tariff::{self, Rate};
use augure_domain::{Currency, Money};
use augure_testkit::browser::Browser;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;

use crate::chat::{advance_heard, chat_demo, post, run_timers, start_chat, user};

async fn admin(app: &TestApp) -> reqwest::Client {
    app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await
}

async fn luna_code(app: &TestApp) -> u32 {
    user(app, "luna").await.expert_code.unwrap().0
}

/// A chat of 100 billed seconds between Claire and Luna; returns its settled end.
async fn chat_of_100_seconds(app: &TestApp, luna: &reqwest::Client) -> augure_store::Settled {
    // Her dashboard is open: its socket's heartbeat keeps her chat live.
    app.app.availability.heartbeat(user(app, "luna").await.id).await.unwrap();
    let id = start_chat(app).await;
    post(luna, app, &format!("/consultations/{id}/accept"), &[]).await;
    post(luna, app, &format!("/consultations/{id}/messages"), &[("text", "Bonjour Claire")]).await;
    advance_heard(app, id, 100).await;
    post(&app.client, app, &format!("/consultations/{id}/leave"), &[]).await;
    run_timers(app).await;
    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.billable_seconds, 100);
    c.ended.unwrap()
}

#[tokio::test]
async fn ph_commission_an_experts_own_rate_splits_the_next_chat_and_blank_restores_the_sites() {
    let (app, luna) = chat_demo().await;
    let admin = admin(&app).await;
    let code = luna_code(&app).await;
    let path = format!("/admin/experts/{code}/commission");
    let users = unescape(&admin.get(app.url("/admin/users")).send().await.unwrap().text().await.unwrap());
    assert!(users.contains(&format!("href=\"{path}\"")), "the accounts list links to it");
    let page = unescape(&admin.get(app.url(&path)).send().await.unwrap().text().await.unwrap());
    assert!(page.contains("Taux du site : 30\u{202f}%"), "the settings' rate is shown: {page}");

    let saved = post(&admin, &app, &path, &[("chat", "12,5"), ("phone", ""), ("email", " 20 % ")]).await;
    assert_eq!(saved.url().path(), path);
    let saved = unescape(&saved.text().await.unwrap());
    assert!(saved.contains("Commissions enregistrées."));
    assert!(saved.contains("value=\"12,5\u{202f}%\"") && saved.contains("value=\"20\u{202f}%\""), "{saved}");
    let luna_id = user(&app, "luna").await.id;
    let bp = |r: Rate| r.basis_points();
    let own: Vec<_> =
        app.store.expert_commissions(luna_id).await.unwrap().into_iter().map(|(c, r)| (c, bp(r))).collect();
    assert_eq!(own, vec![(Channel::Chat, 1250), (Channel::Email, 2000)]);

    let ended = chat_of_100_seconds(&app, &luna).await;
    let expected = tariff::split(Money::new(ended.charge, Currency::Eur), Rate::from_basis_points(1250).unwrap());
    assert!(ended.charge > 0);
    assert_eq!((ended.commission, ended.earnings), (expected.commission.minor, expected.earnings.minor), "12,5 %");
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());

    // Cleared, the site's 30 % applies to the next one.
    post(&admin, &app, &path, &[("chat", ""), ("email", "20")]).await;
    let again = chat_of_100_seconds(&app, &luna).await;
    let thirty = tariff::split(Money::new(again.charge, Currency::Eur), Rate::from_basis_points(3000).unwrap());
    assert_eq!(again.commission, thirty.commission.minor, "the settings' rate again");
}

#[tokio::test]
async fn a_refused_commission_is_shown_again_with_what_was_typed_and_saves_nothing() {
    let (app, luna) = chat_demo().await;
    let admin = admin(&app).await;
    let path = format!("/admin/experts/{}/commission", luna_code(&app).await);
    let refused = post(&admin, &app, &path, &[("chat", "25"), ("phone", "101")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescape(&refused.text().await.unwrap());
    assert!(html.contains("Téléphone : indiquez un pourcentage de 0 à 100"), "{html}");
    assert!(html.contains("value=\"101\"") && html.contains("value=\"25\""), "what was typed stays");
    assert!(app.store.expert_commissions(user(&app, "luna").await.id).await.unwrap().is_empty(), "all or nothing");

    for (client, shown) in [(&luna, "an expert"), (&app.client, "a client")] {
        let denied = client.get(app.url(&path)).send().await.unwrap();
        assert!(!unescape(&denied.text().await.unwrap()).contains("Taux du site"), "{shown} sees nothing of it");
    }
    let unknown = admin.get(app.url("/admin/experts/1/commission")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let garbage = admin.get(app.url("/admin/experts/x/commission")).send().await.unwrap();
    assert_eq!(garbage.status(), StatusCode::NOT_FOUND);
}

/// The page in a real browser at phone size: filled, refused and saved as a person does,
/// with axe-core (WCAG 2.1 AA) on each state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_the_commission_page_passes_axe() {
    let (app, _luna) = chat_demo().await;
    let code = luna_code(&app).await;
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/admin/login"), demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    browser.goto(&app.url("/admin/users")).await;
    browser.click(&format!("a[href='/admin/experts/{code}/commission']")).await;
    browser.wait_for("#commission-form").await;
    let mut violations = Vec::new();
    let mut check = async |state: &str| {
        if let Some(found) = browser.axe_violations().await
            && !found.is_empty()
        {
            violations.push(format!("{state}: {}", found.join(", ")));
        }
    };
    check("blank").await;
    browser.type_into("#commission-chat", "abc").await;
    browser.click("#commission-form button[type=submit]").await;
    browser.wait_for("#commission-error").await;
    assert!(browser.text("#commission-error").await.contains("Chat"), "Chromium asks for English");
    check("refused").await;
    browser.find("#commission-chat").await.clear().await;
    browser.type_into("#commission-chat", "15").await;
    browser.click("#commission-form button[type=submit]").await;
    browser.wait_for("#flash").await;
    assert!(browser.text("#flash").await.contains("Commissions saved"));
    check("saved").await;
    assert!(violations.is_empty(), "axe-core violations at 412 px: {violations:#?}");
    browser.quit().await;
    let own = app.store.expert_commissions(user(&app, "luna").await.id).await.unwrap();
    assert_eq!(own.iter().map(|(c, r)| (*c, r.basis_points())).collect::<Vec<_>>(), vec![(Channel::Chat, 1500)]);
}

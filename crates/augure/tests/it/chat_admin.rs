//! The operator's side of live chats (issue 11, Admin): the live view with each chat's
//! parties and meter, ending one (it settles as any other end), the reports and the
//! messages flagged for contact details until handled — for administrators only.

use augure_app::demo;
use augure_domain::consultation::EndReason;
use augure_store::ConsultationStatus;
use augure_testkit::browser::Browser;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;

use crate::chat::{advance_heard, chat_demo, post, run_timers, start_chat};

async fn admin(app: &TestApp) -> reqwest::Client {
    app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    unescape(&response.text().await.unwrap())
}

async fn say(client: &reqwest::Client, app: &TestApp, id: augure_domain::ConsultationId, text: &str) {
    let sent = post(client, app, &format!("/consultations/{id}/messages"), &[("text", text)]).await;
    assert_eq!(sent.status(), StatusCode::OK, "{text}");
}

/// The part of a page after its admin menu: what the page itself lists.
fn body(html: &str) -> &str {
    html.split("</nav>").nth(2).unwrap_or(html)
}

#[tokio::test]
async fn the_live_view_shows_a_chat_and_its_meter_and_an_admin_ends_it_settled() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    let admin = admin(&app).await;
    let ringing = page(&admin, &app, "/admin/live").await;
    assert!(ringing.contains("En attente") && ringing.contains("pas encore commencée"), "a ringing chat is listed");

    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour Claire").await;
    advance_heard(&app, id, 90).await;
    let view = app.app.engine.view(id).await.unwrap();
    assert_eq!(view.billable_seconds, 90);
    let live = page(&admin, &app, "/admin/live").await;
    let row = live.split(&format!("id=\"live-{id}\"")).nth(1).expect("the chat's row").split("</tr>").next().unwrap();
    for shown in ["Claire", "Luna", "Tchat", "En cours", "1 min 30 s"] {
        assert!(row.contains(shown), "{shown} in {row}");
    }
    assert!(row.contains(&view.charge.format("fr")), "the charge so far: {row}");
    assert!(row.contains(&view.credit_left.format("fr")), "the client's credit left: {row}");
    assert!(!row.contains("reconnexion"), "both are there");
    assert!(!body(&live).contains(&format!(">{id}<")), "no raw id shown");

    let home = page(&admin, &app, "/admin").await;
    assert!(home.contains("href=\"/admin/live\"") && home.contains("href=\"/admin/reports\""));

    let ended = post(&admin, &app, &format!("/admin/live/{id}/end"), &[]).await;
    assert_eq!(ended.url().path(), "/admin/live");
    assert!(unescape(&ended.text().await.unwrap()).contains("La consultation est terminée et réglée."));
    run_timers(&app).await;
    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Settled);
    assert_eq!(c.ended.as_ref().unwrap().reason, EndReason::ForceEnded);
    assert_eq!(c.billable_seconds, 90);
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
    for party in [&app.client, &luna] {
        let shown = page(party, &app, &format!("/consultations/{id}")).await;
        assert!(shown.contains("Un administrateur a terminé le tchat."), "{shown}");
    }
    let after = page(&admin, &app, "/admin/live").await;
    assert!(after.contains("Aucune consultation en cours."));
    let again = post(&admin, &app, &format!("/admin/live/{id}/end"), &[]).await;
    assert!(unescape(&again.text().await.unwrap()).contains("Cette consultation était déjà terminée."));
}

#[tokio::test]
async fn an_admin_ends_a_ringing_chat_it_did_not_take_place_and_costs_nothing() {
    let (app, _luna) = chat_demo().await;
    let id = start_chat(&app).await;
    let admin = admin(&app).await;
    let ended = post(&admin, &app, &format!("/admin/live/{id}/end"), &[]).await;
    assert!(unescape(&ended.text().await.unwrap()).contains("La consultation est terminée et réglée."));
    run_timers(&app).await;
    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Lost);
    assert_eq!(c.ended.unwrap().reason, EndReason::ForceEnded);
    let shown = page(&app.client, &app, &format!("/consultations/{id}")).await;
    assert!(shown.contains("Ce tchat n'a pas eu lieu."), "{shown}");
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn the_chat_admin_pages_are_for_administrators_only() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    for path in ["/admin/live", "/admin/reports"] {
        for someone in [&app.client, &luna] {
            assert_eq!(someone.get(app.url(path)).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
        }
        let anonymous = TestApp::client_without_redirects().get(app.url(path)).send().await.unwrap();
        assert!(anonymous.status().is_redirection(), "{path}");
        assert_eq!(anonymous.headers()["location"], "/admin/login");
    }
    for action in
        [format!("/admin/live/{id}/end"), "/admin/reports/1/resolve".into(), format!("/admin/flags/{id}/1/dismiss")]
    {
        assert_eq!(post(&app.client, &app, &action, &[]).await.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(app.store.consultation(id).await.unwrap().status, ConsultationStatus::Live, "not ended by a client");
}

#[tokio::test]
async fn a_report_and_a_flagged_message_are_listed_until_handled() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    say(&app.client, &app, id, "appelez-moi au 06 12 34 56 78").await;
    post(&luna, &app, &format!("/consultations/{id}/report"), &[("reason", "Veut passer hors plateforme")]).await;
    let admin = admin(&app).await;

    let listed = page(&admin, &app, "/admin/reports").await;
    let reports = listed.split("id=\"reports\"").nth(1).expect("the reports").split("</table>").next().unwrap();
    for shown in ["Veut passer hors plateforme", "Luna (Expert)", "Claire", "Tchat, "] {
        assert!(reports.contains(shown), "{shown} in {reports}");
    }
    let flags = listed.split("id=\"flags\"").nth(1).expect("the flags").split("</table>").next().unwrap();
    for shown in ["Claire (Client)", "Luna", "appelez-moi au 06 12 34 56 78", "numéro de téléphone"] {
        assert!(flags.contains(shown), "{shown} in {flags}");
    }
    let home = page(&admin, &app, "/admin").await;
    assert!(home.contains("<strong>2</strong> signalements"), "one report and one flag wait: {home}");

    let report = app.store.open_reports(10).await.unwrap().remove(0);
    let resolved = post(&admin, &app, &format!("/admin/reports/{}/resolve", report.id), &[]).await;
    assert_eq!(resolved.url().path(), "/admin/reports");
    let text = unescape(&resolved.text().await.unwrap());
    assert!(text.contains("Signalement marqué comme traité.") && text.contains("Aucun signalement à traiter."));
    assert!(text.contains("06 12 34 56 78"), "the flag is still there");

    let flagged = app.store.flagged_chat_messages(10).await.unwrap().remove(0);
    let dismissed = post(&admin, &app, &format!("/admin/flags/{id}/{}/dismiss", flagged.seq), &[]).await;
    let text = unescape(&dismissed.text().await.unwrap());
    assert!(text.contains("Signalement du message écarté.") && text.contains("Aucun message signalé."), "{text}");
    assert!(app.store.open_reports(10).await.unwrap().is_empty());
    assert!(app.store.flagged_chat_messages(10).await.unwrap().is_empty());
    let unknown = post(&admin, &app, "/admin/flags/x/1/dismiss", &[]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

/// Both pages in a real browser, at phone size, pass axe-core (WCAG 2.1 AA): the live view
/// with a live chat, the reports with a report and a flagged message, and the live view
/// again after the admin ended the chat from its button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_the_chat_admin_pages_pass_axe() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    say(&app.client, &app, id, "mon mail : claire@example.com").await;
    post(&app.client, &app, &format!("/consultations/{id}/report"), &[("reason", "Insistant")]).await;
    advance_heard(&app, id, 20).await;
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/admin/login"), demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    browser.wait_for("nav.tabs a[href='/admin/live']").await;
    let mut violations = Vec::new();
    for (path, shown) in [("/admin/live", format!("#live-{id}")), ("/admin/reports", "#flags".into())] {
        browser.goto(&app.url(path)).await;
        browser.wait_for(&shown).await;
        let Some(found) = browser.axe_violations().await else { return };
        if !found.is_empty() {
            violations.push(format!("{path}: {}", found.join(", ")));
        }
    }
    assert!(browser.text("#reports").await.contains("Insistant"));
    assert!(browser.text("#flags").await.contains("email address"), "Chromium asks for English");
    browser.goto(&app.url("/admin/live")).await;
    browser.click(&format!("#live-{id} button")).await;
    browser.wait_for("#flash").await;
    assert!(browser.text("#flash").await.contains("ended and settled"));
    if let Some(found) = browser.axe_violations().await
        && !found.is_empty()
    {
        violations.push(format!("/admin/live after ending: {}", found.join(", ")));
    }
    assert!(violations.is_empty(), "axe-core violations at 412 px: {violations:#?}");
    browser.quit().await;
    run_timers(&app).await;
    assert_eq!(app.store.consultation(id).await.unwrap().ended.unwrap().reason, EndReason::ForceEnded);
}

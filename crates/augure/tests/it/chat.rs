//! Live chat (SP-chat, issue 11) end to end on the real application under the fake clock:
//! the ring and its SMS alert, lost chats (SP-lost), billing from the first reply
//! (SP-chat-billing) to the tariff's cent, idleness (SP-chat-idle), masking, markup shown
//! as text, notes, reports, blocks, reviews, and the WebSocket with its resume.

use augure_app::demo;
use augure_domain::availability::Status;
use augure_domain::consultation::EndReason;
use augure_domain::tariff::{self, Plan};
use augure_domain::{ConsultationId, Currency, Money};
use augure_store::{ConsultationStatus, User};
use augure_testkit::{TestApp, unescape};
use chrono::Duration;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::credit::{pay, shop, start_purchase};

const FIRST: Plan = Plan::PerMinute { first_with_expert: true };

pub(crate) async fn user(app: &TestApp, login: &str) -> User {
    app.store.user_by_email(&format!("{login}@augure.localhost").parse().unwrap()).await.unwrap()
}

/// The demo with Claire signed in on `app.client` holding 22 € (the 20 € pack and its bonus) bought through the test
/// checkout, and Luna signed in on the returned client.
pub(crate) async fn chat_demo() -> (TestApp, reqwest::Client) {
    let app = shop().await;
    let checkout = start_purchase(&app, 2000).await.url().clone();
    assert_eq!(pay(&app, &checkout, "4242 4242 4242 4242", "0").await.url().path(), "/wallet");
    app.drain_jobs().await;
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    (app, luna)
}

/// Acts on every timer due at the fake clock's time: the engine's, the chats', and what
/// follows their notices.
pub(crate) async fn run_timers(app: &TestApp) {
    for _ in 0..3 {
        app.app.engine.run_due().await;
        app.app.chats.run_due().await;
        app.app.chats.drain().await;
    }
}

pub(crate) async fn advance(app: &TestApp, seconds: i64) {
    app.clock.advance(Duration::seconds(seconds));
    run_timers(app).await;
}

/// Time passes with both parties' tabs open on chat `id`: each sends its heartbeat every
/// 5 seconds, as the page does (the meter bills only time both were heard in).
pub(crate) async fn advance_heard(app: &TestApp, id: ConsultationId, seconds: i64) {
    let (claire, luna) = (user(app, "claire").await, user(app, "luna").await);
    let mut left = seconds;
    while left > 0 {
        let step = left.min(5);
        advance(app, step).await;
        app.app.chats.heartbeat(&claire, id).await;
        app.app.chats.heartbeat(&luna, id).await;
        left -= step;
    }
}

/// Claire starts a chat with Luna from her profile; returns its id.
pub(crate) async fn start_chat(app: &TestApp) -> ConsultationId {
    let code = user(app, "luna").await.expert_code.unwrap().0;
    let page = app
        .client
        .post(app.url(&format!("/experts/{code}/chat")))
        .form(&[("plan", "per_minute")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let url = page.url().clone();
    let id = url
        .path()
        .strip_prefix("/consultations/")
        .unwrap_or_else(|| panic!("{url}: {}", "not the chat's page"))
        .parse()
        .unwrap();
    ConsultationId(id)
}

pub(crate) async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(app.url(path)).form(form).send().await.unwrap()
}

async fn say(client: &reqwest::Client, app: &TestApp, id: ConsultationId, text: &str) {
    let page = post(client, app, &format!("/consultations/{id}/messages"), &[("text", text)]).await;
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}: {}", html.split("<main").nth(1).unwrap_or(&html));
}

async fn luna_prices(app: &TestApp) -> augure_domain::pricing::SitePrices {
    let luna = user(app, "luna").await;
    app.app.pricing.expert_on_site(luna.id, &"FR".parse().unwrap()).await.unwrap().unwrap()
}

#[tokio::test]
async fn sp_chat_billing_a_chat_is_billed_from_the_experts_first_reply_to_the_tariffs_cent() {
    let (app, luna) = chat_demo().await;
    // PH-free: five free minutes on a first consultation, then the price by the minute.
    let mut profile = app.store.expert_profile(user(&app, "luna").await.id).await.unwrap();
    profile.prices.iter_mut().for_each(|p| p.free_minutes = 5);
    app.store.upsert_expert_profile(&profile).await.unwrap();
    let id = start_chat(&app).await;
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains(&format!("id=\"ring-{id}\"")), "the ring shows on the dashboard");
    assert_eq!(post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await.status(), StatusCode::OK);
    assert_eq!(app.store.presence(user(&app, "luna").await.id).await.unwrap().status, Status::Busy);

    say(&app.client, &app, id, "Bonjour Luna").await;
    advance_heard(&app, id, 30).await;
    assert_eq!(app.app.engine.view(id).await.unwrap().billable_seconds, 0, "nothing before the first reply");
    say(&luna, &app, id, "Bonjour Claire, je vous écoute.").await;
    for _ in 0..5 {
        advance_heard(&app, id, 100).await;
        say(&app.client, &app, id, "Et ensuite ?").await;
        say(&luna, &app, id, "Je vois…").await;
    }
    advance_heard(&app, id, 7).await;
    assert_eq!(post(&app.client, &app, &format!("/consultations/{id}/leave"), &[]).await.status(), StatusCode::OK);
    run_timers(&app).await;

    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Settled);
    assert_eq!(c.billable_seconds, 507);
    let expected =
        tariff::charge(&luna_prices(&app).await, FIRST, 507, &app.app.settings.consultations.tariff_rules()).unwrap();
    let ended = c.ended.unwrap();
    assert_eq!(ended.reason, EndReason::ClientLeft);
    assert_eq!(ended.charge, expected.charge.minor, "the tariff's charge, to the cent");
    assert_eq!(ended.commission + ended.earnings, ended.charge);
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());

    let page =
        unescape(&app.client.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap());
    assert!(page.contains(&expected.charge.format("fr")), "the client reads the charge: {page}");
    assert!(page.contains("8 min 27 s"), "and the billed duration");
    let expert_page =
        unescape(&luna.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap());
    assert!(expert_page.contains(&Money::new(ended.earnings, Currency::Eur).format("fr")), "Luna reads her earnings");

    app.drain_jobs().await;
    let luna_mail = app.mails_to("luna@augure.localhost").await;
    assert!(luna_mail.iter().any(|m| m.mail.subject.contains(&Money::new(ended.earnings, Currency::Eur).format("fr"))));
    let claire_mail = app.mails_to("claire@augure.localhost").await;
    assert!(claire_mail.iter().any(|m| m.mail.text_body.contains(&format!("/consultations/{id}/review"))), "SP-review");
    assert_eq!(app.store.presence(user(&app, "luna").await.id).await.unwrap().status, Status::Available);
}

#[tokio::test]
async fn sp_lost_an_unanswered_ring_alerts_the_expert_then_is_a_lost_chat() {
    let (app, _luna) = chat_demo().await;
    let id = start_chat(&app).await;
    advance(&app, 10).await;
    app.drain_jobs().await;
    let luna = user(&app, "luna").await;
    let notices = app.store.notifications(luna.id, 20).await.unwrap();
    assert!(notices.iter().any(|n| n.body.contains("Claire")), "the 10-second alert: {notices:?}");
    advance(&app, 50).await;
    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Lost);
    assert_eq!(c.ended.unwrap().reason, EndReason::NoAnswer);
    let notices = app.store.notifications(luna.id, 20).await.unwrap();
    assert!(notices.iter().any(|n| n.kind == "ring_missed" && n.title == "Tchat manqué"), "{notices:?}");
    let page = app.client.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(unescape(&page).contains("L'expert n'a pas répondu à temps."));
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn sp_chat_idle_a_quiet_chat_ends_after_four_minutes_and_an_unanswered_client_too() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    advance(&app, 200).await;
    say(&app.client, &app, id, "Vous êtes là ?").await;
    advance(&app, 239).await;
    assert_eq!(app.store.consultation(id).await.unwrap().status, ConsultationStatus::Live);
    advance(&app, 1).await;
    let c = app.store.consultation(id).await.unwrap();
    assert_eq!(c.status, ConsultationStatus::Settled);
    assert_eq!(c.ended.unwrap().reason, EndReason::Idle);
}

#[tokio::test]
async fn chat_text_is_shown_as_text_and_contact_details_are_masked_for_the_other_party() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&app.client, &app, id, "<script>alert(1)</script><b>gras</b>").await;
    say(&app.client, &app, id, "appelez-moi au 06 12 34 56 78").await;
    let expert_page = luna.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
    let shown = expert_page.split("class=\"message-text\">").nth(1).unwrap().split("</p>").next().unwrap();
    assert_eq!(shown.replace("&#60;", "<").replace("&#62;", ">"), "<script>alert(1)</script><b>gras</b>");
    assert!(!shown.contains('<'), "escaped: {shown}");
    assert!(!expert_page.contains("<script>alert"));
    assert!(!expert_page.contains("06 12 34 56 78"), "the number is masked for the expert");
    let client_page =
        app.client.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(client_page.contains("06 12 34 56 78"), "the author reads what they wrote");
    let flagged = app.store.flagged_chat_messages(10).await.unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].flags, ["phone"]);
}

#[tokio::test]
async fn a_chat_needs_a_minute_of_credit_and_a_third_party_sees_nothing_of_it() {
    let app = shop().await;
    let code = user(&app, "luna").await.expert_code.unwrap().0;
    let page = app
        .client
        .post(app.url(&format!("/experts/{code}/chat")))
        .form(&[("plan", "per_minute")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.url().path(), "/wallet", "buy credit first");
    assert!(unescape(&page.text().await.unwrap()).contains("il faut au moins une minute de crédit"));

    let (app, _luna) = chat_demo().await;
    let id = start_chat(&app).await;
    let orion = app.signed_in("/expert/login", "orion@augure.localhost", demo::DEMO_PASSWORD).await;
    let page = orion.get(app.url(&format!("/consultations/{id}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let refused = post(&orion, &app, &format!("/consultations/{id}/accept"), &[]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn notes_reports_blocks_and_a_review_pending_moderation() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    post(&luna, &app, &format!("/consultations/{id}/note"), &[("body", "Aime les tarots de Marseille")]).await;
    for _ in 0..2 {
        advance_heard(&app, id, 100).await;
        say(&app.client, &app, id, "Oui").await;
    }
    post(&app.client, &app, &format!("/consultations/{id}/leave"), &[]).await;
    run_timers(&app).await;
    let notes = luna.get(app.url("/expert/notes")).send().await.unwrap().text().await.unwrap();
    assert!(notes.contains("Aime les tarots de Marseille") && notes.contains("Claire"));

    assert_eq!(app.store.consultation(id).await.unwrap().billable_seconds, 200);
    let review =
        post(&app.client, &app, &format!("/consultations/{id}/review"), &[("rating", "6"), ("body", "Top")]).await;
    assert_eq!(review.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(review.text().await.unwrap().contains("Top"), "the refused form keeps what was typed");
    let sent =
        post(&app.client, &app, &format!("/consultations/{id}/review"), &[("rating", "5"), ("body", "Très juste")])
            .await;
    let path = sent.url().path().to_owned();
    assert_eq!(path, format!("/consultations/{id}"), "{}", sent.text().await.unwrap());
    let stored = app.store.review(id).await.unwrap().unwrap();
    assert_eq!((stored.rating, stored.status.as_str()), (5, "pending"));

    post(&app.client, &app, &format!("/consultations/{id}/report"), &[("reason", "Propos déplacés")]).await;
    assert_eq!(app.store.open_reports(10).await.unwrap().len(), 1);
    post(&luna, &app, &format!("/consultations/{id}/block"), &[]).await;
    let code = user(&app, "luna").await.expert_code.unwrap().0;
    let again = app
        .client
        .post(app.url(&format!("/experts/{code}/chat")))
        .form(&[("plan", "per_minute")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN, "a blocked client cannot ring again");
}

/// A WebSocket of `client`'s session (its cookie), on the chat `id` after `after`.
pub(crate) async fn socket(
    app: &TestApp,
    client_cookie: &str,
    query: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/ws{query}", app.addr).into_client_request().unwrap();
    request.headers_mut().insert("cookie", client_cookie.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("socket");
    ws
}

/// The session cookie a signed-in client holds.
pub(crate) async fn cookie_of(app: &TestApp, login: &str, entry: &str) -> String {
    let client = TestApp::client_without_redirects();
    let response = client
        .post(app.url(entry))
        .form(&[("email", format!("{login}@augure.localhost")), ("password", demo::DEMO_PASSWORD.into())])
        .send()
        .await
        .unwrap();
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

pub(crate) async fn next_frame<S>(ws: &mut S, kind: &str) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame"))
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == kind {
                return frame;
            }
        }
    }
}

#[tokio::test]
async fn the_socket_rings_carries_the_chat_and_resumes_after_the_last_message_seen() {
    let (app, _) = chat_demo().await;
    let luna_cookie = cookie_of(&app, "luna", "/expert/login").await;
    let claire_cookie = cookie_of(&app, "claire", "/login").await;
    let mut dashboard = socket(&app, &luna_cookie, "").await;
    let id = start_chat(&app).await;
    let ring = next_frame(&mut dashboard, "ring").await;
    assert_eq!(ring["consultation"], id.0);
    assert_eq!(ring["text"], "Claire vous demande un tchat");
    dashboard.send(Message::text(json!({ "type": "accept", "consultation": id.0 }).to_string())).await.unwrap();
    assert_eq!(next_frame(&mut dashboard, "ring_over").await["consultation"], id.0, "answered: the ring stops");

    let mut expert = socket(&app, &luna_cookie, &format!("?consultation={id}")).await;
    let mut client = socket(&app, &claire_cookie, &format!("?consultation={id}")).await;
    assert_eq!(next_frame(&mut client, "state").await["status"], "live");
    let frame = json!({ "type": "send", "text": "<img src=x onerror=alert(1)>", "key": "k1" });
    client.send(Message::text(frame.to_string())).await.unwrap();
    let seen = next_frame(&mut expert, "message").await;
    assert_eq!(seen["text"], "<img src=x onerror=alert(1)>", "sent as text; the page sets it as text");
    assert_eq!(seen["mine"], false);
    let echo = next_frame(&mut client, "message").await;
    assert_eq!((echo["mine"].clone(), echo["key"].clone()), (json!(true), json!("k1")));
    assert_eq!(next_frame(&mut client, "delivered").await["up_to"], 1);
    // The same key again (a resend after a reconnection) is not a second message.
    client.send(Message::text(frame.to_string())).await.unwrap();
    expert.send(Message::text(json!({ "type": "send", "text": "Bonjour" }).to_string())).await.unwrap();
    assert_eq!(next_frame(&mut client, "started").await["type"], "started");
    drop(client);
    let mut client = socket(&app, &claire_cookie, &format!("?consultation={id}&after=1")).await;
    let resumed = next_frame(&mut client, "message").await;
    assert_eq!((resumed["seq"].clone(), resumed["text"].clone()), (json!(2), json!("Bonjour")));
    let messages = app.store.chat_messages(id, 0, 10).await.unwrap();
    assert_eq!(messages.len(), 2, "one message per key");
    assert!(app.app.engine.view(id).await.is_some(), "still live");
}

#[tokio::test]
async fn transcripts_are_deleted_after_their_retention_and_the_consultation_stays() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    post(&app.client, &app, &format!("/consultations/{id}/leave"), &[]).await;
    run_timers(&app).await;
    advance(&app, 364 * 86_400).await;
    assert_eq!(app.app.jobs.retention().purge().await.unwrap().chat_messages, 0, "kept for a year");
    advance(&app, 2 * 86_400).await;
    assert_eq!(app.app.jobs.retention().purge().await.unwrap().chat_messages, 1);
    assert!(app.store.chat_messages(id, 0, 10).await.unwrap().is_empty());
    assert_eq!(app.store.consultation(id).await.unwrap().status, ConsultationStatus::Settled);
}

/// Top-up without leaving: after the warning, opening the top-up pauses the chat (nothing
/// billed); credit bought meanwhile extends the grant and the chat resumes.
#[tokio::test]
async fn after_the_warning_a_top_up_pauses_the_chat_and_the_credit_landing_resumes_it() {
    let (app, luna) = chat_demo().await;
    let id = start_chat(&app).await;
    post(&luna, &app, &format!("/consultations/{id}/accept"), &[]).await;
    say(&luna, &app, id, "Bonjour").await;
    // 22 € at 2,99 €/min last 441 s: the warning comes at 381 s.
    for _ in 0..3 {
        advance_heard(&app, id, 95).await;
        say(&app.client, &app, id, "Oui ?").await;
        say(&luna, &app, id, "Je continue…").await;
    }
    advance_heard(&app, id, 100).await;
    let before = app.app.engine.view(id).await.unwrap();
    assert!(before.warned, "SP-beep at one minute left");
    let window = post(&app.client, &app, &format!("/consultations/{id}/top-up"), &[]).await;
    assert_eq!(window.url().path(), "/wallet", "the top-up opens the wallet in its own window");
    let paused = app.app.engine.view(id).await.unwrap();
    assert!(paused.paused_until.is_some() && !paused.running);
    advance_heard(&app, id, 30).await;
    assert_eq!(
        app.app.engine.view(id).await.unwrap().billable_seconds,
        paused.billable_seconds,
        "nothing billed during the pause"
    );

    let checkout = start_purchase(&app, 2000).await.url().clone();
    pay(&app, &checkout, "4242 4242 4242 4242", "0").await;
    app.drain_jobs().await;
    run_timers(&app).await;
    let resumed = app.app.engine.view(id).await.unwrap();
    assert!(resumed.paused_until.is_none() && resumed.running, "the credit landed: the chat goes on");
    assert!(resumed.cut_at.unwrap() > app.app.clock.now() + Duration::seconds(300), "the cut moved");
    advance_heard(&app, id, 20).await;
    say(&app.client, &app, id, "Merci").await;
    post(&app.client, &app, &format!("/consultations/{id}/leave"), &[]).await;
    run_timers(&app).await;
    let c = app.store.consultation(id).await.unwrap();
    let expected = tariff::charge(
        &luna_prices(&app).await,
        FIRST,
        c.billable_seconds,
        &app.app.settings.consultations.tariff_rules(),
    )
    .unwrap();
    assert_eq!(c.billable_seconds, paused.billable_seconds + 20, "the pause is not billed");
    assert_eq!(c.ended.unwrap().charge, expected.charge.minor);
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

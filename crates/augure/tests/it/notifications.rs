//! SPEC §11 (issue 11): every mail and SMS sent to a user is in their notification list,
//! once however often its job runs; the header counts what is unread; the `Sms` port's
//! outbox is on the admin's outbox page; read notifications are forgotten on schedule.

use augure_app::Notice;
use augure_app::demo;
use augure_app::sms::TextMessage;
use augure_domain::{Clock, UserId};
use augure_store::JobStatus;
use augure_testkit::{TestApp, unescape};
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::accounts_api::api_signup;

const PASSWORD: &str = "correct horse";

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    unescape(&client.get(app.url(path)).send().await.unwrap().text().await.unwrap())
}

/// The header's link text.
fn header_link(html: &str) -> &str {
    let start = html.find("id=\"nav-notifications\"").expect("a notifications link in the header");
    let rest = &html[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    &text[..text.find("</a>").unwrap()]
}

async fn api(app: &TestApp, token: &str) -> Value {
    let response = app.client.get(app.url("/api/v1/notifications")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> UserId {
    app.store.user_by_email(&email.parse().unwrap()).await.unwrap().id
}

/// Runs the finished jobs of `kind` again, as after a worker that died before recording
/// their end: same job, same id.
async fn rerun(app: &TestApp, kind: &str) -> usize {
    let now = app.clock.now();
    let jobs = app.store.list_jobs(Some(JobStatus::Done), 100).await.unwrap();
    let jobs: Vec<_> = jobs.into_iter().filter(|j| j.kind == kind).collect();
    for job in &jobs {
        app.store.fail_job(job.id, "worker died", Some(now), now).await.unwrap();
    }
    assert_eq!(app.drain_jobs().await.done, jobs.len(), "each ran again");
    jobs.len()
}

#[tokio::test]
async fn every_mail_to_a_user_is_listed_once_and_counted_until_marked_read() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    api_signup(&app, "paul@example.fr", "client").await;
    let marie = app.signed_in("/login", "marie@example.fr", PASSWORD).await;
    let paul = app.signed_in("/login", "paul@example.fr", PASSWORD).await;
    let empty = page(&marie, &app, "/notifications").await;
    assert!(empty.contains("id=\"notifications-empty\""), "nothing sent yet: {empty}");
    assert_eq!(header_link(&empty), "Notifications");

    // The welcome mail goes: it is listed, even when its job runs a second time.
    app.drain_jobs().await;
    assert_eq!(rerun(&app, "mail.deliver").await, 2);
    let dashboard = page(&marie, &app, "/dashboard").await;
    assert_eq!(header_link(&dashboard), "Notifications (non lues : 1)", "{dashboard}");
    let list = page(&marie, &app, "/notifications").await;
    assert_eq!(list.matches("Bienvenue sur augure").count(), 1, "once: {list}");
    assert!(list.contains("Votre compte est créé") && list.contains("class=\"badge new\">Nouveau</strong>"), "{list}");
    assert!(list.contains("<span class=\"tag\">Email</span>"), "{list}");
    assert!(!list.contains(&app.clock.now().format("%Y-%m-%d").to_string()), "no ISO dates: {list}");
    assert_eq!(app.mails_to("marie@example.fr").await.len(), 1, "and mailed once");

    // A password reset mail is listed too, without its secret link.
    let forgot = TestApp::new_client();
    forgot.post(app.url("/password/forgot")).form(&[("email", "marie@example.fr")]).send().await.unwrap();
    app.drain_jobs().await;
    let list = page(&marie, &app, "/notifications").await;
    assert_eq!(header_link(&list), "Notifications (non lues : 2)");
    assert!(list.contains("Choisissez un nouveau mot de passe") && !list.contains("/password/reset/"), "{list}");
    // Opening the list marked nothing read.
    assert_eq!(header_link(&page(&marie, &app, "/notifications").await), "Notifications (non lues : 2)");

    // Paul sees his own welcome only.
    let his = page(&paul, &app, "/notifications").await;
    assert_eq!(header_link(&his), "Notifications (non lues : 1)");
    assert!(!his.contains("Choisissez un nouveau mot de passe"), "{his}");

    // The API says the same.
    let token = app.api_token("marie@example.fr", PASSWORD).await;
    let listed = api(&app, &token).await;
    assert_eq!(listed["unread"], 2);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!((&items[0]["kind"], &items[0]["title"]), (&json!("mail"), &json!("Choisissez un nouveau mot de passe")));
    assert_eq!((&items[1]["title"], &items[1]["read_at"]), (&json!("Bienvenue sur augure"), &Value::Null));
    assert_eq!(items[0]["link"], Value::Null, "the reset link stays in the mail");
    let pauls = api(&app, &app.api_token("paul@example.fr", PASSWORD).await).await;
    assert_eq!(pauls["unread"], 1);
    assert_eq!(pauls["items"].as_array().unwrap().len(), 1);

    // "Mark all as read" clears the count, for Marie only.
    let newest = items[0]["id"].as_i64().unwrap().to_string();
    let done = marie.post(app.url("/notifications/read")).form(&[("up_to", newest.as_str())]).send().await.unwrap();
    assert_eq!(done.url().path(), "/notifications");
    let done = unescape(&done.text().await.unwrap());
    assert!(done.contains("Notifications marquées comme lues.") && done.contains("Tout est lu."), "{done}");
    assert_eq!(header_link(&done), "Notifications");
    assert!(!done.contains("badge new") && !done.contains("id=\"mark-all-read\""), "{done}");
    let listed = api(&app, &token).await;
    assert_eq!(listed["unread"], 0);
    assert!(listed["items"].as_array().unwrap().iter().all(|n| n["read_at"].is_string()));
    assert_eq!(header_link(&page(&paul, &app, "/dashboard").await), "Notifications (non lues : 1)");

    let anonymous = TestApp::client_without_redirects();
    let response = anonymous.get(app.url("/notifications")).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/login?next=%2Fnotifications");
    let response = app.client.get(app.url("/api/v1/notifications")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn alerts_recorded_directly_are_kept_once_and_marked_read_as_seen() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    api_signup(&app, "paul@example.fr", "client").await;
    let (marie_id, paul_id) = (user_id(&app, "marie@example.fr").await, user_id(&app, "paul@example.fr").await);
    let notices = &app.app.notifications;
    let notice = |key: &str, title: &str| Notice {
        key: key.into(),
        kind: "ring_missed".into(),
        title: title.into(),
        body: "Sam a essayé de vous joindre.".into(),
        link: Some(format!("{}/experts/1234", app.app.settings.public_url)),
    };
    let first = notices.notify(marie_id, notice("ring-missed:1", "Appel manqué de Sam")).await.unwrap();
    assert_eq!(first.link.as_deref(), Some("/experts/1234"), "kept as a path of the site");
    let again = notices.notify(marie_id, notice("ring-missed:1", "Appel manqué")).await.unwrap();
    assert_eq!(again, first, "the same key records once");
    for link in ["//evil.example/x", "javascript:alert(1)"] {
        let refused = notices.notify(marie_id, Notice { link: Some(link.into()), ..notice("x", "x") }).await;
        assert!(refused.is_err(), "{link}");
    }
    assert!(notices.notify(marie_id, Notice { kind: "Ring Missed".into(), ..notice("y", "y") }).await.is_err());
    let second = notices.notify(marie_id, notice("ring-missed:2", "Second appel manqué")).await.unwrap();
    let theirs = notices.notify(paul_id, notice("ring-missed:2", "Appel manqué de Sam")).await.unwrap();

    let marie = app.signed_in("/login", "marie@example.fr", PASSWORD).await;
    let list = page(&marie, &app, "/notifications").await;
    assert!(list.contains("<a href=\"/experts/1234\">Second appel manqué</a>"), "{list}");
    assert!(list.contains("<span class=\"tag\">Appel manqué</span>") && list.contains("Non lues : 2."), "{list}");
    let newest_shown = format!("name=\"up_to\" value=\"{}\"", second.id);
    assert!(list.contains(&newest_shown), "{list}");

    // One arrives after the page was read: "mark all" leaves it new.
    let third = notices.notify(marie_id, notice("ring-missed:3", "Troisième appel manqué")).await.unwrap();
    marie.post(app.url("/notifications/read")).form(&[("up_to", second.id.to_string().as_str())]).send().await.unwrap();
    let token = app.api_token("marie@example.fr", PASSWORD).await;
    let listed = api(&app, &token).await;
    assert_eq!(listed["unread"], 1);
    assert_eq!(listed["items"][0]["id"], third.id.0);
    assert_eq!(listed["items"][0]["read_at"], Value::Null);

    // By id through the API: someone else's id is ignored.
    let read =
        |body: Value| app.client.post(app.url("/api/v1/notifications/read")).bearer_auth(&token).json(&body).send();
    let response = read(json!({ "ids": [third.id.0, theirs.id.0] })).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "marked": 1, "unread": 0 }));
    assert_eq!(app.app.notifications.unread(paul_id).await.unwrap(), 1);
    // A body that is not an object marks nothing (serde would read `[]` as "all").
    for not_an_object in [json!([]), json!([[]]), json!([[third.id.0]])] {
        assert_eq!(read(not_an_object).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.app.notifications.unread(paul_id).await.unwrap(), 1);
    let too_many: Vec<i64> = (1..=501).collect();
    assert_eq!(read(json!({ "ids": too_many })).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(read(json!({ "all": true })).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(read(json!({})).await.unwrap().json::<Value>().await.unwrap(), json!({ "marked": 0, "unread": 0 }));

    // One entry's own button.
    let paul = app.signed_in("/login", "paul@example.fr", PASSWORD).await;
    let done = paul.post(app.url("/notifications/read")).form(&[("id", theirs.id.to_string().as_str())]).send().await;
    let done = unescape(&done.unwrap().text().await.unwrap());
    assert!(done.contains("Notification marquée comme lue.") && done.contains("Tout est lu."), "{done}");
}

#[tokio::test]
async fn an_sms_sent_through_the_port_is_in_the_admin_outbox_and_the_users_list() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    app.drain_jobs().await;
    let claire_id = user_id(&app, "claire@augure.localhost").await;
    let text = "augure : Luna est de nouveau disponible.";
    let message = TextMessage::new(claire_id, "+33612345678", text).unwrap().with_link("/experts/1001");
    message.enqueue(&*app.store, Some("back-sms:1".into()), app.clock.now()).await.unwrap();
    assert_eq!(app.drain_jobs().await.done, 1);
    assert_eq!(rerun(&app, "sms.deliver").await, 1);
    assert_eq!(app.store.list_sms(10, 0).await.unwrap().len(), 1, "sent once");

    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let outbox = page(&admin, &app, "/admin/outbox").await;
    assert!(outbox.contains("id=\"sms-outbox\"") && outbox.contains(text), "{outbox}");
    assert!(outbox.contains(">06 12 34 56 78</td>") && !outbox.contains("+33612345678"), "as dialled: {outbox}");

    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let forbidden = claire.get(app.url("/admin/outbox")).send().await.unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let anonymous = TestApp::client_without_redirects();
    let response = anonymous.get(app.url("/admin/outbox")).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/admin/login");

    let list = page(&claire, &app, "/notifications").await;
    assert_eq!(list.matches(text).count(), 1, "{list}");
    assert!(list.contains("<span class=\"tag\">SMS</span>") && list.contains("href=\"/experts/1001\""), "{list}");

    assert!(TextMessage::new(claire_id, "06 12 34 56 78", text).is_err(), "E.164 only");
}

#[tokio::test]
async fn read_notifications_go_after_their_retention_and_unread_ones_stay() {
    let app = TestApp::spawn_with(|s| {
        s.retention.notifications_days = 30;
        s.retention.outbox_days = 7;
    })
    .await;
    api_signup(&app, "marie@example.fr", "client").await;
    let marie = user_id(&app, "marie@example.fr").await;
    let notices = &app.app.notifications;
    let notice = |key: &str| Notice {
        key: key.into(),
        kind: "consultation_ended".into(),
        title: format!("Consultation {key}"),
        body: String::new(),
        link: None,
    };
    let old_read = notices.notify(marie, notice("old-read")).await.unwrap();
    let old_unread = notices.notify(marie, notice("old-unread")).await.unwrap();
    notices.mark_read(marie, &[old_read.id]).await.unwrap();
    TextMessage::new(marie, "+33612345678", "Bonjour")
        .unwrap()
        .enqueue(&*app.store, None, app.clock.now())
        .await
        .unwrap();
    app.drain_jobs().await;

    app.clock.advance(Duration::days(20));
    let recent_read = notices.notify(marie, notice("recent-read")).await.unwrap();
    notices.mark_read(marie, &[recent_read.id]).await.unwrap();
    let report = app.app.jobs.retention().purge().await.unwrap();
    assert_eq!((report.notifications, report.sms), (0, 1), "the outbox keeps a week");
    assert!(app.store.list_sms(10, 0).await.unwrap().is_empty());

    app.clock.advance(Duration::days(11));
    let report = app.app.jobs.retention().purge().await.unwrap();
    assert_eq!(report.notifications, 1);
    let left: Vec<_> = notices.inbox(marie).await.unwrap().items.into_iter().map(|n| n.id).collect();
    assert!(left.contains(&old_unread.id) && left.contains(&recent_read.id), "{left:?}");
    assert!(!left.contains(&old_read.id));
}

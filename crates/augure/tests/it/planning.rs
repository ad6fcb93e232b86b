//! SP-planning, WG-hours and SP-return: the expert's planning editor, today's hours on
//! the dashboard, the expected return on profiles, and "tell me when they are back".

use augure_app::availability::Change;
use augure_app::demo;
use augure_domain::Clock;
use augure_store::User;
use augure_testkit::TestApp;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::Value;

const LUNA: &str = "luna@augure.localhost";

async fn user(app: &TestApp, email: &str) -> User {
    app.store.user_by_email(&email.parse().unwrap()).await.unwrap()
}

/// Luna's local date now (her site is FR: Paris).
fn paris_today(app: &TestApp) -> NaiveDate {
    app.clock.now().with_timezone(&chrono_tz::Europe::Paris).date_naive()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

async fn save_day(expert: &reqwest::Client, app: &TestApp, day: NaiveDate, rows: &[(&str, &str)]) -> reqwest::Response {
    let (start, end) = (format!("{day}.start"), format!("{day}.end"));
    let mut form: Vec<(String, String)> = vec![("save".into(), day.to_string())];
    for (s, e) in rows {
        form.push((start.clone(), (*s).into()));
        form.push((end.clone(), (*e).into()));
    }
    expert.post(app.url("/expert/planning")).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn sp_planning_horizon_is_15_days() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", LUNA, demo::DEMO_PASSWORD).await;
    let today = paris_today(&app);
    // The editor shows today and the 15 days after it.
    let page = luna.get(app.url("/expert/planning")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("15 prochains jours") && page.contains("heure de Paris (UTC+"), "{page}");
    assert!(page.contains(&format!("id=\"day-{today}\"")));
    assert!(page.contains(&format!("id=\"day-{}\"", today + Duration::days(15))));
    assert!(!page.contains(&format!("id=\"day-{}\"", today + Duration::days(16))));
    // Day 15 is accepted, day 16 refused with a message people understand.
    let last = today + Duration::days(15);
    let saved = save_day(&luna, &app, last, &[("09:00", "12:00")]).await;
    assert_eq!(saved.url().path(), "/expert/planning");
    assert!(saved.text().await.unwrap().contains("Planning enregistré."));
    let too_far = save_day(&luna, &app, today + Duration::days(16), &[("09:00", "12:00")]).await;
    assert_eq!(too_far.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = too_far.text().await.unwrap();
    assert!(
        html.contains("Le planning va jusqu&#39;à 15 jours à l&#39;avance")
            || html.contains("Le planning va jusqu'à 15 jours à l'avance"),
        "{html}"
    );
    let id = user(&app, LUNA).await.id;
    let stored = app.store.planning(id, today, today + Duration::days(30)).await.unwrap();
    assert_eq!(stored.len(), 1, "only day 15 was saved: {stored:?}");
    // Other mistakes, each with its own message; a refused day changes nothing.
    let overlap = save_day(&luna, &app, today, &[("09:00", "12:00"), ("11:00", "13:00")]).await;
    assert_eq!(overlap.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(overlap.text().await.unwrap().contains("Deux créneaux de ce jour se chevauchent."));
    let empty = save_day(&luna, &app, today, &[("12:00", "12:00")]).await;
    assert!(empty.text().await.unwrap().contains("heure où il commence."));
    let garbled = save_day(&luna, &app, today, &[("9 heures", "12:00")]).await;
    assert!(garbled.text().await.unwrap().contains("format HH:MM"));
    let half = save_day(&luna, &app, today, &[("09:00", "")]).await;
    assert!(half.text().await.unwrap().contains("Indiquez le début et la fin de chaque créneau."));
    let past = save_day(&luna, &app, today - Duration::days(1), &[]).await;
    assert!(past.text().await.unwrap().contains("Ce jour est passé"));
    assert_eq!(app.store.planning(id, today, today).await.unwrap(), []);
    // In Italian and English too.
    let it = luna
        .post(app.url("/expert/planning"))
        .header("accept-language", "it")
        .form(&[("save", (today + Duration::days(16)).to_string())])
        .send()
        .await
        .unwrap();
    assert!(it.text().await.unwrap().contains("fino a 15 giorni in anticipo"));
    // "Save all" saves each valid day; a wrong one keeps what was saved (see
    // `a_submission_saves_every_valid_day_and_shows_the_wrong_ones_again`).
    let form = [
        ("save".to_owned(), "all".to_owned()),
        (format!("{last}.start"), "08:00".to_owned()),
        (format!("{last}.end"), "08:00".to_owned()),
    ];
    let all = luna.post(app.url("/expert/planning")).form(&form).send().await.unwrap();
    assert_eq!(all.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.planning(id, last, last).await.unwrap().len(), 1, "day 15 keeps its saved slot");
    // The API tells the same horizon.
    let code = user(&app, LUNA).await.expert_code.unwrap().0;
    let api: Value = app
        .client
        .get(app.url(&format!("/api/v1/experts/{code}/planning")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["last_day"], last.to_string());
    assert_eq!(api["slots"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn wg_hours_edit_today_from_dashboard() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", LUNA, demo::DEMO_PASSWORD).await;
    let today = paris_today(&app);
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("Mes horaires aujourd") && dashboard.contains("Aucun horaire prévu."));
    assert!(dashboard.contains(&format!("name=\"{today}.start\"")) && dashboard.contains("href=\"/expert/planning\""));
    let (start, end) = (format!("{today}.start"), format!("{today}.end"));
    let form: Vec<(String, String)> = [
        ("return", "dashboard"),
        ("save", today.to_string().as_str()),
        (start.as_str(), "09:00"),
        (end.as_str(), "12:00"),
        (start.as_str(), "20:00"),
        (end.as_str(), "00:00"),
        (start.as_str(), ""),
        (end.as_str(), ""),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let page = luna.post(app.url("/expert/planning")).form(&form).send().await.unwrap();
    assert_eq!(page.url().path(), "/expert/dashboard");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Planning enregistré.") && html.contains("<li>09:00–12:00</li><li>20:00–24:00</li>"),
        "{html}"
    );
    // The planning page shows the same day.
    let planning = luna.get(app.url("/expert/planning")).send().await.unwrap().text().await.unwrap();
    assert!(planning.contains("value=\"09:00\"") && planning.contains("value=\"20:00\""));
    // Clearing the rows clears the day.
    let form = [
        ("return".to_owned(), "dashboard".to_owned()),
        ("save".to_owned(), today.to_string()),
        (format!("{today}.start"), String::new()),
        (format!("{today}.end"), String::new()),
    ];
    let html = luna.post(app.url("/expert/planning")).form(&form).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Aucun horaire prévu."));
    // Clients have no planning to edit.
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let refused = claire.post(app.url("/expert/planning")).form(&[("save", today.to_string())]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sp_return_shows_the_next_planned_slot() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = user(&app, LUNA).await;
    let code = luna.expert_code.unwrap().0;
    // Friday 26 March 2027, 13:00 in Paris; clocks go forward on Sunday the 28th.
    app.clock.set(utc(2027, 3, 26, 12, 0));
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let (sat, sun) = (NaiveDate::from_ymd_opt(2027, 3, 27).unwrap(), NaiveDate::from_ymd_opt(2027, 3, 28).unwrap());
    app.app.planning.replace_day(&luna, sat, &[(t(9, 0), t(12, 0))]).await.unwrap();
    app.app.planning.replace_day(&luna, sun, &[(t(9, 0), t(12, 0)), (t(14, 0), t(0, 0))]).await.unwrap();
    // Available: the planning shows, no expected return.
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<dt>sam. 27/03</dt><dd>09:00–12:00</dd>"), "{page}");
    assert!(page.contains("<dt>dim. 28/03</dt><dd>09:00–12:00 · 14:00–24:00</dd>"));
    assert!(!page.contains("Retour prévu") && !page.contains("alert-ask"));
    app.app.availability.change(luna.id, Change::Unavailable).await.unwrap();
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Retour prévu : sam. 27/03 09:00") && page.contains("id=\"alert-ask\""), "{page}");
    let url = app.url(&format!("/api/v1/experts/{code}/planning"));
    let api = |app: &TestApp| app.client.get(url.clone()).send();
    let before: Value = api(&app).await.unwrap().json().await.unwrap();
    assert_eq!(before["time_zone"], "Europe/Paris");
    assert_eq!(before["available_now"], false);
    assert_eq!(before["expected_return"], "2027-03-27T08:00:00Z", "winter time: UTC+1");
    assert_eq!(before["slots"][0]["starts_at"], "2027-03-27T08:00:00Z");
    // Saturday evening: the next return is Sunday 09:00 Paris, summer time, 07:00 UTC.
    app.clock.set(utc(2027, 3, 27, 20, 0));
    let after: Value = api(&app).await.unwrap().json().await.unwrap();
    assert_eq!(after["expected_return"], "2027-03-28T07:00:00Z", "summer time: UTC+2");
    // The API lists the whole of today, past slots included; the profile only what is to come.
    assert_eq!(after["slots"][0]["date"], "2027-03-27");
    assert_eq!((&after["slots"][1]["date"], &after["slots"][1]["start"]), (&"2027-03-28".into(), &"09:00".into()));
    assert_eq!(after["slots"][2]["end"], "24:00");
    assert_eq!(after["slots"][2]["ends_at"], "2027-03-28T22:00:00Z", "until midnight, Paris summer time");
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Retour prévu : dim. 28/03 09:00") && !page.contains("sam. 27/03"), "{page}");
    let en = app
        .client
        .get(app.url(&format!("/experts/{code}")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Expected back: Sun 28/03 09:00"), "{en}");
    // Nothing planned ahead: said plainly.
    app.clock.set(utc(2027, 3, 29, 8, 0));
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Pas de retour prévu"));
    let later: Value = api(&app).await.unwrap().json().await.unwrap();
    assert_eq!(later["expected_return"], Value::Null);
    // Documented in the OpenAPI description.
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/experts/{code}/planning"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/experts/{code}/alert"]["post"].is_object());
}

/// The planning form as the browser posts it: `save`, then each day's rows.
async fn post_planning(
    expert: &reqwest::Client,
    app: &TestApp,
    save: &str,
    days: &[(NaiveDate, &[(&str, &str)])],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = vec![("save".into(), save.into())];
    for (day, rows) in days {
        for (s, e) in *rows {
            form.push((format!("{day}.start"), (*s).into()));
            form.push((format!("{day}.end"), (*e).into()));
        }
    }
    expert.post(app.url("/expert/planning")).form(&form).send().await.unwrap()
}

/// The fieldset of one day in the editor.
fn day_fieldset(html: &str, day: NaiveDate) -> &str {
    let start = html.find(&format!("id=\"day-{day}\"")).unwrap_or_else(|| panic!("no {day} in {html}"));
    let end = start + html[start..].find("</fieldset>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn a_submission_saves_every_valid_day_and_shows_the_wrong_ones_again() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    // Monday 23 November 2026, 10:00 in Paris.
    app.clock.set(utc(2026, 11, 23, 9, 0));
    let luna = app.signed_in("/expert/login", LUNA, demo::DEMO_PASSWORD).await;
    let id = user(&app, LUNA).await.id;
    let (mon, tue, wed) =
        (paris_today(&app), paris_today(&app) + Duration::days(1), paris_today(&app) + Duration::days(2));
    let night: &[(&str, &str)] = &[("22:00", "02:00"), ("", "")];
    let overlapping: &[(&str, &str)] = &[("09:00", "12:00"), ("11:00", "13:00")];
    let half: &[(&str, &str)] = &[("14:00", "")];
    let response = post_planning(&luna, &app, "all", &[(mon, night), (tue, overlapping), (wed, half)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = augure_testkit::unescape(&response.text().await.unwrap());
    // The valid day is saved, with its night slot until 02:00 the next day.
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let saved = app.store.planning(id, mon, wed).await.unwrap();
    assert_eq!(saved, [augure_domain::planning::PlannedSlot { date: mon, start: t(22, 0), end: t(2, 0) }]);
    // The page says which days were saved and which were not, matching what happened.
    assert!(html.contains("Enregistré : lun. 23/11."), "{html}");
    assert!(html.contains("Pas enregistré : mar. 24/11, mer. 25/11."), "{html}");
    assert!(!html.contains("Certains jours"), "{html}");
    let monday = day_fieldset(&html, mon);
    assert!(
        monday.contains("Ce jour est enregistré.")
            && monday.contains("value=\"22:00\"")
            && monday.contains("value=\"02:00\""),
        "{monday}"
    );
    // The wrong days are shown as typed, each with its own message next to it.
    let tuesday = day_fieldset(&html, tue);
    assert!(tuesday.contains("Deux créneaux de ce jour se chevauchent."), "{tuesday}");
    assert!(tuesday.contains("value=\"11:00\"") && tuesday.contains("value=\"13:00\""), "{tuesday}");
    assert!(tuesday.contains("aria-invalid=\"true\""), "{tuesday}");
    let wednesday = day_fieldset(&html, wed);
    assert!(
        wednesday.contains("Indiquez le début et la fin de chaque créneau.") && wednesday.contains("value=\"14:00\"")
    );
    // The night slot everywhere it shows: the editor, the dashboard, the profile, the API.
    let editor = luna.get(app.url("/expert/planning")).send().await.unwrap().text().await.unwrap();
    let monday = day_fieldset(&editor, mon);
    assert!(monday.contains("value=\"22:00\"") && monday.contains("value=\"02:00\""), "{monday}");
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("<li>22:00–02:00 (lendemain)</li>"), "{dashboard}");
    let code = user(&app, LUNA).await.expert_code.unwrap().0;
    let profile = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(profile.contains("<dt>lun. 23/11</dt><dd>22:00–02:00 (lendemain)</dd>"), "{profile}");
    let api_url = app.url(&format!("/api/v1/experts/{code}/planning"));
    let api: Value = app.client.get(api_url.clone()).send().await.unwrap().json().await.unwrap();
    let slot = &api["slots"][0];
    assert_eq!((&slot["date"], &slot["start"], &slot["end"]), (&"2026-11-23".into(), &"22:00".into(), &"02:00".into()));
    assert_eq!(slot["ends_next_day"], true);
    assert_eq!(
        (&slot["starts_at"], &slot["ends_at"]),
        (&"2026-11-23T21:00:00Z".into(), &"2026-11-24T01:00:00Z".into())
    );
    // SP-return: away in the afternoon, expected back at 22:00.
    app.app.availability.change(id, Change::Unavailable).await.unwrap();
    let profile = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(profile.contains("Retour prévu : lun. 23/11 22:00"), "{profile}");
    // At 01:00 on Tuesday the night is still on: the profile and the API still show it.
    app.clock.set(utc(2026, 11, 24, 0, 0));
    let profile = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(profile.contains("<dt>lun. 23/11</dt><dd>22:00–02:00 (lendemain)</dd>"), "{profile}");
    let api: Value = app.client.get(api_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(api["slots"][0]["date"], "2026-11-23", "{api}");
    // Italian and English say the same.
    let it = luna
        .post(app.url("/expert/planning"))
        .header("accept-language", "it")
        .form(&[
            ("save".to_owned(), "all".to_owned()),
            (format!("{wed}.start"), "10:00".into()),
            (format!("{wed}.end"), "10:00".into()),
        ])
        .send()
        .await
        .unwrap();
    let it = augure_testkit::unescape(&it.text().await.unwrap());
    assert!(it.contains("Non salvato: mer 25/11.") && it.contains("non può finire all'ora in cui inizia"), "{it}");
    let en = luna
        .post(app.url("/expert/planning"))
        .header("accept-language", "en")
        .form(&[
            ("save".to_owned(), wed.to_string()),
            (format!("{wed}.start"), "14:00".into()),
            (format!("{wed}.end"), String::new()),
        ])
        .send()
        .await
        .unwrap();
    let en = augure_testkit::unescape(&en.text().await.unwrap());
    assert!(en.contains("Not saved: Wed 25/11.") && en.contains("Give the start and the end of each slot."), "{en}");
}

#[tokio::test]
async fn a_night_slot_must_end_before_the_next_days_hours() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    app.clock.set(utc(2026, 11, 23, 9, 0));
    let luna = app.signed_in("/expert/login", LUNA, demo::DEMO_PASSWORD).await;
    let id = user(&app, LUNA).await.id;
    let (mon, tue) = (paris_today(&app), paris_today(&app) + Duration::days(1));
    let morning: &[(&str, &str)] = &[("01:00", "05:00")];
    assert_eq!(post_planning(&luna, &app, &tue.to_string(), &[(tue, morning)]).await.url().path(), "/expert/planning");
    // A night running into Tuesday's saved morning is refused, Tuesday kept.
    let night: &[(&str, &str)] = &[("23:00", "03:00")];
    let refused = post_planning(&luna, &app, &mon.to_string(), &[(mon, night)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = augure_testkit::unescape(&refused.text().await.unwrap());
    assert!(day_fieldset(&html, mon).contains("Le créneau de nuit déborde sur les horaires du lendemain."), "{html}");
    assert!(html.contains("Pas enregistré : lun. 23/11.") && !html.contains("Enregistré :"), "{html}");
    assert_eq!(app.store.planning(id, mon, tue).await.unwrap().len(), 1, "only Tuesday's morning");
    // Both at once: the night is saved and the morning that runs into it is refused.
    let both = post_planning(&luna, &app, "all", &[(mon, night), (tue, &[("02:00", "06:00")])]).await;
    let html = augure_testkit::unescape(&both.text().await.unwrap());
    assert!(
        day_fieldset(&html, tue).contains("Ce jour commence avant la fin du créneau de nuit de la veille."),
        "{html}"
    );
    // Refused, Tuesday keeps its saved morning, which the night runs into: refused too.
    assert!(day_fieldset(&html, mon).contains("Le créneau de nuit déborde"), "{html}");
    assert!(html.contains("Pas enregistré : lun. 23/11, mar. 24/11."), "{html}");
    // Moving the morning to after the night lets both in.
    let fixed = post_planning(&luna, &app, "all", &[(mon, night), (tue, &[("03:00", "06:00")])]).await;
    assert_eq!(fixed.url().path(), "/expert/planning");
    assert!(fixed.text().await.unwrap().contains("Planning enregistré."));
    assert_eq!(app.store.planning(id, mon, tue).await.unwrap().len(), 2);
}

fn back_mails(mails: &[augure_store::StoredMail], subject: &str) -> usize {
    mails.iter().filter(|m| m.mail.subject == subject).count()
}

#[tokio::test]
async fn back_alert_emails_once_when_the_expert_returns() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = user(&app, LUNA).await;
    let code = luna.expert_code.unwrap().0;
    let profile = format!("/experts/{code}");
    app.app.availability.change(luna.id, Change::Unavailable).await.unwrap();
    // Claire (French) asks from the profile page.
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let page = claire.get(app.url(&profile)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("action=\"/experts/{code}/alert\"")), "{page}");
    let asked = claire.post(app.url(&format!("{profile}/alert"))).send().await.unwrap();
    assert_eq!(asked.url().path(), profile);
    let html = asked.text().await.unwrap();
    assert!(html.contains("nous vous enverrons un email dès que Luna sera de nouveau disponible"), "{html}");
    assert!(!html.contains("id=\"alert-ask\""));
    // Sam (English) asks through the API; asking twice is harmless.
    let sam = app.api_token("sam@augure.localhost", demo::DEMO_PASSWORD).await;
    let ask = || app.client.post(app.url(&format!("/api/v1/experts/{code}/alert"))).bearer_auth(&sam).send();
    assert_eq!(ask().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(ask().await.unwrap().status(), StatusCode::OK);
    // Nothing is sent while she is away.
    app.drain_jobs().await;
    let (fr, en) = ("Luna est de nouveau disponible", "Luna is available again");
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, fr), 0);
    // She comes back: one mail each, in each client's language, with the profile link.
    app.app.availability.change(luna.id, Change::Available).await.unwrap();
    app.drain_jobs().await;
    let claire_mails = app.mails_to("claire@augure.localhost").await;
    assert_eq!(back_mails(&claire_mails, fr), 1);
    let mail = claire_mails.iter().find(|m| m.mail.subject == fr).unwrap();
    let link = app.url(&profile);
    assert!(mail.mail.text_body.contains(&link) && mail.mail.html_body.contains(&link), "{}", mail.mail.text_body);
    assert_eq!(back_mails(&app.mails_to("sam@augure.localhost").await, en), 1);
    assert_eq!(back_mails(&app.mails_to("giulia@augure.localhost").await, "Luna è di nuovo disponibile"), 0);
    // Going away and back again sends nothing more.
    app.app.availability.change(luna.id, Change::Unavailable).await.unwrap();
    app.app.availability.change(luna.id, Change::Available).await.unwrap();
    app.clock.advance(Duration::minutes(1));
    app.app.availability.change(luna.id, Change::Unavailable).await.unwrap();
    app.app.availability.change(luna.id, Change::Available).await.unwrap();
    app.drain_jobs().await;
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, fr), 1);
    assert_eq!(back_mails(&app.mails_to("sam@augure.localhost").await, en), 1);
    // Available now: the button is gone and asking is refused.
    let page = claire.get(app.url(&profile)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"alert-ask\"") && !page.contains("Retour prévu"));
    assert_eq!(ask().await.unwrap().status(), StatusCode::CONFLICT);
    // WG-pause: a pause ends by itself, with no write; the alert still goes out then.
    app.app.availability.change(luna.id, Change::Pause).await.unwrap();
    claire.post(app.url(&format!("{profile}/alert"))).send().await.unwrap();
    app.clock.advance(Duration::minutes(19));
    app.drain_jobs().await;
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, fr), 1, "still paused");
    app.clock.advance(Duration::minutes(1));
    app.drain_jobs().await;
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, fr), 2, "told when the pause ended");
    assert!(!app.store.has_back_alert(user(&app, "claire@augure.localhost").await.id, luna.id).await.unwrap());
}

#[tokio::test]
async fn anonymous_alert_redirects_to_login() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = user(&app, LUNA).await;
    let code = luna.expert_code.unwrap().0;
    app.app.availability.change(luna.id, Change::Unavailable).await.unwrap();
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"alert-ask\"") && page.contains("Connectez-vous pour être prévenu"));
    let anonymous = TestApp::client_without_redirects();
    let response = anonymous.post(app.url(&format!("/experts/{code}/alert"))).send().await.unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], format!("/login?next=%2Fexperts%2F{code}"));
    assert!(app.store.pending_back_alerts(luna.id).await.unwrap().is_empty());
    // The API wants a token.
    let api = app.client.post(app.url(&format!("/api/v1/experts/{code}/alert"))).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    // Experts do not ask for alerts.
    let orion = app.signed_in("/expert/login", "orion@augure.localhost", demo::DEMO_PASSWORD).await;
    let refused = orion.post(app.url(&format!("/experts/{code}/alert"))).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("Seuls les clients"));
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    assert_eq!(claire.post(app.url("/experts/999999/alert")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn back_alert_fires_when_the_dashboard_brings_chat_back() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let selene = user(&app, "selene@augure.localhost").await;
    // Chat only: live while a dashboard is open (SP-chat-presence).
    app.app.availability.change(selene.id, Change::Mode(augure_domain::Mode::Phone, false)).await.unwrap();
    app.clock.advance(Duration::seconds(91));
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let code = selene.expert_code.unwrap().0;
    claire.post(app.url(&format!("/experts/{code}/alert"))).send().await.unwrap();
    assert!(app.store.has_back_alert(user(&app, "claire@augure.localhost").await.id, selene.id).await.unwrap());
    app.drain_jobs().await;
    let subject = "Sélène est de nouveau disponible";
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, subject), 0);
    // Her dashboard reconnects: chat is live again, and Claire is told.
    app.app.availability.heartbeat(selene.id).await.unwrap();
    app.app.availability.heartbeat(selene.id).await.unwrap();
    app.drain_jobs().await;
    assert_eq!(back_mails(&app.mails_to("claire@augure.localhost").await, subject), 1);
}

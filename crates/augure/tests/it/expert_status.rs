//! SP-status, WG-pause, WG-channels, SP-ranking and SP-return as the pages say them: the
//! expert's dashboard makes one statement (paused until, unavailable, not listed and why,
//! available at a position), the same the listing applies, and a paused expert's public
//! profile says when the pause ends.

use augure_app::availability::Change;
use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str, lang: &str) -> String {
    let response = client.get(app.url(path)).header("accept-language", lang).send().await.unwrap();
    unescape(&response.text().await.unwrap())
}

/// The dashboard's `#availability` paragraph, from its opening tag to its end.
fn statement(html: &str) -> &str {
    let start = html.find("<p id=\"availability\"").unwrap_or_else(|| panic!("no statement in {html}"));
    let end = start + html[start..].find("</p>").unwrap();
    &html[start..end]
}

async fn change(client: &reqwest::Client, app: &TestApp, value: &str) -> String {
    let response = client.post(app.url("/expert/availability")).form(&[("change", value)]).send().await.unwrap();
    assert_eq!(response.url().path(), "/expert/dashboard");
    unescape(&response.text().await.unwrap())
}

/// The listing's entry for an expert code, if listed.
async fn listed(app: &TestApp, code: u32) -> Option<Value> {
    let list: Vec<Value> =
        app.client.get(app.url(&format!("/api/v1/experts?q={code}"))).send().await.unwrap().json().await.unwrap();
    list.into_iter().find(|e| e["expert_code"] == code)
}

#[tokio::test]
async fn a_new_expert_going_available_is_told_what_the_profile_lacks_until_listed() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let expert = TestApp::new_client();
    let signed_up = expert
        .post(app.url("/expert/signup"))
        .form(&[
            ("display_name", "Maëlle"),
            ("email", "maelle@example.fr"),
            ("password", "correct horse"),
            ("site", "FR"),
            ("accept_terms", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.url().path(), "/expert/dashboard");
    let code = app.store.user_by_email(&"maelle@example.fr".parse().unwrap()).await.unwrap().expert_code.unwrap().0;
    change(&expert, &app, "mode:phone:on").await;
    let html = change(&expert, &app, "available").await;
    // Told what is missing, with the way to fix it; never a position nobody sees.
    let said = statement(&html);
    assert!(said.contains("data-state=\"not-listed\"") && !said.contains("data-position"), "{said}");
    assert!(
        said.contains(
            "Vous n'apparaissez pas dans la liste des experts : il manque à votre profil une accroche, \
             une spécialité, une langue parlée, un prix par minute."
        ),
        "{said}"
    );
    assert!(said.contains("href=\"/expert/profile/edit\""), "{said}");
    assert!(!html.contains("position 8"), "{html}");
    assert!(listed(&app, code).await.is_none(), "and indeed not listed");
    let it = page(&expert, &app, "/expert/dashboard", "it").await;
    assert!(statement(&it).contains("al tuo profilo manca una frase di presentazione, una specialità"), "{it}");
    let en = page(&expert, &app, "/expert/dashboard", "en").await;
    assert!(statement(&en).contains("your profile still needs a headline, a specialty, a spoken language"), "{en}");
    // The profile filled in: listed, and the dashboard gives the listing's own position.
    let form = [
        ("headline", "Tarot et pendule"),
        ("specialty", "tarot"),
        ("language", "fr"),
        ("mode", "phone"),
        ("site", "FR"),
        ("price_per_minute", "2,50"),
        ("accept_terms", "yes"),
    ];
    let saved = expert.post(app.url("/expert/profile/edit")).form(&form).send().await.unwrap();
    assert!(saved.url().query().is_some_and(|q| q.contains("saved")), "{}", saved.text().await.unwrap());
    let html = page(&expert, &app, "/expert/dashboard", "fr").await;
    let said = statement(&html);
    assert!(said.contains("data-state=\"available\" data-position=\"5\""), "{said}");
    assert!(said.contains("Disponible — position 5 sur 8 dans le classement."), "{said}");
    assert_eq!(listed(&app, code).await.expect("listed now")["position"], 5);
}

#[tokio::test]
async fn paused_or_with_every_mode_off_the_dashboard_and_the_profile_say_so() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    // Monday 23 November 2026, 14:00 in Paris (UTC+1), 08:00 in Toronto.
    app.clock.set(utc(2026, 11, 23, 13, 0));
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let id = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap().id;
    app.app.availability.heartbeat(id).await.unwrap();
    let code = app.store.user_by_id(id).await.unwrap().expert_code.unwrap().0;
    let profile = format!("/experts/{code}");
    let html = page(&luna, &app, "/expert/dashboard", "fr").await;
    assert!(statement(&html).contains("Disponible — position 1 sur 8 dans le classement."), "{html}");
    // WG-pause: paused until 14:20, nothing about a position.
    let html = change(&luna, &app, "pause").await;
    let said = statement(&html);
    assert!(said.contains("data-state=\"paused\"") && !said.contains("position"), "{said}");
    assert!(
        said.contains("En pause jusqu'au 23 nov. 2026, 14:20 : vous redevenez disponible automatiquement."),
        "{said}"
    );
    assert!(html.contains("value=\"resume\""), "the button to come back");
    // The public profile says when the pause ends, in the viewer's site's zone.
    let anonymous = page(&app.client, &app, &profile, "fr").await;
    assert!(anonymous.contains("En pause jusqu'au 23 nov. 2026, 14:20."), "{anonymous}");
    assert!(!anonymous.contains("Pas de retour prévu"), "{anonymous}");
    let sam = app.signed_in("/login", "sam@augure.localhost", demo::DEMO_PASSWORD).await;
    let toronto = page(&sam, &app, &profile, "en").await;
    assert!(toronto.contains("On a break until 23 Nov 2026, 08:20."), "Sam's site is in Toronto: {toronto}");
    let giulia = app.signed_in("/login", "giulia@augure.localhost", demo::DEMO_PASSWORD).await;
    assert!(page(&giulia, &app, &profile, "it").await.contains("In pausa fino al 23 nov 2026, 14:20."));
    // The listing and the API agree: expected back at the pause's end.
    let entry = listed(&app, code).await.unwrap();
    assert_eq!(
        (entry["position"].as_u64(), entry["expected_return"].as_str()),
        (Some(8), Some("2026-11-23T13:20:00Z"))
    );
    let planning: Value = app
        .client
        .get(app.url(&format!("/api/v1/experts/{code}/planning")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(planning["expected_return"], "2026-11-23T13:20:00Z");
    // Back now, then every mode off: unavailable, whatever the status button says.
    change(&luna, &app, "resume").await;
    for mode in ["phone", "chat", "email"] {
        change(&luna, &app, &format!("mode:{mode}:off")).await;
    }
    let html = page(&luna, &app, "/expert/dashboard", "fr").await;
    let said = statement(&html);
    assert!(said.contains("data-state=\"no-mode\"") && !said.contains("Disponible"), "{said}");
    assert!(said.contains("Indisponible : aucun mode n'est activé."), "{said}");
    let public = page(&app.client, &app, &profile, "fr").await;
    assert!(public.contains("id=\"availability\">Indisponible<"), "{public}");
    // Paused with every mode off: the pause ends with nothing live, and the profile does
    // not promise a return at its end.
    let html = change(&luna, &app, "pause").await;
    assert!(
        statement(&html).contains("En pause jusqu'au 23 nov. 2026, 14:20. Aucun mode n'est activé"),
        "{}",
        statement(&html)
    );
    let public = page(&app.client, &app, &profile, "fr").await;
    assert!(public.contains("Pas de retour prévu") && !public.contains("En pause"), "{public}");
    // The expert's own choice.
    change(&luna, &app, "mode:phone:on").await;
    let html = change(&luna, &app, "unavailable").await;
    assert!(statement(&html).contains("data-state=\"unavailable\""), "{html}");
    assert!(statement(&html).contains("Indisponible : les clients voient votre retour prévu"), "{html}");
    // And once the pause is over by itself, available again at the listing's position.
    change(&luna, &app, "available").await;
    change(&luna, &app, "pause").await;
    app.clock.advance(chrono::Duration::minutes(20));
    let html = page(&luna, &app, "/expert/dashboard", "fr").await;
    assert!(statement(&html).contains("data-state=\"available\" data-position=\"5\""), "{html}");
    assert_eq!(listed(&app, code).await.unwrap()["position"], 5);
    app.app.availability.change(id, Change::Unavailable).await.unwrap();
    assert_eq!(listed(&app, code).await.unwrap()["position"], 8);
}

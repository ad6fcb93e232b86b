//! SP-profile, SP-options, AT-min and SP-contract: the expert's profile editor.

use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;

fn profile_form(per_minute: &str) -> Vec<(&'static str, String)> {
    [
        ("headline", "Tarot et runes, avec douceur"),
        ("specialty", "tarot"),
        ("specialty", "numerology"),
        ("language", "fr"),
        ("other_languages", "nl"),
        ("mode", "phone"),
        ("mode", "email"),
        ("site", "FR"),
        ("price_per_minute", per_minute),
        ("email_price", "30"),
        ("package_price", "45"),
        ("package_minutes", "30"),
        ("free_minutes", "3"),
        ("email_needs", "Vos prénoms et dates de naissance."),
        ("legal_name", "Luna Martin"),
        ("country", "fr"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

async fn save(client: &reqwest::Client, app: &TestApp, form: &[(&'static str, String)]) -> (StatusCode, String) {
    let response = client.post(app.url("/expert/profile/edit")).form(form).send().await.unwrap();
    (response.status(), unescape(&response.text().await.unwrap()))
}

#[tokio::test]
async fn at_min_prices_below_the_site_minimum_are_refused_and_sp_contract_asks_for_acceptance() {
    let app = TestApp::spawn_with(|s| s.pricing.default.per_minute = 150).await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let dashboard = unescape(&luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap());
    assert!(dashboard.contains("id=\"terms-banner\""), "never accepted: asked");

    let (status, page) = save(&luna, &app, &profile_form("2.50")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Acceptez les conditions"), "{page}");

    let mut cheap = profile_form("1,20");
    cheap.push(("accept_terms", "yes".into()));
    let (status, page) = save(&luna, &app, &cheap).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("prix par minute doit être d'au moins 1,50"), "{page}");
    assert!(page.contains("value=\"Tarot et runes, avec douceur\""), "the form keeps what was typed");

    let mut no_email_price = profile_form("2,50");
    no_email_price.retain(|(k, _)| *k != "email_price");
    no_email_price.push(("accept_terms", "yes".into()));
    assert!(save(&luna, &app, &no_email_price).await.1.contains("prix par email"));

    let mut good = profile_form("2,50");
    good.push(("accept_terms", "yes".into()));
    let (status, page) = save(&luna, &app, &good).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"profile-saved\"") && page.contains("value=\"45,00\"") && page.contains("value=\"nl\""));
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(!dashboard.contains("terms-banner"), "accepted");

    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let details = app.store.expert_details(me.id).await.unwrap();
    let prices = &app.store.expert_profile(me.id).await.unwrap().prices[0];
    let package = prices.package.map(|p| (p.price.minor, p.minutes));
    assert_eq!((package, prices.free_minutes), (Some((4500, 30)), 3));
    assert_eq!(details.terms_version, Some(1));
    let code = me.expert_code.unwrap().0;
    let api: serde_json::Value =
        app.client.get(app.url(&format!("/api/v1/experts?q={code}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(api[0]["price_per_minute"], 250);
    assert_eq!(api[0]["specialties"], serde_json::json!(["tarot", "numerology"]));
    assert_eq!(api[0]["languages"], serde_json::json!(["fr", "nl"]));
    let public =
        unescape(&app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap().text().await.unwrap());
    assert!(public.contains("45,00\u{a0}€ pour 30 min"), "the package");
    assert!(public.contains("3 premières minutes offertes"), "free minutes");
    assert!(public.contains("Vos prénoms et dates de naissance."), "what to send by email");
    assert!(!public.contains("Luna Martin"), "civil data stays private");
}

#[tokio::test]
async fn sp_contract_a_new_terms_version_asks_again() {
    let app = TestApp::spawn_with(|s| s.terms.version = 2).await;
    demo::seed(&app.app).await.unwrap();
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let mut details = augure_store::ExpertDetails::empty(me.id, augure_domain::Clock::now(&app.clock));
    details.terms_version = Some(1);
    app.store.save_expert_details(&details).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("terms-banner"), "version 1 accepted, version 2 current");
    luna.post(app.url("/expert/terms")).send().await.unwrap();
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(!dashboard.contains("terms-banner"));
    assert_eq!(app.store.expert_details(me.id).await.unwrap().terms_version, Some(2));
}

#[tokio::test]
async fn sp_options_specialties_come_from_the_admin_list() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    admin.post(app.url("/admin/specialties")).form(&[("key", "runes"), ("label", "Runes")]).send().await.unwrap();
    admin.post(app.url("/admin/specialties")).form(&[("key", "tarot"), ("toggle", "1")]).send().await.unwrap();
    let bad = admin.post(app.url("/admin/specialties")).form(&[("key", "Bad Key!")]).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let editor = luna.get(app.url("/expert/profile/edit")).send().await.unwrap().text().await.unwrap();
    assert!(editor.contains("value=\"runes\"") && editor.contains("Runes"));
    assert!(!editor.contains("value=\"tarot\""), "a withdrawn specialty is not offered");
    let mut form = profile_form("2,50");
    form.push(("accept_terms", "yes".into()));
    let (status, page) = save(&luna, &app, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "tarot is withdrawn");
    assert!(page.contains("au moins une spécialité"));
}

async fn listed_on(app: &TestApp, site: &str) -> Vec<String> {
    let list: serde_json::Value =
        app.client.get(app.url(&format!("/api/v1/experts?site={site}"))).send().await.unwrap().json().await.unwrap();
    list.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
}

/// The same profile and media over the API; the listing per site follows the sites the
/// expert chose.
#[tokio::test]
async fn the_profile_and_media_work_over_the_api_and_sites_decide_where_an_expert_is_listed() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    assert!(listed_on(&app, "FR").await.contains(&"Luna".to_owned()));
    assert!(!listed_on(&app, "CH").await.contains(&"Luna".to_owned()), "not on a site of another currency");
    let unknown = app.client.get(app.url("/api/v1/experts?site=ZZ")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let luna = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let own: serde_json::Value =
        app.client.get(app.url("/api/v1/me/profile")).bearer_auth(&luna).send().await.unwrap().json().await.unwrap();
    assert_eq!(own["terms_pending"], true);
    let body = serde_json::json!({
        "headline": "Tarot, avec douceur", "specialties": ["tarot"], "languages": ["fr"], "modes": ["phone", "chat"],
        "sites": ["FR", "BE", "CH"], "price_per_minute": "0.50", "accept_terms": true
    });
    let cheap = app.client.put(app.url("/api/v1/me/profile")).bearer_auth(&luna).json(&body).send().await.unwrap();
    assert_eq!(cheap.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(cheap.headers()["content-type"], "application/problem+json");
    let mut body = body;
    body["price_per_minute"] = "2.10".into();
    let mixed = app.client.put(app.url("/api/v1/me/profile")).bearer_auth(&luna).json(&body).send().await.unwrap();
    assert_eq!(mixed.status(), StatusCode::UNPROCESSABLE_ENTITY, "euros and Swiss francs");
    body["sites"] = serde_json::json!(["FR", "BE"]);
    let saved = app.client.put(app.url("/api/v1/me/profile")).bearer_auth(&luna).json(&body).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let saved: serde_json::Value = saved.json().await.unwrap();
    assert_eq!((saved["price_per_minute"].as_i64(), saved["terms_pending"].as_bool()), (Some(210), Some(false)));
    assert_eq!(saved["sites"].as_array().unwrap().len(), 2);
    assert!(listed_on(&app, "BE").await.contains(&"Luna".to_owned()));
    body["sites"] = serde_json::json!(["FR"]);
    app.client.put(app.url("/api/v1/me/profile")).bearer_auth(&luna).json(&body).send().await.unwrap();
    assert!(!listed_on(&app, "BE").await.contains(&"Luna".to_owned()), "withdrawn from Belgium");

    let photo = app
        .client
        .post(app.url("/api/v1/me/media/photo"))
        .bearer_auth(&luna)
        .body(crate::media::png(640, 480))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::CREATED);
    let photo: serde_json::Value = photo.json().await.unwrap();
    assert_eq!((photo["status"].as_str(), photo["width"].as_u64()), (Some("pending"), Some(640)));
    let bad = app
        .client
        .post(app.url("/api/v1/me/media/audio"))
        .bearer_auth(&luna)
        .body(b"not an mp3 at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let admin = app.api_token(demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let forbidden = app.client.get(app.url("/api/v1/admin/moderation")).bearer_auth(&luna).send().await.unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let queue: serde_json::Value = app
        .client
        .get(app.url("/api/v1/admin/moderation"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    let decided = app
        .client
        .post(app.url(&format!("/api/v1/admin/moderation/{}", photo["id"])))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"approve": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::OK);
    let mine: serde_json::Value =
        app.client.get(app.url("/api/v1/me/media")).bearer_auth(&luna).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine[0]["status"], "approved");
    let doc: serde_json::Value =
        app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(
        doc["paths"]["/api/v1/me/profile"]["put"].is_object() && doc["paths"]["/api/v1/experts"]["get"].is_object()
    );
}

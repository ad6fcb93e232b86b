//! SP-profile, SP-options, AT-min and SP-contract: the expert's profile editor.

use augure_app::demo;
use augure_testkit::TestApp;
use reqwest::StatusCode;

async fn signed_in(app: &TestApp, path: &str, email: &str, password: &str) -> reqwest::Client {
    let client = TestApp::new_client();
    client.post(app.url(path)).form(&[("email", email), ("password", password)]).send().await.unwrap();
    client
}

fn unescape(html: &str) -> String {
    html.replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&")
}

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
    let luna = signed_in(&app, "/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
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
    assert!(page.contains("id=\"profile-saved\"") && page.contains("value=\"45.00\"") && page.contains("value=\"nl\""));
    let dashboard = luna.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(!dashboard.contains("terms-banner"), "accepted");

    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let details = app.store.expert_details(me.id).await.unwrap();
    assert_eq!((details.package_price, details.package_minutes, details.free_minutes), (Some(4500), Some(30), 3));
    assert_eq!(details.terms_version, Some(1));
    let code = me.expert_code.unwrap().0;
    let api: serde_json::Value =
        app.client.get(app.url(&format!("/api/v1/experts?q={code}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(api[0]["price_per_minute"], 250);
    assert_eq!(api[0]["specialties"], serde_json::json!(["tarot", "numerology"]));
    assert_eq!(api[0]["languages"], serde_json::json!(["fr", "nl"]));
}

#[tokio::test]
async fn sp_contract_a_new_terms_version_asks_again() {
    let app = TestApp::spawn_with(|s| s.terms.version = 2).await;
    demo::seed(&app.app).await.unwrap();
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let mut details = augure_store::ExpertDetails::empty(me.id, augure_domain::Clock::now(&app.clock));
    details.terms_version = Some(1);
    app.store.save_expert_details(&details).await.unwrap();
    let luna = signed_in(&app, "/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
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
    let admin = signed_in(&app, "/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    admin.post(app.url("/admin/specialties")).form(&[("key", "runes"), ("label", "Runes")]).send().await.unwrap();
    admin.post(app.url("/admin/specialties")).form(&[("key", "tarot"), ("toggle", "1")]).send().await.unwrap();
    let bad = admin.post(app.url("/admin/specialties")).form(&[("key", "Bad Key!")]).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let luna = signed_in(&app, "/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let editor = luna.get(app.url("/expert/profile/edit")).send().await.unwrap().text().await.unwrap();
    assert!(editor.contains("value=\"runes\"") && editor.contains("Runes"));
    assert!(!editor.contains("value=\"tarot\""), "a withdrawn specialty is not offered");
    let mut form = profile_form("2,50");
    form.push(("accept_terms", "yes".into()));
    let (status, page) = save(&luna, &app, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "tarot is withdrawn");
    assert!(page.contains("au moins une spécialité"));
}

//! B17: every amount an admin or an expert types is bounded by a setting, so one mistyped
//! pack or price cannot wedge a currency's shared ledger accounts or drain a client.

use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn text(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), unescape(&response.text().await.unwrap()))
}

#[tokio::test]
async fn the_admin_pack_form_refuses_a_price_or_bonus_above_the_settings() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let ca = app.store.site_by_code(&"CA".parse().unwrap()).await.unwrap();
    let before = app.store.credit_packs(ca.id).await.unwrap();

    let form = [("site", "CA"), ("price", "92233720368547758.07"), ("bonus", "")];
    let (status, page) = text(admin.post(app.url("/admin/packs")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Une formule de crédit coûte au plus 10\u{202f}000,00"), "{page}");
    assert!(page.contains("value=\"92233720368547758.07\""), "the form keeps what was typed");
    assert!(page.contains("<option value=\"CA\" selected>"), "and the site chosen");

    let form = [("site", "CA"), ("price", "20"), ("bonus", "5000,01")];
    let (status, page) = text(admin.post(app.url("/admin/packs")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("au plus 5\u{202f}000,00"), "{page}");
    assert!(page.contains("value=\"5000,01\""), "{page}");

    assert_eq!(app.store.credit_packs(ca.id).await.unwrap(), before, "no pack added");
    let still = admin.get(app.url("/admin/packs")).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK, "the admin is still signed in");

    let form = [("site", "CA"), ("price", "10000"), ("bonus", "5000")];
    let added = admin.post(app.url("/admin/packs")).form(&form).send().await.unwrap();
    assert_eq!(added.url().path(), "/admin/packs", "the bounds themselves are accepted");
    assert_eq!(app.store.credit_packs(ca.id).await.unwrap().len(), before.len() + 1);
}

#[tokio::test]
async fn the_pack_bounds_are_settings() {
    let app = TestApp::spawn_with(|s| s.pricing.max_pack_price = 5_000).await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let form = [("site", "FR"), ("price", "50,01"), ("bonus", "")];
    let (status, page) = text(admin.post(app.url("/admin/packs")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("au plus 50,00\u{a0}€"), "{page}");
}

fn profile_form(field: &'static str, price: &str) -> Vec<(&'static str, String)> {
    let mut form: Vec<(&'static str, String)> = [
        ("headline", "Tarot et runes"),
        ("specialty", "tarot"),
        ("language", "fr"),
        ("mode", "phone"),
        ("mode", "email"),
        ("site", "FR"),
        ("price_per_minute", "2,50"),
        ("email_price", "30"),
        ("package_price", "45"),
        ("package_minutes", "30"),
        ("accept_terms", "yes"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    form.retain(|(k, _)| *k != field);
    form.push((field, price.to_owned()));
    form
}

#[tokio::test]
async fn expert_prices_above_the_maximums_are_refused() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let before = app.store.expert_profile(me.id).await.ok();
    for (field, price, maximum) in [
        ("price_per_minute", "100,01", "100,00\u{a0}€"),
        ("price_per_minute", "92233720368547758.07", "100,00\u{a0}€"),
        ("email_price", "1000,01", "1\u{202f}000,00\u{a0}€"),
        ("package_price", "10000,01", "10\u{202f}000,00\u{a0}€"),
    ] {
        let form = profile_form(field, price);
        let (status, page) = text(luna.post(app.url("/expert/profile/edit")).form(&form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field} {price}: {page}");
        assert!(page.contains(&format!("dépasse le maximum autorisé ({maximum})")), "{field} {price}: {page}");
        assert!(page.contains(&format!("value=\"{price}\"")), "the form keeps what was typed");
    }
    assert_eq!(app.store.expert_profile(me.id).await.ok(), before, "nothing saved");

    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let body = json!({
        "headline": "Tarot", "specialties": ["tarot"], "languages": ["fr"], "modes": ["phone"],
        "sites": ["FR"], "price_per_minute": "250", "accept_terms": true,
    });
    let response = app
        .client
        .put(app.url("/api/v1/me/profile"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert!(problem["title"].as_str().unwrap().contains("above the maximum allowed (€100.00)"), "{problem}");

    let (status, page) = text(
        luna.post(app.url("/expert/profile/edit")).form(&profile_form("price_per_minute", "100")).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the maximum itself is accepted: {page}");
}

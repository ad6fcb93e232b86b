//! B16: one rule for the free text people type. A control character (NUL, which
//! PostgreSQL refuses outright) in any field is refused with a clear message, the form
//! shown again as typed; a name of invisible characters only is refused; emails are
//! parsed as addresses; a webhook whose ids carry a control character is a bad payload.

use augure_app::demo;
use augure_domain::Clock;
use augure_store::PurchaseStatus;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONTROL_FR: &str = "caractère de contrôle";
const CONTROL_EN: &str = "control character";
const INVISIBLE_FR: &str = "au moins un caractère visible";

async fn demo_app() -> TestApp {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    app
}

async fn text(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), unescape(&response.text().await.unwrap()))
}

/// A problem+json answer's status and title, asked in English.
async fn problem(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    (status, body["title"].as_str().unwrap_or_default().to_owned())
}

fn profile_form() -> Vec<(&'static str, String)> {
    [
        ("headline", "Tarot et runes, avec douceur"),
        ("specialty", "tarot"),
        ("language", "fr"),
        ("mode", "phone"),
        ("site", "FR"),
        ("price_per_minute", "2,50"),
        ("email_needs", "Vos prénoms.\r\nEt vos dates de naissance."),
        ("legal_name", "Luna Martin"),
        ("city", "Lyon"),
        ("country", "fr"),
        ("accept_terms", "yes"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

const PROFILE_TEXT_FIELDS: [&str; 11] = [
    "headline",
    "email_needs",
    "legal_name",
    "company_name",
    "company_number",
    "vat_number",
    "address",
    "postal_code",
    "city",
    "country",
    "phone",
];

#[tokio::test]
async fn a_nul_in_any_profile_field_is_refused_with_the_message_and_the_form_kept() {
    let app = demo_app().await;
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let before = app.store.expert_profile(me.id).await.ok();
    for field in PROFILE_TEXT_FIELDS {
        let mut form = profile_form();
        form.retain(|(k, _)| *k != field);
        form.push((field, "L\0n".into()));
        let (status, page) = text(luna.post(app.url("/expert/profile/edit")).form(&form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {page}");
        assert!(page.contains(CONTROL_FR), "{field}: {page}");
        if field != "legal_name" {
            assert!(page.contains("value=\"Luna Martin\""), "{field}: the form keeps what was typed");
        }
    }
    assert_eq!(app.store.expert_profile(me.id).await.ok(), before, "nothing saved");

    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    for field in ["headline", "email_needs", "city"] {
        let mut body = json!({
            "headline": "Tarot", "specialties": ["tarot"], "languages": ["fr"], "modes": ["phone"],
            "sites": ["FR"], "price_per_minute": "2.50", "accept_terms": true,
        });
        body[field] = json!("a\u{0}b");
        let response = app
            .client
            .put(app.url("/api/v1/me/profile"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, title) = problem(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(title.contains(CONTROL_EN), "{field}: {title}");
    }
    assert_eq!(app.store.expert_profile(me.id).await.ok(), before, "nothing saved");

    // Several lines stay allowed where the field is a text area.
    let (status, page) =
        text(luna.post(app.url("/expert/profile/edit")).form(&profile_form()).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
}

#[tokio::test]
async fn a_headline_or_a_holder_of_invisible_characters_only_is_refused() {
    let app = demo_app().await;
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let mut form = profile_form();
    form.retain(|(k, _)| *k != "headline");
    form.push(("headline", "\u{202E}\u{200B}".into()));
    let (status, page) = text(luna.post(app.url("/expert/profile/edit")).form(&form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(INVISIBLE_FR), "{page}");
    let bank = [("payout_method", "pay_pal"), ("holder", "\u{2066}\u{FEFF}\u{2069}"), ("paypal_email", "luna@x.fr")];
    let (status, page) = text(luna.post(app.url("/expert/bank")).form(&bank).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(INVISIBLE_FR), "{page}");
}

#[tokio::test]
async fn a_nul_in_the_bank_details_is_refused_on_the_form_and_the_api() {
    let app = demo_app().await;
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let before = app.store.bank_details(me.id).await.ok();
    let good = [
        ("payout_method", "bank_transfer"),
        ("holder", "Luna Martin"),
        ("bank_name", "BNP"),
        ("bank_country", "fr"),
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("bic", "BNPAFRPP"),
    ];
    for field in ["holder", "bank_name", "bank_country", "iban", "bic"] {
        let form: Vec<(&str, String)> =
            good.iter().map(|(k, v)| (*k, if *k == field { format!("{v}\0") } else { (*v).to_owned() })).collect();
        let (status, page) = text(luna.post(app.url("/expert/bank")).form(&form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {page}");
        assert!(page.contains(CONTROL_FR), "{field}: {page}");
        if field != "bank_name" {
            assert!(page.contains("value=\"BNP\""), "{field}: the form keeps what was typed");
        }
    }
    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let response = app
        .client
        .put(app.url("/api/v1/me/bank"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"payout_method": "pay_pal", "holder": "Luna\u{0}", "paypal_email": "luna@x.fr"}))
        .send()
        .await
        .unwrap();
    let (status, title) = problem(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(title.contains(CONTROL_EN), "{title}");
    assert_eq!(app.store.bank_details(me.id).await.ok(), before, "nothing saved");
}

#[tokio::test]
async fn a_nul_in_a_presentation_or_a_refusal_reason_is_refused() {
    let app = demo_app().await;
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let typed = "Tarologue depuis vingt ans,\0 j'éclaire vos choix avec douceur.";
    let response =
        luna.post(app.url("/expert/profile/presentation")).form(&[("locale", "fr"), ("text", typed)]).send().await;
    let (status, page) = text(response.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(CONTROL_FR), "{page}");
    assert!(page.contains("j'éclaire vos choix avec douceur."), "the text area keeps what was typed");
    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let response = app
        .client
        .put(app.url("/api/v1/me/media/presentation"))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"locale": "fr", "text": typed}))
        .send()
        .await
        .unwrap();
    let (status, title) = problem(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(title.contains(CONTROL_EN), "{title}");
    assert!(app.app.media.queue(10).await.unwrap().is_empty(), "nothing reached the queue");

    let fine = "Tarologue depuis vingt ans, j'éclaire vos choix avec douceur.";
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let item = app.app.media.submit_presentation(me.id, "fr", fine).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let response = admin
        .post(app.url(&format!("/admin/moderation/{}", item.id)))
        .form(&[("decision", "refuse"), ("reason", "Trop\0 court")])
        .send()
        .await
        .unwrap();
    let (status, page) = text(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(CONTROL_FR), "{page}");
    assert_eq!(app.app.media.queue(10).await.unwrap().len(), 1, "still waiting");
}

#[tokio::test]
async fn sign_up_refuses_a_comma_email_and_names_with_nothing_visible_or_a_nul() {
    let app = TestApp::spawn().await;
    let page_form = |name: &'static str, email: &'static str| {
        [("display_name", name), ("email", email), ("password", "correct horse"), ("site", "")]
    };
    let (status, page) =
        text(app.client.post(app.url("/signup")).form(&page_form("Marie", "a,b@x.fr")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("value=\"Marie\""), "the form keeps what was typed");
    for (name, message) in [("\u{202E}\u{200B}", INVISIBLE_FR), ("Ma\0rie", CONTROL_FR)] {
        let response = app.client.post(app.url("/signup")).form(&page_form(name, "marie@x.fr")).send().await;
        let (status, page) = text(response.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {page}");
        assert!(page.contains(message), "{name:?}: {page}");
        assert!(page.contains("value=\"marie@x.fr\""), "the form keeps what was typed");
    }
    for (email, name) in [("a,b@x.fr", "Marie"), ("marie@x.fr", "\u{202E}\u{200B}"), ("marie@x.fr", "Ma\u{0}rie")] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/signup"))
            .header("accept-language", "en")
            .json(&json!({"email": email, "password": "correct horse", "display_name": name, "role": "client"}))
            .send()
            .await
            .unwrap();
        let (status, _) = problem(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{email} {name:?}");
    }
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn a_nul_in_a_specialty_label_is_refused_on_the_admin_form() {
    let app = demo_app().await;
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let response = admin.post(app.url("/admin/specialties")).form(&[("key", "runes"), ("label", "Ru\0nes")]).send();
    let (status, page) = text(response.await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(CONTROL_FR), "{page}");
    assert!(app.app.profiles.specialties().await.unwrap().iter().all(|s| s.key != "runes"));
}

/// The ids of a payment event end up in text columns: a control character in any of them
/// is refused as a bad payload (400), before the purchase is credited.
#[tokio::test]
async fn a_webhook_with_a_nul_in_its_ids_is_a_bad_payload_and_credits_nothing() {
    let app = demo_app().await;
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let fr = app.store.site_by_code(&"FR".parse().unwrap()).await.unwrap();
    let pack = app.store.credit_packs(fr.id).await.unwrap().into_iter().find(|p| p.price.minor == 1000).unwrap();
    claire.post(app.url("/wallet/purchases")).form(&[("pack_id", pack.id.to_string())]).send().await.unwrap();
    let purchase = app.store.recent_purchases(1, 0).await.unwrap().remove(0);
    let payments = augure_adapters::TestPayments::new(
        &app.app.settings.public_url,
        app.app.settings.payments.webhook_secrets.clone(),
    );
    let secret = &app.app.settings.payments.webhook_secrets[0];
    let (body, _) = payments.completed_event(&purchase, app.clock.now());
    let event: Value = serde_json::from_str(&body).unwrap();
    for pointer in ["/id", "/data/object/payment_intent", "/data/object/currency"] {
        let mut event = event.clone();
        let field = event.pointer_mut(pointer).unwrap();
        *field = json!(format!("{}\0", field.as_str().unwrap()));
        let body = event.to_string();
        let signature = augure_adapters::stripe_signature::sign(secret, body.as_bytes(), app.clock.now().timestamp());
        let response = app
            .client
            .post(app.url("/webhooks/payments"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, _) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{pointer}");
    }
    assert_eq!(app.store.purchase(purchase.id).await.unwrap().status, PurchaseStatus::Pending);
    let wallet = claire.get(app.url("/wallet")).send().await.unwrap().text().await.unwrap();
    assert!(wallet.contains("id=\"available\">0,00\u{a0}€<"), "nothing credited");
}

//! The OpenAPI document describes the server as configured (B20), and what a program
//! needs to buy credit is in the API: the packs on sale.

use augure_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn document(app: &TestApp) -> Value {
    app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap()
}

async fn demo_token(app: &TestApp, login: &str) -> String {
    let email = format!("{login}@augure.localhost");
    let password = augure_app::demo::DEMO_PASSWORD;
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_document_states_the_limits_the_settings_impose() {
    let app = TestApp::spawn_with(|s| {
        s.accounts.password.min_len = 11;
        s.accounts.password.max_len = 64;
    })
    .await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let doc = document(&app).await;
    let signup = &doc["components"]["schemas"]["SignUpRequest"]["properties"];
    assert_eq!(signup["password"]["minLength"], 11);
    assert_eq!(signup["password"]["maxLength"], 64);
    assert_eq!(signup["display_name"]["maxLength"], 80);
    assert_eq!(signup["email"]["format"], "email");
    assert_eq!(signup["accept_terms"]["enum"], json!([true]));
    // The sites a new account may choose are the server's own.
    assert_eq!(signup["site"]["enum"], json!(["FR", "BE", "LU", "CH", "CA", null]));
    assert_eq!(doc["components"]["schemas"]["ResetRequest"]["properties"]["password"]["minLength"], 11);
}

#[tokio::test]
async fn every_operation_lists_what_it_can_answer() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(has(status), "{method} {path} does not list {status}");
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401") && has("403"), "{method} {path} does not list 401 and 403");
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "path") {
                assert!(has("404"), "{method} {path} does not list 404");
            }
            // Every refusal is a problem document.
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                assert!(
                    response["content"].get("application/problem+json").is_some(),
                    "{method} {path} {status} is not problem+json"
                );
            }
        }
    }
    let filters = doc["paths"]["/api/v1/experts"]["get"]["parameters"].as_array().unwrap();
    assert!(filters.iter().all(|p| p["in"] == "query" && p["required"] == false));
    let max_price = filters.iter().find(|p| p["name"] == "max_price").unwrap();
    assert!(max_price["schema"]["anyOf"].as_array().is_some(), "an empty max_price (the form's 'any') is declared");
}

#[tokio::test]
async fn packs_on_sale_are_listed_for_the_callers_site() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let packs = |query: &'static str, token: Option<String>| {
        let mut request = app.client.get(app.url(&format!("/api/v1/packs{query}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let anonymous: Value = packs("", None).await.unwrap().json().await.unwrap();
    let listed: Vec<_> =
        anonymous.as_array().unwrap().iter().map(|p| (p["site"].clone(), p["price"].clone())).collect();
    assert_eq!(listed, [(json!("FR"), json!(1000)), (json!("FR"), json!(2000)), (json!("FR"), json!(5000))]);
    assert_eq!(anonymous[1]["bonus"], 200);
    assert_eq!(anonymous[1]["currency"], "EUR");

    // Giulia's home site is Switzerland: her packs are in francs, and she can buy one.
    let giulia = demo_token(&app, "giulia").await;
    let hers: Value = packs("", Some(giulia.clone())).await.unwrap().json().await.unwrap();
    assert!(hers.as_array().unwrap().iter().all(|p| p["currency"] == "CHF" && p["site"] == "CH"));
    let pack_id = hers[0]["id"].as_i64().unwrap();
    let bought = app
        .client
        .post(app.url("/api/v1/purchases"))
        .bearer_auth(&giulia)
        .json(&json!({ "pack_id": pack_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(bought.status(), StatusCode::CREATED);

    let canada: Value = packs("?site=CA", None).await.unwrap().json().await.unwrap();
    assert!(canada.as_array().unwrap().iter().all(|p| p["currency"] == "CAD"));
    assert_eq!(packs("?site=ZZ", None).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(packs("", Some("not-a-token".into())).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pack_id_written_as_a_whole_float_is_read_as_that_integer() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let claire = demo_token(&app, "claire").await;
    let packs: Value = app.client.get(app.url("/api/v1/packs")).send().await.unwrap().json().await.unwrap();
    let id = packs[0]["id"].as_i64().unwrap();
    let buy = |body: Value| app.client.post(app.url("/api/v1/purchases")).bearer_auth(&claire).json(&body).send();
    // JSON Schema counts 3.0 as the integer 3: a generated client may send it so.
    assert_eq!(buy(json!({ "pack_id": id as f64 })).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(buy(json!({ "pack_id": id as f64 + 0.5 })).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_presentation_takes_the_exact_language_codes_the_document_lists() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let luna = demo_token(&app, "luna").await;
    let text = "Bonjour, je suis Luna. ".repeat(10);
    let save = |locale: &'static str| {
        app.client
            .put(app.url("/api/v1/me/media/presentation"))
            .bearer_auth(&luna)
            .json(&json!({ "locale": locale, "text": text }))
            .send()
    };
    assert_eq!(save("FR").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(save("fr").await.unwrap().status(), StatusCode::CREATED);
    let doc = document(&app).await;
    assert_eq!(
        doc["components"]["schemas"]["PresentationRequest"]["properties"]["locale"]["enum"],
        json!(["fr", "it", "en"])
    );
}

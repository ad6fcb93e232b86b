//! Accounts through the JSON API: sign-up, tokens, password reset, limits (SP-login, SP-code).

use augure_testkit::TestApp;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub async fn api_signup(app: &TestApp, email: &str, role: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": "correct horse", "display_name": "Marie", "role": role, "accept_terms": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn token_for(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap()
}

/// The reset token in the last reset mail sent to `email`.
pub async fn reset_token_from_mail(app: &TestApp, email: &str) -> String {
    app.drain_jobs().await;
    let mails = app.mails_to(email).await;
    let mail = mails.iter().rev().find(|m| m.mail.text_body.contains("/password/reset/")).expect("a reset mail");
    let text = &mail.mail.text_body;
    let start = text.find("/password/reset/").unwrap() + "/password/reset/".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn sp_login_api_signup_returns_a_working_token_and_queues_a_welcome_mail() {
    let app = TestApp::spawn().await;
    let body = api_signup(&app, "marie@example.fr", "client").await;
    assert_eq!(body["user"]["role"], "client");
    assert_eq!(body["user"]["expert_code"], Value::Null);
    let token = body["token"].as_str().unwrap();
    let me = me(&app, token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["email"], "marie@example.fr");
    assert!(app.mails_to("marie@example.fr").await.is_empty(), "mail waits for the job runner");
    assert_eq!(app.drain_jobs().await.done, 1);
    let mails = app.mails_to("marie@example.fr").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].mail.subject, "Bienvenue sur augure");
    assert!(mails[0].mail.html_body.contains("<a href=\""));
}

#[tokio::test]
async fn sp_code_every_expert_gets_a_distinct_numeric_code() {
    let app = TestApp::spawn().await;
    let mut codes = Vec::new();
    for i in 0..6 {
        let body = api_signup(&app, &format!("expert{i}@example.fr"), "expert").await;
        let code = body["user"]["expert_code"].as_u64().expect("a numeric code");
        assert!((1000..10_000).contains(&code), "4 digits: {code}");
        codes.push(code);
    }
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 6);
    app.drain_jobs().await;
    let mail = &app.mails_to("expert0@example.fr").await[0].mail;
    assert!(mail.text_body.contains("code expert"), "the welcome mail gives the code: {}", mail.text_body);
}

#[tokio::test]
async fn duplicate_email_is_a_409_problem_and_creates_nothing() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({
            "email": "Marie@Example.fr", "password": "another pass", "display_name": "M", "role": "expert", "accept_terms": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 409);
    assert_eq!(problem["title"], "Un compte existe déjà avec cette adresse email.");
    assert_eq!(app.store.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn problems_speak_the_callers_language() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("accept-language", "it-IT,it;q=0.9")
        .json(&json!({"email": "nobody@example.fr", "password": "whatever123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.json::<Value>().await.unwrap()["title"], "Email o password errata.");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    let wrong = token_for(&app, "marie@example.fr", "not the password").await;
    let unknown = token_for(&app, "nobody@example.fr", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json::<Value>().await.unwrap(), unknown.json::<Value>().await.unwrap());
    assert_eq!(token_for(&app, "MARIE@example.fr", "correct horse").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_revoked_token_no_longer_works() {
    let app = TestApp::spawn().await;
    let token = api_signup(&app, "marie@example.fr", "client").await["token"].as_str().unwrap().to_owned();
    let revoked = app.client.delete(app.url("/api/v1/auth/token")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, "made-up").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_expire_after_their_lifetime() {
    let app = TestApp::spawn().await;
    let token = api_signup(&app, "marie@example.fr", "client").await["token"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::hours(app.app.settings.accounts.api_token_ttl_hours) - Duration::minutes(1));
    assert_eq!(me(&app, &token).await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(me(&app, &token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sp_login_password_reset_by_emailed_single_use_link() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    let forgot = app
        .client
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({"email": "marie@example.fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let token = reset_token_from_mail(&app, "marie@example.fr").await;
    let reset = |password: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/auth/password/reset"))
                .json(&json!({"token": token, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(reset("brand new pass").await.status(), StatusCode::NO_CONTENT);
    assert_eq!(token_for(&app, "marie@example.fr", "correct horse").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(token_for(&app, "marie@example.fr", "brand new pass").await.status(), StatusCode::OK);
    let reused = reset("attacker pass!").await;
    assert_eq!(reused.status(), StatusCode::GONE);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["title"],
        "Ce lien a déjà servi. Demandez-en un nouveau si besoin."
    );
    assert_eq!(token_for(&app, "marie@example.fr", "brand new pass").await.status(), StatusCode::OK);
}

/// B11: the link is written when the mail is sent; the job queue never holds it.
#[tokio::test]
async fn a_sent_reset_link_is_in_no_job() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    let forgot = app
        .client
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({"email": "marie@example.fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let token = reset_token_from_mail(&app, "marie@example.fr").await;
    let jobs = app.store.list_jobs(None, 100).await.unwrap();
    assert_eq!(jobs.len(), 2, "the welcome and the reset mail");
    for job in jobs {
        assert!(!job.payload.to_string().contains(&token), "{} keeps the link: {}", job.kind, job.payload);
    }
}

#[tokio::test]
async fn an_expired_reset_link_changes_nothing() {
    let app = TestApp::spawn().await;
    api_signup(&app, "marie@example.fr", "client").await;
    app.client
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({"email": "marie@example.fr"}))
        .send()
        .await
        .unwrap();
    let token = reset_token_from_mail(&app, "marie@example.fr").await;
    app.clock.advance(Duration::minutes(app.app.settings.accounts.reset_link_ttl_minutes));
    let response = app
        .client
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({"token": token, "password": "brand new pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(token_for(&app, "marie@example.fr", "correct horse").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn reset_for_an_unknown_address_reveals_nothing_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/password/forgot"))
        .json(&json!({"email": "nobody@example.fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(app.drain_jobs().await.done, 0);
    let unknown = app
        .client
        .post(app.url("/api/v1/auth/password/reset"))
        .json(&json!({"token": "forged", "password": "brand new pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address() {
    let app = TestApp::spawn_with(|s| s.limits.sign_in_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(token_for(&app, "nobody@example.fr", "guess guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = token_for(&app, "nobody@example.fr", "guess guess").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["content-type"], "application/problem+json");
}

async fn token_via_proxy(app: &TestApp, forwarded_for: &str, email: &str) -> StatusCode {
    let response = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "guess guess"}))
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_limited_apart() {
    let app = TestApp::spawn_with(|s| {
        s.limits.sign_in_per_minute = 2;
        s.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(token_via_proxy(&app, "203.0.113.1", "a@example.fr").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(token_via_proxy(&app, "203.0.113.1", "a@example.fr").await, StatusCode::TOO_MANY_REQUESTS);
    // Another person behind the same proxy still has their own allowance.
    assert_eq!(token_via_proxy(&app, "203.0.113.2", "b@example.fr").await, StatusCode::UNAUTHORIZED);
    // What the client wrote left of our proxy's entry changes nothing.
    let spoofed = "198.51.100.9, 203.0.113.1";
    assert_eq!(token_via_proxy(&app, spoofed, "c@example.fr").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(|s| {
        s.limits.sign_in_per_minute = 2;
        s.http.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    // The test client is not a listed proxy: a new made-up address each time buys nothing.
    for n in 1..=2 {
        assert_eq!(token_via_proxy(&app, &format!("203.0.113.{n}"), "a@example.fr").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(token_via_proxy(&app, "203.0.113.3", "a@example.fr").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_in_on_one_account_from_many_addresses_is_limited() {
    let app = TestApp::spawn_with(|s| {
        s.limits.sign_in_per_account = 3;
        s.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    api_signup(&app, "marie@example.fr", "client").await;
    for n in 1..=3 {
        assert_eq!(
            token_via_proxy(&app, &format!("203.0.113.{n}"), "marie@example.fr").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(token_via_proxy(&app, "203.0.113.4", "MARIE@example.fr").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(token_via_proxy(&app, "203.0.113.5", "other@example.fr").await, StatusCode::UNAUTHORIZED);
    // The window passes on the injected clock: the account may be tried again.
    app.clock.advance(Duration::minutes(i64::from(app.app.settings.limits.sign_in_account_minutes)));
    assert_eq!(token_for(&app, "marie@example.fr", "correct horse").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_up_and_reset_are_rate_limited_too() {
    let app = TestApp::spawn_with(|s| {
        s.limits.sign_up_per_hour = 1;
        s.limits.password_reset_per_hour = 1;
    })
    .await;
    api_signup(&app, "a@example.fr", "client").await;
    let second = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "b@example.fr", "password": "correct horse", "display_name": "B", "role": "client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.store.count_users().await.unwrap(), 1);
    let forgot =
        || app.client.post(app.url("/api/v1/auth/password/forgot")).json(&json!({"email": "a@example.fr"})).send();
    assert_eq!(forgot().await.unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(forgot().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn admins_cannot_be_created_through_sign_up() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "x@example.fr", "password": "correct horse", "display_name": "X", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

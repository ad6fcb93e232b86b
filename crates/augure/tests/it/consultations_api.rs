//! Consultations and live chat over the JSON API (issue 11, "API"): a whole chat driven
//! with bearer tokens, the money each party reads (the client its charge, the expert the
//! split), the transcript, a third party who sees nothing, retries under one
//! `Idempotency-Key`, and bad input answered with problem documents, never a 500.

use augure_app::demo::DEMO_PASSWORD;
use augure_domain::consultation::EndReason;
use augure_domain::tariff::{self, Plan};
use augure_store::ConsultationStatus;
use augure_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chat::{advance_heard, chat_demo, run_timers, user};

async fn token(app: &TestApp, login: &str) -> String {
    app.api_token(&format!("{login}@augure.localhost"), DEMO_PASSWORD).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = app.client.post(app.url(path)).bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// A refusal: the status asked for, as an RFC 9457 problem document.
async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let body = json_of(response, status).await;
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    body
}

async fn luna_code(app: &TestApp) -> u32 {
    user(app, "luna").await.expert_code.unwrap().0
}

/// Claire (holding 22 €) rings Luna over the API; Luna accepts. Returns their tokens and
/// the chat's id.
async fn api_chat(app: &TestApp) -> (String, String, i64) {
    let (claire, luna) = (token(app, "claire").await, token(app, "luna").await);
    let started = post(app, &claire, &format!("/api/v1/experts/{}/chats", luna_code(app).await), None).await;
    let id = json_of(started, StatusCode::CREATED).await["id"].as_i64().unwrap();
    json_of(post(app, &luna, &format!("/api/v1/consultations/{id}/accept"), None).await, StatusCode::NO_CONTENT).await;
    (claire, luna, id)
}

async fn say(app: &TestApp, token: &str, id: i64, text: &str) -> Value {
    let sent = post(app, token, &format!("/api/v1/consultations/{id}/messages"), Some(json!({ "text": text }))).await;
    json_of(sent, StatusCode::CREATED).await
}

#[tokio::test]
async fn a_chat_runs_over_the_api_and_each_party_reads_its_money() {
    let (app, _) = chat_demo().await;
    let (claire, luna) = (token(&app, "claire").await, token(&app, "luna").await);
    let path = format!("/api/v1/experts/{}/chats", luna_code(&app).await);
    let ringing =
        json_of(post(&app, &claire, &path, Some(json!({ "package": false }))).await, StatusCode::CREATED).await;
    let id = ringing["id"].as_i64().unwrap();
    assert_eq!((ringing["status"].clone(), ringing["role"].clone()), (json!("ringing"), json!("client")));
    assert_eq!((ringing["channel"].clone(), ringing["other"].clone()), (json!("chat"), json!("Luna")));
    assert_eq!((ringing["charge"].clone(), ringing["started_at"].clone()), (Value::Null, Value::Null));
    assert!(ringing.get("earnings").is_none() && ringing.get("commission").is_none(), "{ringing}");
    let seen = json_of(get(&app, &luna, &format!("/api/v1/consultations/{id}")).await, StatusCode::OK).await;
    assert_eq!((seen["role"].clone(), seen["other"].clone()), (json!("expert"), json!("Claire")));
    assert_eq!((seen["commission"].clone(), seen["earnings"].clone()), (Value::Null, Value::Null), "{seen}");

    let accept = format!("/api/v1/consultations/{id}/accept");
    problem(post(&app, &claire, &accept, None).await, StatusCode::FORBIDDEN).await;
    json_of(post(&app, &luna, &accept, None).await, StatusCode::NO_CONTENT).await;
    problem(post(&app, &luna, &accept, None).await, StatusCode::CONFLICT).await;

    let messages = format!("/api/v1/consultations/{id}/messages");
    let first = json!({ "text": "Bonjour Luna", "key": "c-1" });
    let mine = json_of(post(&app, &claire, &messages, Some(first.clone())).await, StatusCode::CREATED).await;
    assert_eq!(
        (mine["seq"].clone(), mine["author"].clone(), mine["mine"].clone()),
        (json!(1), json!("client"), json!(true))
    );
    assert_eq!((mine["key"].clone(), mine["image"].clone()), (json!("c-1"), Value::Null));
    let again = json_of(post(&app, &claire, &messages, Some(first)).await, StatusCode::CREATED).await;
    assert_eq!(again["seq"], 1, "the same key again is the message already sent");
    advance_heard(&app, augure_domain::ConsultationId(id), 30).await;
    say(&app, &luna, id, "Bonjour Claire, je vous écoute.").await;
    for _ in 0..3 {
        advance_heard(&app, augure_domain::ConsultationId(id), 100).await;
        say(&app, &claire, id, "Et ensuite ?").await;
        say(&app, &luna, id, "Je vois…").await;
    }
    advance_heard(&app, augure_domain::ConsultationId(id), 7).await;

    let transcript = json_of(get(&app, &luna, &messages).await, StatusCode::OK).await;
    let transcript = transcript.as_array().unwrap();
    assert_eq!(transcript.len(), 8, "one message per key: {transcript:?}");
    assert_eq!((transcript[0]["mine"].clone(), transcript[0]["key"].clone()), (json!(false), Value::Null));
    assert_eq!((transcript[1]["author"].clone(), transcript[1]["mine"].clone()), (json!("expert"), json!(true)));
    assert!(transcript[0]["sent_at"].as_str().unwrap().ends_with('Z'));
    let later = json_of(get(&app, &claire, &format!("{messages}?after=6")).await, StatusCode::OK).await;
    let seqs: Vec<_> = later.as_array().unwrap().iter().map(|m| m["seq"].clone()).collect();
    assert_eq!(seqs, [json!(7), json!(8)]);

    json_of(post(&app, &claire, &format!("/api/v1/consultations/{id}/leave"), None).await, StatusCode::NO_CONTENT)
        .await;
    run_timers(&app).await;
    problem(post(&app, &claire, &format!("/api/v1/consultations/{id}/leave"), None).await, StatusCode::CONFLICT).await;

    let c = app.store.consultation(augure_domain::ConsultationId(id)).await.unwrap();
    assert_eq!((c.status, c.billable_seconds), (ConsultationStatus::Settled, 307), "billed from Luna's first reply");
    let luna_user = user(&app, "luna").await;
    let prices = app.app.pricing.expert_on_site(luna_user.id, &"FR".parse().unwrap()).await.unwrap().unwrap();
    let first_time = Plan::PerMinute { first_with_expert: true };
    let rules = app.app.settings.consultations.tariff_rules();
    let expected = tariff::charge(&prices, first_time, 307, &rules).unwrap().charge;
    assert!(expected.minor > 0);

    let client_view = json_of(get(&app, &claire, &format!("/api/v1/consultations/{id}")).await, StatusCode::OK).await;
    assert_eq!(client_view["status"], "settled");
    assert_eq!(client_view["billable_seconds"], 307);
    assert_eq!(client_view["charge"], json!({ "minor": expected.minor, "currency": "EUR" }), "the tariff's charge");
    assert_eq!(client_view["end_reason"], EndReason::ClientLeft.as_str());
    assert!(client_view["started_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{client_view}");
    assert!(client_view["ended_at"].as_str().is_some());
    assert!(client_view.get("earnings").is_none() && client_view.get("commission").is_none(), "{client_view}");

    let expert_view = json_of(get(&app, &luna, &format!("/api/v1/consultations/{id}")).await, StatusCode::OK).await;
    assert_eq!(expert_view["charge"], client_view["charge"]);
    let (commission, earnings) = (&expert_view["commission"], &expert_view["earnings"]);
    assert_eq!((commission["currency"].clone(), earnings["currency"].clone()), (json!("EUR"), json!("EUR")));
    let split = commission["minor"].as_i64().unwrap() + earnings["minor"].as_i64().unwrap();
    assert_eq!(split, expected.minor, "commission + earnings = charge: {expert_view}");
    assert!(commission["minor"].as_i64().unwrap() > 0 && earnings["minor"].as_i64().unwrap() > 0);
    let ended = c.ended.unwrap();
    assert_eq!(
        (commission["minor"].clone(), earnings["minor"].clone()),
        (json!(ended.commission), json!(ended.earnings))
    );

    for (token, role) in [(&claire, "client"), (&luna, "expert")] {
        let list = json_of(get(&app, token, "/api/v1/consultations").await, StatusCode::OK).await;
        assert_eq!((list[0]["id"].clone(), list[0]["role"].clone()), (json!(id), json!(role)), "newest first");
    }
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn a_ring_refused_or_withdrawn_over_the_api_is_lost_with_nothing_paid() {
    let (app, _) = chat_demo().await;
    let (claire, luna) = (token(&app, "claire").await, token(&app, "luna").await);
    let path = format!("/api/v1/experts/{}/chats", luna_code(&app).await);
    let id = json_of(post(&app, &claire, &path, None).await, StatusCode::CREATED).await["id"].as_i64().unwrap();
    problem(post(&app, &claire, &format!("/api/v1/consultations/{id}/refuse"), None).await, StatusCode::FORBIDDEN)
        .await;
    let messages = format!("/api/v1/consultations/{id}/messages");
    problem(post(&app, &claire, &messages, Some(json!({ "text": "Allô ?" }))).await, StatusCode::CONFLICT).await;
    json_of(post(&app, &luna, &format!("/api/v1/consultations/{id}/refuse"), None).await, StatusCode::NO_CONTENT).await;
    run_timers(&app).await;
    let lost = json_of(get(&app, &claire, &format!("/api/v1/consultations/{id}")).await, StatusCode::OK).await;
    assert_eq!((lost["status"].clone(), lost["end_reason"].clone()), (json!("lost"), json!("refused")));
    assert_eq!((lost["charge"].clone(), lost["billable_seconds"].clone()), (Value::Null, json!(0)));

    // A `null` body is no body: by the minute.
    let again = post(&app, &claire, &path, Some(Value::Null)).await;
    let id = json_of(again, StatusCode::CREATED).await["id"].as_i64().unwrap();
    json_of(post(&app, &claire, &format!("/api/v1/consultations/{id}/leave"), None).await, StatusCode::NO_CONTENT)
        .await;
    run_timers(&app).await;
    let withdrawn = json_of(get(&app, &luna, &format!("/api/v1/consultations/{id}")).await, StatusCode::OK).await;
    assert_eq!((withdrawn["status"].clone(), withdrawn["end_reason"].clone()), (json!("lost"), json!("client_left")));
    assert_eq!((withdrawn["commission"].clone(), withdrawn["earnings"].clone()), (Value::Null, Value::Null));
}

#[tokio::test]
async fn a_third_party_gets_404_for_someone_elses_chat() {
    let (app, _) = chat_demo().await;
    let (claire, _luna, id) = api_chat(&app).await;
    say(&app, &claire, id, "Bonjour").await;
    let (orion, giulia) = (token(&app, "orion").await, token(&app, "giulia").await);
    for stranger in [&orion, &giulia] {
        problem(get(&app, stranger, &format!("/api/v1/consultations/{id}")).await, StatusCode::NOT_FOUND).await;
        let messages = format!("/api/v1/consultations/{id}/messages");
        problem(get(&app, stranger, &messages).await, StatusCode::NOT_FOUND).await;
        problem(post(&app, stranger, &messages, Some(json!({ "text": "coucou" }))).await, StatusCode::NOT_FOUND).await;
        for action in ["accept", "refuse", "leave"] {
            let path = format!("/api/v1/consultations/{id}/{action}");
            problem(post(&app, stranger, &path, None).await, StatusCode::NOT_FOUND).await;
        }
        let theirs = json_of(get(&app, stranger, "/api/v1/consultations").await, StatusCode::OK).await;
        assert!(theirs.as_array().unwrap().iter().all(|c| c["id"] != id), "not listed: {theirs}");
    }
    let image = format!("/api/v1/consultations/{id}/images/1");
    problem(get(&app, &claire, &image).await, StatusCode::NOT_FOUND).await;
    problem(get(&app, &orion, &image).await, StatusCode::NOT_FOUND).await;
    assert_eq!(app.store.chat_messages(augure_domain::ConsultationId(id), 0, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_is_answered_with_a_problem_document() {
    let (app, _) = chat_demo().await;
    let (claire, luna, id) = api_chat(&app).await;
    let messages = format!("/api/v1/consultations/{id}/messages");
    let url = app.url(&messages);
    let unauthenticated = app.client.get(app.url("/api/v1/consultations")).send().await.unwrap();
    problem(unauthenticated, StatusCode::UNAUTHORIZED).await;
    problem(get(&app, &claire, "/api/v1/consultations/abc").await, StatusCode::NOT_FOUND).await;
    problem(get(&app, &claire, "/api/v1/consultations/99999999999999999999").await, StatusCode::NOT_FOUND).await;
    problem(get(&app, &claire, "/api/v1/consultations/424242").await, StatusCode::NOT_FOUND).await;
    for after in ["x", "-1", "1.5"] {
        problem(get(&app, &claire, &format!("{messages}?after={after}")).await, StatusCode::BAD_REQUEST).await;
    }
    let sends = [
        (json!({ "text": 5 }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "text": "ok", "colour": "red" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(["Bonjour"]), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "text": "   " }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "text": "x".repeat(2001) }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "text": "ok", "key": "" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "text": "ok", "key": "k".repeat(65) }), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in sends {
        problem(post(&app, &claire, &messages, Some(body)).await, status).await;
    }
    let raw = |body: &'static str, content_type: &'static str| {
        app.client.post(url.clone()).bearer_auth(&claire).header("content-type", content_type).body(body).send()
    };
    problem(raw("{\"text\": ", "application/json").await.unwrap(), StatusCode::BAD_REQUEST).await;
    problem(raw("text=hello", "application/x-www-form-urlencoded").await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .await;

    let chats = format!("/api/v1/experts/{}/chats", luna_code(&app).await);
    problem(post(&app, &luna, &chats, None).await, StatusCode::FORBIDDEN).await;
    problem(post(&app, &claire, "/api/v1/experts/99999/chats", None).await, StatusCode::NOT_FOUND).await;
    problem(post(&app, &claire, "/api/v1/experts/luna/chats", None).await, StatusCode::NOT_FOUND).await;
    problem(post(&app, &claire, &chats, Some(json!({ "package": "yes" }))).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    problem(post(&app, &claire, &chats, Some(json!([true]))).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let form = app.client.post(app.url(&chats)).bearer_auth(&claire).form(&[("package", "true")]).send().await;
    problem(form.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    // Luna is in this chat: a second ring finds her busy.
    problem(post(&app, &claire, &chats, None).await, StatusCode::CONFLICT).await;
    let key = app.client.post(app.url(&chats)).bearer_auth(&claire).header("idempotency-key", "   ").send().await;
    problem(key.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn a_retried_request_under_one_idempotency_key_acts_once() {
    let (app, _) = chat_demo().await;
    let (claire, luna) = (token(&app, "claire").await, token(&app, "luna").await);
    let chats = format!("/api/v1/experts/{}/chats", luna_code(&app).await);
    let start = || app.client.post(app.url(&chats)).bearer_auth(&claire).header("idempotency-key", "ring-1").send();
    let first = start().await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first, StatusCode::CREATED).await;
    let retried = start().await.unwrap();
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(retried, StatusCode::CREATED).await, first, "the first answer again, not a second ring");
    let id = first["id"].as_i64().unwrap();
    let reused = app
        .client
        .post(app.url(&format!("/api/v1/consultations/{id}/leave")))
        .bearer_auth(&claire)
        .header("idempotency-key", "ring-1")
        .send()
        .await
        .unwrap();
    problem(reused, StatusCode::UNPROCESSABLE_ENTITY).await;

    json_of(post(&app, &luna, &format!("/api/v1/consultations/{id}/accept"), None).await, StatusCode::NO_CONTENT).await;
    say(&app, &luna, id, "Bonjour").await;
    advance_heard(&app, augure_domain::ConsultationId(id), 60).await;
    let leave = || {
        app.client
            .post(app.url(&format!("/api/v1/consultations/{id}/leave")))
            .bearer_auth(&claire)
            .header("idempotency-key", "leave-1")
            .send()
    };
    json_of(leave().await.unwrap(), StatusCode::NO_CONTENT).await;
    run_timers(&app).await;
    let again = leave().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    json_of(again, StatusCode::NO_CONTENT).await;
    let c = app.store.consultation(augure_domain::ConsultationId(id)).await.unwrap();
    assert_eq!((c.status, c.billable_seconds), (ConsultationStatus::Settled, 60), "settled once");
    assert!(app.app.ledger.verify().await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn the_document_describes_the_chat_routes_and_points_to_the_socket_protocol() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/consultations", "get"),
        ("/api/v1/consultations/{id}", "get"),
        ("/api/v1/consultations/{id}/messages", "get"),
        ("/api/v1/consultations/{id}/messages", "post"),
        ("/api/v1/consultations/{id}/accept", "post"),
        ("/api/v1/consultations/{id}/refuse", "post"),
        ("/api/v1/consultations/{id}/leave", "post"),
        ("/api/v1/experts/{code}/chats", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} is documented");
    }
    let start = &paths["/api/v1/experts/{code}/chats"]["post"];
    assert!(start["description"].as_str().unwrap().contains("docs/chat-protocol.md"), "{start}");
    let params = start["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["schema"]["maxLength"] == 255));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["MessageRequest"]["properties"]["text"]["maxLength"], 2000);
    let reasons = schemas["ConsultationView"]["properties"]["end_reason"]["enum"].as_array().unwrap().clone();
    assert!(reasons.contains(&json!("client_left")) && reasons.contains(&Value::Null));
    let required = schemas["ConsultationView"]["required"].as_array().unwrap();
    assert!(required.contains(&json!("charge")) && !required.contains(&json!("earnings")), "{required:?}");
}

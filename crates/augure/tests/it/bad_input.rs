//! Bad input gets a clear 4xx, changes nothing, and never a 500.

use augure_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    request.send().await.unwrap()
}

async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), "{\"email\": ").await;
    let body = problem(r, StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().contains("JSON"), "{body}");
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_fields_are_refused_with_a_422() {
    let app = TestApp::spawn().await;
    let body =
        r#"{"email":"a@example.fr","password":"correct horse","display_name":"A","role":"client","is_admin":true}"#;
    let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), body).await;
    let problem = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem["detail"].as_str().unwrap().contains("is_admin"), "{problem}");
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_422() {
    let app = TestApp::spawn().await;
    for body in [
        r#"{"email":42,"password":"correct horse","display_name":"A","role":"client"}"#,
        r#"{"email":"a@example.fr","display_name":"A","role":"client"}"#,
        r#"{"email":"a@example.fr","password":"correct horse","display_name":"A","role":"wizard"}"#,
        r#"[]"#,
    ] {
        let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), body).await;
        problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn json_without_its_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let r = post_raw(&app, "/api/v1/auth/token", Some("text/plain"), r#"{"email":"a@b.fr","password":"x"}"#).await;
    problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn oversized_bodies_are_a_413() {
    let app = TestApp::spawn().await;
    let big = format!(
        r#"{{"email":"a@example.fr","password":"correct horse","display_name":"{}","role":"client"}}"#,
        "x".repeat(200 * 1024)
    );
    let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), big.clone()).await;
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    let form = format!("display_name={}&email=a%40example.fr&password=correct+horse", "x".repeat(200 * 1024));
    let page = post_raw(&app, "/signup", Some("application/x-www-form-urlencoded"), form).await;
    assert_eq!(page.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn invalid_values_are_explained() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            r#"{"email":"not-an-email","password":"correct horse","display_name":"A","role":"client"}"#,
            "Cette adresse email n'est pas valide.",
        ),
        (
            r#"{"email":"a@example.fr","password":"short","display_name":"A","role":"client"}"#,
            "Le mot de passe doit contenir au moins 10 caractères.",
        ),
        (
            r#"{"email":"a@example.fr","password":"correct horse","display_name":"   ","role":"client"}"#,
            "Le pseudo doit contenir entre 1 et 80 caractères.",
        ),
        (
            r#"{"email":"a@example.fr","password":"correct horse","display_name":"A","role":"client","site":"XX"}"#,
            "Ce pays n'est pas proposé.",
        ),
        (
            r#"{"email":"a@example.fr","password":"correct horse","display_name":"A","role":"client","site":"not a code"}"#,
            "Ce pays n'est pas proposé.",
        ),
    ];
    for (body, title) in cases {
        let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), body).await;
        let problem = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["title"], title, "{body}");
    }
    let long_email = format!(
        r#"{{"email":"{}@example.fr","password":"correct horse","display_name":"A","role":"client"}}"#,
        "a".repeat(300)
    );
    let r = post_raw(&app, "/api/v1/auth/signup", Some("application/json"), long_email).await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_pages_are_localized_html_and_unknown_api_paths_are_problems() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert_eq!(page.headers()["content-language"], "fr");
    assert!(page.text().await.unwrap().contains("existe pas."));
    let api = app.client.get(app.url("/api/v1/nothing")).header("accept-language", "en").send().await.unwrap();
    let body = problem(api, StatusCode::NOT_FOUND).await;
    assert_eq!(body["title"], "This page does not exist.");
    let method = app.client.delete(app.url("/api/v1/sites")).send().await.unwrap();
    problem(method, StatusCode::METHOD_NOT_ALLOWED).await;
}

/// A sweep of odd requests: whatever happens, never a server error.
#[tokio::test]
async fn no_request_produces_a_500() {
    let app = TestApp::spawn().await;
    let paths = [
        "/",
        "/signup",
        "/expert/signup",
        "/login",
        "/expert/login",
        "/admin/login",
        "/logout",
        "/password/forgot",
        "/password/reset/x",
        "/password/reset/%00",
        "/lang",
        "/dashboard",
        "/expert/dashboard",
        "/admin",
        "/admin/outbox/abc",
        "/admin/outbox/99999999999999999999",
        "/api/v1/auth/signup",
        "/api/v1/auth/token",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
        "/api/v1/me",
        "/api/v1/sites",
        "/?site=%ZZ",
        "/?site=ZZZZ",
        "/static/app.css",
        "/healthz",
    ];
    let bodies: [(&str, &[u8]); 6] = [
        ("application/json", b"{}"),
        ("application/json", b"\xff\xfe\x00"),
        ("application/json", b"null"),
        ("application/x-www-form-urlencoded", b"email=%ZZ&password=%"),
        ("application/x-www-form-urlencoded", b"\xff\xff=\xff"),
        ("multipart/form-data", b"--x--"),
    ];
    for path in paths {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        assert!(get.status().as_u16() < 500, "GET {path}: {}", get.status());
        for (content_type, body) in bodies {
            let post =
                app.client.post(app.url(path)).header("content-type", content_type).body(body.to_vec()).send().await;
            let status = post.unwrap().status();
            assert!(status.as_u16() < 500, "POST {path} ({content_type}): {status}");
        }
        let bearer = app.client.get(app.url(path)).header("authorization", "Bearer \t!!!").send().await.unwrap();
        assert!(bearer.status().as_u16() < 500, "bad bearer on {path}");
    }
}

/// B22: a request declaring a body larger than any route accepts is refused at once with
/// 413, not held until the request timeout while the server waits for bytes never sent.
#[tokio::test]
async fn a_declared_ten_gigabyte_body_is_refused_at_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 10000000000\r\n\r\nemail=a",
        app.addr
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    // Well under the 30 s request timeout, which answered 408 before.
    tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_exact(&mut head))
        .await
        .expect("an answer before the request timeout")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
}

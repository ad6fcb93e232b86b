//! What operators and integrators rely on: health, readiness, metrics, the OpenAPI
//! document, and translations that cover every page.

use std::collections::BTreeSet;

use augure_app::I18n;
use augure_app::i18n::DEFAULT_LOCALE;
use augure_domain::{Mode, expert::DEFAULT_SPECIALTIES};
use augure_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], app.store.backend());
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    app.client.get(app.url("/password/reset/some-secret-token")).send().await.unwrap();
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("augure_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/password/reset/{token}\""), "routes, not raw paths: {text}");
    assert!(!text.contains("some-secret-token"));
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let css = app.client.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in
        ["/api/v1/auth/signup", "/api/v1/auth/token", "/api/v1/auth/password/reset", "/api/v1/me", "/api/v1/sites"]
    {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["SignUpRequest"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn sites_are_listed_with_currency_and_time_zone() {
    let app = TestApp::spawn().await;
    let empty: Value = app.client.get(app.url("/api/v1/sites")).send().await.unwrap().json().await.unwrap();
    assert_eq!(empty, serde_json::json!([]));
    augure_app::demo::seed(&app.app).await.unwrap();
    let sites: Value = app.client.get(app.url("/api/v1/sites")).send().await.unwrap().json().await.unwrap();
    let summary: Vec<_> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["code"].as_str().unwrap(),
                s["currency"].as_str().unwrap(),
                s["time_zone"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "FR EUR Europe/Paris",
            "BE EUR Europe/Brussels",
            "LU EUR Europe/Luxembourg",
            "CH CHF Europe/Zurich",
            "CA CAD America/Toronto"
        ]
    );
}

/// Every key a template or the code asks for exists in the reference (French) file; the
/// unit tests of `augure-app` check that Italian and English have the same keys.
#[test]
fn every_translation_key_in_use_exists() {
    let i18n = I18n::new();
    let known = i18n.keys(DEFAULT_LOCALE);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut used = BTreeSet::new();
    for dir in [
        "augure-web/templates",
        "augure-web/templates/admin",
        "augure-app/templates/mail",
        "augure-web/src",
        "augure-web/src/pages",
        "augure-app/src",
    ] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Keys appear as `t("key"`, `t1("key"` (templates, code) or `"err-key"` (errors).
            for pattern in ["t(\"", "t1(\"", "\"err-"] {
                for (i, _) in text.match_indices(pattern) {
                    // `tr.t("…"` but not `try_get("…"`.
                    if pattern != "\"err-" && !text[..i].ends_with('.') {
                        continue;
                    }
                    let start = if pattern == "\"err-" { i + 1 } else { i + pattern.len() };
                    let key: String =
                        text[start..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '-').collect();
                    if text[start + key.len()..].starts_with('"') && key.len() > 4 {
                        used.insert(key);
                    }
                }
            }
        }
    }
    for s in DEFAULT_SPECIALTIES {
        used.insert(format!("specialty-{s}"));
    }
    for m in Mode::ALL {
        used.insert(format!("mode-{m}"));
    }
    for k in augure_domain::ledger::AccountKind::ALL {
        used.insert(format!("ledger-kind-{}", k.as_str().replace('_', "-")));
    }
    for m in ["posted", "pending", "post-pending", "void-pending", "expire"] {
        used.insert(format!("ledger-mode-{m}"));
    }
    for m in 1..=12 {
        used.insert(format!("month-short-{m}"));
    }
    for k in ["refund", "dispute", "status-done", "status-open", "status-won", "status-lost"] {
        used.insert(format!("admin-incident-{k}"));
    }
    for c in
        ["purchase", "bonus", "refund", "refund-bonus", "refund-refused", "provider-refund", "dispute", "dispute-won"]
            .into_iter()
            .chain(["debt-repaid", "other"])
    {
        used.insert(format!("wallet-code-{c}"));
    }
    for r in ["client", "expert", "admin"] {
        used.insert(format!("role-{r}"));
    }
    for (_, key, _) in augure_web::flash::MESSAGES {
        used.insert((*key).to_owned());
    }
    assert!(used.len() > 60, "the scan found too few keys: {used:?}");
    let missing: Vec<_> = used.iter().filter(|k| !known.contains(*k)).collect();
    assert!(missing.is_empty(), "keys used but not translated: {missing:?}");
}

/// B14: personal pages are never kept by the browser (Back after signing out must not show
/// the wallet); static files stay cacheable.
#[tokio::test]
async fn private_pages_are_never_cached_and_static_files_are() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let claire = app.signed_in("/login", "claire@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    for page in ["/wallet", "/dashboard"] {
        let response = claire.get(app.url(page)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{page}");
    }
    let token = app.api_token("claire@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    let wallet = app.client.get(app.url("/api/v1/wallet")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(wallet.headers()["cache-control"], "no-store");
    let css = app.client.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
}

/// B14: with `http.metrics_token` set, `/metrics` answers only that bearer token.
#[tokio::test]
async fn metrics_can_be_restricted_to_a_token() {
    let app = TestApp::spawn_with(|s| s.http.metrics_token = Some("scrape-me".to_owned().into())).await;
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("scrape-you").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let scraper = app.client.get(app.url("/metrics")).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(scraper.status(), 200);
    assert!(scraper.text().await.unwrap().contains("augure_http_requests_total"));
}

#[tokio::test]
async fn robots_favicon_and_page_titles_name_what_they_are() {
    let app = TestApp::spawn().await;
    let robots = app.client.get(app.url("/robots.txt")).send().await.unwrap().text().await.unwrap();
    assert!(robots.contains("Disallow: /admin") && robots.contains("/sitemap.xml"), "{robots}");
    let icon = app.client.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    for (path, title) in [
        ("/login", "Connexion client"),
        ("/expert/login", "Connexion expert"),
        ("/admin/login", "Connexion administrateur"),
    ] {
        let html = app.client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&format!("<title>{title} · augure</title>")), "{path}");
    }
}

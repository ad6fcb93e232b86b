//! Quote (SPEC §3, issue 11): before consulting, a client reads the exact price of a
//! duration with an expert, computed by the tariff that bills it: free minutes on a first
//! consultation only (PH-free), the package and its overflow (PH-package), the per-minute
//! charge rounded on the total (WG-rate), and how long their credit lasts.

use augure_app::demo;
use augure_domain::consultation::{Channel, EndReason};
use augure_domain::ledger::AccountKind;
use augure_domain::pricing::{Package, SitePrices};
use augure_domain::tariff::{self, Plan, Rate};
use augure_domain::{Currency, Money, UserId};
use augure_store::{
    ConsultationAccounts, ConsultationStatus, ConsultationTerms, LedgerOwner, NewConsultation, Settled,
    SettlementRecord,
};
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::credit::{pay, shop, start_purchase};

const FIRST: Plan = Plan::PerMinute { first_with_expert: true };
const AGAIN: Plan = Plan::PerMinute { first_with_expert: false };

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::Eur)
}

async fn user_id(app: &TestApp, login: &str) -> UserId {
    app.store.user_by_email(&format!("{login}@augure.localhost").parse().unwrap()).await.unwrap().id
}

/// Gives the demo's Luna (2,99 €/min in France) `free_minutes` free minutes and
/// `package` in euros; returns her expert code.
async fn luna_sells(app: &TestApp, free_minutes: u32, package: Option<(i64, u32)>) -> u32 {
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let mut profile = app.store.expert_profile(luna.id).await.unwrap();
    let euros = profile.prices.iter_mut().find(|p| p.currency == Currency::Eur).unwrap();
    euros.free_minutes = free_minutes;
    euros.package = package.map(|(price, minutes)| Package { price: eur(price), minutes });
    app.store.upsert_expert_profile(&profile).await.unwrap();
    app.app.directory.changes().changed();
    luna.expert_code.unwrap().0
}

/// What Luna costs in France, as the pricing service reads it.
async fn luna_prices(app: &TestApp) -> SitePrices {
    let luna = user_id(app, "luna").await;
    app.app.pricing.expert_on_site(luna, &"FR".parse().unwrap()).await.unwrap().unwrap()
}

/// `GET /api/v1/experts/{code}/quote?{query}`, with a bearer token or anonymously.
async fn quote(app: &TestApp, code: &str, query: &str, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = app.client.get(app.url(&format!("/api/v1/experts/{code}/quote?{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.json().await.unwrap())
}

async fn ok_quote(app: &TestApp, code: u32, query: &str, token: Option<&str>) -> Value {
    let (status, _, body) = quote(app, &code.to_string(), query, token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn rules(app: &TestApp) -> tariff::TariffRules {
    app.app.settings.consultations.tariff_rules()
}

/// The parts of a quote the tariff computes, to compare with [`tariff::charge`].
fn parts(q: &Value) -> (u64, u64, u64, i64, &str) {
    (
        q["billable_seconds"].as_u64().unwrap(),
        q["free_seconds"].as_u64().unwrap(),
        q["package_seconds"].as_u64().unwrap(),
        q["charge"]["minor"].as_i64().unwrap(),
        q["charge"]["currency"].as_str().unwrap(),
    )
}

fn tariff_parts(
    prices: &SitePrices,
    plan: Plan,
    seconds: u64,
    rules: &tariff::TariffRules,
) -> (u64, u64, u64, i64, &'static str) {
    let c = tariff::charge(prices, plan, seconds, rules).unwrap();
    (c.billable_seconds, c.free_seconds, c.package_seconds, c.charge.minor, "EUR")
}

/// A consultation of `client` with `expert` that really started and was settled, written
/// straight to the store (the engine that runs them has its own tests).
async fn settle_a_consultation(app: &TestApp, client: UserId, expert: UserId, prices: SitePrices) {
    let now = app.app.clock.now();
    let fr = app.store.site_by_code(&"FR".parse().unwrap()).await.unwrap();
    let account = |owner, kind| app.app.ledger.account(owner, kind, Currency::Eur);
    let accounts = ConsultationAccounts {
        client_credit: account(LedgerOwner::User(client), AccountKind::ClientCredit).await.unwrap().id,
        clearing: account(LedgerOwner::Platform, AccountKind::ConsultationClearing).await.unwrap().id,
        expert_earnings: account(LedgerOwner::User(expert), AccountKind::ExpertEarnings).await.unwrap().id,
        platform_revenue: account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await.unwrap().id,
    };
    let terms = ConsultationTerms {
        site: fr.id,
        channel: Channel::Chat,
        plan: FIRST,
        prices,
        rate: Rate::from_basis_points(3000).unwrap(),
        accounts,
    };
    let new = NewConsultation {
        client,
        expert,
        terms,
        status: ConsultationStatus::Ringing,
        node: "quote-test".into(),
        lease_until: now + chrono::Duration::seconds(30),
        at: now,
    };
    let consultation = app.store.create_consultation(&new).await.unwrap();
    let ended_at = now + chrono::Duration::seconds(100);
    let settled = Settled { reason: EndReason::ClientLeft, ended_at, charge: 0, commission: 0, earnings: 0 };
    let record = SettlementRecord {
        id: consultation.id,
        node: "quote-test".into(),
        seq: 0,
        billable_seconds: 90,
        started_at: Some(now + chrono::Duration::seconds(5)),
        settled,
    };
    app.store.settle_consultation(&record, &[], ended_at).await.unwrap();
    assert!(app.store.has_consulted(client, expert).await.unwrap());
}

#[tokio::test]
async fn ph_free_the_quote_gives_free_minutes_on_a_first_consultation_only() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 5, None).await;
    let prices = luna_prices(&app).await;
    let claire = app.api_token("claire@augure.localhost", demo::DEMO_PASSWORD).await;

    let first = ok_quote(&app, code, "mode=chat&seconds=600", Some(&claire)).await;
    // 5 of the 10 minutes are free; the other 5 at 2,99 €: 14,95 €.
    assert_eq!(parts(&first), (600, 300, 0, 1495, "EUR"), "{first}");
    assert_eq!(parts(&first), tariff_parts(&prices, FIRST, 600, &rules(&app)));
    assert_eq!(first["site"], "FR", "Claire's site");
    // Free minutes cover a short consultation whole; what it leaves is not carried over.
    let short = ok_quote(&app, code, "mode=phone&seconds=120", Some(&claire)).await;
    assert_eq!(parts(&short), (120, 120, 0, 0, "EUR"));

    settle_a_consultation(&app, user_id(&app, "claire").await, user_id(&app, "luna").await, prices.clone()).await;
    let again = ok_quote(&app, code, "mode=chat&seconds=600", Some(&claire)).await;
    assert_eq!(parts(&again), (600, 0, 0, 2990, "EUR"), "not on the next one: {again}");
    assert_eq!(parts(&again), tariff_parts(&prices, AGAIN, 600, &rules(&app)));

    // A visitor is quoted as a new client would be, without credit.
    let visitor = ok_quote(&app, code, "mode=video&seconds=600", None).await;
    assert_eq!(parts(&visitor), (600, 300, 0, 1495, "EUR"));
    assert_eq!(visitor["affordable_seconds"], Value::Null);
    assert_eq!(visitor["site"], "FR", "the expert's home site");
}

#[tokio::test]
async fn ph_package_quote_charges_the_package_its_overflow_and_nothing_when_very_short() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 5, Some((4500, 30))).await;
    let prices = luna_prices(&app).await;
    let rules = rules(&app);
    let cases = [
        // Shorter than the package: still the package's price, and no free minutes.
        (600, (600, 0, 600, 4500, "EUR")),
        (30 * 60, (1800, 0, 1800, 4500, "EUR")),
        // One minute beyond it at 2,99 €.
        (31 * 60, (1860, 0, 1800, 4799, "EUR")),
        // Under the very-short threshold (120 s): a network problem, not billed.
        (90, (90, 0, 90, 0, "EUR")),
    ];
    for (seconds, expected) in cases {
        let q = ok_quote(&app, code, &format!("mode=phone&seconds={seconds}&package=true"), None).await;
        assert_eq!(parts(&q), expected, "{seconds} s");
        assert_eq!(parts(&q), tariff_parts(&prices, Plan::Package, seconds, &rules), "{seconds} s");
    }
    let by_minute = ok_quote(&app, code, "mode=phone&seconds=600&package=false", None).await;
    assert_eq!(parts(&by_minute).3, 1495, "package=false is by the minute");

    // Orion sells no package.
    let orion = app.store.user_by_email(&"orion@augure.localhost".parse().unwrap()).await.unwrap();
    let orion = orion.expert_code.unwrap().0.to_string();
    let (status, content_type, body) = quote(&app, &orion, "mode=phone&seconds=600&package=true", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["title"], "Cet expert ne propose pas de forfait.");
}

#[tokio::test]
async fn wg_rate_quote_rounds_on_the_total() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 0, None).await;
    let prices = luna_prices(&app).await;
    // 2,99 € × 7 s ÷ 60 = 0,3488… € → 0,35 €.
    let seven = ok_quote(&app, code, "mode=chat&seconds=7", None).await;
    assert_eq!(parts(&seven), (7, 0, 0, 35, "EUR"));
    assert_eq!(parts(&seven), tariff_parts(&prices, FIRST, 7, &rules(&app)));
    // A minute is the price itself, not six rounded 10-second slices (6 × 0,50 € = 3,00 €).
    let minute = ok_quote(&app, code, "mode=chat&seconds=60", None).await;
    assert_eq!(parts(&minute).3, 299);
    assert_eq!(parts(&ok_quote(&app, code, "mode=chat&seconds=10", None).await).3, 50);
}

#[tokio::test]
async fn the_quote_says_how_long_a_clients_credit_lasts() {
    let app = shop().await;
    let code = luna_sells(&app, 5, Some((4500, 30))).await;
    let prices = luna_prices(&app).await;
    let claire = app.api_token("claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let nothing = ok_quote(&app, code, "mode=chat&seconds=60", Some(&claire)).await;
    assert_eq!(nothing["affordable_seconds"], 300, "no credit yet: the free minutes only");

    // The 20 € pack and its 2 € bonus.
    let checkout = start_purchase(&app, 2000).await.url().clone();
    assert_eq!(pay(&app, &checkout, "4242 4242 4242 4242", "0").await.url().path(), "/wallet");
    app.drain_jobs().await;
    let q = ok_quote(&app, code, "mode=chat&seconds=60", Some(&claire)).await;
    let expected = tariff::affordable_seconds(&prices, FIRST, eur(2200)).unwrap();
    assert_eq!(q["affordable_seconds"].as_u64(), Some(expected), "{q}");
    // 300 free seconds, then ⌊(22,00 € × 60 + 0,29) ÷ 2,99 €⌋ = 441 s.
    assert_eq!(expected, 741);
    // 22 € is less than the package's 45 €: it cannot start.
    let package = ok_quote(&app, code, "mode=chat&seconds=60&package=true", Some(&claire)).await;
    assert_eq!(package["affordable_seconds"], 0);
    assert_eq!(tariff::affordable_seconds(&prices, Plan::Package, eur(2200)).unwrap(), 0);
}

#[tokio::test]
async fn a_wrong_quote_request_is_a_problem_document() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 5, None).await.to_string();
    let bad = [
        "mode=chat&seconds=abc",
        "mode=chat&seconds=0",
        "mode=chat&seconds=-5",
        "mode=chat&seconds=86401",
        "mode=chat",
        "mode=fax&seconds=60",
        "mode=email&seconds=60",
        "seconds=60",
        "mode=chat&seconds=60&package=maybe",
    ];
    for query in bad {
        let (status, content_type, body) = quote(&app, &code, query, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(content_type, "application/problem+json", "{query}");
        assert_eq!(body["status"], 400);
    }
    let (_, _, seconds) = quote(&app, &code, "mode=chat&seconds=0", None).await;
    assert_eq!(seconds["title"], "La durée est un nombre entier de secondes, de 1 à 86400.");
    assert_eq!(quote(&app, &code, "mode=chat&seconds=86400", None).await.0, StatusCode::OK, "a day is the bound");

    for (expert, query) in [
        ("4294967295", "mode=chat&seconds=60"),
        ("abc", "mode=chat&seconds=60"),
        (code.as_str(), "mode=chat&seconds=60&site=CA"),
    ] {
        let (status, content_type, body) = quote(&app, expert, query, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{expert} {query}: {body}");
        assert_eq!(content_type, "application/problem+json");
    }
    let (status, _, _) = quote(&app, &code, "mode=chat&seconds=60&site=ZZ", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unknown site");
    let (status, _, belgium) = quote(&app, &code, "mode=chat&seconds=60&site=BE", None).await;
    assert_eq!((status, &belgium["site"]), (StatusCode::OK, &json!("BE")), "Luna is listed in Belgium too");
    let bad_token = app
        .client
        .get(app.url(&format!("/api/v1/experts/{code}/quote?mode=chat&seconds=60")))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    unescape(&client.get(app.url(path)).send().await.unwrap().text().await.unwrap())
}

#[tokio::test]
async fn the_profile_page_says_the_quote_in_words() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 5, Some((4500, 30))).await;
    let path = format!("/experts/{code}");
    let visitor = page(&TestApp::new_client(), &app, &path).await;
    assert!(
        visitor.contains(
            "10 minutes : 14,95\u{a0}€ pour une première consultation — les 5 premières minutes sont offertes aux nouveaux clients"
        ),
        "{visitor}"
    );
    assert!(visitor.contains("10 minutes avec le forfait (45,00\u{a0}€ pour 30 min) : 45,00\u{a0}€"), "{visitor}");

    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let hers = page(&claire, &app, &path).await;
    assert!(hers.contains("10 minutes : 14,95\u{a0}€ — vos 5 premières minutes sont offertes"), "{hers}");
    let prices = luna_prices(&app).await;
    settle_a_consultation(&app, user_id(&app, "claire").await, user_id(&app, "luna").await, prices).await;
    let after = page(&claire, &app, &path).await;
    assert!(
        after
            .contains("10 minutes : 29,90\u{a0}€ — vos minutes offertes ont servi lors de votre première consultation"),
        "{after}"
    );

    // In Italian, with one free minute (its own wording).
    luna_sells(&app, 1, None).await;
    let italian = TestApp::new_client()
        .get(app.url(&path))
        .header("accept-language", "it")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        unescape(&italian).contains(
            "10 minuti: 26,91\u{a0}€ per un primo consulto — il primo minuto è in omaggio per i nuovi clienti"
        ),
        "{italian}"
    );
    assert!(!italian.contains("id=\"package-quote\""), "no package any more");
}

/// The profile page with its quote sentences stays accessible (WCAG 2.1 AA, as axe-core
/// checks it), for a visitor and for a signed-in client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_the_profile_page_with_its_quote_passes_axe() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let code = luna_sells(&app, 5, Some((4500, 30))).await;
    let Some(browser) = augure_testkit::browser::Browser::start().await else { return };
    let profile = app.url(&format!("/experts/{code}"));
    browser.goto(&profile).await;
    assert!(browser.text("#quote").await.contains("first consultation"), "Chromium asks for English");
    browser.wait_for("#package-quote").await;
    let Some(visitor) = browser.axe_violations().await else { return };
    browser.sign_in(&app.url("/login"), "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    browser.wait_for("header form[action='/logout']").await;
    browser.goto(&profile).await;
    assert!(browser.text("#quote").await.contains("your first 5 minutes are free"));
    let Some(client) = browser.axe_violations().await else { return };
    assert!(visitor.is_empty() && client.is_empty(), "axe-core violations: {visitor:?} {client:?}");
    browser.quit().await;
}

#[tokio::test]
async fn the_api_document_describes_the_quote() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let op = &doc["paths"]["/api/v1/experts/{code}/quote"]["get"];
    let param = |name: &str| op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(param("mode")["required"], true);
    assert_eq!(doc["components"]["schemas"]["QuoteMode"]["enum"], json!(["phone", "chat", "video"]));
    assert_eq!(
        (param("seconds")["schema"]["minimum"].as_u64(), param("seconds")["schema"]["maximum"].as_u64()),
        (Some(1), Some(86_400))
    );
    assert!(param("site")["schema"]["enum"].as_array().unwrap().contains(&json!("CH")));
    for status in ["200", "400", "404", "409", "422"] {
        assert!(op["responses"].get(status).is_some(), "{status}");
    }
    let schema = &doc["components"]["schemas"]["QuoteView"]["properties"];
    for field in ["billable_seconds", "free_seconds", "charge", "affordable_seconds"] {
        assert!(schema.get(field).is_some(), "{field}");
    }
    // The directory's own mode filter is still described as before.
    let filters = doc["paths"]["/api/v1/experts"]["get"]["parameters"].as_array().unwrap();
    let mode = filters.iter().find(|p| p["name"] == "mode").unwrap();
    assert_eq!(mode["schema"]["enum"], json!(["phone", "chat", "email", "video", ""]));
}

//! The ranked directory (SP-ranking) on the home page and in the API, with its filters.

use augure_app::demo;
use augure_domain::Clock;
use augure_domain::availability::Status;
use augure_testkit::TestApp;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

async fn experts(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.client.get(app.url(&format!("/api/v1/experts{query}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Vec<Value>>().await.unwrap()
}

fn names(list: &[Value]) -> Vec<String> {
    list.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn sp_ranking_orders_the_listing_by_live_modes() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let list = experts(&app, "").await;
    assert_eq!(list.len(), 12);
    let positions: Vec<u64> = list.iter().map(|e| e["position"].as_u64().unwrap()).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "best positions first");
    assert_eq!(positions[0], 1, "someone offers phone, chat and email");
    assert_eq!(*positions.last().unwrap(), 8, "unavailable experts last");
    // The dashboard is gone for longer than the grace period: chat drops, ranks change.
    app.clock.advance(Duration::seconds(91));
    let later = experts(&app, "").await;
    assert!(later.iter().all(|e| !e["live_modes"].as_array().unwrap().iter().any(|m| m == "chat")));
    assert!(later.iter().all(|e| e["position"].as_u64().unwrap() != 1));
}

#[tokio::test]
async fn the_directory_filters_and_searches() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let tarot = experts(&app, "?specialty=tarot").await;
    assert!(
        !tarot.is_empty() && tarot.iter().all(|e| e["specialties"].as_array().unwrap().iter().any(|s| s == "tarot"))
    );
    let italian = names(&experts(&app, "?language=it").await);
    assert!(
        italian.contains(&"Chiara".to_owned())
            && italian.contains(&"Marco".to_owned())
            && !italian.contains(&"Luna".to_owned())
    );
    let cheap = experts(&app, "?max_price=250").await;
    assert!(cheap.iter().all(|e| e["price_per_minute"].as_i64().unwrap() <= 250));
    let video = experts(&app, "?mode=video").await;
    assert!(video.iter().all(|e| e["modes"].as_array().unwrap().iter().any(|m| m == "video")));
    let unknown = app.client.get(app.url("/api/v1/experts?mode=telepathy")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let now = experts(&app, "?available=true").await;
    assert!(now.iter().all(|e| e["position"].as_u64().unwrap() < 8));
    assert_eq!(names(&experts(&app, "?q=lun").await), ["Luna"]);
    let code = experts(&app, "?q=lun").await[0]["expert_code"].as_u64().unwrap();
    assert_eq!(names(&experts(&app, &format!("?q={code}")).await), ["Luna"]);
    let bad = app.client.get(app.url("/api/v1/experts?max_price=cheap")).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_home_page_shows_the_ranked_listing_with_filters() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    // Make Luna unavailable: she moves to the end and reads "Indisponible".
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let mut presence = app.store.presence(luna.id).await.unwrap();
    presence.status = Status::Unavailable;
    presence.updated_at = app.clock.now();
    app.store.save_presence(&presence).await.unwrap();
    app.app.directory.changes().changed();
    let html = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Indisponible") && html.contains("Disponible"));
    let api = names(&experts(&app, "").await);
    let luna_at = api.iter().position(|n| n == "Luna").unwrap();
    assert!(experts(&app, "").await[luna_at..].iter().all(|e| e["position"] == 8));
    let filtered =
        app.client.get(app.url("/?site=CH&language=it&max_price=400")).send().await.unwrap().text().await.unwrap();
    assert!(filtered.contains("Chiara") && filtered.contains("Marco") && !filtered.contains("Orion"));
}

async fn expert_client(app: &TestApp, email: &str) -> reqwest::Client {
    let client = TestApp::new_client();
    let page = client
        .post(app.url("/expert/login"))
        .form(&[("email", email), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.url().path(), "/expert/dashboard");
    client
}

async fn position_of(app: &TestApp, name: &str) -> u64 {
    let list = experts(app, "").await;
    list.iter().find(|e| e["name"] == name).unwrap()["position"].as_u64().unwrap()
}

#[tokio::test]
async fn sp_status_and_wg_pause_from_the_expert_dashboard() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = expert_client(&app, "luna@augure.localhost").await;
    let change = |value: &'static str| {
        let luna = luna.clone();
        let url = app.url("/expert/availability");
        async move { luna.post(url).form(&[("change", value)]).send().await.unwrap() }
    };
    assert_eq!(position_of(&app, "Luna").await, 1, "phone, chat and email live");
    let page = change("unavailable").await;
    assert_eq!(page.url().path(), "/expert/dashboard");
    assert!(page.text().await.unwrap().contains("data-state=\"unavailable\""));
    assert_eq!(position_of(&app, "Luna").await, 8);
    change("available").await;
    assert_eq!(position_of(&app, "Luna").await, 1);
    // WG-pause: 20 minutes away, then back by itself.
    let paused = change("pause").await.text().await.unwrap();
    assert!(paused.contains("En pause jusqu"), "{paused}");
    assert_eq!(position_of(&app, "Luna").await, 8);
    app.clock.advance(Duration::minutes(20));
    // Keep chat live across the pause, as an open dashboard would.
    app.app
        .availability
        .heartbeat(app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap().id)
        .await
        .unwrap();
    assert_eq!(position_of(&app, "Luna").await, 1);
    // WG-channels: each mode switches on and off by itself.
    change("mode:phone:off").await;
    assert_eq!(position_of(&app, "Luna").await, 4, "chat and email remain");
    change("mode:phone:on").await;
    assert_eq!(position_of(&app, "Luna").await, 1);
    assert_eq!(change("mode:telepathy:on").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change("dance").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Busy belongs to the platform: the expert cannot leave it from the dashboard.
    let id = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap().id;
    let mut busy = app.store.presence(id).await.unwrap();
    busy.status = Status::Busy;
    app.store.save_presence(&busy).await.unwrap();
    change("unavailable").await;
    assert_eq!(app.store.presence(id).await.unwrap().status, Status::Busy);
    // Clients have no dashboard to change.
    let client = TestApp::new_client();
    client
        .post(app.url("/login"))
        .form(&[("email", "claire@augure.localhost"), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    let refused = client.post(app.url("/expert/availability")).form(&[("change", "available")]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sp_bank_blocks_modes_24_hours_after_sign_up_until_bank_details_are_given() {
    let app = TestApp::spawn().await;
    let nova = TestApp::new_client();
    nova.post(app.url("/expert/signup"))
        .form(&[
            ("display_name", "Nova"),
            ("email", "nova@example.fr"),
            ("password", "correct horse"),
            ("site", ""),
            ("accept_terms", "yes"),
        ])
        .send()
        .await
        .unwrap();
    let me = app.store.user_by_email(&"nova@example.fr".parse().unwrap()).await.unwrap();
    app.store
        .upsert_expert_profile(&augure_store::ExpertProfile {
            user_id: me.id,
            headline: "Tarot".into(),
            specialties: vec!["tarot".into()],
            languages: vec!["fr".into()],
            modes: vec![augure_domain::Mode::Phone],
            prices: vec![augure_domain::pricing::PriceSet::per_minute(augure_domain::Money::new(
                250,
                augure_domain::Currency::Eur,
            ))],
        })
        .await
        .unwrap();
    let change = |value: &'static str| nova.post(app.url("/expert/availability")).form(&[("change", value)]).send();
    change("mode:phone:on").await.unwrap();
    let dashboard = change("available").await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("id=\"bank-warning\"") && dashboard.contains("avant le"), "{dashboard}");
    assert_eq!(position_of(&app, "Nova").await, 5, "phone only, not yet blocked");
    app.clock.advance(Duration::hours(24));
    assert_eq!(position_of(&app, "Nova").await, 8, "blocked after 24 h");
    let dashboard = nova.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("sont bloqués"));
    let bank = |iban: &'static str, bic: &'static str| {
        nova.post(app.url("/expert/bank"))
            .form(&[
                ("payout_method", "bank_transfer"),
                ("holder", "Nova SARL"),
                ("bank_name", "BNP"),
                ("bank_country", "fr"),
                ("iban", iban),
                ("bic", bic),
            ])
            .send()
    };
    let refused = bank("FR76 3000 6000 0112 3456 7890 188", "BNPAFRPP").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("Cet IBAN n"));
    assert_eq!(
        bank("FR76 3000 6000 0112 3456 7890 189", "BNPA").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(position_of(&app, "Nova").await, 8);
    let saved = bank("fr76 3000 6000 0112 3456 7890 189", "bnpafrpp").await.unwrap();
    assert_eq!(saved.url().query(), Some("saved=1"));
    let page = saved.text().await.unwrap();
    // Once saved, the IBAN is only shown masked, and an empty field keeps it.
    assert!(page.contains("FR76 •••• •••• •••• •••• •••0 189") && !page.contains("3000 6000"), "{page}");
    assert_eq!(bank("", "BNPAFRPP").await.unwrap().url().query(), Some("saved=1"));
    assert_eq!(position_of(&app, "Nova").await, 5, "unblocked as soon as they are filled");
    let dashboard = nova.get(app.url("/expert/dashboard")).send().await.unwrap().text().await.unwrap();
    assert!(!dashboard.contains("bank-warning"));
    let stored = app.store.bank_details(me.id).await.unwrap();
    assert_eq!(
        (stored.iban.as_deref(), stored.bic.as_deref(), stored.bank_country.as_str()),
        (Some("FR7630006000011234567890189"), Some("BNPAFRPP"), "FR")
    );
}

#[tokio::test]
async fn public_profiles_are_linked_from_the_listing_and_indexed_by_sitemaps() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = experts(&app, "?q=Luna").await.remove(0);
    let code = luna["expert_code"].as_u64().unwrap();
    let home = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains(&format!("href=\"/experts/{code}?site=FR\"")), "cards link the profile on the site browsed");
    let page = app.client.get(app.url(&format!("/experts/{code}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Luna") && html.contains("Tarot") && html.contains("2,99\u{a0}€ / min"), "{html}");
    assert!(html.contains("<link rel=\"canonical\"") && html.contains("<meta name=\"description\" content=\"Luna"));
    for missing in ["/experts/0", "/experts/abc", "/experts/99999999999"] {
        assert_eq!(app.client.get(app.url(missing)).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{missing}");
    }
    let index = app.client.get(app.url("/sitemap.xml")).send().await.unwrap();
    assert_eq!(index.headers()["content-type"], "application/xml; charset=utf-8");
    let index = index.text().await.unwrap();
    for site in ["fr", "be", "lu", "ch", "ca"] {
        assert!(index.contains(&format!("/sitemaps/{site}.xml</loc>")), "{index}");
    }
    // Each site's sitemap lists the experts listed there, at that site's address.
    let ch = app.client.get(app.url("/sitemaps/ch.xml")).send().await.unwrap().text().await.unwrap();
    let listed_in_ch = experts(&app, "?site=CH").await;
    let orion = experts(&app, "?q=Orion").await.remove(0)["expert_code"].as_u64().unwrap();
    assert!(ch.contains(&format!("/experts/{orion}?site=CH</loc>")), "{ch}");
    assert!(!ch.contains(&format!("/experts/{code}?")), "Luna sells in euros only: {ch}");
    assert_eq!(ch.matches("<url>").count(), 1 + listed_in_ch.len(), "{ch}");
    let fr = app.client.get(app.url("/sitemaps/fr.xml")).send().await.unwrap().text().await.unwrap();
    assert!(fr.contains(&format!("/experts/{code}?site=FR</loc>")), "{fr}");
    let on_fr =
        app.client.get(app.url(&format!("/experts/{code}?site=FR"))).send().await.unwrap().text().await.unwrap();
    assert!(
        on_fr.contains(&format!(
            "<link rel=\"canonical\" href=\"{}/experts/{code}?site=FR\">",
            app.app.settings.public_url.trim_end_matches('/')
        )),
        "the sitemap's address is the page's canonical one"
    );
    assert_eq!(app.client.get(app.url("/sitemaps/xx.xml")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_home_page_has_a_filter_form_and_pages() {
    let app = TestApp::spawn_with(|s| s.directory.page_size = 2).await;
    demo::seed(&app.app).await.unwrap();
    let html = app.client.get(app.url("/?site=FR")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"filters\"") && html.contains("name=\"specialty\"") && html.contains("value=\"tarot\""));
    assert_eq!(html.matches("class=\"card expert\"").count(), 2, "two per page");
    assert!(html.contains("rel=\"next\"") && !html.contains("rel=\"prev\""));
    let second = app.client.get(app.url("/?site=FR&page=2")).send().await.unwrap().text().await.unwrap();
    assert!(second.contains("rel=\"prev\"") && second.contains("site=FR&#38;page=1"), "{second}");
    let filtered =
        app.client.get(app.url("/?site=FR&specialty=tarot&page=1")).send().await.unwrap().text().await.unwrap();
    assert!(filtered.contains("<option value=\"tarot\" selected>"), "the form keeps the choice");
    let api = app.client.get(app.url("/api/v1/experts?per_page=3&page=2")).send().await.unwrap();
    assert_eq!(api.headers()["x-total-count"], "12");
    assert_eq!(api.json::<Vec<Value>>().await.unwrap().len(), 3);
}

/// SP-return on the listing: an unavailable expert's card shows when they are expected
/// back, from their planning, and offers the alert.
#[tokio::test]
async fn sp_return_cards_show_the_expected_return_and_the_alert_button() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let iris = app.store.user_by_email(&"iris@augure.localhost".parse().unwrap()).await.unwrap();
    app.app.availability.change(iris.id, augure_app::availability::Change::Unavailable).await.unwrap();
    let code = iris.expert_code.unwrap().0;
    let tomorrow = (app.clock.now().with_timezone(&chrono_tz::Europe::Paris) + Duration::days(1)).date_naive();
    let nine = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let noon = chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    app.app.planning.replace_day(&iris, tomorrow, &[(nine, noon)]).await.unwrap();

    let html = app.client.get(app.url(&format!("/?site=FR&q={code}"))).send().await.unwrap().text().await.unwrap();
    let expected = format!("{} 09:00", tomorrow.format("%d/%m"));
    assert!(html.contains("Retour prévu") && html.contains(&expected), "{html}");
    assert!(html.contains(&format!("action=\"/experts/{code}/alert\"")));
    let api: Vec<Value> =
        app.client.get(app.url(&format!("/api/v1/experts?q={code}"))).send().await.unwrap().json().await.unwrap();
    let at: chrono::DateTime<chrono::Utc> = api[0]["expected_return"].as_str().unwrap().parse().unwrap();
    assert_eq!(at.with_timezone(&chrono_tz::Europe::Paris).time(), nine);

    // Back now: no expected return, no alert button.
    app.app.availability.change(iris.id, augure_app::availability::Change::Available).await.unwrap();
    let html = app.client.get(app.url(&format!("/?site=FR&q={code}"))).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Retour prévu") && !html.contains("/alert\""));
}

/// The filter form as a person leaves it: every select on "any" (empty values), a name
/// typed without its accents, then an expert code of another site.
#[tokio::test]
async fn the_home_search_works_with_the_forms_defaults_ignores_accents_and_says_where_an_expert_is() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let defaults = "specialty=&language=&mode=&max_price=";
    let html = |query: String| {
        let url = app.url(&format!("/?{query}"));
        async move {
            let page = TestApp::new_client().get(url).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK, "the form's default values are no filter");
            augure_testkit::unescape(&page.text().await.unwrap())
        }
    };
    let found = html(format!("site=BE&q=selene&{defaults}")).await;
    assert!(found.contains("Sélène"), "accents and case do not matter");
    assert!(found.contains("Téléphone · Tchat — Français"), "languages by name, not code");
    let none = html(format!("site=BE&q=nobody&{defaults}")).await;
    assert!(none.contains("id=\"reset-filters\" href=\"/?site=BE\""), "an empty result offers to clear the filters");
    let selene = app.store.user_by_email(&"selene@augure.localhost".parse().unwrap()).await.unwrap();
    let code = selene.expert_code.unwrap();
    let elsewhere = html(format!("site=CA&q={code}&{defaults}")).await;
    let note = &elsewhere[elsewhere.find("id=\"listed-elsewhere\"").expect("says where the expert is")..];
    assert!(note.contains(&format!("/?site=BE&q={code}")), "{note}");
}

/// Switching language keeps the site being browsed; a signed-in client sees their own.
#[tokio::test]
async fn the_language_switch_stays_on_the_site_and_clients_browse_their_own_site() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let html = app.client.get(app.url("/?site=CH")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/?site=CH\""), "the switcher returns to /?site=CH");
    let switched =
        app.client.post(app.url("/lang")).form(&[("lang", "it"), ("next", "/?site=CH")]).send().await.unwrap();
    assert!(switched.url().as_str().ends_with("/?site=CH"), "{}", switched.url());
    let giulia = app.signed_in("/login", "giulia@augure.localhost", demo::DEMO_PASSWORD).await;
    let home = giulia.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("<input type=\"hidden\" name=\"site\" value=\"CH\">"), "Giulia's home is CH");
}

/// The schema says a page and its size are integers: one too large for the machine is
/// the largest (clamped), not a 400 (found by the API fuzzer).
#[tokio::test]
async fn a_page_number_or_size_beyond_any_integer_is_clamped_not_refused() {
    let app = augure_testkit::TestApp::spawn().await;
    let huge = "123083094219775087850213336940544";
    for query in [format!("per_page={huge}"), format!("page={huge}"), "per_page=&page=".into()] {
        let response = app.client.get(app.url(&format!("/api/v1/experts?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{query}");
    }
    let refused = app.client.get(app.url("/api/v1/experts?per_page=-3")).send().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
}

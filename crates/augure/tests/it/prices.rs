//! Prices per currency (SP-options, AT-min) and site tariffs (SP-tariffs): an expert listed
//! on sites of two currencies sets a price set for each, every site shows and filters on
//! its own price, and a site may impose one per-minute price on every expert it lists.
//! (Moving the prices of a database written before: the store crates' migration tests.)

use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Luna's profile, on France and Switzerland, with prices in both currencies.
fn two_currencies(chf_per_minute: &str) -> Vec<(&'static str, String)> {
    [
        ("headline", "Tarot et runes, avec douceur"),
        ("specialty", "tarot"),
        ("language", "fr"),
        ("mode", "phone"),
        ("mode", "email"),
        ("site", "FR"),
        ("site", "CH"),
        ("EUR.price_per_minute", "2,50"),
        ("EUR.email_price", "30"),
        ("EUR.package_price", "45"),
        ("EUR.package_minutes", "30"),
        ("EUR.free_minutes", "3"),
        ("CHF.price_per_minute", chf_per_minute),
        ("CHF.email_price", "32,00"),
        ("CHF.package_price", "48"),
        ("CHF.package_minutes", "30"),
        ("accept_terms", "yes"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

async fn save(client: &reqwest::Client, app: &TestApp, form: &[(&'static str, String)]) -> (StatusCode, String) {
    let response = client.post(app.url("/expert/profile/edit")).form(form).send().await.unwrap();
    (response.status(), unescape(&response.text().await.unwrap()))
}

async fn experts(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.client.get(app.url(&format!("/api/v1/experts{query}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// `(price per minute, currency, imposed)` of the one expert named `name` listed on `site`.
async fn price_on(app: &TestApp, site: &str, name: &str) -> Option<(i64, String, bool)> {
    let list = experts(app, &format!("?site={site}&q={name}")).await;
    list.iter().find(|e| e["name"] == name).map(|e| {
        (e["price_per_minute"].as_i64().unwrap(), e["currency"].as_str().unwrap().to_owned(), e["imposed"] == true)
    })
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    unescape(&client.get(app.url(path)).send().await.unwrap().text().await.unwrap())
}

#[tokio::test]
async fn sp_options_an_expert_with_eur_and_chf_prices_is_listed_on_fr_and_ch_at_each_sites_price() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let editor = page(&luna, &app, "/expert/profile/edit").await;
    assert!(editor.contains("Prix en euros (augure France, augure Belgique, augure Luxembourg)"), "{editor}");
    assert!(editor.contains("value=\"2,99\""), "her price, written the French way");
    assert_eq!(price_on(&app, "CH", "Luna").await, None, "no Swiss prices yet: not in Switzerland");

    let (status, saved) = save(&luna, &app, &two_currencies("3,20")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert!(saved.contains("id=\"profile-saved\""));
    assert!(saved.contains("<legend>Prix en euros (augure France)</legend>"), "{saved}");
    assert!(saved.contains("<legend>Prix en francs suisses (augure Suisse)</legend>"), "{saved}");
    assert!(saved.contains("name=\"CHF.price_per_minute\" value=\"3,20\""), "{saved}");

    assert_eq!(price_on(&app, "FR", "Luna").await, Some((250, "EUR".into(), false)));
    assert_eq!(price_on(&app, "CH", "Luna").await, Some((320, "CHF".into(), false)));
    assert_eq!(price_on(&app, "BE", "Luna").await, None, "Belgium no longer chosen");
    let home = experts(&app, "?q=Luna").await;
    assert_eq!((home[0]["price_per_minute"].as_i64(), home[0]["currency"].as_str()), (Some(250), Some("EUR")));

    // The price filter compares the price of the site browsed.
    assert!(price_on(&app, "FR", "Luna").await.is_some());
    let cheap_fr = experts(&app, "?site=FR&max_price=300").await;
    let cheap_ch = experts(&app, "?site=CH&max_price=300").await;
    assert!(cheap_fr.iter().any(|e| e["name"] == "Luna"), "2,50 € ≤ 3,00");
    assert!(!cheap_ch.iter().any(|e| e["name"] == "Luna"), "3,20 CHF > 3,00");
    assert!(cheap_ch.iter().all(|e| e["price_per_minute"].as_i64().unwrap() <= 300 && e["currency"] == "CHF"));

    let swiss_home = page(&app.client, &app, "/?site=CH").await;
    assert!(swiss_home.contains("3,20\u{a0}CHF / min"), "the Swiss card");
    let code = home[0]["expert_code"].as_u64().unwrap();
    assert!(swiss_home.contains(&format!("href=\"/experts/{code}?site=CH\"")));
    let swiss = page(&app.client, &app, &format!("/experts/{code}?site=CH")).await;
    assert!(swiss.contains("3,20\u{a0}CHF / min") && swiss.contains("48,00\u{a0}CHF pour 30 min"), "{swiss}");
    assert!(
        swiss.contains("32,00\u{a0}CHF") && !swiss.contains("premières minutes offertes"),
        "CHF set: no free minutes"
    );
    let french = page(&app.client, &app, &format!("/experts/{code}")).await;
    assert!(french.contains("2,50\u{a0}€ / min") && french.contains("3 premières minutes offertes"), "{french}");

    // The same over the API: one set per currency.
    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let own: Value =
        app.client.get(app.url("/api/v1/me/profile")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let currencies: Vec<&str> =
        own["prices"].as_array().unwrap().iter().map(|p| p["currency"].as_str().unwrap()).collect();
    assert_eq!(currencies, ["CHF", "EUR"]);
    assert_eq!((own["currency"].as_str(), own["price_per_minute"].as_i64()), (Some("EUR"), Some(250)), "home currency");
    let body = json!({
        "headline": "Tarot", "specialties": ["tarot"], "languages": ["fr"], "modes": ["phone"], "sites": ["FR", "CH"],
        "prices": [{"currency": "EUR", "price_per_minute": "2.60"}, {"currency": "CHF", "price_per_minute": "3.30"}],
    });
    let saved = app.client.put(app.url("/api/v1/me/profile")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(price_on(&app, "CH", "Luna").await, Some((330, "CHF".into(), false)));
    assert_eq!(price_on(&app, "FR", "Luna").await, Some((260, "EUR".into(), false)));

    // The demo has an expert on both from the start.
    assert_eq!(price_on(&app, "FR", "Orion").await, Some((350, "EUR".into(), false)));
    assert_eq!(price_on(&app, "CH", "Orion").await, Some((380, "CHF".into(), false)));
}

#[tokio::test]
async fn at_min_a_chf_price_below_the_swiss_minimum_is_refused_with_the_form_kept() {
    let app = TestApp::spawn_with(|s| {
        s.pricing
            .per_site
            .insert("CH".into(), augure_app::settings::Minimums { per_minute: 300, ..Default::default() });
    })
    .await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let before = app.store.expert_profile(me.id).await.unwrap();

    let (status, refused) = save(&luna, &app, &two_currencies("2,90")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .contains("Prix en francs suisses (augure Suisse) : le prix par minute doit être d'au moins 3,00\u{a0}CHF"),
        "{refused}"
    );
    assert!(refused.contains("name=\"CHF.price_per_minute\" value=\"2,90\""), "the form keeps what was typed");
    assert!(refused.contains("name=\"EUR.package_price\" value=\"45\""), "the euro prices too");
    assert!(refused.contains("value=\"Tarot et runes, avec douceur\""));
    assert_eq!(app.store.expert_profile(me.id).await.unwrap(), before, "nothing saved");

    // Switzerland ticked without Swiss prices: asked for them, by name.
    let mut no_chf = two_currencies("");
    no_chf.retain(|(k, _)| !k.starts_with("CHF."));
    let (status, refused) = save(&luna, &app, &no_chf).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Indiquez votre prix par minute en francs suisses (augure Suisse)."), "{refused}");
    assert!(refused.contains("<legend>Prix en francs suisses (augure Suisse)</legend>"), "the fieldset to fill");

    let (status, saved) = save(&luna, &app, &two_currencies("3,00")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    let token = app.api_token("luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let body = json!({
        "headline": "Tarot", "specialties": ["tarot"], "languages": ["fr"], "modes": ["phone"], "sites": ["FR", "CH"],
        "price_per_minute": "2.50", "prices": [{"currency": "CHF", "price_per_minute": "2.00"}],
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
    let title = problem["title"].as_str().unwrap();
    assert!(title.contains("Prices in Swiss francs (augure Suisse)") && title.contains("at least 3.00 CHF"), "{title}");
}

#[tokio::test]
async fn sp_tariffs_a_site_tariff_overrides_the_listing_price_on_that_site_only() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let sites = page(&admin, &app, "/admin/sites").await;
    assert!(sites.contains("augure Suisse") && sites.contains("<dd>francs suisses</dd>"), "{sites}");
    assert!(sites.contains("<dd class=\"minimum\">1,00\u{a0}CHF</dd>"), "{sites}");
    assert!(sites.contains("action=\"/admin/sites/CH/numbers\""), "both forms on one page: {sites}");

    // Below the site's minimum: refused, the site's form keeps what was typed.
    let refused = admin.post(app.url("/admin/sites/CH/tariff")).form(&[("imposed_per_minute", "0,50")]).send().await;
    let refused = refused.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = unescape(&refused.text().await.unwrap());
    assert!(refused.contains("id=\"site-error-CH\"") && refused.contains("au moins 1,00\u{a0}CHF"), "{refused}");
    assert!(refused.contains("value=\"0,50\""), "{refused}");
    assert!(!refused.contains("id=\"numbers-error-CH\""), "the numbers' form is not refused: {refused}");
    assert_eq!(price_on(&app, "CH", "Orion").await, Some((380, "CHF".into(), false)), "nothing imposed");

    let saved = admin.post(app.url("/admin/sites/CH/tariff")).form(&[("imposed_per_minute", "2,90")]).send().await;
    let saved = unescape(&saved.unwrap().text().await.unwrap());
    assert!(
        saved.contains("id=\"flash\"")
            && saved.contains("augure Suisse : tarif enregistré, 2,90\u{a0}CHF par minute pour chaque expert."),
        "{saved}"
    );
    assert!(saved.contains("value=\"2,90\""));

    // Every expert on CH at 2,90 CHF, on CH only.
    assert_eq!(price_on(&app, "CH", "Orion").await, Some((290, "CHF".into(), true)));
    assert_eq!(price_on(&app, "CH", "Victor").await, Some((290, "CHF".into(), true)));
    assert_eq!(price_on(&app, "FR", "Orion").await, Some((350, "EUR".into(), false)), "France keeps his price");
    // What the charging engine will read, decided in the same place.
    let orion = app.store.user_by_email(&"orion@augure.localhost".parse().unwrap()).await.unwrap();
    let charged = app.app.pricing.expert_on_site(orion.id, &"CH".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((charged.per_minute.minor, charged.imposed, charged.email.map(|m| m.minor)), (290, true, Some(3300)));
    assert!(experts(&app, "?site=CH&max_price=300").await.iter().any(|e| e["name"] == "Victor"), "4,50 → 2,90");
    let swiss_home = page(&app.client, &app, "/?site=CH").await;
    assert!(swiss_home.contains("2,90\u{a0}CHF / min") && !swiss_home.contains("4,50\u{a0}CHF"), "{swiss_home}");
    let sites: Value = app.client.get(app.url("/api/v1/sites")).send().await.unwrap().json().await.unwrap();
    let ch = sites.as_array().unwrap().iter().find(|s| s["code"] == "CH").unwrap();
    assert_eq!(ch["imposed_per_minute"], 290);

    // An expert joining CH needs no Swiss per-minute price of their own: the form says why.
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let mut form = two_currencies("");
    form.retain(|(k, _)| !k.starts_with("CHF.") || *k == "CHF.email_price");
    let (status, saved) = save(&luna, &app, &form).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert!(saved.contains("Sur augure Suisse, le site impose son tarif : 2,90\u{a0}CHF par minute"), "{saved}");
    assert_eq!(price_on(&app, "CH", "Luna").await, Some((290, "CHF".into(), true)));
    assert_eq!(price_on(&app, "FR", "Luna").await, Some((250, "EUR".into(), false)));

    // Lifting it would take Luna off CH (she has no price of her own in francs): the
    // operator is told so and asked to confirm; nothing changes until then.
    let asked = admin.post(app.url("/admin/sites/CH/tariff")).form(&[("imposed_per_minute", "")]).send().await;
    let asked = asked.unwrap();
    assert_eq!(asked.status(), StatusCode::CONFLICT);
    let asked = unescape(&asked.text().await.unwrap());
    assert!(
        asked.contains("Experts listés sur ce site sans prix par minute à eux en francs suisses : 1.")
            && asked.contains("name=\"confirm\" value=\"yes\"")
            && asked.contains("Lever le tarif quand même"),
        "{asked}"
    );
    assert_eq!(price_on(&app, "CH", "Luna").await, Some((290, "CHF".into(), true)), "still imposed");

    // Confirmed: experts' own prices again; Luna has none in francs, so CH no longer lists
    // her, and her dashboard says what is missing if CH was her only site.
    let form = [("imposed_per_minute", ""), ("confirm", "yes")];
    let lifted = admin.post(app.url("/admin/sites/CH/tariff")).form(&form).send().await;
    let lifted = unescape(&lifted.unwrap().text().await.unwrap());
    assert!(lifted.contains("augure Suisse : tarif levé, chaque expert fixe son prix par minute"), "{lifted}");
    assert_eq!(price_on(&app, "CH", "Orion").await, Some((380, "CHF".into(), false)));
    assert_eq!(price_on(&app, "CH", "Luna").await, None);
    assert_eq!(price_on(&app, "FR", "Luna").await, Some((250, "EUR".into(), false)), "still listed in France");

    // With nobody depending on it (every expert on BE has a price in euros), a tariff is
    // lifted at once.
    admin.post(app.url("/admin/sites/BE/tariff")).form(&[("imposed_per_minute", "2,90")]).send().await.unwrap();
    let lifted = admin.post(app.url("/admin/sites/BE/tariff")).form(&[("imposed_per_minute", "")]).send().await;
    let lifted = lifted.unwrap();
    assert_eq!(lifted.status(), StatusCode::OK);
    assert!(unescape(&lifted.text().await.unwrap()).contains("tarif levé"));
}

#[tokio::test]
async fn an_expert_whose_only_price_was_a_lifted_tariff_is_told_they_are_not_listed() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    admin.post(app.url("/admin/sites/CH/tariff")).form(&[("imposed_per_minute", "2,90")]).send().await.unwrap();
    // Luna moves to CH alone, relying on its tariff.
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let mut form = two_currencies("");
    form.retain(|(k, _)| !k.starts_with("EUR.") && !k.starts_with("CHF.") || *k == "CHF.email_price");
    form.retain(|(k, v)| *k != "site" || *v == "CH");
    let (status, saved) = save(&luna, &app, &form).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let dashboard = page(&luna, &app, "/expert/dashboard").await;
    assert!(!dashboard.contains("il manque à votre profil"), "listed through the tariff: {dashboard}");
    let form = [("imposed_per_minute", ""), ("confirm", "yes")];
    admin.post(app.url("/admin/sites/CH/tariff")).form(&form).send().await.unwrap();
    assert_eq!(price_on(&app, "CH", "Luna").await, None);
    let dashboard = page(&luna, &app, "/expert/dashboard").await;
    assert!(dashboard.contains("il manque à votre profil un prix par minute"), "{dashboard}");
}

#[tokio::test]
async fn sp_tariffs_an_operator_edits_what_each_site_number_costs() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let sites = page(&admin, &app, "/admin/sites").await;
    assert!(sites.contains("name=\"t0.label\" value=\"Numéro 0901 : 2,90 CHF/min\""), "{sites}");
    assert!(sites.contains("name=\"t0.per_minute\" value=\"2,90\""), "{sites}");
    let post =
        |form: Vec<(&'static str, &'static str)>| admin.post(app.url("/admin/sites/CH/tariffs")).form(&form).send();

    // A wrong number: refused by row, every row shown again as typed, nothing saved.
    // The Swiss premium number at a new price, as every submission below keeps it.
    let audiotel = [
        ("t0.code", "audiotel"),
        ("t0.label", "Numéro 0901 : 3,10 CHF/min"),
        ("t0.number", "0901 000 001"),
        ("t0.per_minute", "3,10"),
    ];
    let with_audiotel = |rest: &[(&'static str, &'static str)]| [&audiotel[..], rest].concat();
    let refused = post(with_audiotel(&[
        ("t1.code", ""),
        ("t1.label", "Forfait 20 minutes"),
        ("t1.number", "12"),
        ("t1.per_call", "39"),
    ]))
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = unescape(&refused.text().await.unwrap());
    assert!(refused.contains("Tarif 2 : ce n'est pas un numéro de téléphone valable"), "{refused}");
    assert!(refused.contains("value=\"Forfait 20 minutes\"") && refused.contains("value=\"3,10\""), "{refused}");
    let swiss = app.store.site_by_code(&"CH".parse().unwrap()).await.unwrap();
    assert_eq!(swiss.tariffs[0].per_minute.unwrap().minor, 290, "nothing saved");

    let over = post(vec![("t0.label", "Cher"), ("t0.per_minute", "99999")]).await.unwrap();
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&over.text().await.unwrap()).contains("Tarif 1 : le prix ne peut pas dépasser"));

    let saved = post(with_audiotel(&[
        ("t1.code", ""),
        ("t1.label", "Forfait 20 minutes"),
        ("t1.per_call", "39"),
        ("t2.code", ""),
        ("t2.label", "Forfait 40 minutes"),
        ("t2.per_call", "69"),
        ("t3.code", ""),
        ("t3.label", ""),
    ]))
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let saved = unescape(&saved.text().await.unwrap());
    assert!(saved.contains("augure Suisse : tarifs enregistrés."), "{saved}");
    let swiss = app.store.site_by_code(&"CH".parse().unwrap()).await.unwrap();
    let shown: Vec<_> = swiss
        .tariffs
        .iter()
        .map(|t| {
            (t.code.as_str(), t.phone_number.as_deref(), t.per_minute.map(|m| m.minor), t.per_call.map(|m| m.minor))
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("audiotel", Some("+41901000001"), Some(310), None),
            ("tariff-1", None, None, Some(3900)),
            ("tariff-2", None, None, Some(6900)),
        ],
        "two new tariffs in one form get their own keys; the blank row is dropped"
    );
    let home = page(&app.client, &app, "/?site=CH").await;
    assert!(home.contains("Numéro 0901 : 3,10 CHF/min") && home.contains("Forfait 20 minutes"), "{home}");

    // Removing one keeps the other.
    let removed = post(with_audiotel(&[
        ("t1.code", "tariff-1"),
        ("t1.label", "Forfait 20 minutes"),
        ("t1.per_call", "39"),
        ("t1.remove", "yes"),
    ]))
    .await
    .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let swiss = app.store.site_by_code(&"CH".parse().unwrap()).await.unwrap();
    assert_eq!(swiss.tariffs.len(), 1);
}

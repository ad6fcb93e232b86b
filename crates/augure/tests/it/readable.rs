//! What a new user reads (issue 10 C): phone numbers as dialled on each site, time zones
//! and languages by name, and a confirmation after every action.

use augure_app::demo;
use augure_domain::Clock;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;
use serde_json::Value;

async fn admin(app: &TestApp) -> reqwest::Client {
    app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await
}

async fn luna(app: &TestApp) -> reqwest::Client {
    app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    unescape(&client.get(app.url(path)).send().await.unwrap().text().await.unwrap())
}

/// The confirmation a page shows, announced to screen readers.
fn confirmation(html: &str) -> Option<&str> {
    let start = html.find("<p class=\"notice\" role=\"status\" id=\"flash\">")?;
    let rest = &html[start..];
    let text = &rest[rest.find('>')? + 1..];
    Some(&text[..text.find("</p>")?])
}

async fn post(client: &reqwest::Client, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = client.post(app.url(path)).form(form).send().await.unwrap();
    (response.status(), unescape(&response.text().await.unwrap()))
}

#[tokio::test]
async fn sp_tariffs_site_numbers_are_shown_as_dialled_on_each_site() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let visitor = TestApp::new_client();
    let france = page(&visitor, &app, "/?site=FR").await;
    assert!(france.contains("<a href=\"tel:+33170000001\">01 70 00 00 01</a>"), "{france}");
    assert!(france.contains("Prix en euros") && !france.contains("· EUR"), "{france}");
    let swiss = page(&visitor, &app, "/?site=CH").await;
    assert!(swiss.contains("Prix en francs suisses"), "{swiss}");
    assert!(swiss.contains("href=\"tel:+41901000001\">0901 000 001</a>"), "national on its own site: {swiss}");
    assert!(
        swiss.contains("Numéro 0901 : 2,90 CHF/min · <a href=\"tel:+41901000001\">"),
        "the tariff's number: {swiss}"
    );

    // A French number on the Swiss site is written for people dialling from Switzerland.
    let admin = admin(&app).await;
    let (status, saved) =
        post(&admin, &app, "/admin/sites/CH/numbers", &[("numbers", "0901 000 001\n+33 1 70 00 00 01")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(confirmation(&saved), Some("augure Suisse : numéros enregistrés."), "{saved}");
    let swiss = page(&visitor, &app, "/?site=CH").await;
    assert!(swiss.contains("<a href=\"tel:+33170000001\">+33 1 70 00 00 01</a>"), "{swiss}");

    // The API keeps E.164.
    let sites: Value = visitor.get(app.url("/api/v1/sites")).send().await.unwrap().json().await.unwrap();
    let ch = sites.as_array().unwrap().iter().find(|s| s["code"] == "CH").unwrap();
    assert_eq!(ch["phone_numbers"], serde_json::json!(["+41901000001", "+33170000001"]));
}

#[tokio::test]
async fn an_admin_typing_a_number_that_does_not_exist_is_told_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = admin(&app).await;
    let (status, refused) =
        post(&admin, &app, "/admin/sites/FR/numbers", &[("numbers", "01 70 00 00 02\n12 34")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("« 12 34 » n'est pas un numéro de téléphone valable"), "{refused}");
    assert!(refused.contains(">01 70 00 00 02\n12 34</textarea>"), "the field keeps what was typed: {refused}");
    assert_eq!(confirmation(&refused), None);
    let fr = app.app.sites.by_code(&"FR".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(fr.phone_numbers, ["+33170000001"], "nothing saved");

    let (status, saved) = post(&admin, &app, "/admin/sites/FR/numbers", &[("numbers", "01 70 00 00 02")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(saved.contains("<dd class=\"numbers\">01 70 00 00 02</dd>"), "{saved}");
    let fr = app.app.sites.by_code(&"FR".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(fr.phone_numbers, ["+33170000002"], "stored in E.164");
}

#[tokio::test]
async fn admin_pages_name_time_zones_languages_and_states() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = admin(&app).await;
    let sites = page(&admin, &app, "/admin/sites").await;
    for shown in ["Paris (UTC+", "Bruxelles (UTC+", "Zurich (UTC+", "Toronto (UTC-", "Français", "francs suisses"] {
        assert!(sites.contains(shown), "{shown}: {sites}");
    }
    for code in ["Europe/", "America/", ">fr<", ">CHF<"] {
        assert!(!sites.contains(code), "{code}: {sites}");
    }

    // A presentation waiting for moderation names its language.
    let luna = luna(&app).await;
    let (status, _) = post(
        &luna,
        &app,
        "/expert/profile/presentation",
        &[("locale", "it"), ("text", "Taroccologa da vent'anni, illumino le vostre scelte con dolcezza.")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let queue = page(&admin, &app, "/admin/moderation").await;
    assert!(queue.contains("Présentation (Italien)"), "{queue}");

    let jobs = page(&admin, &app, "/admin/jobs").await;
    for state in ["En attente", "En cours", "Terminé", "Échoué"] {
        assert!(jobs.contains(state), "{state}: {jobs}");
    }
    assert!(!jobs.contains(">queued<") && !jobs.contains(">failed<"), "{jobs}");
    let users = page(&admin, &app, "/admin/users").await;
    assert!(!users.contains(&app.clock.now().format("%Y-%m-%d").to_string()), "no ISO dates: {users}");

    // In the reader's language.
    let (_, italiano) = post(&admin, &app, "/lang", &[("lang", "it"), ("next", "/admin/sites")]).await;
    assert!(italiano.contains("Parigi (UTC+") && italiano.contains("Francese"), "{italiano}");
}

#[tokio::test]
async fn the_profile_names_languages_and_the_planning_zone() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = luna(&app).await;
    let form = page(&luna, &app, "/expert/profile/edit").await;
    assert!(form.contains("value=\"pt\"> Portugais</label>"), "{form}");
    let code = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap().expert_code.unwrap();
    let profile = page(&TestApp::new_client(), &app, &format!("/experts/{}", code.0)).await;
    assert!(profile.contains("Français") && !profile.contains("Europe/Paris"), "{profile}");
}

#[tokio::test]
async fn an_experts_phone_is_read_in_their_country_and_kept_in_e164() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = luna(&app).await;
    let form = |phone: &'static str| {
        vec![
            ("headline", "Tarot et runes, avec douceur"),
            ("specialty", "tarot"),
            ("language", "fr"),
            ("mode", "phone"),
            ("site", "FR"),
            ("price_per_minute", "2,50"),
            ("legal_name", "Luna Martin"),
            ("country", "fr"),
            ("phone", phone),
            ("accept_terms", "yes"),
        ]
    };
    let (status, refused) = post(&luna, &app, "/expert/profile/edit", &form("06 12")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Ce numéro de téléphone n'existe pas"), "{refused}");
    assert!(refused.contains("name=\"phone\" value=\"06 12\""), "kept as typed: {refused}");

    let (status, saved) = post(&luna, &app, "/expert/profile/edit", &form("06.12.34.56.78")).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert!(saved.contains("name=\"phone\" value=\"06 12 34 56 78\""), "{saved}");
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    assert_eq!(app.app.profiles.own(me.id).await.unwrap().details.phone, "+33612345678");
}

#[tokio::test]
async fn every_action_ends_on_a_page_that_says_what_was_done() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = admin(&app).await;

    // Moderation.
    let luna = luna(&app).await;
    let text = "Tarologue depuis vingt ans, j'éclaire vos choix avec douceur.";
    post(&luna, &app, "/expert/profile/presentation", &[("locale", "fr"), ("text", text)]).await;
    let item = app.app.media.queue(10).await.unwrap().remove(0);
    let (status, done) =
        post(&admin, &app, &format!("/admin/moderation/{}", item.id), &[("decision", "approve"), ("reason", "")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(confirmation(&done), Some("Texte de présentation approuvé : il est publié sur le profil."));

    // Packs.
    let (_, added) = post(&admin, &app, "/admin/packs", &[("site", "FR"), ("price", "20,00"), ("bonus", "")]).await;
    assert_eq!(confirmation(&added), Some("Formule à 20,00\u{a0}€ ajoutée."), "{added}");
    let pack = app.app.credit.all_packs().await.unwrap().into_iter().max_by_key(|p| p.id).unwrap();
    let (_, withdrawn) = post(&admin, &app, &format!("/admin/packs/{}/active", pack.id), &[("active", "false")]).await;
    assert_eq!(confirmation(&withdrawn), Some(format!("Formule n° {} retirée de la vente.", pack.id).as_str()));

    // Specialties.
    let (_, specialty) = post(&admin, &app, "/admin/specialties", &[("key", "runes"), ("label", "Runes")]).await;
    assert_eq!(confirmation(&specialty), Some("Spécialité ajoutée."));

    // The expert's availability.
    let (_, away) = post(&luna, &app, "/expert/availability", &[("change", "unavailable")]).await;
    assert_eq!(confirmation(&away), Some("Vous êtes indisponible."), "{away}");
    let (_, phone) = post(&luna, &app, "/expert/availability", &[("change", "mode:phone:off")]).await;
    assert_eq!(confirmation(&phone), Some("Téléphone : fermé aux clients."), "{phone}");

    // Signing out.
    let (_, out) = post(&luna, &app, "/logout", &[]).await;
    assert_eq!(confirmation(&out), Some("Vous êtes déconnecté."));

    // Only known confirmations are shown, never text from the address.
    let forged = page(&admin, &app, "/admin/packs?done=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(confirmation(&forged), None);
    let forged = page(&admin, &app, "/admin/packs?done=pack-added&amount=abc&currency=EUR").await;
    assert_eq!(confirmation(&forged), None, "a message without its amount is not shown");
}

#[tokio::test]
async fn sites_languages_currencies_and_account_owners_are_named_not_coded() {
    let app = crate::credit::shop().await;
    let visitor = TestApp::new_client();
    let home = page(&visitor, &app, "/?site=CH").await;
    assert!(home.contains("<a href=\"/?site=BE\">augure Belgique</a>"), "site links by name: {home}");
    assert!(home.contains("aria-current=\"page\">augure Suisse</a>"), "{home}");
    assert!(
        home.contains("lang=\"it\">Italiano</button>") && home.contains("lang=\"en\">English</button>"),
        "each language by its own name: {home}"
    );
    assert!(!home.contains(">IT</button>"), "{home}");

    // Claire buys credit: the ledger names her account and its currency.
    let checkout = crate::credit::start_purchase(&app, 2000).await;
    let url = checkout.url().clone();
    crate::credit::pay(&app, &url, "4242 4242 4242 4242", "0").await;
    app.drain_jobs().await;
    let admin = admin(&app).await;
    let ledger = page(&admin, &app, "/admin/ledger").await;
    assert!(ledger.contains("Claire (claire@augure.localhost)"), "{ledger}");
    assert!(ledger.contains("Crédit client (euros)") && ledger.contains("<td>euros</td>"), "{ledger}");
    assert!(!ledger.contains("(EUR)") && !ledger.contains("<td>#"), "{ledger}");
    let packs = page(&admin, &app, "/admin/packs").await;
    assert!(packs.contains("<h2>augure France</h2>") && !packs.contains("(FR)"), "{packs}");
    let dashboard = page(&app.client, &app, "/dashboard").await;
    assert!(dashboard.contains("augure France · Prix en euros"), "{dashboard}");
    let profile = page(&luna(&app).await, &app, "/expert/profile/edit").await;
    assert!(profile.contains("augure Suisse (francs suisses)") && !profile.contains("(CHF)"), "{profile}");
}

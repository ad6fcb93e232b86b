//! What a new visitor meets: each site's legal notice, terms, privacy and contact pages,
//! the admin's editor for them, accepting the terms at sign-up (SP-contract), and the
//! expert's menu.

use augure_app::demo;
use augure_testkit::{TestApp, unescape};
use reqwest::StatusCode;

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status(), unescape(&response.text().await.unwrap()))
}

fn signup_form(email: &str, accept: bool) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("display_name", "Marie Curie".to_owned()),
        ("email", email.to_owned()),
        ("password", "correct horse".to_owned()),
        ("site", "CH".to_owned()),
    ];
    if accept {
        form.push(("accept_terms", "yes".to_owned()));
    }
    form
}

#[tokio::test]
async fn the_footer_pages_show_the_demo_text_in_the_readers_language() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let (status, home) = page(&app.client, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
    for link in ["/legal", "/terms", "/privacy", "/contact"] {
        assert!(home.contains(&format!("href=\"{link}\"")), "footer links {link}: {home}");
    }
    let (_, swiss_home) = page(&app.client, &app, "/?site=CH").await;
    assert!(swiss_home.contains("href=\"/terms?site=CH\""), "the footer keeps the chosen site");

    let (status, legal) = page(&app.client, &app, "/legal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(legal.contains("<h1>Mentions légales</h1>") && legal.contains("augure SAS"), "{legal}");
    assert!(legal.contains("<h2>Hébergement</h2>") && legal.contains("augure France"), "{legal}");
    let (_, terms) = page(&app.client, &app, "/terms").await;
    assert!(terms.contains("Conditions générales d'utilisation") && terms.contains("Charte de déontologie"));
    assert!(terms.contains("Version en vigueur : 1") && terms.contains("<li>"), "{terms}");
    let (_, privacy) = page(&app.client, &app, "/privacy").await;
    assert!(privacy.contains("Politique de confidentialité") && privacy.contains("CNIL"), "{privacy}");
    let (_, contact) = page(&app.client, &app, "/contact").await;
    assert!(contact.contains("support@augure.localhost"), "{contact}");
    assert!(contact.contains("href=\"tel:+33170000001\""), "the site's own number: {contact}");

    // Italian readers of the Swiss site get its Italian text; of the French site, French.
    let italian = TestApp::new_client();
    italian.post(app.url("/lang")).form(&[("lang", "it"), ("next", "/")]).send().await.unwrap();
    let (_, swiss) = page(&italian, &app, "/contact?site=CH").await;
    assert!(swiss.contains("<h1>Contattaci</h1>") && swiss.contains("+41901000001"), "{swiss}");
    let (_, french) = page(&italian, &app, "/terms?site=FR").await;
    assert!(french.contains("Conditions générales d'utilisation") && french.contains("Versione in vigore: 1"));
}

#[tokio::test]
async fn an_admin_edits_a_page_and_the_public_page_shows_it_as_text() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let admin = app.signed_in("/admin/login", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD).await;
    let (status, list) = page(&admin, &app, "/admin/pages").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"/admin/pages/BE/legal/fr\"") && list.contains("augure Belgique"), "{list}");
    assert!(list.contains("à rédiger"), "pages not written in a language say so: {list}");
    let (_, form) = page(&admin, &app, "/admin/pages/BE/legal/fr").await;
    assert!(form.contains("value=\"Mentions légales\""), "the current text is in the form");

    let body = "## Éditeur\r\nBelgique Voyance SPRL\r\nBruxelles\r\n\r\n<script>alert(1)</script>\r\n- un\r\n- deux";
    let refused =
        admin.post(app.url("/admin/pages/BE/legal/fr")).form(&[("title", "  "), ("body", body)]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = unescape(&refused.text().await.unwrap());
    assert!(refused.contains("Donnez un titre à la page"), "{refused}");
    assert!(refused.contains("Belgique Voyance SPRL"), "the text typed is shown again");

    let saved =
        admin.post(app.url("/admin/pages/BE/legal/fr")).form(&[("title", "Mentions"), ("body", body)]).send().await;
    let saved = saved.unwrap();
    assert_eq!(saved.url().path(), "/admin/pages/BE/legal/fr");
    assert!(saved.text().await.unwrap().contains("Page enregistrée."));

    let response = app.client.get(app.url("/legal?site=BE")).send().await.unwrap();
    let public = response.text().await.unwrap();
    assert!(public.contains("<h1>Mentions</h1>") && public.contains("<h2>Éditeur</h2>"), "{public}");
    assert!(public.contains("Belgique Voyance SPRL<br>Bruxelles"), "lines of a paragraph: {public}");
    assert!(public.contains("<li>un</li><li>deux</li>"), "{public}");
    assert!(!public.contains("<script>alert"), "no HTML gets through: {public}");
    assert!(public.contains("&#60;script&#62;alert(1)"), "shown as typed: {public}");
    let (_, other_site) = page(&app.client, &app, "/legal?site=FR").await;
    assert!(!other_site.contains("Belgique Voyance"), "each site has its own text");

    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    let forbidden = claire.post(app.url("/admin/pages/BE/legal/fr")).form(&[("title", "x"), ("body", "y")]).send();
    assert_eq!(forbidden.await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(page(&admin, &app, "/admin/pages/XX/legal/fr").await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(&admin, &app, "/admin/pages/BE/cookies/fr").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sp_contract_sign_up_without_accepting_the_terms_is_refused_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let before = app.store.count_users().await.unwrap();
    for path in ["/signup", "/expert/signup"] {
        let response = app.client.post(app.url(path)).form(&signup_form("marie@example.fr", false)).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let html = unescape(&response.text().await.unwrap());
        assert!(html.contains("Cochez la case pour accepter les conditions générales"), "{path}: {html}");
        assert!(html.contains("value=\"Marie Curie\"") && html.contains("value=\"marie@example.fr\""), "{html}");
        assert!(html.contains("<option value=\"CH\" selected>"), "the site chosen is kept: {html}");
        assert!(html.contains("href=\"/terms\""), "the terms are a link away: {html}");
    }
    let api = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&serde_json::json!({"email": "m@example.fr", "password": "correct horse", "display_name": "M", "role": "client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.count_users().await.unwrap(), before, "no account opened");

    let client = TestApp::new_client();
    let accepted = client.post(app.url("/signup")).form(&signup_form("marie@example.fr", true)).send().await.unwrap();
    assert_eq!(accepted.url().path(), "/dashboard");
    let marie = app.store.user_by_email(&"marie@example.fr".parse().unwrap()).await.unwrap();
    let versions: Vec<u32> = app.app.legal.acceptances(marie.id).await.unwrap().into_iter().map(|(v, _)| v).collect();
    assert_eq!(versions, [1], "the version accepted is kept with the account");
}

#[tokio::test]
async fn sp_contract_a_new_expert_accepts_the_terms_at_sign_up_and_is_not_asked_again() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let nova = TestApp::new_client();
    let response = nova.post(app.url("/expert/signup")).form(&signup_form("nova@example.fr", true)).send().await;
    let dashboard = response.unwrap();
    assert_eq!(dashboard.url().path(), "/expert/dashboard");
    let dashboard = dashboard.text().await.unwrap();
    assert!(!dashboard.contains("terms-banner"), "accepted at sign-up: {dashboard}");
    let me = app.store.user_by_email(&"nova@example.fr".parse().unwrap()).await.unwrap();
    assert_eq!(app.store.expert_details(me.id).await.unwrap().terms_version, Some(1));

    // An older account is asked, with the text a link away.
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let (_, asked) = page(&luna, &app, "/expert/dashboard").await;
    assert!(asked.contains("id=\"terms-banner\""), "{asked}");
    assert!(asked.contains("<a href=\"/terms\">Lire les conditions générales</a>"), "{asked}");
    luna.post(app.url("/expert/terms")).send().await.unwrap();
    let me = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let versions: Vec<u32> = app.app.legal.acceptances(me.id).await.unwrap().into_iter().map(|(v, _)| v).collect();
    assert_eq!(versions, [1], "the banner's acceptance is recorded too");
}

/// The hrefs of the expert's menu, in order.
fn menu_links(html: &str) -> Vec<String> {
    let start = html.find("id=\"expert-menu\"").expect("the expert's menu");
    let end = start + html[start..].find("</nav>").expect("the menu ends");
    html[start..end].split("href=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_owned()).collect()
}

#[tokio::test]
async fn the_expert_menu_leads_only_to_pages_that_exist_and_marks_the_current_one() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let luna = app.signed_in("/expert/login", "luna@augure.localhost", demo::DEMO_PASSWORD).await;
    let (_, dashboard) = page(&luna, &app, "/expert/dashboard").await;
    assert!(dashboard.contains("<nav class=\"expert-menu\" aria-label=\"Menu de l'espace expert\""), "{dashboard}");
    for group in ["Mon compte", "Mon calendrier", "Comment ça marche ?"] {
        assert!(dashboard.contains(&format!("<h2>{group}</h2>")), "{group}");
    }
    let links = menu_links(&dashboard);
    assert_eq!(
        links,
        [
            "/expert/dashboard",
            "/expert/profile/edit",
            "/expert/profile",
            "/expert/bank",
            "/expert/planning",
            "/terms",
            "/contact"
        ]
    );
    assert!(dashboard.contains("href=\"/expert/dashboard\" aria-current=\"page\""), "{dashboard}");
    for link in &links {
        let (status, html) = page(&luna, &app, link).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        assert_eq!(menu_links(&html), links, "the same menu on {link}");
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1, "{link}");
        assert!(html.contains(&format!("href=\"{link}\" aria-current=\"page\"")), "{link} is marked");
    }
    // Clients and visitors get no expert menu.
    let claire = app.signed_in("/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    assert!(!page(&claire, &app, "/terms").await.1.contains("expert-menu"));
    assert!(!page(&app.client, &app, "/terms").await.1.contains("expert-menu"));
}

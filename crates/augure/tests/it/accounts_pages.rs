//! Accounts through the HTML pages, as a browser without JavaScript uses them.

use augure_app::demo;
use augure_testkit::TestApp;
use reqwest::StatusCode;

use crate::accounts_api::reset_token_from_mail;

async fn sign_up(app: &TestApp, client: &reqwest::Client, path: &str, email: &str) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(&[
            ("display_name", "Marie"),
            ("email", email),
            ("password", "correct horse"),
            ("site", ""),
            ("accept_terms", "yes"),
        ])
        .send()
        .await
        .unwrap()
}

async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client.post(app.url(path)).form(&[("email", email), ("password", password)]).send().await.unwrap()
}

#[tokio::test]
async fn sp_login_client_signs_up_and_lands_on_the_dashboard() {
    let app = TestApp::spawn().await;
    let page = sign_up(&app, &app.client, "/signup", "marie@example.fr").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.url().path(), "/dashboard");
    let html = page.text().await.unwrap();
    assert!(html.contains("Bonjour Marie"), "{html}");
    // A second visit is still signed in: the session cookie works.
    let again = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(again.url().path(), "/dashboard");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = TestApp::spawn().await;
    let client = TestApp::client_without_redirects();
    let response = sign_up(&app, &client, "/signup", "marie@example.fr").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/dashboard");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("augure_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
}

#[tokio::test]
async fn sp_code_expert_signs_up_on_the_expert_entry_and_sees_the_code() {
    let app = TestApp::spawn().await;
    let page = sign_up(&app, &app.client, "/expert/signup", "luna@example.fr").await;
    assert_eq!(page.url().path(), "/expert/dashboard");
    let html = page.text().await.unwrap();
    let user = app.store.user_by_email(&"luna@example.fr".parse().unwrap()).await.unwrap();
    let code = user.expert_code.expect("an expert code").to_string();
    assert!(html.contains(&format!("Votre code expert : {code}")), "{html}");
}

#[tokio::test]
async fn sp_login_clients_and_experts_have_separate_entry_points() {
    let app = TestApp::spawn().await;
    sign_up(&app, &TestApp::new_client(), "/expert/signup", "luna@example.fr").await;
    sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    let wrong_door = sign_in(&app, &app.client, "/login", "luna@example.fr", "correct horse").await;
    assert_eq!(wrong_door.status(), StatusCode::FORBIDDEN);
    assert!(wrong_door.text().await.unwrap().contains("Ce compte est un compte expert"));
    let wrong_door = sign_in(&app, &app.client, "/expert/login", "marie@example.fr", "correct horse").await;
    assert_eq!(wrong_door.status(), StatusCode::FORBIDDEN);
    let right = sign_in(&app, &app.client, "/expert/login", "luna@example.fr", "correct horse").await;
    assert_eq!(right.url().path(), "/expert/dashboard");
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_a_message() {
    let app = TestApp::spawn().await;
    sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    let page = sign_in(&app, &app.client, "/login", "marie@example.fr", "wrong password").await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let html = page.text().await.unwrap();
    assert!(html.contains("Adresse email ou mot de passe incorrect."));
    assert!(html.contains("value=\"marie@example.fr\""), "the email is kept");
}

#[tokio::test]
async fn sign_up_errors_are_shown_in_the_form_and_create_nothing() {
    let app = TestApp::spawn().await;
    let short = app
        .client
        .post(app.url("/signup"))
        .form(&[("display_name", "Marie"), ("email", "marie@example.fr"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("au moins 10 caractères"));
    sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    let duplicate = sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    assert!(duplicate.text().await.unwrap().contains("Un compte existe déjà"));
    assert_eq!(app.store.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    sign_up(&app, &app.client, "/signup", "marie@example.fr").await;
    let home = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(home.url().path(), "/");
    let dashboard = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(dashboard.url().path(), "/login", "a signed-out visitor is sent to sign in");
}

#[tokio::test]
async fn dashboards_and_admin_pages_check_the_role() {
    let app = TestApp::spawn().await;
    sign_up(&app, &app.client, "/signup", "marie@example.fr").await;
    for path in ["/admin", "/admin/outbox", "/admin/jobs", "/admin/users", "/expert/dashboard"] {
        let page = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let anonymous = TestApp::client_without_redirects();
    let response = anonymous.get(app.url("/admin/outbox")).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/admin/login");
}

#[tokio::test]
async fn the_admin_reads_sent_mail_in_the_outbox() {
    let app = TestApp::spawn().await;
    app.app.accounts.create_admin("root@example.fr", "admin password", "Root").await.unwrap();
    sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    app.drain_jobs().await;
    let admin = TestApp::new_client();
    let home = sign_in(&app, &admin, "/admin/login", "root@example.fr", "admin password").await;
    assert_eq!(home.url().path(), "/admin");
    let outbox = admin.get(app.url("/admin/outbox")).send().await.unwrap().text().await.unwrap();
    assert!(outbox.contains("marie@example.fr") && outbox.contains("Bienvenue sur augure"), "{outbox}");
    let id = app.mails_to("marie@example.fr").await[0].id;
    let mail = admin.get(app.url(&format!("/admin/outbox/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(mail.contains("Votre compte est créé"));
    let jobs = admin.get(app.url("/admin/jobs?status=done")).send().await.unwrap().text().await.unwrap();
    assert!(jobs.contains("un email") && jobs.contains("Terminé") && !jobs.contains("mail.deliver"), "{jobs}");
}

#[tokio::test]
async fn password_reset_through_the_pages() {
    let app = TestApp::spawn().await;
    sign_up(&app, &TestApp::new_client(), "/signup", "marie@example.fr").await;
    let sent =
        app.client.post(app.url("/password/forgot")).form(&[("email", "marie@example.fr")]).send().await.unwrap();
    assert!(sent.text().await.unwrap().contains("Si un compte existe"));
    let token = reset_token_from_mail(&app, "marie@example.fr").await;
    let form = app.client.get(app.url(&format!("/password/reset/{token}"))).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let done = app
        .client
        .post(app.url(&format!("/password/reset/{token}")))
        .form(&[("password", "brand new pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.url().path(), "/dashboard");
    let again = TestApp::new_client()
        .post(app.url(&format!("/password/reset/{token}")))
        .form(&[("password", "another pass!")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.text().await.unwrap().contains("Ce lien a déjà servi"));
    let old = sign_in(&app, &TestApp::new_client(), "/login", "marie@example.fr", "correct horse").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/signup"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("display_name", "Marie"), ("email", "marie@example.fr"), ("password", "correct horse")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(app.store.count_users().await.unwrap(), 0);
    let same_origin = app
        .client
        .post(app.url("/signup"))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("display_name", "Marie"),
            ("email", "marie@example.fr"),
            ("password", "correct horse"),
            ("accept_terms", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.url().path(), "/dashboard");
}

#[tokio::test]
async fn pages_follow_the_browser_language_and_the_switcher() {
    let app = TestApp::spawn().await;
    let english = app.client.get(app.url("/login")).header("accept-language", "en-GB,en;q=0.8").send().await.unwrap();
    assert_eq!(english.headers().get("content-language"), None, "only error pages set it");
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));
    let italian = app.client.post(app.url("/lang")).form(&[("lang", "it"), ("next", "/login")]).send().await.unwrap();
    assert_eq!(italian.url().path(), "/login");
    let html = italian.text().await.unwrap();
    assert!(html.contains("<html lang=\"it\">") && html.contains("Accesso clienti"), "{html}");
    // The cookie outranks Accept-Language.
    let still = app.client.get(app.url("/")).header("accept-language", "en").send().await.unwrap();
    assert!(still.text().await.unwrap().contains("<html lang=\"it\">"));
    let outside = app.client.post(app.url("/lang")).form(&[("lang", "it"), ("next", "//evil.example")]).send().await;
    assert_eq!(outside.unwrap().url().path(), "/", "no open redirect");
}

#[tokio::test]
async fn mail_is_written_in_the_language_the_person_used() {
    let app = TestApp::spawn().await;
    app.client.post(app.url("/lang")).form(&[("lang", "it"), ("next", "/")]).send().await.unwrap();
    sign_up(&app, &app.client, "/signup", "giulia@example.it").await;
    app.drain_jobs().await;
    let mail = &app.mails_to("giulia@example.it").await[0].mail;
    assert_eq!(mail.subject, "Benvenuto su augure");
    assert!(mail.html_body.contains("lang=\"it\""));
}

#[tokio::test]
async fn demo_data_fills_the_home_page() {
    let app = TestApp::spawn().await;
    assert!(demo::seed(&app.app).await.unwrap());
    assert!(!demo::seed(&app.app).await.unwrap(), "a database with data is left alone");
    let home = app.client.get(app.url("/?site=CH")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Chiara") && home.contains("augure Suisse"), "{home}");
    assert!(!home.contains(">Luna</a>"), "a euro-priced expert is not listed in Switzerland");
    assert!(home.contains("CHF"), "prices in the site's currency");
    let home = app.client.get(app.url("/?site=FR")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Luna") && home.contains("2,99\u{a0}€ / min"), "prices in the site's format");
    let belgium = app.client.get(app.url("/?site=BE")).send().await.unwrap().text().await.unwrap();
    assert!(belgium.contains("Luna") && belgium.contains("Sélène"), "listed on every site of their currency");
    let experts = app.store.list_users(Some(augure_domain::Role::Expert), 100, 0).await.unwrap();
    assert!(experts.len() >= 12);
    let page = sign_in(&app, &app.client, "/login", "claire@augure.localhost", demo::DEMO_PASSWORD).await;
    assert_eq!(page.url().path(), "/dashboard");
}

/// After "sign in to be alerted", the client comes back to the page they were on; only
/// paths of this site are followed.
#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_and_never_elsewhere() {
    let app = TestApp::spawn().await;
    demo::seed(&app.app).await.unwrap();
    let page = app.client.get(app.url("/login?next=/experts/1234")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"next\" value=\"/experts/1234\""), "{page}");
    app.client
        .post(app.url("/signup"))
        .form(&[
            ("display_name", "Claire"),
            ("email", "c@example.fr"),
            ("password", "correct horse battery"),
            ("site", ""),
            ("accept_terms", "yes"),
        ])
        .send()
        .await
        .unwrap();
    for (next, expected) in
        [("/experts/1234", "/experts/1234"), ("//evil.example/x", "/dashboard"), ("https://evil.example", "/dashboard")]
    {
        let client = TestApp::client_without_redirects();
        let response = client
            .post(app.url("/login"))
            .form(&[("email", "c@example.fr"), ("password", "correct horse battery"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], expected, "next={next}");
    }
}

/// Browsers drop tabs and line breaks from a URL and read `\` as `/`: such a `next` would
/// lead to another site, so sign-in and the language switcher both refuse it.
#[tokio::test]
async fn sign_in_and_language_switch_refuse_redirects_hidden_by_control_characters() {
    let app = TestApp::spawn().await;
    sign_up(&app, &app.client, "/signup", "c@example.fr").await;
    let client = TestApp::client_without_redirects();
    for next in ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/x/\u{0}/y"] {
        let login = client
            .post(app.url("/login"))
            .form(&[("email", "c@example.fr"), ("password", "correct horse"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(login.headers()["location"], "/dashboard", "sign-in next={next:?}");
        let lang = client.post(app.url("/lang")).form(&[("lang", "it"), ("next", next)]).send().await.unwrap();
        assert_eq!(lang.headers()["location"], "/", "language next={next:?}");
    }
}

//! The pages in a real browser: headless Chromium through chromedriver. These tests skip
//! when Chromium is not installed (and fail under `CI=true`). They prove what the HTTP-level
//! tests cannot: the forms work as rendered, including the browser's own CSRF headers.

use augure_domain::Role;
use augure_testkit::TestApp;
use augure_testkit::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_signs_up_through_the_form_and_lands_on_the_dashboard() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::start().await else { return };

    browser.goto(&app.url("/signup")).await;
    browser.type_into("input[name=display_name]", "Ada Lovelace").await;
    browser.type_into("input[name=email]", "ada@example.com").await;
    browser.type_into("input[name=password]", "correct horse battery").await;
    browser.click("main form button[type=submit]").await;

    let heading = browser.wait_for("#dashboard").await.text().await;
    assert!(heading.contains("Ada Lovelace"), "dashboard heading: {heading:?}");
    let url = browser.current_url().await;
    assert!(url.ends_with("/dashboard"), "landed on {url}");
    let user = app.store.user_by_email(&"ada@example.com".parse().unwrap()).await.expect("account created");
    assert_eq!(user.role, Role::Client);

    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_language_switcher_changes_the_page_language() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::start().await else { return };

    browser.goto(&app.url("/login")).await;
    // Chromium sends its own Accept-Language (en-US here), which the app honours.
    let before = browser.attribute("html", "lang").await;
    assert_ne!(before.as_deref(), Some("it"), "already Italian before switching");
    browser.click("footer button[value=it]").await;

    browser.wait_for("html[lang=it]").await;
    assert_eq!(browser.text("main h1").await, "Accesso clienti");
    let url = browser.current_url().await;
    assert!(url.ends_with("/login"), "the switcher returns to the same page, not {url}");

    browser.quit().await;
}

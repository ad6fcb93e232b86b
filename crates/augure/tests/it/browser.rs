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
    browser.click("input[name=accept_terms]").await;
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

/// SP-chat-presence in a real browser: the expert's open dashboard holds a WebSocket whose
/// heartbeats keep chat live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_expert_dashboard_keeps_chat_live_over_a_websocket() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    // The heartbeat the demo recorded is long gone.
    app.clock.advance(chrono::Duration::minutes(10));
    let mut presence = app.store.presence(luna.id).await.unwrap();
    presence.last_heartbeat = None;
    app.store.save_presence(&presence).await.unwrap();
    app.app.directory.changes().changed();
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/expert/login"), "luna@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    browser.wait_for("#availability").await;
    browser.wait_for("html[data-presence=connected]").await;
    // The page knows it is connected as the server records the first heartbeat: wait for it.
    let now = Some(augure_domain::Clock::now(&app.clock));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut heartbeat = None;
    while std::time::Instant::now() < deadline {
        heartbeat = app.store.presence(luna.id).await.unwrap().last_heartbeat;
        if heartbeat == now {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(heartbeat, now, "the socket recorded a heartbeat");
    browser.quit().await;
}

/// SP-media in a real browser: the expert picks a photo in the file input, an admin
/// approves it in the moderation queue, and it appears on the public profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_expert_photo_is_approved_by_an_admin_and_shown_on_the_profile() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let code = luna.expert_code.unwrap().0;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("portrait.png");
    std::fs::write(&photo, crate::media::png(1200, 900)).unwrap();
    let Some(browser) = Browser::start().await else { return };

    browser.sign_in(&app.url("/expert/login"), "luna@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    browser.wait_for("#media-link").await.click().await;
    browser.wait_for("#photo-form").await;
    // WebDriver fills a file input with the path of a local file.
    browser.type_into("#photo-form input[type=file]", photo.to_str().unwrap()).await;
    browser.click("#photo-form button[type=submit]").await;
    browser.wait_for("#media-sent").await;
    assert!(browser.try_find("img.photo.pending").await.is_ok(), "the expert previews what waits");
    browser.goto(&app.url(&format!("/experts/{code}"))).await;
    assert!(browser.try_find("#expert-photo").await.is_err(), "not public before approval");
    browser.click("header form[action='/logout'] button").await;
    // Signed out once the header offers to sign in again.
    browser.wait_for("header a[href='/signup']").await;

    browser.sign_in(&app.url("/admin/login"), augure_app::demo::ADMIN_EMAIL, augure_app::demo::ADMIN_PASSWORD).await;
    browser.wait_for("nav.tabs a[href='/admin/moderation']").await.click().await;
    browser.wait_for("li[data-kind=photo] button[value=approve]").await.click().await;
    browser.wait_for("#queue-empty").await;

    browser.goto(&app.url(&format!("/experts/{code}"))).await;
    let src = browser.wait_for("#expert-photo").await.attribute("src").await.unwrap();
    assert!(src.starts_with("/media/"), "{src}");
    // The image really loaded: the browser decoded the re-encoded JPEG.
    let width = browser.find("#expert-photo").await.property("naturalWidth").await;
    assert_eq!(width.as_deref(), Some("800"));
    browser.quit().await;
}

/// The home listing follows availability changes without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_home_listing_updates_when_an_expert_changes_status() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let code = luna.expert_code.unwrap().0;
    let Some(browser) = Browser::start().await else { return };
    browser.goto(&app.url(&format!("/?q={code}"))).await;
    let before = browser.wait_for("#listing .card.expert p").await.text().await;
    assert_eq!(before, "Available", "Chromium asks for English");
    app.app.availability.change(luna.id, augure_app::availability::Change::Unavailable).await.unwrap();
    browser.wait_for("#listing[data-refreshed]").await;
    assert_eq!(browser.text("#listing .card.expert p").await, "Unavailable");
    browser.quit().await;
}

/// Every page stays accessible (WCAG 2.1 AA, as axe-core checks it) at phone size, where
/// wide admin tables scroll sideways and must stay reachable by keyboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pages_pass_axe_at_phone_size_for_client_expert_and_admin() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    // Something in each list and the outboxes: a mail, an SMS, an alert with a link.
    notify_everyone(&app).await;
    let Some(browser) = Browser::start().await else { return };
    let password = augure_app::demo::DEMO_PASSWORD;
    let walks: [(&str, &str, &str, &str, &[&str]); 3] = [
        (
            "/login",
            "claire@augure.localhost",
            password,
            "header form[action='/logout']",
            &["/dashboard", "/wallet", "/", "/notifications"],
        ),
        (
            "/expert/login",
            "luna@augure.localhost",
            password,
            "#media-link",
            &["/expert/dashboard", "/expert/profile/edit", "/expert/planning", "/expert/bank", "/notifications"],
        ),
        (
            "/admin/login",
            augure_app::demo::ADMIN_EMAIL,
            augure_app::demo::ADMIN_PASSWORD,
            "nav.tabs a[href='/admin/moderation']",
            &[
                "/admin",
                "/admin/users",
                "/admin/jobs",
                "/admin/outbox",
                "/admin/ledger",
                "/admin/ledger/transfers",
                "/admin/purchases",
                "/admin/sites",
                "/admin/packs?done=pack-on-sale&id=1",
                "/admin/moderation",
                "/admin/specialties",
                "/notifications",
            ],
        ),
    ];
    let mut violations = Vec::new();
    for (login, email, password, signed_in, pages) in walks {
        browser.sign_in(&app.url(login), email, password).await;
        browser.wait_for(signed_in).await;
        for page in pages {
            browser.goto(&app.url(page)).await;
            let Some(found) = browser.axe_violations().await else { return };
            if !found.is_empty() {
                violations.push(format!("{page}: {}", found.join(", ")));
            }
        }
        browser.click("header form[action='/logout'] button").await;
        browser.wait_for("header a[href='/signup']").await;
    }
    assert!(violations.is_empty(), "axe-core violations at 412 px: {violations:#?}");
    browser.quit().await;
}

/// The home filter form as a person uses it: every select left on "any", a name typed
/// without its accents, Enter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_home_search_with_the_forms_defaults_finds_a_name_typed_without_accents() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let Some(browser) = Browser::start().await else { return };
    browser.goto(&app.url("/?site=BE")).await;
    // WebDriver's Enter key.
    browser.type_into("#filters input[name=q]", "selene\u{E007}").await;
    let card = browser.wait_for("#listing .card.expert h3").await.text().await;
    assert!(card.contains("Sélène"), "found {card:?}");
    let url = browser.current_url().await;
    assert!(url.contains("q=selene") && url.contains("max_price="), "the form's defaults went along: {url}");
    browser.quit().await;
}

/// A purchase through the real forms: the pack's button, the test checkout's card form,
/// and the wallet, which shows the credit as it lands, without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_wallet_follows_the_credit_after_paying() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/login"), "claire@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    let fr = app.store.site_by_code(&"FR".parse().unwrap()).await.unwrap();
    let pack = app.store.credit_packs(fr.id).await.unwrap().into_iter().find(|p| p.price.minor == 2000).unwrap();
    browser.goto(&app.url("/wallet")).await;
    browser.click(&format!("form input[name=pack_id][value='{}'] + button", pack.id)).await;
    browser.type_into("input[name=card]", "4242 4242 4242 4242").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("#wallet-live[data-watch]").await;
    let before = browser.text("#available").await.replace('\u{a0}', " ");
    assert_eq!(before, "€0.00", "Chromium asks for English; nothing before the provider confirms");
    // The provider's webhook arrives while the page is open.
    app.drain_jobs().await;
    browser.wait_for("#wallet-live:not([data-watch])").await;
    assert_eq!(browser.text("#available").await.replace('\u{a0}', " "), "€22.00");
    browser.quit().await;
}

/// A presentation over the limit through the real form: the counter says so while typing,
/// and the refusal shows the form again with the text as typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_too_long_presentation_is_counted_refused_and_kept() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let max = app.app.settings.media.presentation.max_chars;
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/expert/login"), "luna@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    browser.goto(&app.url("/expert/profile")).await;
    let field = "form.presentation:has(input[value=fr]) textarea";
    browser.find(field).await.clear().await;
    let text = "é".repeat(max + 1);
    browser.type_into(field, &text).await;
    let counter = browser.wait_for("#count-fr.over").await.text().await;
    assert!(counter.starts_with(&format!("{} / {max}", max + 1)), "{counter}");
    browser.click("form.presentation:has(input[value=fr]) button[type=submit]").await;
    browser.wait_for("p.alert").await;
    let kept = browser.find(field).await.property("value").await.unwrap_or_default();
    assert_eq!(kept.chars().count(), max + 1, "what was typed is shown again");
    browser.quit().await;
}

/// SP-contract through the real form: a new expert ticks the terms box and lands on a
/// dashboard that does not ask again, with the expert's menu; the footer's pages pass axe
/// at 412 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_new_expert_accepts_the_terms_at_sign_up_and_the_legal_pages_pass_axe() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let Some(browser) = Browser::start().await else { return };
    browser.goto(&app.url("/expert/signup")).await;
    browser.type_into("input[name=display_name]", "Nova").await;
    browser.type_into("input[name=email]", "nova@example.com").await;
    browser.type_into("input[name=password]", "correct horse battery").await;
    assert!(browser.try_find("input[name=accept_terms][required]").await.is_ok(), "the box must be ticked");
    browser.click("input[name=accept_terms]").await;
    browser.click("main form button[type=submit]").await;

    browser.wait_for("#expert-menu").await;
    assert!(browser.try_find("#terms-banner").await.is_err(), "accepted at sign-up, not asked again");
    // Chromium asks for English.
    assert_eq!(browser.text("#expert-menu a[aria-current=page]").await, "Dashboard");
    let user = app.store.user_by_email(&"nova@example.com".parse().unwrap()).await.expect("account created");
    assert_eq!(app.store.expert_details(user.id).await.unwrap().terms_version, Some(1));

    let mut violations = Vec::new();
    for page in ["/legal", "/terms", "/privacy", "/contact?site=CH", "/expert/dashboard"] {
        browser.goto(&app.url(page)).await;
        browser.wait_for("main h1").await;
        let Some(found) = browser.axe_violations().await else { return };
        if !found.is_empty() {
            violations.push(format!("{page}: {}", found.join(", ")));
        }
    }
    assert!(violations.is_empty(), "axe-core violations at 412 px: {violations:#?}");
    browser.quit().await;
}

/// SP-planning through the real editor: a night slot (22:00–02:00) on one day and a
/// half-typed slot on another, one submission. The valid day is saved, the wrong one
/// shown again as typed with its message, and the page stays accessible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_planning_saves_a_night_slot_and_shows_a_wrong_day_again() {
    let app = TestApp::spawn().await;
    augure_app::demo::seed(&app.app).await.unwrap();
    let luna = app.store.user_by_email(&"luna@augure.localhost".parse().unwrap()).await.unwrap();
    let today = augure_domain::Clock::now(&app.clock).with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let tomorrow = today + chrono::Duration::days(1);
    let Some(browser) = Browser::start().await else { return };
    browser.sign_in(&app.url("/expert/login"), "luna@augure.localhost", augure_app::demo::DEMO_PASSWORD).await;
    browser.goto(&app.url("/expert/planning")).await;
    // Chromium asks for English: its time fields read hours, minutes, then AM/PM.
    let field = |day: chrono::NaiveDate, part: &str| format!("#day-{day} input[name='{day}.{part}']");
    browser.type_into(&field(today, "start"), "1000P").await;
    browser.type_into(&field(today, "end"), "0200A").await;
    browser.type_into(&field(tomorrow, "start"), "0900A").await;
    browser.click("form.planning button[value=all]").await;
    let message = browser.wait_for(&format!("#error-{tomorrow}")).await.text().await;
    assert_eq!(message, "Give the start and the end of each slot.");
    let summary = browser.text("#planning-errors").await;
    assert!(summary.starts_with("Not saved: "), "{summary}");
    assert!(browser.text("#planning-saved-days").await.starts_with("Saved: "));
    // What was typed is there again; the saved day shows what is saved.
    let typed = browser.find(&field(tomorrow, "start")).await.property("value").await;
    assert_eq!(typed.as_deref(), Some("09:00"));
    assert_eq!(browser.find(&field(today, "start")).await.property("value").await.as_deref(), Some("22:00"));
    assert_eq!(browser.find(&field(today, "end")).await.property("value").await.as_deref(), Some("02:00"));
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let saved = app.store.planning(luna.id, today, tomorrow).await.unwrap();
    assert_eq!(saved, [augure_domain::planning::PlannedSlot { date: today, start: t(22, 0), end: t(2, 0) }]);
    let Some(found) = browser.axe_violations().await else { return };
    assert!(found.is_empty(), "axe-core violations on the refused planning: {found:?}");
    browser.quit().await;
}

/// A mail, an SMS and a linked alert for the accounts the accessibility walk signs in
/// with, so that their notification lists and the outboxes are not empty.
async fn notify_everyone(app: &TestApp) {
    use augure_domain::Clock;
    for email in ["claire@augure.localhost", "luna@augure.localhost", augure_app::demo::ADMIN_EMAIL] {
        let user = app.store.user_by_email(&email.parse().unwrap()).await.unwrap();
        app.app.accounts.request_password_reset(email, "fr").await.unwrap();
        let sms =
            augure_app::sms::TextMessage::new(user.id, "+33612345678", "augure : Luna est de nouveau disponible.");
        sms.unwrap().enqueue(&*app.store, None, app.clock.now()).await.unwrap();
        let notice = augure_app::Notice {
            key: "browser:1".into(),
            kind: "review_invitation".into(),
            title: "Donnez votre avis sur votre consultation avec Luna".into(),
            body: "Votre avis aide les autres clients à choisir.".into(),
            link: Some("/".into()),
        };
        app.app.notifications.notify(user.id, notice).await.unwrap();
    }
    app.drain_jobs().await;
    // One read, the others new: both looks are checked.
    let claire = app.store.user_by_email(&"claire@augure.localhost".parse().unwrap()).await.unwrap();
    let newest = app.app.notifications.inbox(claire.id).await.unwrap().items;
    app.app.notifications.mark_read(claire.id, &[newest[0].id]).await.unwrap();
}

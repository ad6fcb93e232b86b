//! A real browser for end-to-end tests: headless Chromium driven through `chromedriver`
//! over the W3C WebDriver HTTP protocol.
//!
//! It is a deliberately small client (navigate, find, type, click, read) built on `reqwest`
//! and `serde_json`, so the tests need no WebDriver crate. [`Browser::start`] skips the test
//! (returns `None`) when Chromium is not installed, except under `CI=true`, where a missing
//! browser is an error. Every method panics with a readable message on failure: these are
//! test helpers, and a panic with the page's URL is the most useful report.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long `chromedriver` may take to answer `/status` after it is spawned.
const DRIVER_STARTUP: Duration = Duration::from_secs(20);
/// How long [`Browser::wait_for`] waits for an element before giving up.
const WAIT_FOR: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// A headless Chromium session and the `chromedriver` process that owns it.
pub struct Browser {
    http: reqwest::Client,
    port: u16,
    /// `None` once the session has been deleted.
    session: Option<String>,
    driver: Child,
    /// Chromium's profile: fresh for every browser so no state leaks between tests.
    /// Dropped after `Drop::drop` has stopped Chromium.
    profile: tempfile::TempDir,
}

/// An element found on the current page. It goes stale when the page changes.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts `chromedriver` and opens a phone-sized headless Chromium window.
    ///
    /// Returns `None` (after printing why) when the binaries are missing, so the test can
    /// skip; panics instead when `CI=true`, or when the binaries exist but do not start.
    pub async fn start() -> Option<Browser> {
        let driver_path = std::env::var("AUGURE_TEST_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium_path = std::env::var("AUGURE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        for (path, variable) in [(&driver_path, "AUGURE_TEST_CHROMEDRIVER"), (&chromium_path, "AUGURE_TEST_CHROMIUM")] {
            if !Path::new(path).exists() {
                return augure_store::conformance::service_missing(
                    "Chromium",
                    format!("{path} does not exist (set {variable})"),
                );
            }
        }

        // Ask the OS for a free port, then hand it to chromedriver. Another process could
        // grab it in between, but then chromedriver exits and we report that below.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("pick a free port for chromedriver")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            // Its banner on stdout would clutter the test output; errors still go to stderr.
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {driver_path}: {e}"));
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        augure_adapters::install_tls_provider();
        let http = reqwest::Client::builder()
            // A hung page load must fail the test, not hang it.
            .timeout(Duration::from_secs(60))
            .build()
            .expect("WebDriver http client");
        let mut browser = Browser { http, port, session: None, driver, profile };
        browser.wait_until_ready(&driver_path).await;

        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(), // containers rarely allow Chromium's sandbox
            "--disable-gpu".into(),
            // No update checks, sync or QUIC: the tests talk to localhost only.
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            format!("--user-data-dir={}", browser.profile.path().display()),
            "--window-size=412,915".into(), // a phone: the layout most visitors get
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"pageLoad": 20_000},
            "goog:chromeOptions": {"binary": chromium_path, "args": args},
        }}});
        let created = browser
            .send(Method::POST, "/session".into(), Some(capabilities))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {chromium_path}: {e}"));
        let session = created["sessionId"].as_str().unwrap_or_else(|| panic!("no sessionId in {created}"));
        browser.session = Some(session.to_string());
        Some(browser)
    }

    /// Polls `/status` until chromedriver accepts sessions.
    async fn wait_until_ready(&mut self, driver_path: &str) {
        let deadline = Instant::now() + DRIVER_STARTUP;
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("{driver_path} exited during startup ({status}); was port {} taken?", self.port);
            }
            if let Ok(status) = self.send(Method::GET, "/status".into(), None).await
                && status["ready"] == true
            {
                return;
            }
            if Instant::now() > deadline {
                panic!("{driver_path} did not become ready on port {} within {DRIVER_STARTUP:?}", self.port);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn current_url(&self) -> String {
        let url = self.command(Method::GET, "/url", None).await;
        url.as_str().unwrap_or_else(|| panic!("current URL is not a string: {url}")).to_string()
    }

    /// The first element matching the CSS selector, or an error if there is none yet.
    pub async fn try_find(&self, css: &str) -> Result<Element<'_>, String> {
        let found = self
            .send(Method::POST, self.session_path("/element"), Some(json!({"using": "css selector", "value": css})))
            .await?;
        let id = found[ELEMENT_KEY].as_str().ok_or_else(|| format!("no element reference in {found}"))?;
        Ok(Element { browser: self, id: id.to_string() })
    }

    /// The first element matching the CSS selector; panics if there is none.
    pub async fn find(&self, css: &str) -> Element<'_> {
        match self.try_find(css).await {
            Ok(element) => element,
            Err(e) => panic!("no element `{css}` on {}: {e}", self.current_url().await),
        }
    }

    /// Waits (up to 10 s) for an element to appear, e.g. after a click that loads a page.
    /// This waits for readiness; it asserts nothing about speed.
    pub async fn wait_for(&self, css: &str) -> Element<'_> {
        let deadline = Instant::now() + WAIT_FOR;
        loop {
            match self.try_find(css).await {
                Ok(element) => return element,
                Err(e) if Instant::now() > deadline => {
                    panic!("`{css}` did not appear within {WAIT_FOR:?}; page is {}: {e}", self.current_url().await)
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Types `text` into the element matching `css`.
    /// Types into the field matching `css`, waiting for it first: after a click that
    /// loads a page, the new URL shows before its form does.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css).await.type_text(text).await;
    }

    /// Signs in through the sign-in form at `login_url` as a person would, and waits until
    /// the header offers to sign out (going on earlier races the sign-in).
    pub async fn sign_in(&self, login_url: &str, email: &str, password: &str) {
        self.goto(login_url).await;
        self.type_into("input[name=email]", email).await;
        self.type_into("input[name=password]", password).await;
        self.click("main form button[type=submit]").await;
        self.wait_for("header form[action='/logout']").await;
    }

    /// Clicks the element matching `css`, waiting for it like [`Browser::type_into`].
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await;
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await
    }

    /// An attribute of the element matching `css`, `None` if the element lacks it.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attribute(name).await
    }

    /// Ends the session and chromedriver. Dropping the browser does the same, but this
    /// closes Chromium without blocking the runtime.
    /// The WCAG 2.1 A/AA violations axe-core finds on the current page, as `rule (count)`.
    /// axe-core comes from npm (`.ci/run` installs it; `AUGURE_TEST_AXE` names its
    /// `axe.min.js`). Without it this returns `None` after saying why, except under
    /// `CI=true`, where it panics. The script is sent as the WebDriver script itself, not
    /// evaluated by the page, so the pages' `script-src 'self'` policy stays on.
    pub async fn axe_violations(&self) -> Option<Vec<String>> {
        let path = std::env::var("AUGURE_TEST_AXE").unwrap_or_else(|_| "node_modules/axe-core/axe.min.js".into());
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(e) => return augure_store::conformance::service_missing("axe-core", format!("{path}: {e}")),
        };
        let script = format!(
            "{source}\n;const done = arguments[arguments.length - 1];\n\
             axe.run(document, {{ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }})\n\
             .then(r => done(r.violations.map(v => v.id + ' (' + v.nodes.length + ')')), e => done(['axe failed: ' + e]));"
        );
        let found = self.command(Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] }))).await;
        let found = found.as_array().map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect());
        Some(found.unwrap_or_else(|| vec!["axe returned no list".into()]))
    }

    pub async fn quit(mut self) {
        if let Some(session) = self.session.take() {
            let _ = self.send(Method::DELETE, format!("/session/{session}"), None).await;
        }
    }

    fn session_path(&self, path: &str) -> String {
        let session = self.session.as_deref().expect("the browser session has ended");
        format!("/session/{session}{path}")
    }

    /// A session command that must succeed.
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("{method} {path}");
        self.send(method, self.session_path(path), body).await.unwrap_or_else(|e| panic!("WebDriver {what}: {e}"))
    }

    /// Sends one WebDriver request and unwraps the protocol's `{"value": ...}` envelope.
    async fn send(&self, method: Method, path: String, body: Option<Value>) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let mut reply: Value = response.json().await.map_err(|e| format!("{status}, unreadable reply: {e}"))?;
        let value = reply["value"].take();
        if status.is_success() { Ok(value) } else { Err(format!("{status} {}: {}", value["error"], value["message"])) }
    }
}

impl Element<'_> {
    pub async fn click(&self) {
        self.browser.command(Method::POST, &self.path("/click"), Some(json!({}))).await;
    }

    /// Empties a field.
    pub async fn clear(&self) {
        self.browser.command(Method::POST, &self.path("/clear"), Some(json!({}))).await;
    }

    pub async fn type_text(&self, text: &str) {
        self.browser.command(Method::POST, &self.path("/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn text(&self) -> String {
        let text = self.browser.command(Method::GET, &self.path("/text"), None).await;
        text.as_str().unwrap_or_default().to_string()
    }

    pub async fn attribute(&self, name: &str) -> Option<String> {
        let value = self.browser.command(Method::GET, &self.path(&format!("/attribute/{name}")), None).await;
        value.as_str().map(str::to_string)
    }

    /// A DOM property (e.g. an image's `naturalWidth`), as text.
    pub async fn property(&self, name: &str) -> Option<String> {
        let value = self.browser.command(Method::GET, &self.path(&format!("/property/{name}")), None).await;
        match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    fn path(&self, suffix: &str) -> String {
        format!("/element/{}{suffix}", self.id)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session is what makes chromedriver close Chromium; killing only
        // chromedriver would orphan the browser. Drop cannot await, hence plain std HTTP.
        if let Some(session) = self.session.take() {
            delete_session_blocking(self.port, &session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` over a bare socket, bounded by a 5 s read timeout.
fn delete_session_blocking(port: u16, session: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // The reply arrives once Chromium has quit.
        let _ = stream.read_to_end(&mut Vec::new());
    }
}

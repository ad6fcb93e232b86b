//! Server-rendered pages. Each page is an askama template around a [`Layout`] that carries
//! the translator, the signed-in person and the current path (for the language switcher).

mod account;
mod admin;
mod admin_chat;
mod admin_experts;
mod chat;
mod checkout;
mod consultations;
mod dashboard;
mod expert_profile;
mod home;
mod legal;

pub use home::CardCache;
mod media;
mod names;
mod notifications;
mod planning;
mod profile;
mod sites;
mod wallet;

use askama::Template;
use augure_app::i18n::{LOCALES, Tr};
use augure_domain::Role;
use augure_store::{Session, User};
use axum::extract::{DefaultBodyLimit, Form, FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::rejection::FormRejection};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::{Problem, default_key};
use crate::flash::Flash;
use crate::locale;

pub fn routes(settings: &augure_app::Settings) -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/experts/{code}", get(profile::profile))
        .route("/experts/{code}/alert", post(planning::ask_alert))
        .route("/experts/{code}/chat", post(chat::start))
        .route("/consultations", get(consultations::history))
        .route("/consultations/{id}", get(chat::page))
        .route("/consultations/{id}/messages", post(chat::send))
        .route(
            "/consultations/{id}/images",
            post(chat::send_image)
                .layer(DefaultBodyLimit::max(crate::limits::upload_body_limit(settings.media.photo_max_upload_bytes))),
        )
        .route("/consultations/{id}/images/{seq}", get(chat::image))
        .route("/consultations/{id}/note", post(chat::save_note))
        .route("/consultations/{id}/report", post(chat::report))
        .route("/consultations/{id}/review", get(consultations::review_page).post(consultations::review))
        .route("/consultations/{id}/{action}", post(chat::act))
        .route("/expert/notes", get(consultations::notes))
        .route("/expert/planning", get(planning::page).post(planning::save))
        .route("/sitemap.xml", get(profile::sitemap_index))
        .route("/robots.txt", get(profile::robots))
        .route("/sitemaps/{file}", get(profile::sitemap))
        .route("/signup", get(account::client_signup_page).post(account::client_signup))
        .route("/expert/signup", get(account::expert_signup_page).post(account::expert_signup))
        .route("/login", get(account::client_login_page).post(account::client_login))
        .route("/expert/login", get(account::expert_login_page).post(account::expert_login))
        .route("/admin/login", get(account::admin_login_page).post(account::admin_login))
        .route("/logout", post(account::logout))
        .route("/password/forgot", get(account::forgot_page).post(account::forgot))
        .route("/password/reset/{token}", get(account::reset_page).post(account::reset))
        .route("/lang", post(home::switch_language))
        .route("/dashboard", get(dashboard::client))
        .route("/expert/dashboard", get(dashboard::expert))
        .route("/expert/availability", post(dashboard::change_availability))
        .route("/expert/bank", get(dashboard::bank_page).post(dashboard::save_bank))
        .route("/admin", get(admin::home))
        .route("/admin/outbox", get(admin::outbox))
        .route("/admin/outbox/{id}", get(admin::outbox_mail))
        .route("/admin/live", get(admin_chat::live))
        .route("/admin/live/{id}/end", post(admin_chat::force_end))
        .route("/admin/reports", get(admin_chat::reports))
        .route("/admin/reports/{id}/resolve", post(admin_chat::resolve))
        .route("/admin/flags/{consultation}/{seq}/dismiss", post(admin_chat::dismiss))
        .route("/notifications", get(notifications::page))
        .route("/notifications/read", post(notifications::mark_read))
        .route("/admin/jobs", get(admin::jobs))
        .route("/admin/users", get(admin::users))
        .route("/admin/experts/{code}/commission", get(admin_experts::commission).post(admin_experts::save_commission))
        .route("/admin/ledger", get(admin::ledger))
        .route("/admin/purchases", get(wallet::admin_purchases))
        .route("/admin/sites", get(sites::admin_sites))
        .route("/admin/sites/{code}/numbers", post(sites::admin_save_numbers))
        .route("/admin/packs", get(wallet::admin_packs).post(wallet::admin_add_pack))
        .route("/admin/packs/{id}/active", post(wallet::admin_toggle_pack))
        .route("/admin/ledger/transfers", get(admin::ledger_transfers))
        .route("/admin/purchases/{id}/refund", post(wallet::admin_refund))
        .route("/admin/purchases/{id}/provider-test", post(wallet::admin_provider_test))
        .route("/wallet", get(wallet::wallet))
        .route("/wallet/purchases", post(wallet::buy))
        .route("/wallet/purchases/{id}/cancel", post(wallet::cancel))
        .route("/wallet/receipts/{id}", get(wallet::receipt))
        .route("/payments/test-checkout/{session}", get(checkout::page).post(checkout::pay))
        .route("/webhooks/payments", post(checkout::webhook))
        .route("/admin/ledger/accounts/{id}", get(admin::ledger_account))
        .route("/expert/profile", get(media::expert_media))
        .route("/expert/profile/presentation", post(media::save_presentation))
        .route(
            "/expert/profile/photo",
            post(media::upload_photo)
                .layer(DefaultBodyLimit::max(crate::limits::upload_body_limit(settings.media.photo_max_upload_bytes))),
        )
        .route(
            "/expert/profile/audio",
            post(media::upload_audio)
                .layer(DefaultBodyLimit::max(crate::limits::upload_body_limit(settings.media.audio_max_bytes))),
        )
        .route("/admin/moderation", get(media::moderation))
        .route("/admin/moderation/{id}", post(media::decide))
        .route("/media/{file}", get(media::file))
        .route("/directory/events", get(home::directory_events))
        .route("/expert/profile/edit", get(expert_profile::edit).post(expert_profile::save))
        .route("/expert/terms", post(expert_profile::accept_terms))
        .route("/admin/sites/{code}/tariff", post(sites::admin_save_tariff))
        .route("/admin/sites/{code}/tariffs", post(sites::admin_save_tariffs))
        .route("/admin/specialties", get(expert_profile::admin_specialties).post(expert_profile::admin_save_specialty))
        .route("/legal", get(legal::legal))
        .route("/terms", get(legal::terms))
        .route("/privacy", get(legal::privacy))
        .route("/contact", get(legal::contact))
        .route("/admin/pages", get(legal::admin_list))
        .route("/admin/pages/{site}/{kind}/{locale}", get(legal::admin_edit).post(legal::admin_save))
}

/// The body limit of an upload route. Files somewhat over the setting are still read, so
/// the browser gets the clear "larger than 2 MB" page rather than a reset connection;
/// far larger bodies are cut off (and answered with the same message).
/// What every page's frame needs.
pub struct Layout<'a> {
    pub tr: Tr<'a>,
    pub user: Option<User>,
    pub path: String,
    pub locales: [&'static str; 3],
    /// What the last action did, when this page follows one ([`crate::flash`]).
    pub flash: Option<String>,
    /// The signed-in person's unread notifications, for the header.
    pub unread: i64,
}

impl<'a> Layout<'a> {
    pub fn anonymous(tr: Tr<'a>, path: &str) -> Self {
        Self { tr, user: None, path: path.to_owned(), locales: LOCALES, flash: None, unread: 0 }
    }

    /// The header's link to the notification list, with the unread count in words: read
    /// out by screen readers, and not shown by colour alone.
    pub fn notifications_label(&self) -> String {
        if self.unread > 0 {
            self.tr.t1("nav-notifications-unread", "count", &self.unread.to_string())
        } else {
            self.tr.t("nav-notifications")
        }
    }

    /// Where this person's dashboard is.
    pub fn dashboard_url(&self) -> &'static str {
        self.user.as_ref().map_or("/login", |u| dashboard_url(u.role))
    }

    /// `?site=CH` when this page is for a chosen storefront, so that the footer's pages
    /// are that site's; empty otherwise.
    pub fn site_query(&self) -> String {
        let query = self.path.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "site")
            .and_then(|(_, v)| v.parse::<augure_domain::SiteCode>().ok())
            .map_or_else(String::new, |code| format!("?site={code}"))
    }

    /// A language of the switch, by its own name ("Italiano").
    pub fn language_name(&self, code: &str) -> &'static str {
        names::endonym(code)
    }

    /// Whether `href` is the page shown (its path, whatever the query): the menu marks it.
    pub fn current(&self, href: &str) -> bool {
        self.path.split('?').next() == Some(href)
    }

    /// The expert's menu goes round their own pages and the help pages it links to.
    pub fn expert_menu(&self) -> bool {
        let path = self.path.split('?').next().unwrap_or_default();
        self.user.as_ref().is_some_and(|u| u.role == Role::Expert)
            && (path.starts_with("/expert/") || legal::PATHS.contains(&path))
    }
}

pub fn dashboard_url(role: Role) -> &'static str {
    match role {
        Role::Client => "/dashboard",
        Role::Expert => "/expert/dashboard",
        Role::Admin => "/admin",
    }
}

pub fn login_url(role: Role) -> &'static str {
    match role {
        Role::Client => "/login",
        Role::Expert => "/expert/login",
        Role::Admin => "/admin/login",
    }
}

/// A page request: locale, path, and who is signed in.
pub struct PageCtx {
    pub locale: &'static str,
    pub path: String,
    pub session: Option<Session>,
    pub token: Option<String>,
    /// The confirmation this page's query names.
    pub flash: Option<Flash>,
    /// The signed-in person's unread notifications (0 when nobody is signed in).
    pub unread: i64,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // With its query: switching language on `/?site=CH` stays on that site.
        let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |OriginalUri(uri)| uri);
        let path = match uri.path_and_query() {
            Some(pq) => pq.as_str().to_owned(),
            None => uri.path().to_owned(),
        };
        let mut flash = uri.query().and_then(Flash::from_query);
        if let Some(f) = flash.take() {
            let name = match f.site_code() {
                Some(code) => state.app.sites.by_code(code).await?.map(|site| site.name),
                None => None,
            };
            flash = Some(match name {
                Some(name) => f.with_site_name(name),
                None => f,
            });
        }
        let locale = locale::from_headers(&parts.headers);
        let viewer = Viewer::from_request_parts(parts, state).await?;
        // Every signed-in page's header shows it: one count on an index of unread rows.
        let unread = match &viewer.session {
            Some(session) => state.app.notifications.unread(session.user.id).await?,
            None => 0,
        };
        Ok(PageCtx { locale, path, session: viewer.session, token: viewer.token, flash, unread })
    }
}

impl PageCtx {
    pub fn layout<'a>(&self, state: &'a AppState) -> Layout<'a> {
        let tr = Tr::new(&state.app.i18n, self.locale);
        Layout {
            flash: self.flash.as_ref().map(|f| f.message(&tr)),
            tr,
            user: self.session.as_ref().map(|s| s.user.clone()),
            path: self.path.clone(),
            locales: LOCALES,
            unread: self.unread,
        }
    }

    /// The signed-in user if they have `role`; otherwise a redirect to that role's sign-in
    /// page (not signed in) or 403 (signed in as someone else).
    pub fn require(&self, role: Role) -> Result<&User, PageRejection> {
        match &self.session {
            Some(s) if s.user.role == role => Ok(&s.user),
            Some(_) => Err(PageRejection::Problem(Problem::new(StatusCode::FORBIDDEN, "err-forbidden"))),
            None => Err(PageRejection::Redirect(login_url(role))),
        }
    }
}

/// Why a page is not shown: send the visitor elsewhere, or an error page.
pub enum PageRejection {
    Redirect(&'static str),
    Problem(Problem),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::Redirect(to) => Redirect::to(to).into_response(),
            PageRejection::Problem(p) => p.into_response(),
        }
    }
}

macro_rules! page_rejection_from {
    ($($error:ty),*) => {$(
        impl From<$error> for PageRejection {
            fn from(e: $error) -> Self {
                PageRejection::Problem(e.into())
            }
        }
    )*};
}

page_rejection_from!(
    Problem,
    augure_app::AccountError,
    augure_app::profile::ProfileError,
    augure_app::media::MediaServiceError,
    augure_app::credit::CreditError,
    augure_app::legal::LegalError,
    augure_app::commissions::CommissionError,
    augure_store::StoreError,
    askama::Error
);

pub type PageResult = Result<Response, PageRejection>;

/// Renders a template with a status.
pub fn render(status: StatusCode, page: &impl Template) -> PageResult {
    Ok((status, Html(page.render()?)).into_response())
}

/// A form body; a malformed one becomes an error page rather than plain text.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Form::<T>::from_request(req, state).await.map(|Form(v)| PageForm(v)).map_err(|e: FormRejection| {
            let status = e.status();
            Problem::new(status, default_key(status)).with_detail(e.body_text())
        })
    }
}

/// An instant as people read it: in `zone` (their site's), with the month in their
/// language — "1 déc. 2026, 14:05".
pub fn when(tr: &Tr<'_>, at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> String {
    use chrono::Datelike;
    let local = at.with_timezone(&zone);
    let month = tr.t(&format!("month-short-{}", local.month()));
    let args = [
        ("day", local.day().to_string()),
        ("month", month),
        ("year", local.year().to_string()),
        ("time", local.format("%H:%M").to_string()),
    ];
    tr.t_args("datetime", &args)
}

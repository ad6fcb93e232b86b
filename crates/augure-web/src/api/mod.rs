//! The JSON API under `/api/v1`, described by the OpenAPI document it serves at
//! `/api/v1/openapi.json`. Bodies reject unknown fields; errors are
//! `application/problem+json` (see [`crate::error`]).

use augure_app::SignUp;
use augure_domain::{Role, Site};
use augure_store::{SessionKind, User};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Duration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;
use crate::auth::{ApiCaller, ClientIp};
use crate::error::{Problem, default_key};
use crate::locale;

mod consultations;
mod credit;
mod doc;
mod notifications;
mod planning;
mod profile;
mod quote;

pub fn routes(settings: &augure_app::Settings) -> Router<AppState> {
    Router::new()
        .merge(profile::routes(settings))
        .route("/auth/signup", post(signup))
        .route("/auth/token", post(create_token).delete(revoke_token))
        .route("/auth/password/forgot", post(forgot_password))
        .route("/auth/password/reset", post(reset_password))
        .route("/me", get(me))
        .route("/sites", get(sites))
        .merge(credit::routes())
        .merge(notifications::routes())
        .merge(consultations::routes())
        .route("/experts", get(experts))
        .route("/experts/{code}/planning", get(planning::expert_planning))
        .route("/experts/{code}/alert", post(planning::ask_alert))
        .route("/experts/{code}/quote", get(quote::quote))
        .route("/openapi.json", get(openapi))
}

/// Written for each request: it names the sites as they are now.
async fn openapi(State(st): State<AppState>) -> Result<Json<serde_json::Value>, Problem> {
    let sites = st.app.sites.list().await?;
    let codes: Vec<String> = sites.iter().map(|s| s.code.to_string()).collect();
    Ok(Json(doc::document(&st.app.settings, &codes)))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "augure API", version = "1", description = "Live paid-consultation marketplace."),
    paths(signup, create_token, revoke_token, forgot_password, reset_password, me, sites, credit::packs, credit::create_purchase, credit::wallet, experts,
        planning::expert_planning, planning::ask_alert),
    components(schemas(
        SignUpRequest, TokenRequest, ForgotRequest, ResetRequest, SessionView, UserView, SiteView, TariffView,
        ProblemView, SignUpRole, credit::PackView, credit::PurchaseRequest, credit::PurchaseView, credit::WalletView, credit::WalletLine, ExpertView,
        planning::PlanningView, planning::SlotView, planning::AlertView
    )),
    modifiers(&BearerToken),
    tags((name = "accounts", description = "Sign-up, tokens, password reset"), (name = "sites", description = "Storefronts"), (name = "credit", description = "Prepaid credit"), (name = "experts", description = "The ranked directory"))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A JSON body whose rejections (malformed, unknown field, too large, wrong type) become
/// problem documents.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state).await.map(|Json(v)| ApiJson(v)).map_err(|e: JsonRejection| {
            let status = e.status();
            Problem::new(status, default_key(status)).with_detail(e.body_text())
        })
    }
}

/// An integer field: JSON Schema counts `3.0` as the integer 3, so it is read as one.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        // Exactly representable whole numbers only: beyond 2^53 a float is not one integer.
        Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("{number} is not a whole number in range"))),
    }
}

/// An RFC 9457 problem document.
#[derive(Serialize, ToSchema)]
struct ProblemView {
    #[serde(rename = "type")]
    kind: String,
    /// What went wrong, in the caller's language (`Accept-Language`).
    title: String,
    status: u16,
    detail: Option<String>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum SignUpRole {
    Client,
    Expert,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUpRequest {
    #[schema(example = "marie@example.fr", format = Email)]
    email: String,
    /// At least 10 characters (a setting).
    password: String,
    display_name: String,
    role: SignUpRole,
    /// `fr`, `it` or `en`; defaults to `Accept-Language`, and an unknown language to
    /// French.
    #[serde(default)]
    locale: Option<String>,
    /// Home site code, e.g. `FR`; by default the first site.
    #[serde(default)]
    site: Option<String>,
    /// Must be `true`: the person accepts the current terms (the site's `/terms` page).
    /// The version accepted is recorded with the account, so a new expert is not asked
    /// again; without it the sign-up is refused (422).
    #[serde(default)]
    accept_terms: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ForgotRequest {
    email: String,
    #[serde(default)]
    locale: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    /// The token from the emailed link (`/password/reset/{token}`).
    token: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
struct UserView {
    id: i64,
    email: String,
    #[schema(example = "client")]
    role: String,
    display_name: String,
    locale: String,
    site_id: Option<i64>,
    /// SP-code: experts only.
    expert_code: Option<u32>,
    /// RFC 3339.
    created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.to_string(),
            role: u.role.as_str().into(),
            display_name: u.display_name.clone(),
            locale: u.locale.clone(),
            site_id: u.site_id.map(|s| s.0),
            expert_code: u.expert_code.map(|c| c.0),
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct SessionView {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    expires_at: String,
    user: UserView,
}

#[derive(Serialize, ToSchema)]
struct TariffView {
    code: String,
    label: String,
    phone_number: Option<String>,
    /// Minor units of the site's currency.
    per_minute: Option<i64>,
    per_call: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct SiteView {
    code: String,
    name: String,
    currency: String,
    time_zone: String,
    default_locale: String,
    phone_numbers: Vec<String>,
    tariffs: Vec<TariffView>,
    /// SP-tariffs: the per-minute price every expert listed here is charged at, in minor
    /// units of the site's currency; absent when each expert sets their own.
    imposed_per_minute: Option<i64>,
}

impl From<Site> for SiteView {
    fn from(s: Site) -> Self {
        Self {
            code: s.code.to_string(),
            name: s.name,
            currency: s.currency.code().into(),
            time_zone: s.time_zone.name().into(),
            default_locale: s.default_locale,
            phone_numbers: s.phone_numbers,
            imposed_per_minute: s.imposed_per_minute.map(|m| m.minor),
            tariffs: s
                .tariffs
                .into_iter()
                .map(|t| TariffView {
                    code: t.code,
                    label: t.label,
                    phone_number: t.phone_number,
                    per_minute: t.per_minute.map(|m| m.minor),
                    per_call: t.per_call.map(|m| m.minor),
                })
                .collect(),
        }
    }
}

async fn session_view(st: &AppState, user: &User) -> Result<SessionView, Problem> {
    let token = st.app.accounts.open_session(user, SessionKind::Api).await?;
    let expires_at = st.app.clock.now() + Duration::hours(st.app.settings.accounts.api_token_ttl_hours);
    Ok(SessionView { token, expires_at: expires_at.to_rfc3339(), user: user.into() })
}

/// Opens a client or expert account and returns an API token for it.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts", request_body = SignUpRequest,
    responses(
        (status = 201, body = SessionView),
        (status = 409, description = "Email already used", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, or the terms not accepted", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ups from this address", body = ProblemView, content_type = "application/problem+json"),
    ))]
async fn signup(
    State(st): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignUpRequest>,
) -> Result<Response, Problem> {
    st.limits.sign_up(ip.0)?;
    let site = match body.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => Some(code.parse().map_err(|_| Problem::from(augure_app::AccountError::UnknownSite))?),
        None => None,
    };
    let locale = body.locale.unwrap_or_else(|| locale::from_headers(&headers).to_owned());
    let role = match body.role {
        SignUpRole::Client => Role::Client,
        SignUpRole::Expert => Role::Expert,
    };
    let user = st
        .app
        .accounts
        .sign_up(SignUp {
            email: body.email,
            password: body.password,
            display_name: body.display_name,
            role,
            locale,
            site,
            accept_terms: body.accept_terms,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session_view(&st, &user).await?)).into_response())
}

/// Exchanges an email and password for an API token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "accounts", request_body = TokenRequest,
    responses(
        (status = 200, body = SessionView),
        (status = 401, description = "Wrong email or password", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = ProblemView, content_type = "application/problem+json"),
    ))]
async fn create_token(
    State(st): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<SessionView>, Problem> {
    st.limits.sign_in(ip.0, &body.email)?;
    // The API has one entry point for every role; the role is in the answer.
    let (user, token) = st.app.accounts.sign_in(&body.email, &body.password, None, SessionKind::Api).await?;
    let expires_at = st.app.clock.now() + Duration::hours(st.app.settings.accounts.api_token_ttl_hours);
    Ok(Json(SessionView { token, expires_at: expires_at.to_rfc3339(), user: (&user).into() }))
}

/// Revokes the token used to call it.
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = ProblemView, content_type = "application/problem+json")))]
async fn revoke_token(State(st): State<AppState>, caller: ApiCaller) -> Result<StatusCode, Problem> {
    st.app.accounts.sign_out(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails a single-use reset link if the address has an account; answers 202 either way.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "accounts", request_body = ForgotRequest,
    responses((status = 202, description = "A link was mailed if the account exists"), (status = 429, body = ProblemView, content_type = "application/problem+json")))]
async fn forgot_password(
    State(st): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ForgotRequest>,
) -> Result<StatusCode, Problem> {
    st.limits.password_reset(ip.0)?;
    let locale = body.locale.unwrap_or_else(|| locale::from_headers(&headers).to_owned());
    st.app.accounts.request_password_reset(&body.email, &locale).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with a reset token; the token is spent and every session closed.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "accounts", request_body = ResetRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 404, description = "Unknown link", body = ProblemView, content_type = "application/problem+json"),
        (status = 410, description = "Link expired or already used", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Password refused", body = ProblemView, content_type = "application/problem+json"),
    ))]
async fn reset_password(
    State(st): State<AppState>,
    ip: ClientIp,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, Problem> {
    st.limits.password_reset(ip.0)?;
    st.app.accounts.reset_password(&body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ProblemView, content_type = "application/problem+json")))]
async fn me(caller: ApiCaller) -> Json<UserView> {
    Json((&caller.session.user).into())
}

/// The storefronts, with their currency, time zone, numbers and tariffs.
#[utoipa::path(get, path = "/api/v1/sites", tag = "sites", responses((status = 200, body = [SiteView])))]
async fn sites(State(st): State<AppState>) -> Result<Json<Vec<SiteView>>, Problem> {
    Ok(Json(st.app.sites.list().await?.iter().cloned().map(SiteView::from).collect()))
}

/// The directory's filters, as query parameters (the home page takes the same). A
/// parameter left empty (a form's "any" choice) is no filter.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryFilters {
    /// A specialty key, e.g. `tarot`.
    pub(crate) specialty: Option<String>,
    /// A spoken language, ISO 639-1.
    pub(crate) language: Option<String>,
    /// `phone`, `chat`, `email` or `video`.
    pub(crate) mode: Option<String>,
    /// Highest per-minute price, in minor units of the currency of `site` (without `site`,
    /// of each expert's home site): compared with the price clients there pay.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub(crate) max_price: Option<i64>,
    /// `true`: only experts who can be consulted now.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub(crate) available: Option<bool>,
    /// Part of a name, or an expert code.
    pub(crate) q: Option<String>,
    /// A site code: only experts listed there.
    pub(crate) site: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "saturating_count")]
    pub(crate) page: Option<usize>,
    /// Experts per page, at most 100; the site's page size when absent.
    #[serde(default, deserialize_with = "saturating_count")]
    pub(crate) per_page: Option<usize>,
}

/// Reads an optional query value, an empty one being absent.
fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match Option::<String>::deserialize(deserializer)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => value.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A count from the query (a page, a page size), an empty one being absent. The schema
/// says "integer": one too large for this machine is the largest, which paging clamps,
/// not a refused request.
fn saturating_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    match Option::<String>::deserialize(deserializer)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(digits.parse().unwrap_or(usize::MAX)))
        }
        Some(value) => value.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The most experts one page may hold.
const MAX_PER_PAGE: usize = 100;

impl DirectoryFilters {
    /// `(page from 1, experts per page)`.
    pub fn paging(&self, default_per_page: usize) -> (usize, usize) {
        let per_page = self.per_page.unwrap_or(default_per_page).clamp(1, MAX_PER_PAGE);
        (self.page.unwrap_or(1).max(1), per_page)
    }
}

impl DirectoryFilters {
    /// The query these parameters ask for; an unknown mode is a 422, not an empty list.
    pub fn query(&self) -> Result<augure_app::directory::DirectoryQuery, Problem> {
        let mode = match self.mode.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => Some(m.parse().map_err(|e: String| {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-input").with_detail(e)
            })?),
            None => None,
        };
        Ok(augure_app::directory::DirectoryQuery {
            specialty: self.specialty.clone().filter(|s| !s.is_empty()),
            language: self.language.clone().filter(|s| !s.is_empty()),
            mode,
            max_price: self.max_price,
            available_now: self.available.unwrap_or(false),
            search: self.q.clone(),
            site: None,
        })
    }
}

#[derive(Serialize, ToSchema)]
struct ExpertView {
    id: i64,
    name: String,
    expert_code: Option<u32>,
    headline: String,
    specialties: Vec<String>,
    languages: Vec<String>,
    /// Modes the expert offers.
    modes: Vec<String>,
    /// Modes a client can use right now.
    live_modes: Vec<String>,
    /// SP-ranking position: 1 (all of phone, chat, email live) … 8 (unavailable).
    position: u8,
    /// What a client pays per minute, in minor units of `currency`: on the site asked for
    /// with `site` (its tariff when it imposes one, SP-tariffs), else on the expert's home
    /// site (their sign-up site, or the first site listing them).
    price_per_minute: i64,
    /// The currency of `price_per_minute` (ISO 4217), the site's.
    currency: String,
    /// The per-minute price is the site's tariff rather than the expert's own.
    imposed: bool,
    /// SP-return: when an unavailable expert is expected back: the end of their pause
    /// (WG-pause), else the next start of their planning.
    #[schema(value_type = Option<String>, format = DateTime)]
    expected_return: Option<chrono::DateTime<chrono::Utc>>,
}

/// The ranked directory (the home listing's order and filters), one page at a time. The
/// `X-Total-Count` header gives the number of experts matching the filters. With `site`,
/// only experts listed there with a price there, priced as that site sells them.
#[utoipa::path(get, path = "/api/v1/experts", tag = "experts", params(DirectoryFilters),
    responses((status = 200, body = [ExpertView], headers(("X-Total-Count" = usize, description = "Experts matching the filters"))),
        (status = 422, description = "Unknown mode", body = ProblemView, content_type = "application/problem+json")))]
async fn experts(
    State(st): State<AppState>,
    axum::extract::Query(filters): axum::extract::Query<DirectoryFilters>,
) -> Result<impl IntoResponse, Problem> {
    let (page, per_page) = filters.paging(st.app.settings.directory.page_size);
    let mut query = filters.query()?;
    if let Some(code) = filters.site.as_deref().filter(|c| !c.is_empty()) {
        let unknown = || Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site");
        let code = code.parse().map_err(|_| unknown())?;
        query.site = Some(st.app.sites.by_code(&code).await?.ok_or_else(unknown)?.id);
    }
    let (total, listed) = st.app.directory.page(&query, (page - 1).saturating_mul(per_page), per_page).await?;
    // Each expert's JSON is written once per ranking snapshot (see `CardCache`).
    let mut body = String::with_capacity(listed.len() * 400 + 2);
    body.push('[');
    for (i, l) in listed.into_iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        // Prices differ per site: one JSON per expert and site asked for.
        let key = (l.entry.card.profile.user_id.0, "api", query.site.map_or(0, |s| s.0));
        let json = match st.cards.get(key, l.snapshot) {
            Some(json) => json,
            None => {
                let p = &l.entry.card.profile;
                let view = ExpertView {
                    id: p.user_id.0,
                    name: l.entry.card.display_name.clone(),
                    expert_code: l.entry.card.expert_code.map(|c| c.0),
                    headline: p.headline.clone(),
                    specialties: p.specialties.clone(),
                    languages: p.languages.clone(),
                    modes: p.modes.iter().map(|m| m.as_str().to_owned()).collect(),
                    live_modes: l.live_modes.iter().map(|m| m.as_str().to_owned()).collect(),
                    position: l.position,
                    price_per_minute: l.prices.per_minute.minor,
                    currency: l.prices.currency().code().into(),
                    imposed: l.prices.imposed,
                    expected_return: l.expected_return.filter(|_| l.position == 8).map(|back| back.at()),
                };
                let json: std::sync::Arc<str> = serde_json::to_string(&view).map_err(Problem::internal)?.into();
                st.cards.put(key, l.snapshot, json.clone());
                json
            }
        };
        body.push_str(&json);
    }
    body.push(']');
    let body = ([(axum::http::header::CONTENT_TYPE, "application/json")], body);
    Ok(([(axum::http::HeaderName::from_static("x-total-count"), total.to_string())], body))
}

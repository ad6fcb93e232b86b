//! The expert's profile and media over the API (SP-profile, SP-options, AT-min,
//! SP-contract, SP-media, SP-presentation), and the moderation queue for admins.

use augure_app::pricing::PriceForm;
use augure_app::profile::ProfileForm;
use augure_domain::media::MediaKind;
use augure_domain::{MediaId, Role};
use augure_store::MediaItem;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::ApiJson;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::Problem;

pub fn routes(settings: &augure_app::Settings) -> Router<AppState> {
    let photo_limit = crate::limits::upload_body_limit(settings.media.photo_max_upload_bytes);
    let audio_limit = crate::limits::upload_body_limit(settings.media.audio_max_bytes);
    Router::new()
        .route("/specialties", get(specialties))
        .route("/me/profile", get(own_profile).put(save_profile))
        .route("/me/terms", post(accept_terms))
        .route("/me/bank", get(own_bank).put(save_bank))
        .route("/me/media", get(own_media))
        .route("/me/media/photo", post(upload_photo).layer(DefaultBodyLimit::max(photo_limit)))
        .route("/me/media/audio", post(upload_audio).layer(DefaultBodyLimit::max(audio_limit)))
        .route("/me/media/presentation", put(save_presentation))
        .route("/admin/moderation", get(queue))
        .route("/admin/moderation/{id}", post(decide))
}

#[derive(OpenApi)]
#[openapi(
    paths(specialties, own_profile, save_profile, accept_terms, own_bank, save_bank, own_media, upload_photo, upload_audio, save_presentation, queue, decide),
    components(schemas(BankView, BankRequest, SpecialtyView, ProfileView, ProfileRequest, PriceSetView, PriceSetRequest, MediaView, PresentationRequest, DecisionRequest)),
    tags((name = "profile", description = "The expert's own profile, media and terms"), (name = "moderation", description = "Admins approve or refuse media"))
)]
pub struct ProfileDoc;

fn expert(caller: &ApiCaller) -> Result<augure_domain::UserId, Problem> {
    let user = &caller.session.user;
    if user.role == Role::Expert { Ok(user.id) } else { Err(Problem::new(StatusCode::FORBIDDEN, "err-forbidden")) }
}

fn admin(caller: &ApiCaller) -> Result<(), Problem> {
    if caller.session.user.role == Role::Admin {
        Ok(())
    } else {
        Err(Problem::new(StatusCode::FORBIDDEN, "err-forbidden"))
    }
}

#[derive(Serialize, ToSchema)]
struct SpecialtyView {
    key: String,
    /// The operator's name for it, when it has no translation.
    label: String,
}

/// The specialties experts may choose (SP-options); the UI recommends at most 3.
#[utoipa::path(get, path = "/api/v1/specialties", tag = "profile", responses((status = 200, body = [SpecialtyView])))]
async fn specialties(State(st): State<AppState>) -> Result<Json<Vec<SpecialtyView>>, Problem> {
    let list = st.app.profiles.active_specialties().await?;
    Ok(Json(list.into_iter().map(|s| SpecialtyView { key: s.key, label: s.label }).collect()))
}

#[derive(Serialize, ToSchema)]
struct ProfileView {
    headline: String,
    specialties: Vec<String>,
    languages: Vec<String>,
    modes: Vec<String>,
    /// Site codes where the expert is listed.
    sites: Vec<String>,
    /// One price set per currency of those sites (SP-options, AT-min).
    prices: Vec<PriceSetView>,
    /// The prices of the first listed site's currency, as in `prices` (kept for callers
    /// written when an expert had one currency).
    currency: Option<String>,
    /// Minor units.
    price_per_minute: Option<i64>,
    email_price: Option<i64>,
    package_price: Option<i64>,
    package_minutes: Option<u32>,
    free_minutes: u32,
    email_needs: String,
    legal_name: String,
    company_name: String,
    company_number: String,
    vat_number: String,
    address: String,
    postal_code: String,
    city: String,
    country: String,
    phone: String,
    terms_version: Option<u32>,
    /// The current terms are not accepted yet (SP-contract).
    terms_pending: bool,
}

/// An expert's prices in one currency; amounts in minor units.
#[derive(Serialize, ToSchema)]
struct PriceSetView {
    /// ISO 4217, e.g. `CHF`.
    currency: String,
    /// Absent where every chosen site of this currency imposes its own (SP-tariffs).
    price_per_minute: Option<i64>,
    email_price: Option<i64>,
    package_price: Option<i64>,
    package_minutes: Option<u32>,
    free_minutes: u32,
}

impl From<&augure_domain::pricing::PriceSet> for PriceSetView {
    fn from(p: &augure_domain::pricing::PriceSet) -> Self {
        PriceSetView {
            currency: p.currency.code().into(),
            price_per_minute: p.per_minute.map(|m| m.minor),
            email_price: p.email.map(|m| m.minor),
            package_price: p.package.map(|k| k.price.minor),
            package_minutes: p.package.map(|k| k.minutes),
            free_minutes: p.free_minutes,
        }
    }
}

async fn view(st: &AppState, user: augure_domain::UserId) -> Result<ProfileView, Problem> {
    let own = st.app.profiles.own(user).await?;
    let sites = st.app.sites.list().await?;
    let d = own.details;
    let p = own.profile;
    let prices: Vec<PriceSetView> =
        p.as_ref().map(|p| p.prices.iter().map(PriceSetView::from).collect()).unwrap_or_default();
    let first_currency = sites.iter().find(|s| d.visible_sites.contains(&s.id)).map(|s| s.currency.code());
    let home = first_currency.and_then(|c| prices.iter().find(|p| p.currency == c)).or(prices.first());
    Ok(ProfileView {
        headline: p.as_ref().map(|p| p.headline.clone()).unwrap_or_default(),
        specialties: p.as_ref().map(|p| p.specialties.clone()).unwrap_or_default(),
        languages: p.as_ref().map(|p| p.languages.clone()).unwrap_or_default(),
        modes: p.as_ref().map(|p| p.modes.iter().map(|m| m.as_str().to_owned()).collect()).unwrap_or_default(),
        sites: sites.iter().filter(|s| d.visible_sites.contains(&s.id)).map(|s| s.code.to_string()).collect(),
        currency: home.map(|h| h.currency.clone()),
        price_per_minute: home.and_then(|h| h.price_per_minute),
        email_price: home.and_then(|h| h.email_price),
        package_price: home.and_then(|h| h.package_price),
        package_minutes: home.and_then(|h| h.package_minutes),
        free_minutes: home.map_or(0, |h| h.free_minutes),
        email_needs: d.email_needs,
        legal_name: d.legal_name,
        company_name: d.company_name,
        company_number: d.company_number,
        vat_number: d.vat_number,
        address: d.address,
        postal_code: d.postal_code,
        city: d.city,
        country: d.country,
        phone: d.phone,
        terms_version: d.terms_version,
        terms_pending: own.terms_pending,
        prices,
    })
}

/// The signed-in expert's profile.
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = ProfileView), (status = 403, body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn own_profile(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<ProfileView>, Problem> {
    let user = expert(&caller)?;
    Ok(Json(view(&st, user).await?))
}

/// The prices of one currency; amounts are decimal strings ("2.50").
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PriceSetRequest {
    /// ISO 4217, e.g. `CHF`: the currency of some of the chosen sites.
    currency: String,
    /// Needed unless every chosen site of this currency imposes its own (SP-tariffs).
    #[serde(default)]
    price_per_minute: String,
    #[serde(default)]
    email_price: String,
    #[serde(default)]
    package_price: String,
    #[serde(default)]
    package_minutes: Option<u32>,
    #[serde(default)]
    free_minutes: u32,
}

impl From<PriceSetRequest> for PriceForm {
    fn from(r: PriceSetRequest) -> Self {
        PriceForm {
            currency: r.currency,
            per_minute: r.price_per_minute,
            email_price: r.email_price,
            package_price: r.package_price,
            package_minutes: r.package_minutes.map(|m| m.to_string()).unwrap_or_default(),
            free_minutes: r.free_minutes.to_string(),
        }
    }
}

/// The whole profile. Prices are decimal strings ("2.50"): one set in `prices` per
/// currency of the chosen sites; the price fields at the top level are a shorthand for the
/// first chosen site's currency (a set in `prices` for that currency wins).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProfileRequest {
    headline: String,
    specialties: Vec<String>,
    languages: Vec<String>,
    modes: Vec<String>,
    sites: Vec<String>,
    #[serde(default)]
    prices: Vec<PriceSetRequest>,
    #[serde(default)]
    price_per_minute: String,
    #[serde(default)]
    email_price: String,
    #[serde(default)]
    package_price: String,
    #[serde(default)]
    package_minutes: Option<u32>,
    #[serde(default)]
    free_minutes: u32,
    #[serde(default)]
    email_needs: String,
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    company_number: String,
    #[serde(default)]
    vat_number: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    phone: String,
    /// Accepts the current terms and code of ethics (needed while `terms_pending`).
    #[serde(default)]
    accept_terms: bool,
}

/// Saves the profile; each chosen site's currency needs a price set, checked against that
/// site's minimums (AT-min).
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "profile", security(("bearer" = [])), request_body = ProfileRequest,
    responses((status = 200, body = ProfileView), (status = 422, description = "Invalid field, price below the minimum, terms not accepted", body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn save_profile(
    State(st): State<AppState>,
    caller: ApiCaller,
    ApiJson(r): ApiJson<ProfileRequest>,
) -> Result<Json<ProfileView>, Problem> {
    let user = expert(&caller)?;
    let shorthand = PriceForm {
        currency: String::new(),
        per_minute: r.price_per_minute,
        email_price: r.email_price,
        package_price: r.package_price,
        package_minutes: r.package_minutes.map(|m| m.to_string()).unwrap_or_default(),
        free_minutes: r.free_minutes.to_string(),
    };
    let form = ProfileForm {
        headline: r.headline,
        specialties: r.specialties,
        languages: r.languages,
        modes: r.modes,
        sites: r.sites,
        prices: prices_of(r.prices, shorthand),
        email_needs: r.email_needs,
        legal_name: r.legal_name,
        company_name: r.company_name,
        company_number: r.company_number,
        vat_number: r.vat_number,
        address: r.address,
        postal_code: r.postal_code,
        city: r.city,
        country: r.country,
        phone: r.phone,
        accept_terms: r.accept_terms,
    };
    st.app.profiles.save_profile(user, &form).await?;
    Ok(Json(view(&st, user).await?))
}

/// The sets of a request: those named by currency, and the top-level shorthand.
fn prices_of(sets: Vec<PriceSetRequest>, shorthand: PriceForm) -> Vec<PriceForm> {
    let mut forms: Vec<PriceForm> = sets.into_iter().map(PriceForm::from).collect();
    forms.push(shorthand);
    forms
}

/// Accepts the current version of the terms and code of ethics (SP-contract).
#[utoipa::path(post, path = "/api/v1/me/terms", tag = "profile", security(("bearer" = [])), responses((status = 204)))]
async fn accept_terms(State(st): State<AppState>, caller: ApiCaller) -> Result<StatusCode, Problem> {
    let user = expert(&caller)?;
    st.app.profiles.accept_terms(user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct MediaView {
    id: i64,
    /// `photo`, `audio` or `presentation`.
    kind: String,
    locale: String,
    /// `pending`, `approved`, `refused` or `superseded`.
    status: String,
    /// Where the file is served (photos and audio).
    url: Option<String>,
    text: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration_ms: Option<u32>,
    reason: Option<String>,
}

impl From<MediaItem> for MediaView {
    fn from(m: MediaItem) -> Self {
        let url = match m.kind {
            MediaKind::Photo => Some(format!("/media/{}.jpg", m.id)),
            MediaKind::Audio => Some(format!("/media/{}.mp3", m.id)),
            MediaKind::Presentation => None,
        };
        MediaView {
            id: m.id.0,
            kind: m.kind.as_str().into(),
            locale: m.locale,
            status: m.status.as_str().into(),
            url,
            text: (m.kind == MediaKind::Presentation).then_some(m.body),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            reason: m.reason,
        }
    }
}

/// The expert's latest submission of each kind and language, with its moderation status.
#[utoipa::path(get, path = "/api/v1/me/media", tag = "profile", security(("bearer" = [])), responses((status = 200, body = [MediaView])))]
async fn own_media(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<MediaView>>, Problem> {
    let user = expert(&caller)?;
    Ok(Json(st.app.media.latest(user).await?.into_iter().map(MediaView::from).collect()))
}

/// A photo (JPEG, PNG or GIF) as the request body; it waits for moderation.
#[utoipa::path(post, path = "/api/v1/me/media/photo", tag = "profile", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = MediaView), (status = 413, body = crate::api::ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Not an image, unsupported format, decompression bomb", body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn upload_photo(
    State(st): State<AppState>,
    caller: ApiCaller,
    body: Bytes,
) -> Result<(StatusCode, Json<MediaView>), Problem> {
    let user = expert(&caller)?;
    let item = st.app.media.submit_photo(user, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// An MP3 audio presentation as the request body; it waits for moderation.
#[utoipa::path(post, path = "/api/v1/me/media/audio", tag = "profile", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "audio/mpeg"),
    responses((status = 201, body = MediaView), (status = 413, body = crate::api::ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Not an MP3, truncated, too short or too long", body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn upload_audio(
    State(st): State<AppState>,
    caller: ApiCaller,
    body: Bytes,
) -> Result<(StatusCode, Json<MediaView>), Problem> {
    let user = expert(&caller)?;
    let item = st.app.media.submit_audio(user, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PresentationRequest {
    /// `fr`, `it` or `en`.
    locale: String,
    text: String,
}

/// A presentation text in one language; it waits for moderation.
#[utoipa::path(put, path = "/api/v1/me/media/presentation", tag = "profile", security(("bearer" = [])), request_body = PresentationRequest,
    responses((status = 201, body = MediaView), (status = 422, body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn save_presentation(
    State(st): State<AppState>,
    caller: ApiCaller,
    ApiJson(r): ApiJson<PresentationRequest>,
) -> Result<(StatusCode, Json<MediaView>), Problem> {
    let user = expert(&caller)?;
    // The API takes the exact codes it documents.
    if !augure_app::i18n::LOCALES.contains(&r.locale.as_str()) {
        return Err(
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-input").with_detail("locale: fr, it or en")
        );
    }
    let item = st.app.media.submit_presentation(user, &r.locale, &r.text).await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// The moderation queue, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/admin/moderation", tag = "moderation", security(("bearer" = [])), responses((status = 200, body = [MediaView])))]
async fn queue(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<MediaView>>, Problem> {
    admin(&caller)?;
    Ok(Json(st.app.media.queue(200).await?.into_iter().map(MediaView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    approve: bool,
    /// Required to refuse; sent to the expert.
    #[serde(default)]
    reason: Option<String>,
}

/// Approves or refuses a pending submission; the expert is emailed.
#[utoipa::path(post, path = "/api/v1/admin/moderation/{id}", tag = "moderation", security(("bearer" = [])), request_body = DecisionRequest,
    params(("id" = i64, Path, description = "Submission id")),
    responses((status = 200, body = MediaView), (status = 409, description = "Already decided or superseded", body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn decide(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<DecisionRequest>,
) -> Result<Json<MediaView>, Problem> {
    admin(&caller)?;
    let item = st.app.media.decide(MediaId(id), r.approve, r.reason.as_deref()).await?;
    Ok(Json(item.into()))
}

#[derive(Serialize, ToSchema)]
struct BankView {
    /// `bank_transfer` or `pay_pal`.
    payout_method: String,
    holder: String,
    bank_name: String,
    bank_country: String,
    /// Grouped by four for reading.
    iban: Option<String>,
    bic: Option<String>,
    paypal_email: Option<String>,
}

/// The expert's payout details; 404 until given (SP-bank blocks every mode 24 h after
/// sign-up until then).
#[utoipa::path(get, path = "/api/v1/me/bank", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = BankView), (status = 404, body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn own_bank(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<BankView>, Problem> {
    let user = expert(&caller)?;
    let d = st.app.profiles.bank_details(user).await?.ok_or_else(|| Problem::status(StatusCode::NOT_FOUND))?;
    Ok(Json(BankView {
        payout_method: if d.payout_method == augure_domain::bank::PayoutMethod::PayPal {
            "pay_pal"
        } else {
            "bank_transfer"
        }
        .into(),
        holder: d.holder,
        bank_name: d.bank_name,
        bank_country: d.bank_country,
        iban: d.iban.map(|i| augure_domain::bank::format_iban(&i)),
        bic: d.bic,
        paypal_email: d.paypal_email,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BankRequest {
    /// `bank_transfer` (IBAN and BIC needed) or `pay_pal` (email needed).
    payout_method: String,
    holder: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    bank_country: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    paypal_email: String,
}

/// Saves payout details, checked (IBAN checksum and country format, BIC shape, email).
#[utoipa::path(put, path = "/api/v1/me/bank", tag = "profile", security(("bearer" = [])), request_body = BankRequest,
    responses((status = 200, body = BankView), (status = 422, description = "Invalid IBAN, BIC or email", body = crate::api::ProblemView, content_type = "application/problem+json")))]
async fn save_bank(
    State(st): State<AppState>,
    caller: ApiCaller,
    ApiJson(r): ApiJson<BankRequest>,
) -> Result<Json<BankView>, Problem> {
    let user = expert(&caller)?;
    let form = augure_app::profile::BankForm {
        payout_method: r.payout_method,
        holder: r.holder,
        bank_name: r.bank_name,
        bank_country: r.bank_country,
        iban: r.iban,
        bic: r.bic,
        paypal_email: r.paypal_email,
    };
    st.app.profiles.save_bank_details(user, &form).await?;
    own_bank(State(st), caller).await
}

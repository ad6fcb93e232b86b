//! SP-media, SP-presentation on the web: the expert's profile media page, the admin's
//! moderation queue, and the media files themselves.

use askama::Template;
use augure_domain::media::{MediaKind, MediaStatus};
use augure_domain::{MediaId, Role};
use augure_store::MediaItem;
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

/// The languages a presentation can be written in.
const PRESENTATION_LOCALES: [&str; 3] = ["fr", "it", "en"];

#[derive(Template)]
#[template(path = "expert_media.html")]
struct ExpertMediaPage<'a> {
    l: Layout<'a>,
    photo: Option<MediaItem>,
    audio: Option<MediaItem>,
    presentations: Vec<PresentationView>,
    published_photo: Option<MediaItem>,
    error: Option<String>,
    notice: bool,
    max_photo: String,
    max_audio: String,
    audio_range: String,
    /// SP-presentation's length, shown by the counter under each text.
    presentation_min: usize,
    presentation_max: usize,
}

struct PresentationView {
    locale: &'static str,
    /// The latest submission (pending, refused or approved).
    latest: Option<MediaItem>,
    /// What clients see now.
    published: Option<String>,
    /// What was just typed in this language and refused: shown again to be corrected.
    typed: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    sent: Option<String>,
}

pub async fn expert_media(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<Notice>) -> PageResult {
    ctx.require(Role::Expert)?;
    expert_media_page(&st, &ctx, StatusCode::OK, None, q.sent.is_some(), None).await
}

/// `typed` is a refused presentation, `(locale, text)`, shown again as it was typed.
async fn expert_media_page(
    st: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<String>,
    notice: bool,
    typed: Option<(&str, &str)>,
) -> PageResult {
    let me = ctx.require(Role::Expert)?;
    let latest = st.app.media.latest(me.id).await?;
    let published = st.app.media.published(me.id).await?;
    let find = |items: &[MediaItem], kind: MediaKind, locale: &str| {
        items.iter().find(|m| m.kind == kind && m.locale == locale).cloned()
    };
    let presentations = PRESENTATION_LOCALES
        .into_iter()
        .map(|locale| PresentationView {
            locale,
            latest: find(&latest, MediaKind::Presentation, locale),
            published: find(&published, MediaKind::Presentation, locale).map(|m| m.body),
            typed: typed.filter(|(l, _)| *l == locale).map(|(_, text)| text.to_owned()),
        })
        .collect();
    let settings = st.app.media.settings();
    let page = ExpertMediaPage {
        l: ctx.layout(st),
        photo: find(&latest, MediaKind::Photo, ""),
        audio: find(&latest, MediaKind::Audio, ""),
        published_photo: find(&published, MediaKind::Photo, ""),
        presentations,
        error,
        notice,
        max_photo: crate::error::megabytes(settings.photo_max_upload_bytes),
        max_audio: crate::error::megabytes(settings.audio_max_bytes),
        audio_range: format!("{}–{}", settings.audio_min_seconds, settings.audio_max_seconds),
        presentation_min: settings.presentation.min_chars,
        presentation_max: settings.presentation.max_chars,
    };
    render(status, &page)
}

/// Reads the one file field of an upload form. A body over the route's limit is
/// reported with the same clear message as a file over the setting's limit.
pub(super) async fn file_field(mut multipart: Multipart, name: &str, max: usize) -> Result<Bytes, Problem> {
    let too_large = || {
        Problem::from(augure_app::media::MediaServiceError::Invalid(augure_media::MediaError::TooLarge {
            max_bytes: max,
        }))
    };
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "err-bad-request").with_detail(e.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() == Some(name) {
            return field.bytes().await.map_err(bad);
        }
    }
    Err(Problem::from(augure_app::media::MediaServiceError::Invalid(augure_media::MediaError::Empty)))
}

async fn upload(st: AppState, ctx: PageCtx, multipart: Multipart, kind: MediaKind) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let settings = st.app.media.settings();
    let (field, max) = match kind {
        MediaKind::Photo => ("photo", settings.photo_max_upload_bytes),
        _ => ("audio", settings.audio_max_bytes),
    };
    let result = match file_field(multipart, field, max).await {
        Ok(bytes) => {
            let bytes = bytes.to_vec();
            match kind {
                MediaKind::Photo => st.app.media.submit_photo(me.id, bytes).await,
                _ => st.app.media.submit_audio(me.id, bytes).await,
            }
            .map_err(Problem::from)
        }
        Err(problem) => Err(problem),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/expert/profile?sent=1").into_response()),
        Err(problem) if !problem.status.is_server_error() => {
            let message = problem.message(&ctx.layout(&st).tr);
            expert_media_page(&st, &ctx, problem.status, Some(message), false, None).await
        }
        Err(problem) => Err(problem.into()),
    }
}

pub async fn upload_photo(State(st): State<AppState>, ctx: PageCtx, multipart: Multipart) -> PageResult {
    upload(st, ctx, multipart, MediaKind::Photo).await
}

pub async fn upload_audio(State(st): State<AppState>, ctx: PageCtx, multipart: Multipart) -> PageResult {
    upload(st, ctx, multipart, MediaKind::Audio).await
}

#[derive(Deserialize)]
pub struct PresentationForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    text: String,
}

pub async fn save_presentation(
    State(st): State<AppState>,
    ctx: PageCtx,
    PageForm(form): PageForm<PresentationForm>,
) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    match st.app.media.submit_presentation(me.id, &form.locale, &form.text).await {
        Ok(_) => Ok(Redirect::to("/expert/profile?sent=1").into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            let typed = Some((form.locale.as_str(), form.text.as_str()));
            expert_media_page(&st, &ctx, problem.status, Some(message), false, typed).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/moderation.html")]
struct ModerationPage<'a> {
    l: Layout<'a>,
    items: Vec<QueueItem>,
    error: Option<String>,
}

struct QueueItem {
    item: MediaItem,
    expert: String,
    expert_code: String,
    /// The presentation's language, named.
    language: Option<String>,
}

pub async fn moderation(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    moderation_page(&st, &ctx, StatusCode::OK, None).await
}

async fn moderation_page(st: &AppState, ctx: &PageCtx, status: StatusCode, error: Option<String>) -> PageResult {
    let l = ctx.layout(st);
    let items = st
        .app
        .media
        .queue_with_experts(200)
        .await?
        .into_iter()
        .map(|(item, user)| QueueItem {
            expert: user.display_name,
            expert_code: user.expert_code.map(|c| c.to_string()).unwrap_or_default(),
            language: (!item.locale.is_empty()).then(|| super::names::language(&l.tr, &item.locale)),
            item,
        })
        .collect();
    render(status, &ModerationPage { l, items, error })
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    PageForm(form): PageForm<DecisionForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-input").into()),
    };
    match st.app.media.decide(MediaId(id), approve, Some(&form.reason)).await {
        Ok(item) => {
            let done = match (item.kind, approve) {
                (MediaKind::Photo, true) => "photo-approved",
                (MediaKind::Photo, false) => "photo-refused",
                (MediaKind::Audio, true) => "audio-approved",
                (MediaKind::Audio, false) => "audio-refused",
                (MediaKind::Presentation, true) => "presentation-approved",
                (MediaKind::Presentation, false) => "presentation-refused",
            };
            Ok(Flash::new(done).redirect("/admin/moderation"))
        }
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() || problem.status == StatusCode::NOT_FOUND {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            moderation_page(&st, &ctx, problem.status, Some(message)).await
        }
    }
}

/// A photo or audio file. Approved files are public and never change (a new version gets
/// a new id), so browsers and proxies may keep them; the rest only for their owner.
pub async fn file(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let id: i64 =
        id.split('.').next().and_then(|n| n.parse().ok()).ok_or_else(|| Problem::status(StatusCode::NOT_FOUND))?;
    let viewer = ctx.session.as_ref().map(|s| (s.user.id, s.user.role == Role::Admin));
    let (item, bytes) = st.app.media.content(MediaId(id), viewer).await?;
    let cache =
        if item.status == MediaStatus::Approved { "public, max-age=31536000, immutable" } else { "private, no-store" };
    let content_type =
        HeaderValue::from_str(&item.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        bytes,
    )
        .into_response())
}

/// "0:23" for an audio clip's length.
pub fn duration_label(ms: &Option<u32>) -> String {
    let seconds = ms.unwrap_or(0).div_ceil(1000);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

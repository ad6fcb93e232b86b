//! A consultation's page, for each of its parties: while it rings or runs, the chat
//! itself (the socket's script makes it live; without it every action is a form that
//! posts and comes back); once it ended, when it started, its billable duration, what it
//! cost the client or earned the expert, and the transcript. Also the history and the
//! expert's notes (SP-notes).

use askama::Template;
use augure_app::chat::{ChatError, ChatState, Outgoing};
use augure_app::i18n::Tr;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, Money, Role};
use augure_store::{ConsultationStatus, User};
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageRejection, PageResult, render};
use crate::AppState;
use crate::chat_text;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "consultation.html")]
struct ConsultationPage<'a> {
    l: Layout<'a>,
    id: i64,
    /// `client` or `expert`: the reader's side.
    side: &'static str,
    other: String,
    status: &'static str,
    /// Ringing or live: the chat's controls show.
    open: bool,
    status_text: String,
    started_at: Option<String>,
    /// Once it ended: the duration and the money, and why it ended.
    summary: Option<String>,
    end_text: Option<String>,
    messages: Vec<MessageRow>,
    last_seq: i64,
    note: String,
    note_max: usize,
    max_chars: usize,
    reviewable: bool,
    /// A refused message, shown again with why.
    error: Option<String>,
    typed: String,
}

struct MessageRow {
    seq: i64,
    mine: bool,
    author: String,
    text: String,
    masked: Option<String>,
    image: Option<String>,
    at: String,
}

impl From<ChatError> for PageRejection {
    fn from(e: ChatError) -> Self {
        PageRejection::Problem(e.into())
    }
}

fn signed_in(ctx: &PageCtx) -> Result<&User, PageRejection> {
    ctx.session.as_ref().map(|s| &s.user).ok_or(PageRejection::Redirect("/login"))
}

fn consultation_id(raw: &str) -> Result<ConsultationId, Problem> {
    raw.parse::<i64>().map(ConsultationId).map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-chat-not-found"))
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    plan: String,
}

/// `POST /experts/{code}/chat`: a client starts a chat; refused starts say why where the
/// client can act on it (credit: the wallet and its packs).
pub async fn start(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(form): PageForm<StartForm>,
) -> PageResult {
    let profile = format!("/experts/{code}");
    let Some(user) = ctx.session.as_ref().map(|s| &s.user) else {
        let next: String = form_urlencoded::byte_serialize(profile.as_bytes()).collect();
        return Ok(Redirect::to(&format!("/login?next={next}")).into_response());
    };
    let code: u32 = code.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-quote-expert"))?;
    match st.app.chats.start(user, code, form.plan == "package").await {
        Ok(id) => Ok(Redirect::to(&format!("/consultations/{id}")).into_response()),
        Err(ChatError::NoCredit) => Ok(Flash::new("chat-needs-credit").redirect("/wallet")),
        Err(ChatError::Busy) => Ok(Flash::new("chat-busy").redirect(&profile)),
        Err(ChatError::Offline) => Ok(Flash::new("chat-offline").redirect(&profile)),
        Err(e) => Err(e.into()),
    }
}

pub async fn page(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    show(&st, &ctx, &user, id, None, String::new(), StatusCode::OK).await
}

async fn show(
    st: &AppState,
    ctx: &PageCtx,
    user: &User,
    id: ConsultationId,
    error: Option<String>,
    typed: String,
    status: StatusCode,
) -> PageResult {
    let state = st.app.chats.state(user, id, 0).await?;
    let zone = st.app.sites.zone_for(user.site_id).await?;
    let reviewable = state.side == Side::Client && st.app.chats.reviewable(user, id).await?;
    let l = ctx.layout(st);
    let page = view(&l.tr, &state, zone, &st.app.settings);
    render(status, &ConsultationPage { reviewable, error, typed, ..page(l) })
}

/// Everything of the page but what the request adds.
fn view<'a>(
    tr: &Tr<'_>,
    state: &ChatState,
    zone: chrono_tz::Tz,
    settings: &augure_app::Settings,
) -> impl FnOnce(Layout<'a>) -> ConsultationPage<'a> + use<'a> {
    let c = &state.consultation;
    let you = tr.t("chat-you");
    let other = state.other.display_name.clone();
    let messages: Vec<MessageRow> = state
        .messages
        .iter()
        .map(|m| MessageRow {
            seq: m.seq,
            mine: m.author == state.side,
            author: if m.author == state.side { you.clone() } else { other.clone() },
            text: m.text.clone(),
            masked: m.masked.then(|| tr.t("chat-masked")),
            image: m.image.then(|| format!("/consultations/{}/images/{}", c.id, m.seq)),
            at: chat_text::clock_time(m.sent_at, zone),
        })
        .collect();
    let currency = c.terms.prices.currency();
    let (summary, end_text) = match &c.ended {
        Some(e) if c.status == ConsultationStatus::Settled => (
            Some(chat_text::summary_text(
                tr,
                state.side,
                c.billable_seconds,
                Money::new(e.charge, currency),
                Money::new(e.earnings, currency),
                Money::new(e.commission, currency),
            )),
            Some(chat_text::reason_text(tr, e.reason, settings.consultations.chat_idle_seconds / 60)),
        ),
        Some(e) => (None, Some(chat_text::reason_text(tr, e.reason, settings.consultations.chat_idle_seconds / 60))),
        None => (None, None),
    };
    let page = ConsultationPage {
        l: Layout::anonymous(*tr, ""),
        id: c.id.0,
        side: chat_text::side_str(state.side),
        other,
        status: chat_text::status_str(c.status),
        open: c.status.is_open(),
        status_text: chat_text::status_text(tr, state),
        started_at: c.started_at.map(|at| super::when(tr, at, zone)),
        summary,
        end_text,
        last_seq: messages.last().map_or(0, |m| m.seq),
        messages,
        note: state.note.clone().unwrap_or_default(),
        note_max: augure_app::chat::NOTE_MAX_CHARS,
        max_chars: settings.consultations.chat.max_message_chars,
        reviewable: false,
        error: None,
        typed: String::new(),
    };
    move |l| ConsultationPage { l, ..page }
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    key: Option<String>,
}

/// `POST /consultations/{id}/messages`: the form without the script.
pub async fn send(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<MessageForm>,
) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    let out = Outgoing { text: form.text.clone(), client_key: form.key, image: None };
    match st.app.chats.send(&user, id, out).await {
        Ok(_) => Ok(Redirect::to(&format!("/consultations/{id}#composer")).into_response()),
        Err(e) => refused(&st, &ctx, &user, id, e, form.text).await,
    }
}

/// A refused message: the page again, with the reason and the text as typed.
async fn refused(
    st: &AppState,
    ctx: &PageCtx,
    user: &User,
    id: ConsultationId,
    e: ChatError,
    typed: String,
) -> PageResult {
    let problem = Problem::from(e);
    if problem.status.is_server_error() || problem.status == StatusCode::NOT_FOUND {
        return Err(problem.into());
    }
    let message = problem.message(&Tr::new(&st.app.i18n, ctx.locale));
    show(st, ctx, user, id, Some(message), typed, problem.status).await
}

/// `POST /consultations/{id}/images`: an image, validated and re-encoded like a photo.
pub async fn send_image(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    let max = st.app.settings.media.photo_max_upload_bytes;
    let bytes = match super::media::file_field(multipart, "image", max).await {
        Ok(bytes) => bytes,
        Err(problem) => {
            let message = problem.message(&Tr::new(&st.app.i18n, ctx.locale));
            return show(&st, &ctx, &user, id, Some(message), String::new(), problem.status).await;
        }
    };
    let out = Outgoing { text: String::new(), client_key: None, image: Some(bytes.to_vec()) };
    match st.app.chats.send(&user, id, out).await {
        Ok(_) => Ok(Redirect::to(&format!("/consultations/{id}#composer")).into_response()),
        Err(e) => refused(&st, &ctx, &user, id, e, String::new()).await,
    }
}

pub async fn image(State(st): State<AppState>, ctx: PageCtx, Path((id, seq)): Path<(String, String)>) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    let seq: i64 = seq.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-chat-not-found"))?;
    let (content_type, bytes) = st.app.chats.image(&user, id, seq).await?;
    let content_type = HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("image/jpeg"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600")),
        ],
        bytes,
    )
        .into_response())
}

/// The buttons of a chat: accept, refuse, leave, top up.
pub async fn act(State(st): State<AppState>, ctx: PageCtx, Path((id, action)): Path<(String, String)>) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    let chats = &st.app.chats;
    let back = format!("/consultations/{id}");
    match action.as_str() {
        "accept" => chats.accept(&user, id).await?,
        "refuse" => chats.refuse(&user, id).await?,
        "leave" => chats.leave(&user, id).await?,
        "top-up" => {
            chats.top_up(&user, id).await?;
            return Ok(Redirect::to("/wallet").into_response());
        }
        "block" => {
            chats.block(&user, id).await?;
            return Ok(Flash::new("client-blocked").redirect(&back));
        }
        _ => return Err(Problem::status(StatusCode::NOT_FOUND).into()),
    }
    Ok(Redirect::to(&back).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
}

/// SP-notes: the expert's note on this client, saved during or after the chat.
pub async fn save_note(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<NoteForm>,
) -> PageResult {
    let user = ctx.require(Role::Expert)?.clone();
    let id = consultation_id(&id)?;
    match st.app.chats.set_note(&user, id, &form.body).await {
        Ok(()) => Ok(Flash::new("note-saved").redirect(&format!("/consultations/{id}"))),
        Err(e) => refused(&st, &ctx, &user, id, e, String::new()).await,
    }
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reason: String,
}

pub async fn report(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<ReportForm>,
) -> PageResult {
    let user = signed_in(&ctx)?.clone();
    let id = consultation_id(&id)?;
    match st.app.chats.report(&user, id, &form.reason).await {
        Ok(()) => Ok(Flash::new("report-sent").redirect(&format!("/consultations/{id}"))),
        Err(e) => refused(&st, &ctx, &user, id, e, String::new()).await,
    }
}

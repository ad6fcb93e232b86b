//! Consultations over the API (SPEC §4, §6; issue 11): the caller's consultations with
//! their money as each party sees it, a chat's transcript, and a chat driven from its
//! start to its end. What happens live (typing, read marks, the meter, heartbeats) is
//! the WebSocket's, `GET /ws`: its protocol is in `docs/chat-protocol.md`.
//!
//! Every POST here changes a consultation, most of them its money (a ring, the first
//! slice held, a settlement): each takes an `Idempotency-Key`, as `POST /purchases` does.

use augure_app::chat::{ChatError, ChatState};
use augure_app::idempotency::Begin;
use augure_domain::consultation::Channel;
use augure_domain::meter::Side;
use augure_domain::{ConsultationId, Role};
use augure_store::{Consultation, ConsultationStatus, StoredResponse, User};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use super::quote::AmountView;
use super::{ApiJson, ProblemView};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{Problem, default_key};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/consultations", get(consultations))
        .route("/consultations/{id}", get(consultation))
        .route("/consultations/{id}/messages", get(transcript).post(send_message))
        .route("/consultations/{id}/images/{seq}", get(chat_image))
        .route("/consultations/{id}/accept", post(accept_chat))
        .route("/consultations/{id}/refuse", post(refuse_chat))
        .route("/consultations/{id}/leave", post(leave_chat))
        .route("/experts/{code}/chats", post(start_chat))
}

#[derive(OpenApi)]
#[openapi(
    paths(consultations, consultation, transcript, send_message, chat_image, start_chat, accept_chat, refuse_chat, leave_chat),
    components(schemas(ConsultationView, MessageView, StartRequest, MessageRequest, Party, ChannelView, StatusView, AmountView, ImageBytes)),
    tags((name = "consultations", description = "The caller's consultations, and live chat (SP-chat). The live side of a chat (typing, read marks, the meter, heartbeats) is the WebSocket `GET /ws`, described in `docs/chat-protocol.md`."))
)]
pub struct ConsultationsDoc;

/// How many consultations the list holds at most (the newest).
const LISTED: usize = 200;

/// A side of a consultation: the caller's (`role`) or a message's author.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Party {
    Client,
    Expert,
}

impl From<Side> for Party {
    fn from(side: Side) -> Self {
        match side {
            Side::Client => Party::Client,
            Side::Expert => Party::Expert,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum ChannelView {
    Phone,
    Chat,
    Video,
    Email,
    Appointment,
    Event,
}

impl From<Channel> for ChannelView {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Phone => ChannelView::Phone,
            Channel::Chat => ChannelView::Chat,
            Channel::Video => ChannelView::Video,
            Channel::Email => ChannelView::Email,
            Channel::Appointment => ChannelView::Appointment,
            Channel::Event => ChannelView::Event,
        }
    }
}

/// `ringing` (waiting for the expert), `live` (answered; billed from the expert's first
/// reply), `settled` (ended and paid) or `lost` (never answered, refused or withdrawn:
/// SP-lost, nothing paid).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum StatusView {
    Ringing,
    Live,
    Settled,
    Lost,
}

impl From<ConsultationStatus> for StatusView {
    fn from(s: ConsultationStatus) -> Self {
        match s {
            ConsultationStatus::Ringing => StatusView::Ringing,
            ConsultationStatus::Live => StatusView::Live,
            ConsultationStatus::Settled => StatusView::Settled,
            ConsultationStatus::Lost => StatusView::Lost,
        }
    }
}

/// A consultation as one of its parties sees it.
#[derive(Serialize, ToSchema)]
pub(super) struct ConsultationView {
    id: i64,
    channel: ChannelView,
    status: StatusView,
    /// The caller's side of it.
    role: Party,
    /// The other party's display name.
    other: String,
    /// When the client asked for it, RFC 3339 UTC.
    #[schema(example = "2026-11-21T14:05:00Z")]
    opened_at: String,
    /// The real start (in a chat, the expert's first reply), RFC 3339 UTC; null before.
    #[schema(required = true)]
    started_at: Option<String>,
    /// When it ended or was lost, RFC 3339 UTC; null while open.
    #[schema(required = true)]
    ended_at: Option<String>,
    /// The billed seconds: final once settled; while live, as of the meter's last
    /// checkpoint (the WebSocket's `meter` frame has the running figure).
    billable_seconds: u64,
    /// What the client paid; null until settled (and for a lost consultation).
    #[schema(required = true)]
    charge: Option<AmountView>,
    /// For the expert only (absent for the client): the platform's commission, null
    /// until settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AmountView>)]
    commission: Option<Option<AmountView>>,
    /// For the expert only (absent for the client): their share, null until settled.
    /// `commission` + `earnings` = `charge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AmountView>)]
    earnings: Option<Option<AmountView>>,
    /// Why it ended or was lost (`client_left`, `idle`, `no_answer`…); null while open.
    #[schema(required = true)]
    end_reason: Option<String>,
}

/// A message of a chat's transcript, as the caller is shown it.
#[derive(Serialize, ToSchema)]
pub(super) struct MessageView {
    /// Its place in the transcript, from 1: ask for `?after=` the last one seen.
    seq: i64,
    author: Party,
    /// The caller wrote it.
    mine: bool,
    /// As the caller may read it: the other party's contact details are masked.
    text: String,
    /// The caller wrote contact details the other party was not shown.
    masked: bool,
    /// Where its image is served (`GET` it with the same token); null without one.
    #[schema(required = true, example = "/api/v1/consultations/42/images/3")]
    image: Option<String>,
    /// The `key` the caller sent it with (their own messages only).
    #[schema(required = true)]
    key: Option<String>,
    /// RFC 3339 UTC.
    #[schema(example = "2026-11-21T14:05:00Z")]
    sent_at: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct StartRequest {
    /// `true`: with the expert's package (PH-package: its full price in credit is needed)
    /// instead of by the minute.
    #[serde(default)]
    package: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageRequest {
    /// At most the chat's length limit (a setting), not blank.
    #[schema(min_length = 1)]
    text: String,
    /// The caller's id for this message: sending it again with the same key (a retry)
    /// sends it once, and answers the message already sent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    key: Option<String>,
}

/// The longest `key` a message keeps.
const KEY_MAX: usize = 64;

/// The bytes of an image, JPEG.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only describes the response: the handler sends the bytes.
pub(super) struct ImageBytes(Vec<u8>);

#[derive(Deserialize)]
pub(super) struct TranscriptQuery {
    after: Option<String>,
}

/// The caller's consultations, every channel, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/consultations", tag = "consultations", security(("bearer" = [])),
    responses((status = 200, body = [ConsultationView]),
        (status = 401, body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn consultations(
    State(st): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<ConsultationView>>, Problem> {
    let user = &caller.session.user;
    let list = st.app.chats.history(user).await?;
    Ok(Json(list.iter().take(LISTED).filter_map(|(c, other)| Some(view(c, side_of(c, user)?, other))).collect()))
}

/// One of the caller's consultations; someone else's is 404.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation")),
    responses((status = 200, body = ConsultationView),
        (status = 404, description = "No consultation of the caller has this id", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn consultation(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ConsultationView>, Problem> {
    let user = &caller.session.user;
    let id = consultation_id(&id)?;
    match st.app.chats.state(user, id, i64::MAX).await {
        Ok(state) => Ok(Json(state_view(&state))),
        // Not a chat: the other channels are in the history.
        Err(ChatError::NotParty) => {
            let list = st.app.chats.history(user).await?;
            list.iter()
                .find(|(c, _)| c.id == id)
                .and_then(|(c, other)| Some(Json(view(c, side_of(c, user)?, other))))
                .ok_or_else(|| ChatError::NotParty.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A chat's transcript as the caller is shown it.
///
/// From the message after `after`, at most 500: ask again after the last `seq`. A tab on
/// the WebSocket gets the same messages as they are sent (`docs/chat-protocol.md`).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/messages", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation (a chat)"),
        ("after" = Option<i64>, Query, minimum = 0, description = "The last `seq` the caller has; 0 (the default) for the whole transcript")),
    responses((status = 200, body = [MessageView]),
        (status = 400, description = "`after` is not a whole number from 0", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No chat of the caller has this id", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn transcript(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<TranscriptQuery>,
) -> Result<Json<Vec<MessageView>>, Problem> {
    let user = &caller.session.user;
    let id = consultation_id(&id)?;
    let after =
        match query.after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => 0,
            Some(a) => a.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(|| {
                Problem::status(StatusCode::BAD_REQUEST).with_detail("after is a whole number from 0")
            })?,
        };
    let c = st.app.chats.consultation_of(user, id).await?;
    let side = side_of(&c, user).ok_or(ChatError::NotParty)?;
    let messages = st.app.chats.messages(user, id, after).await?;
    Ok(Json(messages.iter().map(|m| message_view(id, m, side)).collect()))
}

/// Sends a message in a live chat.
///
/// As the chat's page sends it: checked, paced, masked for the other party where it holds
/// contact details, kept in the transcript and shown to both. The expert's first reply
/// starts billing (SP-chat-billing). The other party's messages, typing and read marks
/// arrive on the WebSocket `GET /ws`, whose frames are described in
/// `docs/chat-protocol.md`.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/messages", tag = "consultations", security(("bearer" = [])),
    request_body = MessageRequest,
    params(("id" = i64, Path, description = "The consultation (a chat)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, description = "The message as the caller is shown it", body = MessageView),
        (status = 404, description = "No chat of the caller has this id", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "The chat is not open (ringing, ended), paused for a top-up, or a request with this key is still in progress", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Blank, too long or not text; a `key` longer than 64 characters; the key reused with another request", body = ProblemView, content_type = "application/problem+json"),
        (status = 429, description = "Too many messages in a row", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn send_message(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, Problem> {
    let user = &caller.session.user;
    let id = consultation_id(&id)?;
    let request: MessageRequest = object(body)?;
    if request.key.as_deref().is_some_and(|k| k.is_empty() || k.chars().count() > KEY_MAX) {
        return Err(invalid(format!("key is 1 to {KEY_MAX} characters")));
    }
    let c = st.app.chats.consultation_of(user, id).await?;
    let side = side_of(&c, user).ok_or(ChatError::NotParty)?;
    let hash = serde_json::to_string(&(request.text.as_str(), request.key.as_deref())).map_err(Problem::internal)?;
    once(&st, user, &headers, format!("chat-message:{id}:{hash}"), async {
        let out =
            augure_app::chat::Outgoing { text: request.text.clone(), client_key: request.key.clone(), image: None };
        let sent = st.app.chats.send(user, id, out).await?;
        Ok((StatusCode::CREATED, body_of(&message_view(id, &sent, side))?))
    })
    .await
}

/// An image of a chat's transcript, for its parties.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/images/{seq}", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation (a chat)"), ("seq" = i64, Path, description = "The message")),
    responses((status = 200, description = "The image", body = ImageBytes, content_type = "image/jpeg"),
        (status = 404, description = "No such image in a chat of the caller", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn chat_image(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path((id, seq)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let id = consultation_id(&id)?;
    let seq: i64 = seq.parse().map_err(|_| Problem::from(ChatError::NotParty))?;
    let (content_type, bytes) = st.app.chats.image(&caller.session.user, id, seq).await?;
    let content_type = HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("image/jpeg"));
    let cache = HeaderValue::from_static("private, max-age=3600");
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], bytes).into_response())
}

/// A client starts a chat with an expert whose chat is live (SP-chat).
///
/// By the minute, or with the package: the expert's tabs ring, and the consultation is
/// `ringing` until the expert accepts, refuses or lets it ring out (SP-lost). The body may
/// be left out (or `null`): by the minute. Then follow the chat on the WebSocket `GET /ws`
/// (`docs/chat-protocol.md`): the meter runs only while both parties are heard, which
/// their tabs' heartbeats (every 5 seconds) tell.
#[utoipa::path(post, path = "/api/v1/experts/{code}/chats", tag = "consultations", security(("bearer" = [])),
    request_body(content = Option<StartRequest>, description = "Optional: by the minute without it"),
    params(("code" = u32, Path, description = "The expert code (SP-code)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe: one ring")),
    responses((status = 201, description = "Ringing", body = ConsultationView),
        (status = 402, description = "Not enough credit for the first minute (or the package): buy credit first", body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Only a client starts a chat, and not with an expert who blocked them", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such expert, or no package to choose", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "The expert's chat is not live, they are in another consultation, or a request with this key is still in progress", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Not a body of this shape, or the key reused with another request", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn start_chat(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let user = &caller.session.user;
    let request: StartRequest = optional_body(&headers, &body)?;
    if user.role != Role::Client {
        return Err(Problem::new(StatusCode::FORBIDDEN, "err-forbidden"));
    }
    let code: u32 = code.parse().map_err(|_| Problem::from(ChatError::UnknownExpert))?;
    once(&st, user, &headers, format!("chat-start:{code}:{}", request.package), async {
        let id = st.app.chats.start(user, code, request.package).await?;
        let state = st.app.chats.state(user, id, i64::MAX).await?;
        Ok((StatusCode::CREATED, body_of(&state_view(&state))?))
    })
    .await
}

/// The expert accepts a ringing chat.
///
/// The first slice of the client's credit is held and both are told; billing starts at
/// the expert's first reply (SP-chat-billing), and counts only the time both parties were
/// heard in (the WebSocket's heartbeats: `docs/chat-protocol.md`).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/accept", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation (a chat)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 204, description = "Answered; see `docs/chat-protocol.md` for the live side"),
        (status = 403, description = "The caller is its client: only the expert answers", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No chat of the caller has this id", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Not ringing any more, or a request with this key is still in progress", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "The key reused with another request", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn accept_chat(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    act(&st, &caller.session.user, &headers, &id, Act::Accept).await
}

/// The expert refuses a ringing chat.
///
/// It is lost (SP-lost) and nothing is paid; the client's tabs are told
/// (`docs/chat-protocol.md`).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/refuse", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation (a chat)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 204, description = "Refused"),
        (status = 403, description = "The caller is its client: only the expert refuses (the client leaves)", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No chat of the caller has this id", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "Not ringing any more, or a request with this key is still in progress", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "The key reused with another request", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn refuse_chat(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    act(&st, &caller.session.user, &headers, &id, Act::Refuse).await
}

/// A party leaves a chat.
///
/// A ringing chat is withdrawn (by the client) or refused (by the expert) and lost; a live
/// one ends and is settled once, for the time both parties were heard in
/// (`docs/chat-protocol.md`).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/leave", tag = "consultations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The consultation (a chat)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe: settled once")),
    responses((status = 204, description = "Ended, or withdrawn"),
        (status = 404, description = "No chat of the caller has this id", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "It ended already, or a request with this key is still in progress", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "The key reused with another request", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn leave_chat(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    act(&st, &caller.session.user, &headers, &id, Act::Leave).await
}

#[derive(Clone, Copy)]
enum Act {
    Accept,
    Refuse,
    Leave,
}

/// A chat's button: only its parties see it exists, and only its expert answers a ring.
async fn act(st: &AppState, user: &User, headers: &HeaderMap, id: &str, action: Act) -> Result<Response, Problem> {
    let id = consultation_id(id)?;
    let chats = &st.app.chats;
    let c = chats.consultation_of(user, id).await?;
    if matches!(action, Act::Accept | Act::Refuse) && c.expert != user.id {
        return Err(Problem::new(StatusCode::FORBIDDEN, "err-forbidden"));
    }
    let name = match action {
        Act::Accept => "accept",
        Act::Refuse => "refuse",
        Act::Leave => "leave",
    };
    once(st, user, headers, format!("chat-{name}:{id}"), async {
        match action {
            Act::Accept => chats.accept(user, id).await?,
            Act::Refuse => chats.refuse(user, id).await?,
            Act::Leave => chats.leave(user, id).await?,
        }
        Ok((StatusCode::NO_CONTENT, String::new()))
    })
    .await
}

/// Acts once per `Idempotency-Key`: a retry with the same key and request gets the first
/// answer again; a refusal frees the key (nothing was done). Without a key, acts.
async fn once(
    st: &AppState,
    user: &User,
    headers: &HeaderMap,
    request_hash: String,
    act: impl Future<Output = Result<(StatusCode, String), Problem>>,
) -> Result<Response, Problem> {
    let key = super::credit::idempotency_key(headers)?;
    if let Some(key) = &key
        && let Begin::Replay(stored) = st.app.idempotency.begin(user.id, key, &request_hash).await?
    {
        return Ok(super::credit::replay(stored));
    }
    let (status, body) = match act.await {
        Ok(answer) => answer,
        Err(e) => {
            if let Some(key) = &key {
                st.app.idempotency.abandon(user.id, key).await?;
            }
            return Err(e);
        }
    };
    if let Some(key) = &key {
        let stored = StoredResponse { request_hash, status: status.as_u16(), body: body.clone() };
        st.app.idempotency.finish(user.id, key, &stored).await?;
    }
    if body.is_empty() {
        return Ok(status.into_response());
    }
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn body_of(value: &impl Serialize) -> Result<String, Problem> {
    serde_json::to_string(value).map_err(Problem::internal)
}

fn consultation_id(raw: &str) -> Result<ConsultationId, Problem> {
    raw.trim().parse::<i64>().map(ConsultationId).map_err(|_| ChatError::NotParty.into())
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::status(StatusCode::UNPROCESSABLE_ENTITY).with_detail(detail)
}

/// A request read from a JSON object only: serde would also read an array as a struct.
fn object<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, Problem> {
    serde_json::from_value(Value::Object(body)).map_err(|e| invalid(e.to_string()))
}

/// A body that may be left out (empty, or JSON `null`): its default then; else a JSON
/// object, refused as [`ApiJson`] refuses.
fn optional_body<T: DeserializeOwned + Default>(headers: &HeaderMap, body: &Bytes) -> Result<T, Problem> {
    if body.is_empty() {
        return Ok(T::default());
    }
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media_type != "application/json" && !(media_type.starts_with("application/") && media_type.ends_with("+json")) {
        let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return Err(Problem::new(status, default_key(status)).with_detail("the body is JSON (application/json)"));
    }
    let Json(value) = Json::<Value>::from_bytes(body).map_err(|e| {
        let status = e.status();
        Problem::new(status, default_key(status)).with_detail(e.body_text())
    })?;
    match value {
        Value::Null => Ok(T::default()),
        Value::Object(map) => object(map),
        _ => Err(invalid("the body is a JSON object")),
    }
}

fn side_of(c: &Consultation, user: &User) -> Option<Side> {
    if c.client == user.id {
        Some(Side::Client)
    } else if c.expert == user.id {
        Some(Side::Expert)
    } else {
        None
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn state_view(state: &ChatState) -> ConsultationView {
    view(&state.consultation, state.side, &state.other)
}

/// The consultation as `side` sees it: the client its charge, the expert also the split.
fn view(c: &Consultation, side: Side, other: &User) -> ConsultationView {
    let currency = c.terms.prices.currency().code();
    let amount = |minor: i64| AmountView { minor, currency: currency.into() };
    let settled = c.ended.filter(|_| c.status == ConsultationStatus::Settled);
    let expert_only = |part: Option<AmountView>| (side == Side::Expert).then_some(part);
    ConsultationView {
        id: c.id.0,
        channel: c.terms.channel.into(),
        status: c.status.into(),
        role: side.into(),
        other: other.display_name.clone(),
        opened_at: rfc3339(c.opened_at),
        started_at: c.started_at.map(rfc3339),
        ended_at: c.ended.map(|e| rfc3339(e.ended_at)),
        billable_seconds: c.billable_seconds,
        charge: settled.map(|s| amount(s.charge)),
        commission: expert_only(settled.map(|s| amount(s.commission))),
        earnings: expert_only(settled.map(|s| amount(s.earnings))),
        end_reason: c.ended.map(|e| e.reason.as_str().to_owned()),
    }
}

fn message_view(id: ConsultationId, m: &augure_app::chat::MessageView, reader: Side) -> MessageView {
    MessageView {
        seq: m.seq,
        author: m.author.into(),
        mine: m.author == reader,
        text: m.text.clone(),
        masked: m.masked,
        image: m.image.then(|| format!("/api/v1/consultations/{}/images/{}", id.0, m.seq)),
        key: m.client_key.clone(),
        sent_at: rfc3339(m.sent_at),
    }
}

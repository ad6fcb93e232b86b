//! SPEC §11 in the API: the caller's notification list, and marking it read. Any signed-in
//! role has one.

use augure_app::notifications::{MAX_IDS, NotificationError};
use augure_domain::ids::NotificationId;
use augure_store::Notification;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{ApiJson, ProblemView};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::Problem;

pub fn routes() -> Router<AppState> {
    Router::new().route("/notifications", get(list)).route("/notifications/read", post(mark_read))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, mark_read),
    components(schemas(NotificationsView, NotificationView, ReadRequest, ReadView)),
    tags((name = "notifications", description = "Every mail, SMS and alert sent to the caller"))
)]
pub struct NotificationsDoc;

impl From<NotificationError> for Problem {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::TooManyIds(max) => Problem {
                arg: Some(("max", max.to_string())),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-notifications-too-many")
            },
            NotificationError::Store(e) => e.into(),
            // The platform's own notices: a bad one is a bug, not the caller's doing.
            e @ (NotificationError::Kind(_) | NotificationError::Empty | NotificationError::Link(_)) => {
                Problem::internal(e)
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct NotificationsView {
    /// How many of the caller's notifications are unread (all of them, not only those
    /// listed).
    unread: i64,
    /// The newest first, at most 100.
    items: Vec<NotificationView>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct NotificationView {
    id: i64,
    /// `mail`, `sms`, or another alert's code (`ring_missed`, `review_invitation`,
    /// `consultation_ended`…).
    #[schema(example = "mail")]
    kind: String,
    /// In the language of the person it was sent to, as sent (a mail's subject).
    title: String,
    body: String,
    /// A path on this site, e.g. `/experts/3482`.
    link: Option<String>,
    /// RFC 3339 UTC.
    #[schema(example = "2026-11-21T14:05:00Z")]
    created_at: String,
    /// RFC 3339 UTC; null while unread.
    read_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadRequest {
    /// The notifications to mark read; without it (`{}`), every notification the caller
    /// has now. Ids of someone else's notifications are ignored.
    #[serde(default)]
    #[schema(value_type = Option<Vec<i64>>, max_items = 500)]
    ids: Option<Vec<WholeId>>,
}

/// An id, read like every integer of the API ([`super::whole_number`]).
#[derive(Deserialize)]
pub(super) struct WholeId(#[serde(deserialize_with = "super::whole_number")] i64);

#[derive(Serialize, ToSchema)]
pub(super) struct ReadView {
    /// How many changed from unread to read.
    marked: u64,
    /// How many are still unread.
    unread: i64,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id.0,
        kind: n.kind,
        title: n.title,
        body: n.body,
        link: n.link,
        created_at: rfc3339(n.created_at),
        read_at: n.read_at.map(rfc3339),
    }
}

/// The caller's notifications, newest first, and how many are unread. Reading them does
/// not mark them read.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationsView),
        (status = 401, body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn list(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<NotificationsView>, Problem> {
    let inbox = st.app.notifications.inbox(caller.session.user.id).await?;
    Ok(Json(NotificationsView { unread: inbox.unread, items: inbox.items.into_iter().map(view).collect() }))
}

/// Marks the caller's notifications read: those of `ids`, or all of them (`{}`).
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = ReadRequest,
    responses((status = 200, body = ReadView),
        (status = 401, body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "More than 500 ids, or not a body of this shape", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn mark_read(
    State(st): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<ReadView>, Problem> {
    // Only an object: serde would also read `[]` as this struct, and mark everything read.
    let request: ReadRequest = serde_json::from_value(serde_json::Value::Object(body)).map_err(|e| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, crate::error::default_key(StatusCode::UNPROCESSABLE_ENTITY))
            .with_detail(e.to_string())
    })?;
    let user = caller.session.user.id;
    let notifications = &st.app.notifications;
    let marked = match request.ids {
        Some(ids) => {
            if ids.len() > MAX_IDS {
                return Err(NotificationError::TooManyIds(MAX_IDS).into());
            }
            let ids: Vec<NotificationId> = ids.into_iter().map(|WholeId(id)| NotificationId(id)).collect();
            notifications.mark_read(user, &ids).await?
        }
        None => notifications.mark_all_read(user, None).await?,
    };
    Ok(Json(ReadView { marked, unread: notifications.unread(user).await? }))
}

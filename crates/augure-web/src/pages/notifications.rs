//! SPEC §11: a signed-in person's notification list. Opening it marks nothing read: new
//! ones stay marked (in words and in style) until the person says they have seen them,
//! with "mark all as read" or one entry's own button.

use askama::Template;
use augure_app::i18n::Tr;
use augure_domain::ids::NotificationId;
use augure_store::{Notification, User};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageRejection, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage<'a> {
    l: Layout<'a>,
    summary: String,
    items: Vec<NoticeView>,
    /// The newest entry shown while some are unread: "mark all" stops there, so one
    /// arriving after the page was read stays new.
    up_to: Option<i64>,
}

/// One entry as the person reads it.
struct NoticeView {
    id: i64,
    kind: String,
    title: String,
    body: String,
    link: Option<String>,
    at: String,
    unread: bool,
}

#[derive(Deserialize)]
pub struct ReadForm {
    /// "Mark all as read": the newest entry the page showed.
    #[serde(default)]
    up_to: Option<String>,
    /// One entry's button.
    #[serde(default)]
    id: Option<String>,
}

pub async fn page(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let user = signed_in(&ctx)?;
    let inbox = st.app.notifications.inbox(user.id).await?;
    let zone = st.app.sites.zone_for(user.site_id).await?;
    let l = ctx.layout(&st);
    let summary = if inbox.unread > 0 {
        l.tr.t1("notifications-summary-unread", "count", &inbox.unread.to_string())
    } else {
        l.tr.t("notifications-summary-read")
    };
    let up_to = inbox.items.iter().any(Notification::is_unread).then(|| inbox.items.first().map(|n| n.id.0)).flatten();
    let items = inbox.items.into_iter().map(|n| view(&l.tr, n, zone)).collect();
    render(StatusCode::OK, &NotificationsPage { l, summary, items, up_to })
}

/// `POST /notifications/read`: all up to what the page showed, or one entry.
pub async fn mark_read(State(st): State<AppState>, ctx: PageCtx, PageForm(form): PageForm<ReadForm>) -> PageResult {
    let user = signed_in(&ctx)?;
    let id = |value: &str| {
        value.trim().parse::<i64>().map(NotificationId).map_err(|_| Problem::status(StatusCode::UNPROCESSABLE_ENTITY))
    };
    let done = match (form.id.as_deref(), form.up_to.as_deref()) {
        (Some(one), _) => {
            st.app.notifications.mark_read(user.id, &[id(one)?]).await.map_err(Problem::from)?;
            Flash::new("notification-read")
        }
        (None, up_to) => {
            let up_to = up_to.filter(|v| !v.trim().is_empty()).map(id).transpose()?;
            st.app.notifications.mark_all_read(user.id, up_to).await?;
            Flash::new("notifications-read")
        }
    };
    Ok(done.redirect("/notifications"))
}

/// Any signed-in person; others sign in first (as clients, the most of them: experts and
/// admins are told where their own entry is) and come back here.
fn signed_in(ctx: &PageCtx) -> Result<&User, PageRejection> {
    ctx.session.as_ref().map(|s| &s.user).ok_or(PageRejection::Redirect("/login?next=%2Fnotifications"))
}

fn view(tr: &Tr<'_>, n: Notification, zone: chrono_tz::Tz) -> NoticeView {
    let key = format!("notification-kind-{}", n.kind.replace('_', "-"));
    let kind = tr.t(&key);
    NoticeView {
        id: n.id.0,
        kind: if kind == key { tr.t("notification-kind-other") } else { kind },
        at: super::when(tr, n.created_at, zone),
        unread: n.is_unread(),
        title: n.title,
        body: n.body,
        // Stored links are paths already; checked again where they become an `href`.
        link: n.link.filter(|link| crate::redirect::local_path(link).is_some()),
    }
}

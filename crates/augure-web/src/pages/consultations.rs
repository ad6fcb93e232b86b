//! A person's consultations (SP-history), the client's review of one (SP-review), and the
//! expert's notes on their clients (SP-notes).

use askama::Template;
use augure_app::chat::ChatError;
use augure_domain::{ConsultationId, Money, Role};
use augure_store::{ConsultationStatus, User};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageRejection, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "consultations.html")]
struct HistoryPage<'a> {
    l: Layout<'a>,
    rows: Vec<HistoryRow>,
    expert: bool,
}

struct HistoryRow {
    id: i64,
    when: String,
    other: String,
    channel: String,
    duration: String,
    amount: String,
    status: String,
}

pub async fn history(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let user = ctx.session.as_ref().map(|s| s.user.clone()).ok_or(PageRejection::Redirect("/login"))?;
    let zone = st.app.sites.zone_for(user.site_id).await?;
    let list = st.app.chats.history(&user).await?;
    let l = ctx.layout(&st);
    let tr = l.tr;
    let expert = user.role == Role::Expert;
    let rows = list
        .into_iter()
        .map(|(c, other)| {
            let currency = c.terms.prices.currency();
            let amount = match (&c.ended, c.status) {
                (Some(e), ConsultationStatus::Settled) => {
                    Money::new(if expert { e.earnings } else { e.charge }, currency).format(tr.locale)
                }
                _ => "—".into(),
            };
            HistoryRow {
                id: c.id.0,
                when: super::when(&tr, c.opened_at, zone),
                other: other.display_name,
                channel: tr.t(&format!("channel-{}", c.terms.channel.as_str())),
                duration: if c.status == ConsultationStatus::Settled {
                    augure_app::chat::duration_words(&tr, c.billable_seconds)
                } else {
                    "—".into()
                },
                amount,
                status: tr.t(&format!("consultation-status-{}", c.status.as_str())),
            }
        })
        .collect();
    render(StatusCode::OK, &HistoryPage { l, rows, expert })
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage<'a> {
    l: Layout<'a>,
    id: i64,
    expert: String,
    rating: String,
    body: String,
    error: Option<String>,
    max: usize,
}

fn consultation_id(raw: &str) -> Result<ConsultationId, Problem> {
    raw.parse::<i64>().map(ConsultationId).map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-chat-not-found"))
}

async fn expert_name(st: &AppState, user: &User, id: ConsultationId) -> Result<String, PageRejection> {
    let state = st.app.chats.state(user, id, i64::MAX).await?;
    Ok(state.other.display_name)
}

pub async fn review_page(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let user = ctx.require(Role::Client)?.clone();
    let id = consultation_id(&id)?;
    let expert = expert_name(&st, &user, id).await?;
    if !st.app.chats.reviewable(&user, id).await? {
        return Err(Problem::from(ChatError::NotReviewable).into());
    }
    let page = ReviewPage {
        l: ctx.layout(&st),
        id: id.0,
        expert,
        rating: String::new(),
        body: String::new(),
        error: None,
        max: augure_app::chat::REVIEW_MAX_CHARS,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    body: String,
}

pub async fn review(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<ReviewForm>,
) -> PageResult {
    let user = ctx.require(Role::Client)?.clone();
    let id = consultation_id(&id)?;
    let rating = form.rating.trim().parse::<u8>().unwrap_or(0);
    match st.app.chats.review(&user, id, rating, &form.body).await {
        Ok(_) => Ok(Flash::new("review-sent").redirect(&format!("/consultations/{id}"))),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let l = ctx.layout(&st);
            let error = Some(problem.message(&l.tr));
            let expert = expert_name(&st, &user, id).await?;
            let page = ReviewPage {
                l,
                id: id.0,
                expert,
                rating: form.rating,
                body: form.body,
                error,
                max: augure_app::chat::REVIEW_MAX_CHARS,
            };
            render(problem.status, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "notes.html")]
struct NotesPage<'a> {
    l: Layout<'a>,
    notes: Vec<(String, String, String)>,
}

/// SP-notes: every note the expert keeps, with its client and when it was last edited.
pub async fn notes(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let user = ctx.require(Role::Expert)?.clone();
    let zone = st.app.sites.zone_for(user.site_id).await?;
    let list = st.app.chats.notes(&user).await?;
    let l = ctx.layout(&st);
    let notes = list
        .into_iter()
        .map(|(note, client)| (client.display_name, super::when(&l.tr, note.updated_at, zone), note.body))
        .collect();
    render(StatusCode::OK, &NotesPage { l, notes })
}

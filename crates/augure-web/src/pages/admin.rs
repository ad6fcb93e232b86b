//! The operator's pages: overview, the mail outbox, the job queue, accounts.

use askama::Template;
use augure_domain::{MailId, Role};
use augure_store::{Job, JobStatus, StoredMail, User};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{Layout, PageCtx, PageResult, render};
use crate::AppState;
use crate::error::Problem;

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/home.html")]
struct AdminHome<'a> {
    l: Layout<'a>,
    users: i64,
    queued: usize,
    failed: usize,
    mailer: &'static str,
    backend: &'static str,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage<'a> {
    l: Layout<'a>,
    mails: Vec<StoredMail>,
    page: i64,
    more: bool,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage<'a> {
    l: Layout<'a>,
    mail: StoredMail,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage<'a> {
    l: Layout<'a>,
    jobs: Vec<Job>,
    filter: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    l: Layout<'a>,
    users: Vec<User>,
    page: i64,
    more: bool,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    page: i64,
}

#[derive(Deserialize)]
pub struct JobFilter {
    #[serde(default)]
    status: String,
}

pub async fn home(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    let store = &st.app.store;
    let page = AdminHome {
        users: store.count_users().await?,
        queued: store.list_jobs(Some(JobStatus::Queued), 1000).await?.len(),
        failed: store.list_jobs(Some(JobStatus::Failed), 1000).await?.len(),
        mailer: st.app.jobs.mailer_name(),
        backend: store.backend(),
        l: ctx.layout(&st),
    };
    render(StatusCode::OK, &page)
}

pub async fn outbox(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let page = p.page.max(0);
    let mut mails = st.app.store.list_mail(PAGE_SIZE + 1, page * PAGE_SIZE).await?;
    let more = mails.len() as i64 > PAGE_SIZE;
    mails.truncate(PAGE_SIZE as usize);
    render(StatusCode::OK, &OutboxPage { l: ctx.layout(&st), mails, page, more })
}

pub async fn outbox_mail(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let mail = st.app.store.mail(MailId(id)).await?;
    render(StatusCode::OK, &MailPage { l: ctx.layout(&st), mail })
}

pub async fn jobs(State(st): State<AppState>, ctx: PageCtx, Query(f): Query<JobFilter>) -> PageResult {
    ctx.require(Role::Admin)?;
    let status = JobStatus::parse(&f.status);
    let jobs = st.app.store.list_jobs(status, 200).await?;
    let filter = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
    render(StatusCode::OK, &JobsPage { l: ctx.layout(&st), jobs, filter })
}

pub async fn users(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let page = p.page.max(0);
    let mut users = st.app.store.list_users(None, PAGE_SIZE + 1, page * PAGE_SIZE).await?;
    let more = users.len() as i64 > PAGE_SIZE;
    users.truncate(PAGE_SIZE as usize);
    render(StatusCode::OK, &UsersPage { l: ctx.layout(&st), users, page, more })
}

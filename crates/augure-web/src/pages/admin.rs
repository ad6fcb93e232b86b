//! The operator's pages: overview, the mail outbox, the job queue, accounts.

use askama::Template;
use augure_app::admin::{LedgerOverview, Paged};
use augure_domain::ledger::{AccountId, LedgerAccount};
use augure_domain::{MailId, Money, Role};
use augure_store::{Job, JobStatus, LedgerOwner, StoredMail, Transfer, TrialBalance, User};
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
    let overview = st.app.back_office.overview().await?;
    let page = AdminHome {
        users: overview.users,
        queued: overview.queued,
        failed: overview.failed,
        mailer: st.app.jobs.mailer_name(),
        backend: overview.backend,
        l: ctx.layout(&st),
    };
    render(StatusCode::OK, &page)
}

pub async fn outbox(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: mails, page, more } = st.app.back_office.outbox(p.page, PAGE_SIZE).await?;
    render(StatusCode::OK, &OutboxPage { l: ctx.layout(&st), mails, page, more })
}

pub async fn outbox_mail(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let mail = st.app.back_office.mail(MailId(id)).await?;
    render(StatusCode::OK, &MailPage { l: ctx.layout(&st), mail })
}

pub async fn jobs(State(st): State<AppState>, ctx: PageCtx, Query(f): Query<JobFilter>) -> PageResult {
    ctx.require(Role::Admin)?;
    let status = JobStatus::parse(&f.status);
    let jobs = st.app.back_office.jobs(status, 200).await?;
    let filter = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
    render(StatusCode::OK, &JobsPage { l: ctx.layout(&st), jobs, filter })
}

pub async fn users(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: users, page, more } = st.app.back_office.users(p.page, PAGE_SIZE).await?;
    render(StatusCode::OK, &UsersPage { l: ctx.layout(&st), users, page, more })
}

#[derive(Template)]
#[template(path = "admin/ledger.html")]
struct LedgerPage<'a> {
    l: Layout<'a>,
    trial: Vec<TrialBalance>,
    accounts: Vec<AccountView>,
    sound: bool,
    page: i64,
    more: bool,
}

#[derive(Template)]
#[template(path = "admin/ledger_account.html")]
struct LedgerAccountPage<'a> {
    l: Layout<'a>,
    account: AccountView,
    transfers: Vec<TransferView>,
}

/// An account with its amounts formatted for the reader.
struct AccountView {
    id: i64,
    owner: String,
    kind: String,
    currency: String,
    posted: String,
    pending_debits: String,
    pending_credits: String,
}

struct TransferView {
    id: i64,
    key: String,
    at: String,
    mode: String,
    code: String,
    /// Signed from the account's side: credits in, debits out.
    amount: String,
    counterpart: i64,
}

fn account_view(l: &Layout<'_>, account: &LedgerAccount, owner: LedgerOwner) -> AccountView {
    let money = |minor| Money::new(minor, account.currency).format(l.tr.locale);
    let b = account.balances;
    AccountView {
        id: account.id.0,
        owner: match owner {
            LedgerOwner::Platform => l.tr.t("admin-ledger-platform"),
            LedgerOwner::User(id) => format!("#{id}"),
        },
        kind: l.tr.t(&format!("ledger-kind-{}", account.kind.as_str().replace('_', "-"))),
        currency: account.currency.code().to_owned(),
        posted: money(b.credits_posted - b.debits_posted),
        pending_debits: money(b.debits_pending),
        pending_credits: money(b.credits_pending),
    }
}

pub async fn ledger(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let LedgerOverview { trial, sound, accounts } = st.app.back_office.ledger(p.page, PAGE_SIZE).await?;
    let Paged { items: rows, page, more } = accounts;
    let l = ctx.layout(&st);
    let accounts = rows.iter().map(|(a, o)| account_view(&l, a, *o)).collect();
    render(StatusCode::OK, &LedgerPage { l, trial, accounts, sound, page, more })
}

pub async fn ledger_account(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id = AccountId(id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?);
    let (account, owner, transfers) = st.app.back_office.ledger_account(id, 200).await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let transfers = transfers
        .into_iter()
        .map(|t| {
            let incoming = t.credit == id;
            let signed = if incoming { t.amount } else { -t.amount };
            TransferView {
                id: t.id.0,
                at: super::when(&l.tr, t.created_at, zone),
                mode: l.tr.t(&format!("ledger-mode-{}", t.mode.as_str().replace('_', "-"))),
                code: t.code,
                amount: Money::new(signed, t.currency).format(l.tr.locale),
                counterpart: if incoming { t.debit.0 } else { t.credit.0 },
                key: t.key,
            }
        })
        .collect();
    let account = account_view(&l, &account, owner);
    render(StatusCode::OK, &LedgerAccountPage { l, account, transfers })
}

#[derive(Template)]
#[template(path = "admin/transfers.html")]
struct TransfersPage<'a> {
    l: Layout<'a>,
    transfers: Vec<Transfer>,
    page: i64,
    more: bool,
}

pub async fn ledger_transfers(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: transfers, page, more } = st.app.back_office.transfers(p.page, PAGE_SIZE).await?;
    render(StatusCode::OK, &TransfersPage { l: ctx.layout(&st), transfers, page, more })
}

//! The operator's pages: overview, the mail and SMS outboxes, the job queue, accounts.

use askama::Template;
use augure_app::admin::{LedgerOverview, Paged};
use augure_domain::ledger::{AccountId, LedgerAccount};
use augure_domain::{MailId, Money, Role, UserId};
use augure_store::{Job, JobStatus, LedgerOwner, StoredMail, Transfer, TrialBalance, User};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use std::collections::HashMap;

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
    /// Consultations ringing or live now, and reports and flagged messages to look at.
    in_progress: usize,
    to_review: usize,
    mailer: &'static str,
    backend: &'static str,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage<'a> {
    l: Layout<'a>,
    /// Each mail, and when it was written as the reader reads dates.
    mails: Vec<(StoredMail, String)>,
    page: i64,
    more: bool,
    /// Each text message: its number as dialled, its text and when it went.
    sms: Vec<SmsView>,
    sms_page: i64,
    sms_more: bool,
}

struct SmsView {
    to: String,
    text: String,
    at: String,
}

/// The outbox's two lists page on their own.
#[derive(Deserialize)]
pub struct OutboxPaging {
    #[serde(default)]
    page: i64,
    #[serde(default)]
    sms_page: i64,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage<'a> {
    l: Layout<'a>,
    mail: StoredMail,
    at: String,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage<'a> {
    l: Layout<'a>,
    jobs: Vec<JobView>,
    filter: String,
    /// `(status in the URL, its name)`; the empty status is "all".
    filters: Vec<(&'static str, String)>,
}

struct JobView {
    id: i64,
    kind: String,
    status: String,
    attempts: u32,
    run_at: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    l: Layout<'a>,
    /// Each account, and when it was opened.
    users: Vec<(User, String)>,
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
    let chats = st.app.chats.admin_counts().await?;
    let page = AdminHome {
        users: overview.users,
        queued: overview.queued,
        failed: overview.failed,
        in_progress: chats.in_progress,
        to_review: chats.to_review,
        mailer: st.app.jobs.mailer_name(),
        backend: overview.backend,
        l: ctx.layout(&st),
    };
    render(StatusCode::OK, &page)
}

pub async fn outbox(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<OutboxPaging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: mails, page, more } = st.app.back_office.outbox(p.page, PAGE_SIZE).await?;
    let Paged { items: sms, page: sms_page, more: sms_more } =
        st.app.back_office.sms_outbox(p.sms_page, PAGE_SIZE).await?;
    let zone = st.app.sites.zone_for(None).await?;
    // Numbers read as dialled from the operator's own country, its first site's.
    let home = st.app.sites.list().await?.first().map(|site| site.code.clone());
    let l = ctx.layout(&st);
    let mails =
        mails.into_iter().map(|m| (super::when(&l.tr, m.mail.created_at, zone), m)).map(|(at, m)| (m, at)).collect();
    let sms = sms
        .into_iter()
        .map(|s| SmsView {
            to: super::names::phone(&s.sms.to, home.as_ref()),
            at: super::when(&l.tr, s.sms.created_at, zone),
            text: s.sms.text,
        })
        .collect();
    render(StatusCode::OK, &OutboxPage { l, mails, page, more, sms, sms_page, sms_more })
}

pub async fn outbox_mail(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let mail = st.app.back_office.mail(MailId(id)).await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let at = super::when(&l.tr, mail.mail.created_at, zone);
    render(StatusCode::OK, &MailPage { l, mail, at })
}

pub async fn jobs(State(st): State<AppState>, ctx: PageCtx, Query(f): Query<JobFilter>) -> PageResult {
    ctx.require(Role::Admin)?;
    let status = JobStatus::parse(&f.status);
    let jobs = st.app.back_office.jobs(status, 200).await?;
    let filter = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let jobs = jobs.into_iter().map(|j| job_view(&l, j, zone)).collect();
    let filters = ["", "queued", "running", "done", "failed"]
        .into_iter()
        .map(|s| (s, if s.is_empty() { l.tr.t("admin-all") } else { l.tr.t(&format!("admin-job-status-{s}")) }))
        .collect();
    render(StatusCode::OK, &JobsPage { l, jobs, filter, filters })
}

pub async fn users(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: users, page, more } = st.app.back_office.users(p.page, PAGE_SIZE).await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let users = users.into_iter().map(|u| (super::when(&l.tr, u.created_at, zone), u)).map(|(at, u)| (u, at)).collect();
    render(StatusCode::OK, &UsersPage { l, users, page, more })
}

/// A job as the operator reads it: its kind and state named, its time in the operator's zone.
fn job_view(l: &Layout<'_>, j: Job, zone: chrono_tz::Tz) -> JobView {
    let key = format!("job-kind-{}", j.kind.replace(['.', '_'], "-"));
    let kind = l.tr.t(&key);
    JobView {
        id: j.id.0,
        kind: if kind == key { j.kind } else { kind },
        status: l.tr.t(&format!("admin-job-status-{}", j.status.as_str())),
        attempts: j.attempts,
        run_at: super::when(&l.tr, j.run_at, zone),
        error: j.last_error,
    }
}

#[derive(Template)]
#[template(path = "admin/ledger.html")]
struct LedgerPage<'a> {
    l: Layout<'a>,
    trial: Vec<TrialView>,
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

/// One currency's totals, as amounts.
struct TrialView {
    currency: String,
    debits: String,
    credits: String,
    pending_debits: String,
    pending_credits: String,
}

fn trial_view(l: &Layout<'_>, t: &TrialBalance) -> TrialView {
    let money = |minor| Money::new(minor, t.currency).format(l.tr.locale);
    TrialView {
        currency: super::names::currency(&l.tr, t.currency),
        debits: money(t.debits_posted),
        credits: money(t.credits_posted),
        pending_debits: money(t.debits_pending),
        pending_credits: money(t.credits_pending),
    }
}

/// What a transfer's code says, named when the translations know it ("Achat de crédit").
fn transfer_code(l: &Layout<'_>, code: &str) -> String {
    let key = format!("wallet-code-{}", code.replace('_', "-"));
    let name = l.tr.t(&key);
    if name == key { code.to_owned() } else { name }
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

/// An account's owner as the operator knows them: "Claire (claire@…)".
fn owner_name(l: &Layout<'_>, owner: LedgerOwner, people: &HashMap<UserId, User>) -> String {
    match owner {
        LedgerOwner::Platform => l.tr.t("admin-ledger-platform"),
        LedgerOwner::User(id) => match people.get(&id) {
            Some(u) => format!("{} ({})", u.display_name, u.email.as_str()),
            None => l.tr.t("admin-ledger-owner-gone"),
        },
    }
}

fn account_view(
    l: &Layout<'_>,
    account: &LedgerAccount,
    owner: LedgerOwner,
    people: &HashMap<UserId, User>,
) -> AccountView {
    let money = |minor| Money::new(minor, account.currency).format(l.tr.locale);
    let b = account.balances;
    AccountView {
        id: account.id.0,
        owner: owner_name(l, owner, people),
        kind: l.tr.t(&format!("ledger-kind-{}", account.kind.as_str().replace('_', "-"))),
        currency: super::names::currency(&l.tr, account.currency),
        posted: money(b.credits_posted - b.debits_posted),
        pending_debits: money(b.debits_pending),
        pending_credits: money(b.credits_pending),
    }
}

pub async fn ledger(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let LedgerOverview { trial, sound, accounts } = st.app.back_office.ledger(p.page, PAGE_SIZE).await?;
    let Paged { items: rows, page, more } = accounts;
    let owners: Vec<LedgerOwner> = rows.iter().map(|(_, o)| *o).collect();
    let people = st.app.back_office.owners(owners).await?;
    let l = ctx.layout(&st);
    let accounts = rows.iter().map(|(a, o)| account_view(&l, a, *o, &people)).collect();
    let trial = trial.iter().map(|t| trial_view(&l, t)).collect();
    render(StatusCode::OK, &LedgerPage { l, trial, accounts, sound, page, more })
}

pub async fn ledger_account(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id = AccountId(id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?);
    let (account, owner, transfers) = st.app.back_office.ledger_account(id, 200).await?;
    let zone = st.app.sites.zone_for(None).await?;
    let people = st.app.back_office.owners([owner]).await?;
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
                code: transfer_code(&l, &t.code),
                amount: Money::new(signed, t.currency).format(l.tr.locale),
                counterpart: if incoming { t.debit.0 } else { t.credit.0 },
                key: t.key,
            }
        })
        .collect();
    let account = account_view(&l, &account, owner, &people);
    render(StatusCode::OK, &LedgerAccountPage { l, account, transfers })
}

#[derive(Template)]
#[template(path = "admin/transfers.html")]
struct TransfersPage<'a> {
    l: Layout<'a>,
    transfers: Vec<JournalRow>,
    page: i64,
    more: bool,
}

/// A line of the journal: accounts by number, the rest as people read it.
struct JournalRow {
    id: i64,
    at: String,
    mode: String,
    code: String,
    debit: i64,
    credit: i64,
    amount: String,
    key: String,
}

pub async fn ledger_transfers(State(st): State<AppState>, ctx: PageCtx, Query(p): Query<Paging>) -> PageResult {
    ctx.require(Role::Admin)?;
    let Paged { items: transfers, page, more } = st.app.back_office.transfers(p.page, PAGE_SIZE).await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let transfers = transfers
        .into_iter()
        .map(|t: Transfer| JournalRow {
            id: t.id.0,
            at: super::when(&l.tr, t.created_at, zone),
            mode: l.tr.t(&format!("ledger-mode-{}", t.mode.as_str().replace('_', "-"))),
            code: transfer_code(&l, &t.code),
            debit: t.debit.0,
            credit: t.credit.0,
            amount: Money::new(t.amount, t.currency).format(l.tr.locale),
            key: t.key,
        })
        .collect();
    render(StatusCode::OK, &TransfersPage { l, transfers, page, more })
}

//! The operator's pages on chats (issue 11, Admin): the consultations in progress with
//! their meters, each of which may be ended; the reports the parties sent and the messages
//! whose contact details were masked, until handled.

use askama::Template;
use augure_app::chat::ChatError;
use augure_app::chat::admin::{FlagRow, LiveRow, ReportRow};
use augure_domain::ConsultationId;
use augure_domain::Role;
use augure_domain::meter::Side;
use augure_store::{ConsultationStatus, User};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Layout, PageCtx, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "admin/live.html")]
struct LivePage<'a> {
    l: Layout<'a>,
    rows: Vec<LiveLine>,
}

/// A consultation in progress as the operator reads it.
struct LiveLine {
    id: i64,
    client: Person,
    expert: Person,
    channel: String,
    status: String,
    started: String,
    elapsed: String,
    charge: String,
    credit_left: String,
    /// What is going on besides the meter: a side reconnecting, a pause.
    flags: Vec<String>,
    /// The force-end button's name, with both parties.
    end_label: String,
}

/// Someone named on an admin page: their name and, to tell namesakes apart, their email.
struct Person {
    name: String,
    email: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage<'a> {
    l: Layout<'a>,
    reports: Vec<ReportLine>,
    flags: Vec<FlagLine>,
}

struct ReportLine {
    id: i64,
    at: String,
    reporter: Person,
    /// "Client" or "Expert": the reporter's side.
    reporter_side: String,
    reported: Person,
    /// The consultation it is about: its channel and date.
    about: String,
    reason: String,
    resolve_label: String,
}

struct FlagLine {
    consultation: i64,
    seq: i64,
    at: String,
    author: Person,
    author_side: String,
    other: Person,
    text: String,
    kinds: String,
    dismiss_label: String,
}

const LIVE: &str = "/admin/live";
const REPORTS: &str = "/admin/reports";

pub async fn live(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    let rows = st.app.chats.in_progress().await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let rows = rows.iter().map(|r| live_line(&l, r, zone)).collect();
    render(StatusCode::OK, &LivePage { l, rows })
}

/// An administrator ends a consultation in progress; it settles as any other end. One that
/// ended meanwhile is said so.
pub async fn force_end(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id = ConsultationId(id.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-chat-not-found"))?);
    match st.app.chats.force_end(id).await {
        Ok(()) => Ok(Flash::new("chat-force-ended").redirect(LIVE)),
        Err(ChatError::NotOpen) => Ok(Flash::new("chat-already-over").redirect(LIVE)),
        Err(e) => Err(e.into()),
    }
}

pub async fn reports(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    let reports = st.app.chats.open_reports().await?;
    let flags = st.app.chats.flagged_messages().await?;
    let zone = st.app.sites.zone_for(None).await?;
    let l = ctx.layout(&st);
    let reports = reports.iter().map(|r| report_line(&l, r, zone)).collect();
    let flags = flags.iter().map(|f| flag_line(&l, f, zone)).collect();
    render(StatusCode::OK, &ReportsPage { l, reports, flags })
}

pub async fn resolve(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    // Handled twice (two tabs) is handled: the same confirmation.
    st.app.chats.resolve_report(id).await?;
    Ok(Flash::new("report-resolved").redirect(REPORTS))
}

pub async fn dismiss(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path((consultation, seq)): Path<(String, String)>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let not_found = |_| Problem::status(StatusCode::NOT_FOUND);
    let consultation = ConsultationId(consultation.parse().map_err(not_found)?);
    let seq: i64 = seq.parse().map_err(not_found)?;
    st.app.chats.dismiss_flag(consultation, seq).await?;
    Ok(Flash::new("flag-dismissed").redirect(REPORTS))
}

fn person(l: &Layout<'_>, user: Option<&User>) -> Person {
    match user {
        Some(u) => Person { name: u.display_name.clone(), email: Some(u.email.as_str().to_owned()) },
        None => Person { name: l.tr.t("admin-ledger-owner-gone"), email: None },
    }
}

fn side_name(l: &Layout<'_>, side: Side) -> String {
    l.tr.t(match side {
        Side::Client => "consultations-client",
        Side::Expert => "consultations-expert",
    })
}

fn live_line(l: &Layout<'_>, r: &LiveRow, zone: chrono_tz::Tz) -> LiveLine {
    let tr = &l.tr;
    let c = &r.consultation;
    let (client, expert) = (person(l, r.client.as_ref()), person(l, r.expert.as_ref()));
    let started = match c.started_at.or(r.live.and_then(|v| v.started_at)) {
        Some(at) => super::when(tr, at, zone),
        None => tr.t1("admin-live-asked", "when", &super::when(tr, c.opened_at, zone)),
    };
    let seconds = r.live.map_or(c.billable_seconds, |v| v.billable_seconds);
    let none = || "—".to_owned();
    let mut flags = Vec::new();
    match r.live {
        Some(v) => {
            if v.client_away {
                flags.push(tr.t("admin-live-client-reconnecting"));
            }
            if v.expert_away {
                flags.push(tr.t("admin-live-expert-reconnecting"));
            }
            if v.paused_until.is_some() {
                flags.push(tr.t("admin-live-paused"));
            }
            if v.warned {
                flags.push(tr.t("admin-live-warned"));
            }
        }
        None if c.status == ConsultationStatus::Live => flags.push(tr.t("admin-live-elsewhere")),
        None => {}
    }
    LiveLine {
        id: c.id.0,
        channel: tr.t(&format!("channel-{}", c.terms.channel.as_str())),
        status: tr.t(&format!("consultation-status-{}", c.status.as_str())),
        started,
        elapsed: augure_app::chat::duration_words(tr, seconds),
        charge: r.live.map_or_else(none, |v| v.charge.format(tr.locale)),
        credit_left: r.live.map_or_else(none, |v| v.credit_left.format(tr.locale)),
        flags,
        end_label: tr.t2("admin-live-end-label", "client", &client.name, "expert", &expert.name),
        client,
        expert,
    }
}

fn report_line(l: &Layout<'_>, r: &ReportRow, zone: chrono_tz::Tz) -> ReportLine {
    let tr = &l.tr;
    let (reporter, reported) = (person(l, r.reporter.as_ref()), person(l, r.reported.as_ref()));
    let (reporter_side, about) = match &r.consultation {
        Some(c) => {
            let side = if c.client == r.report.reporter { Side::Client } else { Side::Expert };
            let channel = tr.t(&format!("channel-{}", c.terms.channel.as_str()));
            let about =
                tr.t2("admin-report-consultation", "channel", &channel, "when", &super::when(tr, c.opened_at, zone));
            (side_name(l, side), about)
        }
        None => ("—".to_owned(), "—".to_owned()),
    };
    ReportLine {
        id: r.report.id,
        at: super::when(tr, r.report.created_at, zone),
        reporter_side,
        about,
        reason: r.report.reason.clone(),
        resolve_label: tr.t2("admin-report-resolve-label", "reporter", &reporter.name, "reported", &reported.name),
        reporter,
        reported,
    }
}

fn flag_line(l: &Layout<'_>, f: &FlagRow, zone: chrono_tz::Tz) -> FlagLine {
    let tr = &l.tr;
    let m = &f.message;
    let author = person(l, f.author.as_ref());
    let kinds = m
        .flags
        .iter()
        .map(|kind| {
            let key = format!("admin-flag-kind-{kind}");
            let name = tr.t(&key);
            if name == key { kind.clone() } else { name }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let text = if m.body.is_empty() && m.image.is_some() { tr.t("chat-image-alt") } else { m.body.clone() };
    FlagLine {
        consultation: m.consultation.0,
        seq: m.seq,
        at: super::when(tr, m.sent_at, zone),
        author_side: side_name(l, m.author),
        other: person(l, f.other.as_ref()),
        text,
        kinds,
        dismiss_label: tr.t1("admin-flag-dismiss-label", "author", &author.name),
        author,
    }
}

//! Dashboards: where each person lands after signing in.

use askama::Template;
use augure_app::availability::Change;
use augure_domain::availability::Status;
use augure_domain::{Mode, Role, Site};
use augure_store::{ExpertProfile, StoreError, User};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;

#[derive(Template)]
#[template(path = "dashboard_client.html")]
struct ClientDashboard<'a> {
    l: Layout<'a>,
    me: User,
    site: Option<Site>,
}

#[derive(Template)]
#[template(path = "dashboard_expert.html")]
struct ExpertDashboard<'a> {
    l: Layout<'a>,
    me: User,
    code: String,
    site: Option<Site>,
    profile: Option<ExpertProfile>,
    price: String,
    status: &'static str,
    status_label: String,
    position: u8,
    live: Vec<String>,
    paused_until: Option<String>,
    /// Each offered mode: its key, its label, and whether it is switched on.
    modes: Vec<(&'static str, String, bool)>,
    /// SP-bank: the banner, while bank details are missing.
    bank_warning: Option<String>,
    /// SP-contract: the current terms are not accepted yet.
    terms_pending: bool,
    /// WG-hours: today's planned hours, editable here.
    today: String,
    today_hours: Vec<String>,
    today_rows: Vec<(String, String)>,
    planning_saved: bool,
}

#[derive(Deserialize)]
pub struct ExpertDashboardQuery {
    planning: Option<String>,
}

#[derive(Template)]
#[template(path = "bank.html")]
struct BankPage<'a> {
    l: Layout<'a>,
    form: BankView,
    error: Option<String>,
    saved: bool,
}

#[derive(Default)]
struct BankView {
    paypal: bool,
    holder: String,
    bank_name: String,
    bank_country: String,
    iban: String,
    /// The IBAN saved, masked.
    saved_iban: Option<String>,
    bic: String,
    paypal_email: String,
}

async fn home_site(st: &AppState, user: &User) -> Result<Option<Site>, StoreError> {
    let sites = st.app.sites.list().await?;
    Ok(sites.iter().find(|s| Some(s.id) == user.site_id).or(sites.first()).cloned())
}

pub async fn client(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let site = home_site(&st, &me).await?;
    render(StatusCode::OK, &ClientDashboard { l: ctx.layout(&st), me, site })
}

pub async fn expert(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<ExpertDashboardQuery>) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let upcoming = st.app.planning.upcoming(&me).await?;
    let today_slots: Vec<_> = upcoming.slots.iter().filter(|s| s.date == upcoming.today).copied().collect();
    let site = home_site(&st, &me).await?;
    let profile = st.app.profiles.profile(me.id).await?;
    let availability = &st.app.availability;
    let presence = availability.presence(me.id).await?;
    let now = st.app.clock.now();
    let domain = augure_domain::availability::Presence {
        status: presence.status,
        modes_on: presence.modes_on.iter().copied().collect(),
        paused_until: presence.paused_until,
        last_heartbeat: presence.last_heartbeat,
        signed_up_at: me.created_at,
        has_bank_details: presence.bank_details_at.is_some(),
    };
    let live_modes = availability.policy().live_modes(&domain, now);
    let position = augure_domain::availability::position_for(&live_modes);
    let tz = site.as_ref().map_or(chrono_tz::Europe::Paris, |s| s.time_zone);
    let l = ctx.layout(&st);
    let home_prices = profile.as_ref().and_then(|p| augure_app::pricing::home_prices(p, site.as_ref()));
    let price = home_prices.map(|p| p.per_minute.format(l.tr.locale)).unwrap_or_default();
    let code = me.expert_code.map(|c| c.to_string()).unwrap_or_default();
    let offered: Vec<Mode> = profile.as_ref().map_or_else(|| Mode::ALL.to_vec(), |p| p.modes.clone());
    let modes =
        offered.iter().map(|m| (m.as_str(), l.tr.t(&format!("mode-{m}")), presence.modes_on.contains(m))).collect();
    let status = match presence.status {
        Status::Available => "available",
        Status::Busy => "busy",
        Status::Unavailable => "unavailable",
    };
    let policy = availability.policy();
    let bank_warning = policy.bank_details_deadline(&domain).map(|deadline| {
        if policy.blocked_for_bank_details(&domain, now) {
            l.tr.t("bank-blocked")
        } else {
            l.tr.t1("bank-deadline", "deadline", &deadline.with_timezone(&tz).format("%d/%m %H:%M").to_string())
        }
    });
    let terms_pending = st.app.profiles.own(me.id).await?.terms_pending;
    let page = ExpertDashboard {
        terms_pending,
        today: upcoming.today.to_string(),
        today_hours: today_slots.iter().map(super::planning::slot_label).collect(),
        today_rows: super::planning::rows_of(&today_slots),
        planning_saved: q.planning.is_some(),
        bank_warning,
        status,
        status_label: l.tr.t(&format!("availability-status-{status}")),
        position,
        live: live_modes.iter().map(|m| l.tr.t(&format!("mode-{m}"))).collect(),
        paused_until: presence
            .paused_until
            .filter(|at| *at > now)
            .map(|at| at.with_timezone(&tz).format("%H:%M").to_string()),
        modes,
        l,
        me,
        code,
        site,
        profile,
        price,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    change: String,
}

/// The dashboard's availability buttons: `available`, `unavailable`, `pause`, `resume`,
/// or `mode:<mode>:<on|off>`.
pub async fn change_availability(
    State(st): State<AppState>,
    ctx: PageCtx,
    PageForm(form): PageForm<ChangeForm>,
) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let change = match form.change.as_str() {
        "available" => Change::Available,
        "unavailable" => Change::Unavailable,
        "pause" => Change::Pause,
        "resume" => Change::Resume,
        other => match other.split(':').collect::<Vec<_>>().as_slice() {
            ["mode", mode, state @ ("on" | "off")] => {
                let mode: Mode = mode.parse().map_err(|_| Problem::status(StatusCode::UNPROCESSABLE_ENTITY))?;
                Change::Mode(mode, *state == "on")
            }
            _ => return Err(Problem::status(StatusCode::UNPROCESSABLE_ENTITY).into()),
        },
    };
    st.app.availability.change(me.id, change).await?;
    Ok(Redirect::to("/expert/dashboard").into_response())
}

/// The dashboard's WebSocket: while it is open, the expert's chat is live.
pub async fn presence_socket(
    State(st): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    // Another site's page must not hold an expert's presence open.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host)
        && origin.split("://").nth(1) != Some(host)
    {
        return Err(Problem::status(StatusCode::FORBIDDEN).into());
    }
    let availability = st.app.availability.clone();
    let stopping = st.stopping();
    Ok(upgrade
        .on_upgrade(move |mut socket| async move {
            if availability.heartbeat(me.id).await.is_err() {
                return;
            }
            tokio::pin!(stopping);
            loop {
                let message = tokio::select! {
                    message = socket.recv() => message,
                    // The server stops: close, and the page reconnects to another node.
                    () = &mut stopping => {
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                };
                match message {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {
                        if let Err(e) = availability.heartbeat(me.id).await {
                            tracing::warn!(error = %e, "presence heartbeat not recorded");
                        }
                    }
                }
            }
        })
        .into_response())
}

pub async fn bank_page(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<SavedQuery>) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let form = match st.app.profiles.bank_details(me.id).await? {
        Some(d) => BankView {
            paypal: d.payout_method == augure_domain::bank::PayoutMethod::PayPal,
            holder: d.holder,
            bank_name: d.bank_name,
            bank_country: d.bank_country,
            // Never sent back in full: shown masked, and an empty field keeps it.
            iban: String::new(),
            saved_iban: d.iban.map(|i| augure_domain::bank::mask_iban(&i)),
            bic: d.bic.unwrap_or_default(),
            paypal_email: d.paypal_email.unwrap_or_default(),
        },
        None => BankView::default(),
    };
    render(StatusCode::OK, &BankPage { l: ctx.layout(&st), form, error: None, saved: q.saved.is_some() })
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn save_bank(
    State(st): State<AppState>,
    ctx: PageCtx,
    PageForm(form): PageForm<augure_app::profile::BankForm>,
) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    match st.app.profiles.save_bank_details(me.id, &form).await {
        Ok(_) => Ok(Redirect::to("/expert/bank?saved=1").into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let saved_iban = st
                .app
                .profiles
                .bank_details(me.id)
                .await?
                .and_then(|d| d.iban)
                .map(|i| augure_domain::bank::mask_iban(&i));
            let l = ctx.layout(&st);
            let error = Some(problem.message(&l.tr));
            let view = BankView {
                paypal: form.payout_method == "pay_pal",
                holder: form.holder,
                bank_name: form.bank_name,
                bank_country: form.bank_country,
                iban: form.iban,
                saved_iban,
                bic: form.bic,
                paypal_email: form.paypal_email,
            };
            render(problem.status, &BankPage { l, form: view, error, saved: false })
        }
    }
}

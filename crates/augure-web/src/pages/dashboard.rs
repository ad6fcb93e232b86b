//! Dashboards: where each person lands after signing in.

use askama::Template;
use augure_app::availability::Change;
use augure_domain::availability::{ExpertStatus, Status};
use augure_domain::expert::ListingGap;
use augure_domain::{Mode, Role, Site};
use augure_store::{ExpertProfile, StoreError, User};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "dashboard_client.html")]
struct ClientDashboard<'a> {
    l: Layout<'a>,
    me: User,
    /// The client's site and the currency they pay in: "augure Suisse · Prix en francs suisses".
    site: Option<String>,
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
    /// SP-status as the expert set it, for the buttons.
    status: &'static str,
    paused: bool,
    /// The one statement about where the expert stands ([`ExpertStatus`]): its kind
    /// (`not-listed`, `busy`, `blocked`, `unavailable`, `paused`, `no-mode`,
    /// `available`), its text, and the position when listed as available.
    state: &'static str,
    statement: String,
    position: Option<u8>,
    live: Vec<String>,
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
    /// Chats ringing for the expert now: id and "Claire vous demande un chat".
    rings: Vec<(i64, String)>,
    /// The chat the expert is in, if any.
    in_chat: Option<i64>,
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
    let l = ctx.layout(&st);
    let site = home_site(&st, &me).await?.map(|s| {
        let prices = l.tr.t1("home-prices-in", "currency", &super::names::currency(&l.tr, s.currency));
        format!("{} · {prices}", s.name)
    });
    render(StatusCode::OK, &ClientDashboard { l, me, site })
}

pub async fn expert(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<ExpertDashboardQuery>) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let upcoming = st.app.planning.upcoming(&me).await?;
    let today_slots: Vec<_> = upcoming.slots.iter().filter(|s| s.date == upcoming.today).copied().collect();
    let site = home_site(&st, &me).await?;
    let profile = st.app.profiles.profile(me.id).await?;
    let availability = &st.app.availability;
    let domain = availability.domain_presence(&me).await?;
    let now = st.app.clock.now();
    let tz = site.as_ref().map_or(chrono_tz::Europe::Paris, |s| s.time_zone);
    let l = ctx.layout(&st);
    let policy = availability.policy();
    // This page is the dashboard: while it is open its socket keeps chat live.
    let here = augure_domain::availability::Presence { last_heartbeat: Some(now), ..domain.clone() };
    let sites = st.app.sites.list().await?;
    let visible = st.app.profiles.own(me.id).await?.details.visible_sites;
    let on = augure_app::directory::chosen_sites(&visible, me.site_id, &sites);
    let gaps = augure_app::directory::listing_gaps(profile.as_ref(), &on);
    let expert_status = policy.expert_status(&here, &gaps, now);
    let (state, statement, position, live) = statement(&l, &expert_status, tz);
    let home_prices = profile.as_ref().and_then(|p| augure_app::pricing::home_prices(p, site.as_ref()));
    let price = home_prices.map(|p| p.per_minute.format(l.tr.locale)).unwrap_or_default();
    let code = me.expert_code.map(|c| c.to_string()).unwrap_or_default();
    let offered: Vec<Mode> = profile.as_ref().map_or_else(|| Mode::ALL.to_vec(), |p| p.modes.clone());
    let modes =
        offered.iter().map(|m| (m.as_str(), l.tr.t(&format!("mode-{m}")), domain.modes_on.contains(m))).collect();
    let status = match domain.status {
        Status::Available => "available",
        Status::Busy => "busy",
        Status::Unavailable => "unavailable",
    };
    let bank_warning = policy.bank_details_deadline(&domain).map(|deadline| {
        if policy.blocked_for_bank_details(&domain, now) {
            l.tr.t("bank-blocked")
        } else {
            l.tr.t1("bank-deadline", "deadline", &deadline.with_timezone(&tz).format("%d/%m %H:%M").to_string())
        }
    });
    let terms_pending = st.app.profiles.own(me.id).await?.terms_pending;
    let mut rings = Vec::new();
    for id in st.app.chats.pending_rings(me.id) {
        if let Ok(state) = st.app.chats.state(&me, id, i64::MAX).await {
            rings.push((id.0, l.tr.t1("chat-ring", "client", &state.other.display_name)));
        }
    }
    let in_chat = st.app.chats.live_chat_of(me.id).map(|id| id.0);
    let page = ExpertDashboard {
        rings,
        in_chat,
        terms_pending,
        today: upcoming.today.to_string(),
        today_hours: today_slots.iter().map(|s| super::planning::slot_label(&l.tr, s)).collect(),
        today_rows: super::planning::rows_of(&today_slots),
        planning_saved: q.planning.is_some(),
        bank_warning,
        status,
        paused: policy.paused(&domain, now),
        state,
        statement,
        position,
        live,
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

/// The dashboard's statement: its kind, its text, the position and live modes when
/// listed as available.
fn statement(
    l: &Layout<'_>,
    status: &ExpertStatus,
    zone: chrono_tz::Tz,
) -> (&'static str, String, Option<u8>, Vec<String>) {
    match status {
        ExpertStatus::NotListed(gaps) => {
            let missing: Vec<String> = gaps
                .iter()
                .map(|gap| match gap {
                    ListingGap::Headline => l.tr.t("listing-gap-headline"),
                    ListingGap::Specialty => l.tr.t("listing-gap-specialty"),
                    ListingGap::Language => l.tr.t("listing-gap-language"),
                    ListingGap::Price => l.tr.t("listing-gap-price"),
                })
                .collect();
            ("not-listed", l.tr.t1("availability-not-listed", "missing", &missing.join(", ")), None, Vec::new())
        }
        ExpertStatus::Busy => ("busy", l.tr.t("availability-busy"), None, Vec::new()),
        ExpertStatus::Blocked => ("blocked", l.tr.t("availability-blocked"), None, Vec::new()),
        ExpertStatus::Unavailable => ("unavailable", l.tr.t("availability-unavailable"), None, Vec::new()),
        ExpertStatus::Paused { until, back } => {
            let key = if *back { "availability-paused-until" } else { "availability-paused-then-unavailable" };
            ("paused", l.tr.t1(key, "time", &super::when(&l.tr, *until, zone)), None, Vec::new())
        }
        ExpertStatus::NoModeLive => ("no-mode", l.tr.t("availability-no-mode"), None, Vec::new()),
        ExpertStatus::Available { position, live } => (
            "available",
            l.tr.t1("availability-available", "position", &position.to_string()),
            Some(*position),
            live.iter().map(|m| l.tr.t(&format!("mode-{m}"))).collect(),
        ),
    }
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
    let done = match change {
        Change::Available => Flash::new("availability-available"),
        Change::Unavailable => Flash::new("availability-unavailable"),
        Change::Pause => Flash::new("availability-paused"),
        Change::Resume => Flash::new("availability-resumed"),
        Change::Mode(mode, on) => Flash::new(if on { "mode-on" } else { "mode-off" }).mode(mode),
    };
    st.app.availability.change(me.id, change).await?;
    Ok(done.redirect("/expert/dashboard"))
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

//! The operator's storefronts (SP-tariffs): each site's currency, time zone, language,
//! tariffs and minimum price (AT-min); the operator edits here the numbers clients dial
//! and the per-minute price a site may impose on every expert listed there.

use askama::Template;
use augure_domain::{Role, Site, SiteCode};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::names;
use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;
use augure_app::pricing::TariffRow;

#[derive(Template)]
#[template(path = "admin/sites.html")]
struct SitesPage<'a> {
    l: Layout<'a>,
    sites: Vec<SiteView>,
}

/// A site as the operator reads it: names, not codes.
struct SiteView {
    code: String,
    name: String,
    currency: String,
    zone: String,
    language: String,
    /// As the site's visitors dial them.
    numbers: Vec<String>,
    tariffs: Vec<TariffView>,
    /// AT-min for a per-minute price there, formatted.
    minimum: String,
    /// The imposed per-minute price as its field holds it (what was typed after a refusal).
    imposed: String,
    /// Why the last imposed price was refused.
    imposed_error: Option<String>,
    /// Lifting the tariff was asked and needs confirming (experts would leave the site).
    confirm_lift: bool,
    /// The tariffs' form: each tariff, then an empty row to add one (what was typed
    /// after a refusal).
    tariff_rows: Vec<augure_app::pricing::TariffRow>,
    tariffs_error: Option<String>,
    /// The numbers field: what was typed when it was refused, else the numbers with their
    /// country code, one a line.
    typed: String,
    error: Option<String>,
}

struct TariffView {
    label: String,
    number: Option<String>,
    per_minute: Option<String>,
    per_call: Option<String>,
}

fn site_view(st: &AppState, l: &Layout<'_>, site: &Site, now: chrono::DateTime<chrono::Utc>) -> SiteView {
    let decimal = if l.tr.locale.starts_with("en") { '.' } else { ',' };
    let minimum = st.app.settings.pricing.minimums(&site.code).per_minute.max(1);
    let shown = |n: &String| names::phone(n, Some(&site.code));
    SiteView {
        code: site.code.to_string(),
        name: site.name.clone(),
        currency: names::currency(&l.tr, site.currency),
        zone: names::zone(&l.tr, site.time_zone, now),
        language: names::language(&l.tr, &site.default_locale),
        numbers: site.phone_numbers.iter().map(shown).collect(),
        tariffs: site
            .tariffs
            .iter()
            .map(|t| TariffView {
                label: t.label.clone(),
                number: t.phone_number.as_ref().map(shown),
                per_minute: t.per_minute.map(|m| l.tr.t1("price-per-minute", "price", &m.format(l.tr.locale))),
                per_call: t.per_call.map(|m| m.format(l.tr.locale)),
            })
            .collect(),
        minimum: augure_domain::Money::new(minimum, site.currency).format(l.tr.locale),
        imposed: site.imposed_per_minute.map(|m| augure_app::pricing::major(m, decimal)).unwrap_or_default(),
        imposed_error: None,
        confirm_lift: false,
        tariff_rows: site
            .tariffs
            .iter()
            .map(|t| TariffRow::from_tariff(t, decimal))
            .chain([TariffRow::default()])
            .collect(),
        tariffs_error: None,
        typed: site.phone_numbers.iter().map(|n| names::phone(n, None)).collect::<Vec<_>>().join("\n"),
        error: None,
    }
}

/// Which of a site's forms was refused.
#[derive(Clone, PartialEq, Eq)]
enum Field {
    Numbers,
    Tariff,
    /// The tariff's lift, to confirm.
    Lift,
    /// The numbers' tariffs, with the rows as typed.
    Tariffs(Vec<TariffRow>),
}

/// The page; `refused` is a site's form that was refused: `(code, form, typed, message)`.
async fn sites_page(
    st: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    refused: Option<(SiteCode, Field, String, String)>,
) -> PageResult {
    let l = ctx.layout(st);
    let now = st.app.clock.now();
    let sites = st
        .app
        .sites
        .list()
        .await?
        .iter()
        .map(|site| {
            let mut view = site_view(st, &l, site, now);
            if let Some((code, field, typed, message)) = &refused
                && *code == site.code
            {
                match field {
                    Field::Numbers => (view.typed, view.error) = (typed.clone(), Some(message.clone())),
                    Field::Tariff => (view.imposed, view.imposed_error) = (typed.clone(), Some(message.clone())),
                    Field::Tariffs(rows) => {
                        view.tariff_rows = rows.clone();
                        view.tariffs_error = Some(message.clone());
                    }
                    Field::Lift => {
                        (view.imposed, view.imposed_error) = (typed.clone(), Some(message.clone()));
                        view.confirm_lift = true;
                    }
                }
            }
            view
        })
        .collect();
    render(status, &SitesPage { l, sites })
}

pub async fn admin_sites(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    sites_page(&st, &ctx, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct NumbersForm {
    #[serde(default)]
    numbers: String,
}

pub async fn admin_save_numbers(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(form): PageForm<NumbersForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let code: SiteCode = code.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    match st.app.sites.set_phone_numbers(&code, &form.numbers).await {
        Ok(site) => Ok(Flash::new("site-numbers-saved").site(site.code).redirect("/admin/sites")),
        Err(e @ augure_app::sites::SiteError::InvalidPhone(_)) => {
            let problem = Problem::from(e);
            let message = problem.message(&ctx.layout(&st).tr);
            sites_page(&st, &ctx, problem.status, Some((code, Field::Numbers, form.numbers, message))).await
        }
        Err(e) => Err(Problem::from(e).into()),
    }
}

#[derive(Default, Deserialize)]
pub struct TariffForm {
    #[serde(default)]
    imposed_per_minute: String,
    /// "yes" once the operator confirmed a lift that takes experts off the site.
    #[serde(default)]
    confirm: String,
}

/// Saves a site's imposed per-minute price (empty: experts set their own again).
pub async fn admin_save_tariff(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(form): PageForm<TariffForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let code: SiteCode = code.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let confirmed = form.confirm == "yes";
    match st.app.pricing.set_site_tariff(&code, &form.imposed_per_minute, confirmed).await {
        Ok(site) => {
            let flash = match site.imposed_per_minute {
                Some(price) => Flash::new("site-tariff-imposed").amount(price),
                None => Flash::new("site-tariff-lifted"),
            };
            Ok(flash.site(site.code).redirect("/admin/sites"))
        }
        Err(e) => {
            let field = match e {
                augure_app::pricing::TariffError::LiftUnlists { .. } => Field::Lift,
                _ => Field::Tariff,
            };
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            sites_page(&st, &ctx, problem.status, Some((code, field, form.imposed_per_minute, message))).await
        }
    }
}

/// The tariffs' form: rows `t0.label`, `t0.number`, `t0.per_minute`, `t0.per_call`,
/// `t0.code`, and `t0.remove` to drop a saved one.
fn tariff_rows(fields: &[(String, String)]) -> Vec<TariffRow> {
    let mut rows: std::collections::BTreeMap<usize, (TariffRow, bool)> = Default::default();
    for (name, value) in fields {
        let Some((index, field)) = name.strip_prefix('t').and_then(|n| n.split_once('.')) else { continue };
        let Ok(index) = index.parse::<usize>() else { continue };
        if index > 100 {
            continue;
        }
        let (row, removed) = rows.entry(index).or_default();
        match field {
            "code" => row.code = value.clone(),
            "label" => row.label = value.clone(),
            "number" => row.number = value.clone(),
            "per_minute" => row.per_minute = value.clone(),
            "per_call" => row.per_call = value.clone(),
            "remove" => *removed = value == "yes",
            _ => {}
        }
    }
    rows.into_values().filter(|(_, removed)| !removed).map(|(row, _)| row).collect()
}

/// Saves a site's tariffs (SP-tariffs): what each of its numbers costs.
pub async fn admin_save_tariffs(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let code: SiteCode = code.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let rows = tariff_rows(&fields);
    match st.app.pricing.set_site_tariffs(&code, &rows).await {
        Ok(site) => Ok(Flash::new("site-tariffs-saved").site(site.code).redirect("/admin/sites")),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() || problem.status == StatusCode::NOT_FOUND {
                return Err(problem.into());
            }
            let message = problem.message(&ctx.layout(&st).tr);
            let mut shown = rows;
            shown.push(TariffRow::default());
            sites_page(&st, &ctx, problem.status, Some((code, Field::Tariffs(shown), String::new(), message))).await
        }
    }
}

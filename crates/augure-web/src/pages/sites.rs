//! The operator's sites page: each storefront's currency, its minimum price (AT-min) and
//! the per-minute tariff it may impose on every expert listed there (SP-tariffs).

use askama::Template;
use augure_domain::{Role, Site};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;

#[derive(Template)]
#[template(path = "admin/sites.html")]
struct SitesPage<'a> {
    l: Layout<'a>,
    sites: Vec<SiteRow>,
    /// The confirmation after a save.
    saved: Option<String>,
}

/// One site as the admin reads and edits it.
struct SiteRow {
    code: String,
    name: String,
    /// The currency in the reader's language.
    currency: String,
    /// AT-min for a per-minute price there, formatted.
    minimum: String,
    tariffs: Vec<String>,
    /// The imposed per-minute price as the field holds it (what was typed after a refusal).
    imposed: String,
    /// Why the last save of this site was refused.
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[derive(Default, Deserialize)]
pub struct TariffForm {
    #[serde(default)]
    imposed_per_minute: String,
}

/// `/admin/sites`.
pub async fn page(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<SavedQuery>) -> PageResult {
    ctx.require(Role::Admin)?;
    let saved = match q.saved.as_deref().and_then(|c| c.parse().ok()) {
        Some(code) => st.app.sites.by_code(&code).await?,
        None => None,
    };
    let l = ctx.layout(&st);
    let saved = saved.map(|site| match site.imposed_per_minute {
        Some(price) => l.tr.t2("admin-site-saved-imposed", "site", &site.name, "price", &price.format(l.tr.locale)),
        None => l.tr.t1("admin-site-saved-free", "site", &site.name),
    });
    render_page(&st, l, StatusCode::OK, saved, None).await
}

/// Saves a site's imposed per-minute price (empty: experts set their own again).
pub async fn save_tariff(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(form): PageForm<TariffForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: augure_domain::SiteCode = code.parse().map_err(|_| not_found())?;
    match st.app.pricing.set_site_tariff(&code, &form.imposed_per_minute).await {
        Ok(site) => Ok(Redirect::to(&format!("/admin/sites?saved={}", site.code)).into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            if problem.status.is_server_error() {
                return Err(problem.into());
            }
            let l = ctx.layout(&st);
            let refused = (code.to_string(), form.imposed_per_minute, problem.message(&l.tr));
            render_page(&st, l, problem.status, None, Some(refused)).await
        }
    }
}

/// The page, with one site's form as typed and its refusal when `refused` is
/// `(code, typed, message)`.
async fn render_page(
    st: &AppState,
    l: Layout<'_>,
    status: StatusCode,
    saved: Option<String>,
    refused: Option<(String, String, String)>,
) -> PageResult {
    let sites = st.app.sites.list().await?;
    let decimal = if l.tr.locale.starts_with("en") { '.' } else { ',' };
    let row = |s: &Site| {
        let minimum = st.app.settings.pricing.minimums(&s.code).per_minute.max(1);
        let (imposed, error) = match &refused {
            Some((code, typed, message)) if code == s.code.as_str() => (typed.clone(), Some(message.clone())),
            _ => (s.imposed_per_minute.map(|m| augure_app::pricing::major(m, decimal)).unwrap_or_default(), None),
        };
        SiteRow {
            code: s.code.to_string(),
            name: s.name.clone(),
            currency: l.tr.t(&format!("currency-{}", s.currency.code().to_lowercase())),
            minimum: augure_domain::Money::new(minimum, s.currency).format(l.tr.locale),
            tariffs: s.tariffs.iter().map(|t| t.label.clone()).collect(),
            imposed,
            error,
        }
    };
    let sites = sites.iter().map(row).collect();
    render(status, &SitesPage { l, sites, saved })
}

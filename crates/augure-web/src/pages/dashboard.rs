//! Dashboards: where each person lands after signing in.

use askama::Template;
use augure_domain::{Role, Site};
use augure_store::{ExpertProfile, StoreError, User};
use axum::extract::State;
use axum::http::StatusCode;

use super::{Layout, PageCtx, PageResult, render};
use crate::AppState;

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
}

async fn home_site(st: &AppState, user: &User) -> Result<Option<Site>, StoreError> {
    let sites = st.app.store.list_sites().await?;
    Ok(sites.iter().find(|s| Some(s.id) == user.site_id).or(sites.first()).cloned())
}

pub async fn client(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let site = home_site(&st, &me).await?;
    render(StatusCode::OK, &ClientDashboard { l: ctx.layout(&st), me, site })
}

pub async fn expert(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let site = home_site(&st, &me).await?;
    let profile = match st.app.store.expert_profile(me.id).await {
        Ok(p) => Some(p),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let l = ctx.layout(&st);
    let price = profile.as_ref().map(|p| p.price_per_minute.format(l.tr.locale)).unwrap_or_default();
    let code = me.expert_code.map(|c| c.to_string()).unwrap_or_default();
    render(StatusCode::OK, &ExpertDashboard { l, me, code, site, profile, price })
}

//! PH-commission: the page where an administrator gives an expert their own commission on
//! each channel, or leaves the site's rate from the settings.

use askama::Template;
use augure_app::commissions::{CommissionError, ExpertCommission};
use augure_domain::Role;
use augure_domain::consultation::Channel;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "admin/commission.html")]
struct CommissionPage<'a> {
    l: Layout<'a>,
    code: u32,
    name: String,
    /// Where the defaults come from, in words.
    defaults_from: String,
    rows: Vec<RateRow>,
    error: Option<String>,
}

struct RateRow {
    /// The form field's name: the channel's code.
    field: &'static str,
    label: String,
    /// What the input holds: the saved rate, or what was typed when refused.
    value: String,
    /// The rate that applies when the field is blank.
    default: String,
    invalid: bool,
}

fn parse_code(code: &str) -> Result<u32, Problem> {
    code.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-unknown-expert"))
}

pub async fn commission(State(st): State<AppState>, ctx: PageCtx, Path(code): Path<String>) -> PageResult {
    ctx.require(Role::Admin)?;
    let current = st.app.commissions.of_expert(parse_code(&code)?).await?;
    page(&st, &ctx, StatusCode::OK, &current, None)
}

pub async fn save_commission(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let code = parse_code(&code)?;
    let typed: Vec<(Channel, String)> = Channel::ALL
        .into_iter()
        .map(|c| (c, fields.iter().find(|(name, _)| name == c.as_str()).map(|(_, v)| v.clone()).unwrap_or_default()))
        .collect();
    match st.app.commissions.set_expert(code, &typed).await {
        Ok(_) => Ok(Flash::new("commission-saved").redirect(&format!("/admin/experts/{code}/commission"))),
        Err(CommissionError::NotARate { channel, .. }) => {
            let current = st.app.commissions.of_expert(code).await?;
            page(&st, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &current, Some((&typed, channel)))
        }
        Err(e) => Err(e.into()),
    }
}

fn page(
    st: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    current: &ExpertCommission,
    refused: Option<(&[(Channel, String)], Channel)>,
) -> PageResult {
    let l = ctx.layout(st);
    let tr = l.tr;
    let rows = current
        .channels
        .iter()
        .map(|c| {
            let typed = refused.and_then(|(typed, _)| typed.iter().find(|(ch, _)| *ch == c.channel));
            RateRow {
                field: c.channel.as_str(),
                label: tr.t(&format!("channel-{}", c.channel.as_str())),
                value: match typed {
                    Some((_, text)) => text.clone(),
                    None => c.own.map(|r| r.format(tr.locale)).unwrap_or_default(),
                },
                default: tr.t1("admin-commission-default", "rate", &c.site_default.format(tr.locale)),
                invalid: refused.is_some_and(|(_, bad)| bad == c.channel),
            }
        })
        .collect();
    let error =
        refused.map(|(_, bad)| tr.t1("err-commission-rate", "channel", &tr.t(&format!("channel-{}", bad.as_str()))));
    let defaults_from = match &current.site {
        Some((_, name)) => tr.t1("admin-commission-defaults-site", "site", name),
        None => tr.t("admin-commission-defaults-none"),
    };
    let page = CommissionPage {
        code: current.expert.expert_code.map(|c| c.0).unwrap_or_default(),
        name: current.expert.display_name.clone(),
        defaults_from,
        rows,
        error,
        l,
    };
    render(status, &page)
}

//! SP-planning and SP-return in the API: an expert's planned hours, and the client's
//! "tell me when they are back" alert.

use augure_app::planning::{PlanError, format_time};
use augure_store::User;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::ProblemView;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::Problem;

/// One planned slot, as the expert typed it and as instants.
#[derive(Serialize, ToSchema)]
pub(super) struct SlotView {
    /// The expert's local date, `YYYY-MM-DD`.
    #[schema(example = "2027-03-28")]
    date: String,
    /// Local start, `HH:MM`.
    #[schema(example = "09:00")]
    start: String,
    /// Local end, `HH:MM`; `24:00` is midnight at the end of the day. An end at or
    /// before the start is on the next day (`ends_next_day`).
    #[schema(example = "12:00")]
    end: String,
    /// A night slot: it ends at `end` on the day after `date` (22:00–02:00).
    ends_next_day: bool,
    /// The start as an instant, RFC 3339 UTC (daylight saving applied).
    #[schema(example = "2027-03-28T07:00:00Z")]
    starts_at: String,
    ends_at: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct PlanningView {
    expert_code: u32,
    /// The IANA zone the local times are in (the expert's site's).
    #[schema(example = "Europe/Paris")]
    time_zone: String,
    /// The last local date the planning may reach (today + the horizon).
    last_day: String,
    /// Whether a client can consult the expert right now (some mode live).
    available_now: bool,
    /// SP-return: when the expert is expected back, RFC 3339 UTC, only while not
    /// available: the end of their pause (WG-pause), else the next planned start.
    expected_return: Option<String>,
    slots: Vec<SlotView>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct AlertView {
    /// Always true: the client will be emailed when the expert is back.
    pending: bool,
    /// False when the client had already asked.
    created: bool,
}

async fn expert_by_code(st: &AppState, code: &str) -> Result<User, Problem> {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: u32 = code.parse().map_err(|_| not_found())?;
    st.app.accounts.expert_by_code(code).await?.ok_or_else(not_found)
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An expert's planned hours from today to the end of the planning horizon (15 days by
/// default), with yesterday's night slots that run into today, in their site's time zone
/// and as UTC instants, with the expected return.
#[utoipa::path(get, path = "/api/v1/experts/{code}/planning", tag = "experts",
    params(("code" = u32, Path, description = "The expert code (SP-code)")),
    responses((status = 200, body = PlanningView),
        (status = 404, description = "No such expert", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn expert_planning(
    State(st): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<PlanningView>, Problem> {
    let expert = expert_by_code(&st, &code).await?;
    let up = st.app.planning.upcoming(&expert).await?;
    let available_now = !st.app.availability.live_modes(&expert).await?.is_empty();
    // Yesterday's night slots run into today.
    let slots = up
        .previous_night
        .iter()
        .chain(&up.slots)
        .map(|s| {
            let (starts_at, ends_at) = s.bounds(up.time_zone);
            SlotView {
                date: s.date.to_string(),
                start: format_time(s.start, false),
                end: format_time(s.end, true),
                ends_next_day: s.ends_next_day(),
                starts_at: rfc3339(starts_at),
                ends_at: rfc3339(ends_at),
            }
        })
        .collect();
    Ok(Json(PlanningView {
        expert_code: expert.expert_code.map_or(0, |c| c.0),
        time_zone: up.time_zone.name().into(),
        last_day: up.last_day.to_string(),
        available_now,
        expected_return: if available_now {
            None
        } else {
            st.app.planning.expected_return(&expert).await?.map(|back| rfc3339(back.at()))
        },
        slots,
    }))
}

/// SP-return: the calling client asks to be emailed (once) when the expert is available
/// again. Asking again while an alert is pending changes nothing (200).
#[utoipa::path(post, path = "/api/v1/experts/{code}/alert", tag = "experts", security(("bearer" = [])),
    params(("code" = u32, Path, description = "The expert code (SP-code)")),
    responses(
        (status = 201, description = "Alert recorded", body = AlertView),
        (status = 200, description = "Already asked", body = AlertView),
        (status = 401, body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "Only clients ask for alerts", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such expert", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "The expert is available now", body = ProblemView, content_type = "application/problem+json"),
    ))]
pub(super) async fn ask_alert(
    State(st): State<AppState>,
    caller: ApiCaller,
    Path(code): Path<String>,
) -> Result<Response, Problem> {
    let expert = expert_by_code(&st, &code).await?;
    let created =
        st.app.planning.ask_back_alert(&caller.session.user, &expert).await.map_err(|e: PlanError| Problem::from(e))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AlertView { pending: true, created })).into_response())
}

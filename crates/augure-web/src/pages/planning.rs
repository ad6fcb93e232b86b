//! SP-planning and WG-hours: the expert's planning editor, and SP-return's alert button
//! on public profiles.

use std::collections::BTreeMap;

use askama::Template;
use augure_app::i18n::Tr;
use augure_app::planning::{PlanError, Upcoming, format_time, parse_time};
use augure_domain::Role;
use augure_domain::planning::{PlannedSlot, PlanningError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageRejection, PageResult, render};
use crate::AppState;
use crate::error::Problem;

/// Empty rows under each day's slots: where a new slot is typed.
const EMPTY_ROWS: usize = 2;

impl From<PlanError> for Problem {
    fn from(e: PlanError) -> Self {
        let invalid = |key| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key);
        match e {
            PlanError::Rule(PlanningError::TooFarAhead(days)) => {
                Problem { arg: Some(("days", days.to_string())), ..invalid("err-planning-too-far") }
            }
            PlanError::Rule(PlanningError::TooManySlots(max)) => {
                Problem { arg: Some(("max", max.to_string())), ..invalid("err-planning-too-many") }
            }
            PlanError::Rule(PlanningError::InThePast) => invalid("err-planning-past"),
            PlanError::Rule(PlanningError::EndsWhenItStarts) => invalid("err-planning-same-time"),
            PlanError::Rule(PlanningError::Overlapping) => invalid("err-planning-overlap"),
            PlanError::Rule(PlanningError::WrongDay) => invalid("err-planning-wrong-day"),
            PlanError::Rule(PlanningError::OverlapsPreviousNight) => invalid("err-planning-previous-night"),
            PlanError::Rule(PlanningError::OverlapsNextDay) => invalid("err-planning-next-day"),
            PlanError::InvalidTime => invalid("err-planning-time"),
            PlanError::HalfSlot => invalid("err-planning-half"),
            PlanError::NotAnExpert => Problem::new(StatusCode::FORBIDDEN, "err-not-an-expert"),
            PlanError::NotAClient => Problem::new(StatusCode::FORBIDDEN, "err-not-a-client"),
            PlanError::AvailableNow => Problem::new(StatusCode::CONFLICT, "err-expert-available"),
            PlanError::Store(e) => e.into(),
        }
    }
}

impl From<PlanError> for PageRejection {
    fn from(e: PlanError) -> Self {
        PageRejection::Problem(e.into())
    }
}

/// `lun. 23/11`, in the reader's language.
pub fn day_label(tr: &Tr<'_>, day: NaiveDate) -> String {
    format!("{} {}", tr.t(&format!("weekday-{}", day.weekday().number_from_monday())), day.format("%d/%m"))
}

/// `09:00–12:00`; an end at midnight reads `24:00`, a night slot `22:00–02:00 (next day)`.
pub fn slot_label(tr: &Tr<'_>, slot: &PlannedSlot) -> String {
    let hours = format!("{}–{}", format_time(slot.start, false), format_time(slot.end, true));
    if slot.ends_next_day() { format!("{hours} {}", tr.t("planning-next-day")) } else { hours }
}

/// One day of the editor.
pub struct DayView {
    pub date: String,
    pub label: String,
    pub today: bool,
    /// `(start, end)` as typed: the saved slots, then empty rows.
    pub rows: Vec<(String, String)>,
    /// Why this day was not saved; its rows are then as typed.
    pub error: Option<String>,
    /// Saved by the submission that shows this page.
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "planning.html")]
struct PlanningPage<'a> {
    l: Layout<'a>,
    lead: String,
    days: Vec<DayView>,
    saved: bool,
    /// After a submission with mistakes: the days saved all the same, and those not.
    saved_days: Vec<String>,
    refused_days: Vec<String>,
    /// Errors about days the editor does not show (past the horizon, in the past).
    other_errors: Vec<String>,
    any_error: bool,
}

/// The rows of a day as the editor shows them: saved slots, then empty ones.
pub fn rows_of(slots: &[PlannedSlot]) -> Vec<(String, String)> {
    slots
        .iter()
        .map(|s| (format_time(s.start, false), format_time(s.end, false)))
        .chain(std::iter::repeat_n((String::new(), String::new()), EMPTY_ROWS))
        .collect()
}

fn lead(tr: &Tr<'_>, up: &Upcoming, now: chrono::DateTime<chrono::Utc>) -> String {
    let days = (up.last_day - up.today).num_days();
    let zone = super::names::zone(tr, up.time_zone, now);
    tr.i18n.t_args(tr.locale, "planning-lead", &[("days", days.into()), ("zone", zone.into())])
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /expert/planning`: the next days, each with its slots and empty rows.
pub async fn page(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<SavedQuery>) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let up = st.app.planning.upcoming(&me).await?;
    let l = ctx.layout(&st);
    let days = up
        .days()
        .into_iter()
        .map(|(date, slots)| DayView {
            date: date.to_string(),
            label: day_label(&l.tr, date),
            today: date == up.today,
            rows: rows_of(&slots),
            error: None,
            saved: false,
        })
        .collect();
    let page = PlanningPage {
        lead: lead(&l.tr, &up, st.app.clock.now()),
        l,
        days,
        saved: q.saved.is_some(),
        saved_days: Vec::new(),
        refused_days: Vec::new(),
        other_errors: Vec::new(),
        any_error: false,
    };
    render(StatusCode::OK, &page)
}

/// The rows typed for one day, read into times. Blank rows are skipped; a half-filled
/// or unreadable row is an error.
fn read_rows(rows: &[(String, String)]) -> Result<Vec<(NaiveTime, NaiveTime)>, PlanError> {
    rows.iter()
        .filter(|(start, end)| !(start.trim().is_empty() && end.trim().is_empty()))
        .map(|(start, end)| {
            if start.trim().is_empty() || end.trim().is_empty() {
                return Err(PlanError::HalfSlot);
            }
            Ok((parse_time(start)?, parse_time(end)?))
        })
        .collect()
}

/// `POST /expert/planning`: fields `YYYY-MM-DD.start` / `YYYY-MM-DD.end` (repeated, one
/// pair per row) and `save` = a date (save that day) or `all`. With `return=dashboard`,
/// goes back to the dashboard (WG-hours: today's hours are edited there).
pub async fn save(
    State(st): State<AppState>,
    ctx: PageCtx,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let me = ctx.require(Role::Expert)?.clone();
    let mut posted: BTreeMap<NaiveDate, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let (mut save, mut back_to_dashboard) = (String::new(), false);
    for (name, value) in fields {
        match name.as_str() {
            "save" => save = value,
            "return" => back_to_dashboard = value == "dashboard",
            _ => {
                let Some((date, part)) = name.split_once('.') else { continue };
                let Ok(date) = date.parse::<NaiveDate>() else {
                    return Err(Problem::status(StatusCode::UNPROCESSABLE_ENTITY).with_detail("bad field name").into());
                };
                let entry = posted.entry(date).or_default();
                match part {
                    "start" => entry.0.push(value),
                    "end" => entry.1.push(value),
                    _ => {}
                }
            }
        }
    }
    let rows: BTreeMap<NaiveDate, Vec<(String, String)>> = posted
        .into_iter()
        .map(|(date, (starts, ends))| {
            let n = starts.len().max(ends.len());
            let cell = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
            (date, (0..n).map(|i| (cell(&starts, i), cell(&ends, i))).collect())
        })
        .collect();
    let targets: Vec<NaiveDate> = if save == "all" {
        rows.keys().copied().collect()
    } else {
        vec![save.parse().map_err(|_| Problem::status(StatusCode::UNPROCESSABLE_ENTITY).with_detail("save what?"))?]
    };
    // Each day is saved if it is valid, whatever the others; the wrong ones are shown
    // again as typed, each with its reason.
    let mut errors: BTreeMap<NaiveDate, Problem> = BTreeMap::new();
    let mut readable = BTreeMap::new();
    for day in &targets {
        match read_rows(rows.get(day).map(Vec::as_slice).unwrap_or_default()) {
            Ok(times) => {
                readable.insert(*day, times);
            }
            Err(e) => {
                errors.insert(*day, e.into());
            }
        }
    }
    let mut saved_days = Vec::new();
    for (day, answer) in st.app.planning.save_days(&me, &readable).await? {
        match answer {
            Ok(_) => saved_days.push(day),
            Err(PlanError::Store(e)) => return Err(e.into()),
            Err(e) => {
                errors.insert(day, e.into());
            }
        }
    }
    if errors.is_empty() {
        let to = if back_to_dashboard { "/expert/dashboard?planning=saved" } else { "/expert/planning?saved=1" };
        return Ok(Redirect::to(to).into_response());
    }
    // Saved days show what is saved now; refused ones what was typed, with the reason.
    let up = st.app.planning.upcoming(&me).await?;
    let l = ctx.layout(&st);
    let mut days = Vec::new();
    for (date, slots) in up.days() {
        let error = errors.get(&date).map(|p| p.message(&l.tr));
        let rows = match (&error, rows.get(&date)) {
            (Some(_), Some(typed)) => typed.clone(),
            _ => rows_of(&slots),
        };
        days.push(DayView {
            date: date.to_string(),
            label: day_label(&l.tr, date),
            today: date == up.today,
            rows,
            error,
            saved: saved_days.contains(&date),
        });
    }
    let other_errors = errors
        .iter()
        .filter(|(date, _)| **date < up.today || **date > up.last_day)
        .map(|(date, p)| format!("{} — {}", day_label(&l.tr, *date), p.message(&l.tr)))
        .collect();
    let page = PlanningPage {
        lead: lead(&l.tr, &up, st.app.clock.now()),
        saved_days: saved_days.iter().map(|d| day_label(&l.tr, *d)).collect(),
        refused_days: errors.keys().map(|d| day_label(&l.tr, *d)).collect(),
        l,
        days,
        saved: false,
        other_errors,
        any_error: true,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `POST /experts/{code}/alert`: a signed-in client asks to be emailed when the expert is
/// back. Anonymous visitors are sent to sign in first.
pub async fn ask_alert(State(st): State<AppState>, ctx: PageCtx, Path(code): Path<String>) -> PageResult {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    let code: u32 = code.parse().map_err(|_| not_found())?;
    let profile_url = format!("/experts/{code}");
    let Some(session) = &ctx.session else {
        return Ok(Redirect::to(&format!("/login?next=%2Fexperts%2F{code}")).into_response());
    };
    let expert = st.app.accounts.expert_by_code(code).await?.ok_or_else(not_found)?;
    match st.app.planning.ask_back_alert(&session.user, &expert).await {
        Ok(_) => Ok(Redirect::to(&format!("{profile_url}?alert=1")).into_response()),
        // Back already: the profile shows how to consult them now.
        Err(PlanError::AvailableNow) => Ok(Redirect::to(&profile_url).into_response()),
        Err(e) => Err(e.into()),
    }
}

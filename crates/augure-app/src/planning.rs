//! SP-planning, WG-hours and SP-return: the hours an expert plans to work over the next
//! days (in their site's time zone), the "expected return" shown while they are away, and
//! the clients who asked to be emailed when they are back.
//!
//! When alerts fire: an `alerts.expert_back` job is queued whenever the platform sees an
//! expert go from "no mode live" to "some mode live" — a change on the dashboard
//! (available, resume, a mode switched on), or the first heartbeat of a dashboard that
//! brings chat back. A pause ends by itself without any write, so pausing (and asking
//! for an alert while the expert is paused) also queues the job to run when the pause
//! ends. The job checks the expert is live when it runs; if not, the alerts stay pending
//! for the next return.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use augure_domain::availability::ExpectedReturn;
use augure_domain::planning::{PlannedSlot, PlanningError, PlanningPolicy, expected_return};
use augure_domain::{Clock, Role, UserId};
use augure_store::{BackAlert, NewJob, Store, StoreError, StoreResult, User};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::availability::Availability;
use crate::i18n::{I18n, Tr};
use crate::mail::Mail;
use crate::settings::Settings;
use crate::sites::Sites;

/// The job that emails the clients waiting for an expert.
pub const BACK_ALERTS_JOB: &str = "alerts.expert_back";

/// Why a planning or alert request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Rule(#[from] PlanningError),
    /// A time that does not read as `HH:MM`.
    #[error("invalid time")]
    InvalidTime,
    /// A row with a start and no end, or an end and no start.
    #[error("a slot needs a start and an end")]
    HalfSlot,
    #[error("only experts have a planning")]
    NotAnExpert,
    #[error("only clients can ask for an alert")]
    NotAClient,
    #[error("this expert is available now")]
    AvailableNow,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An expert's planning as shown to them and to clients: local dates and times.
#[derive(Clone, Debug)]
pub struct Upcoming {
    pub time_zone: Tz,
    /// The expert's local date now.
    pub today: NaiveDate,
    /// The last date that may be planned (today + the horizon).
    pub last_day: NaiveDate,
    /// Slots from today to `last_day`, in order.
    pub slots: Vec<PlannedSlot>,
    /// Yesterday's night slots, which run into today (22:00–02:00).
    pub previous_night: Vec<PlannedSlot>,
}

impl Upcoming {
    /// Every plannable day, each with its slots.
    pub fn days(&self) -> Vec<(NaiveDate, Vec<PlannedSlot>)> {
        self.today
            .iter_days()
            .take_while(|d| *d <= self.last_day)
            .map(|d| (d, self.slots.iter().filter(|s| s.date == d).copied().collect()))
            .collect()
    }

    /// SP-return: the next planned start after `now`.
    pub fn expected_return(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        expected_return(&self.slots, self.time_zone, now)
    }
}

#[derive(Clone)]
pub struct Planning {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: PlanningPolicy,
    sites: Sites,
    availability: Availability,
    i18n: Arc<I18n>,
    settings: Arc<Settings>,
}

impl Planning {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        sites: Sites,
        availability: Availability,
        i18n: Arc<I18n>,
        settings: Arc<Settings>,
    ) -> Self {
        Self { store, clock, policy: settings.planning.clone(), sites, availability, i18n, settings }
    }

    pub fn policy(&self) -> &PlanningPolicy {
        &self.policy
    }

    /// The time zone an expert plans in: their site's, else the first site's, else Paris.
    pub async fn time_zone(&self, user: &User) -> StoreResult<Tz> {
        let sites = self.sites.list().await?;
        let site = sites.iter().find(|s| Some(s.id) == user.site_id).or(sites.first());
        Ok(site.map_or(chrono_tz::Europe::Paris, |s| s.time_zone))
    }

    /// The expert's planning from their today to the end of the horizon.
    pub async fn upcoming(&self, expert: &User) -> StoreResult<Upcoming> {
        let time_zone = self.time_zone(expert).await?;
        let today = self.clock.now().with_timezone(&time_zone).date_naive();
        let last_day = self.policy.last_day(today);
        let yesterday = today - chrono::Duration::days(1);
        let (previous_night, slots) = self
            .store
            .planning(expert.id, yesterday, last_day)
            .await?
            .into_iter()
            .filter(|s| s.date > yesterday || s.ends_next_day())
            .partition(|s| s.date == yesterday);
        Ok(Upcoming { time_zone, today, last_day, slots, previous_night })
    }

    /// SP-planning and WG-hours (today is one of the days): replaces the slots of each
    /// day submitted (`(start, end)` local times; an end at or before the start is on the
    /// next day, 00:00 is midnight). Each day is checked on its own and against its
    /// neighbours ([`PlanningPolicy::check_days`]); the valid ones are saved, the others
    /// keep their saved slots. Returns each day's answer.
    pub async fn save_days(
        &self,
        expert: &User,
        days: &BTreeMap<NaiveDate, Vec<(NaiveTime, NaiveTime)>>,
    ) -> Result<BTreeMap<NaiveDate, Result<Vec<PlannedSlot>, PlanError>>, PlanError> {
        if expert.role != Role::Expert {
            return Err(PlanError::NotAnExpert);
        }
        let (Some(first), Some(last)) = (days.keys().next(), days.keys().next_back()) else {
            return Ok(BTreeMap::new());
        };
        let tz = self.time_zone(expert).await?;
        let today = self.clock.now().with_timezone(&tz).date_naive();
        let submitted: BTreeMap<NaiveDate, Vec<PlannedSlot>> = days
            .iter()
            .map(|(day, times)| {
                (*day, times.iter().map(|(start, end)| PlannedSlot { date: *day, start: *start, end: *end }).collect())
            })
            .collect();
        let one_day = chrono::Duration::days(1);
        let saved = self.store.planning(expert.id, *first - one_day, *last + one_day).await?;
        let mut answers = BTreeMap::new();
        let mut changed = false;
        for (day, result) in self.policy.check_days(&submitted, &saved, today) {
            if let Ok(slots) = &result {
                self.store.replace_planning_day(expert.id, day, slots).await?;
                changed = true;
            }
            answers.insert(day, result.map_err(PlanError::from));
        }
        if changed {
            // The listing shows each expert's expected return.
            self.availability.changes().changed();
        }
        Ok(answers)
    }

    /// [`Self::save_days`] for one day.
    pub async fn replace_day(
        &self,
        expert: &User,
        day: NaiveDate,
        times: &[(NaiveTime, NaiveTime)],
    ) -> Result<Vec<PlannedSlot>, PlanError> {
        let days = BTreeMap::from([(day, times.to_vec())]);
        self.save_days(expert, &days).await?.remove(&day).unwrap_or(Ok(Vec::new()))
    }

    /// SP-return: when the expert is expected back: the end of their pause if they come
    /// back by themselves then, else the next start of their planning.
    pub async fn expected_return(&self, expert: &User) -> StoreResult<Option<ExpectedReturn>> {
        let planned = self.upcoming(expert).await?.expected_return(self.clock.now());
        self.availability.expected_return(expert, planned).await
    }

    /// SP-return: `client` asks to be emailed when `expert` is available again. Returns
    /// false if they had already asked. Refused while the expert can be consulted.
    pub async fn ask_back_alert(&self, client: &User, expert: &User) -> Result<bool, PlanError> {
        if client.role != Role::Client {
            return Err(PlanError::NotAClient);
        }
        if expert.role != Role::Expert {
            return Err(StoreError::NotFound.into());
        }
        let now = self.clock.now();
        if !self.availability.live_modes(expert).await?.is_empty() {
            return Err(PlanError::AvailableNow);
        }
        let added = self.store.add_back_alert(client.id, expert.id, now).await?;
        // A pause ends with no write to notice it: be there when it does.
        let presence = self.availability.presence(expert.id).await?;
        if let Some(until) = presence.paused_until.filter(|until| *until > now) {
            queue_back_alerts(&*self.store, expert.id, until, now).await?;
        }
        Ok(added)
    }

    pub async fn has_back_alert(&self, client: &User, expert: &User) -> StoreResult<bool> {
        self.store.has_back_alert(client.id, expert.id).await
    }

    /// The `alerts.expert_back` job: if the expert is live, queues one mail per waiting
    /// client (in the client's language) and marks the alerts sent. Safe to run twice or
    /// on two nodes at once: each mail is queued under its alert's key.
    pub async fn send_back_alerts(&self, expert: UserId) -> StoreResult<usize> {
        let expert = match self.store.user_by_id(expert).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Ok(0),
            Err(e) => return Err(e),
        };
        if self.availability.live_modes(&expert).await?.is_empty() {
            // Gone again before the job ran: the clients wait for the next return.
            return Ok(0);
        }
        let now = self.clock.now();
        let pending = self.store.pending_back_alerts(expert.id).await?;
        for alert in &pending {
            self.queue_back_mail(&expert, alert, now).await?;
        }
        // Alerts asked for since the read above are taken too, and mailed now.
        let taken = self.store.mark_back_alerts_notified(expert.id, now).await?;
        for alert in taken.iter().filter(|a| pending.iter().all(|p| p.id != a.id)) {
            self.queue_back_mail(&expert, alert, now).await?;
        }
        Ok(taken.len())
    }

    async fn queue_back_mail(&self, expert: &User, alert: &BackAlert, now: DateTime<Utc>) -> StoreResult<()> {
        let client = self.store.user_by_id(alert.client_id).await?;
        let tr = Tr::new(&self.i18n, &client.locale);
        let code = expert.expert_code.map(|c| c.to_string()).unwrap_or_default();
        let url = format!("{}/experts/{code}", self.settings.public_url.trim_end_matches('/'));
        let (name, expert_name) = (client.display_name.as_str(), expert.display_name.as_str());
        let mail = Mail::render(
            client.email.as_str(),
            tr.t1("mail-back-subject", "expert", expert_name),
            &BackText { tr, name, expert: expert_name, url: &url },
            &BackHtml { tr, name, expert: expert_name, url: &url },
        )
        .map_err(|e| StoreError::Backend(Box::new(e)))?
        .with_notice(tr.t1("mail-back-body", "expert", expert_name), Some(&url));
        mail.enqueue(&*self.store, Some(format!("back-alert:{}", alert.id)), now).await
    }
}

/// Queues the `alerts.expert_back` job for `expert` at `run_at`; queueing twice for the
/// same moment queues once.
pub async fn queue_back_alerts(
    store: &dyn Store,
    expert: UserId,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    store
        .enqueue_job(&NewJob {
            kind: BACK_ALERTS_JOB.into(),
            payload: serde_json::json!({ "expert_id": expert.0 }),
            unique_key: Some(format!("{BACK_ALERTS_JOB}:{}:{}", expert.0, run_at.timestamp_micros())),
            run_at,
            created_at: now,
        })
        .await?;
    Ok(())
}

/// Reads a time typed in the planning form: `9:00`, `09:00`, `9h30`, `9h`; `24:00` is
/// midnight at the end of the day (stored as 00:00, like an end of `00:00`).
pub fn parse_time(text: &str) -> Result<NaiveTime, PlanError> {
    let text = text.trim().to_ascii_lowercase();
    let (h, m) = text.split_once([':', 'h']).unwrap_or((text.as_str(), ""));
    let m = if m.is_empty() { "0" } else { m };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(PlanError::InvalidTime);
    }
    let (h, m): (u32, u32) =
        (h.parse().map_err(|_| PlanError::InvalidTime)?, m.parse().map_err(|_| PlanError::InvalidTime)?);
    if h == 24 && m == 0 {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::from_hms_opt(h, m, 0).ok_or(PlanError::InvalidTime)
}

/// `HH:MM` as the forms and pages show a time; an end at midnight shows as `24:00`.
pub fn format_time(t: NaiveTime, is_end: bool) -> String {
    if is_end && t == NaiveTime::MIN { "24:00".into() } else { t.format("%H:%M").to_string() }
}

#[derive(Template)]
#[template(path = "mail/expert_back.txt")]
struct BackText<'a> {
    tr: Tr<'a>,
    name: &'a str,
    expert: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/expert_back.html")]
struct BackHtml<'a> {
    tr: Tr<'a>,
    name: &'a str,
    expert: &'a str,
    url: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn times_are_read_as_people_type_them() {
        assert_eq!(parse_time("09:00").unwrap(), t(9, 0));
        assert_eq!(parse_time(" 9:30 ").unwrap(), t(9, 30));
        assert_eq!(parse_time("14h15").unwrap(), t(14, 15));
        assert_eq!(parse_time("8h").unwrap(), t(8, 0));
        assert_eq!(parse_time("24:00").unwrap(), NaiveTime::MIN);
        for bad in ["", "25:00", "12:60", "noon", "1:2:3", "-1:00", "123:00"] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_time(NaiveTime::MIN, true), "24:00");
        assert_eq!(format_time(NaiveTime::MIN, false), "00:00");
    }
}

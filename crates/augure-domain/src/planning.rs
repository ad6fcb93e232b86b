//! SP-planning and SP-return: an expert's weekly planning, up to 15 days ahead, in their
//! own time zone, and the "expected return" shown while they are away. Local times are
//! turned into instants here, once, with daylight-saving gaps and overlaps handled.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Hours the expert plans to work on one local day. `end` at midnight means the end of
/// that day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlannedSlot {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanningPolicy {
    /// SP-planning: how many days ahead an expert may plan.
    pub horizon_days: i64,
    /// How many separate slots one day may hold (keeps the form and the profile readable).
    pub max_slots_per_day: usize,
}

impl Default for PlanningPolicy {
    fn default() -> Self {
        Self { horizon_days: 15, max_slots_per_day: 6 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanningError {
    #[error("a slot must end after it starts")]
    EndsBeforeStart,
    #[error("this day is in the past")]
    InThePast,
    #[error("planning goes at most {0} days ahead")]
    TooFarAhead(i64),
    #[error("two slots of the same day overlap")]
    Overlapping,
    #[error("a day holds at most {0} slots")]
    TooManySlots(usize),
    #[error("a slot belongs to another day")]
    WrongDay,
}

impl PlanningPolicy {
    /// Checks a slot an expert submits on `today` (their local date).
    pub fn check(&self, slot: &PlannedSlot, today: NaiveDate) -> Result<(), PlanningError> {
        if slot.end != NaiveTime::MIN && slot.end <= slot.start {
            return Err(PlanningError::EndsBeforeStart);
        }
        if slot.date < today {
            return Err(PlanningError::InThePast);
        }
        if slot.date > today + Duration::days(self.horizon_days) {
            return Err(PlanningError::TooFarAhead(self.horizon_days));
        }
        Ok(())
    }

    /// Checks the whole of one day as the expert submits it: every slot on `day`, each
    /// valid, none overlapping another (touching is fine: 09:00–12:00 then 12:00–14:00).
    pub fn check_day(&self, day: NaiveDate, slots: &[PlannedSlot], today: NaiveDate) -> Result<(), PlanningError> {
        if slots.len() > self.max_slots_per_day {
            return Err(PlanningError::TooManySlots(self.max_slots_per_day));
        }
        for slot in slots {
            if slot.date != day {
                return Err(PlanningError::WrongDay);
            }
            self.check(slot, today)?;
        }
        let mut sorted: Vec<(u32, u32)> = slots.iter().map(|s| s.minutes()).collect();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(PlanningError::Overlapping);
        }
        Ok(())
    }

    /// The last local date an expert may plan on `today`.
    pub fn last_day(&self, today: NaiveDate) -> NaiveDate {
        today + Duration::days(self.horizon_days)
    }
}

/// The instant a local date and time stands for in `tz`. A time skipped by a DST change
/// (02:30 on the spring-forward night) means the first instant after the gap; a time that
/// occurs twice (the autumn night) means its first occurrence.
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    // Gaps last an hour (at most two hours in any zone in use): walk to their end.
    for _ in 0..=180 {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    // Unreachable for real zones; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&local)
}

impl PlannedSlot {
    /// The slot as instants.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = local_instant(tz, self.date.and_time(self.start));
        let end = if self.end == NaiveTime::MIN {
            local_instant(tz, (self.date + Duration::days(1)).and_time(NaiveTime::MIN))
        } else {
            local_instant(tz, self.date.and_time(self.end))
        };
        (start, end)
    }

    /// Start and end as minutes from local midnight; an end at midnight is 1440.
    pub fn minutes(&self) -> (u32, u32) {
        let of = |t: NaiveTime| t.hour() * 60 + t.minute();
        let end = if self.end == NaiveTime::MIN { 24 * 60 } else { of(self.end) };
        (of(self.start), end)
    }

    /// The slot from minutes after local midnight (`end` 1440: midnight at the end of the day).
    pub fn from_minutes(date: NaiveDate, start: u32, end: u32) -> Option<PlannedSlot> {
        let time = |m: u32| NaiveTime::from_hms_opt(m / 60, m % 60, 0);
        let end = if end == 24 * 60 { Some(NaiveTime::MIN) } else { time(end) };
        Some(PlannedSlot { date, start: time(start)?, end: end? })
    }
}

/// WG-hours and WG-closing: whether `now` falls in planned hours.
pub fn in_planned_hours(slots: &[PlannedSlot], tz: Tz, now: DateTime<Utc>) -> bool {
    slots.iter().any(|s| {
        let (start, end) = s.bounds(tz);
        start <= now && now < end
    })
}

/// SP-return: the next planned start after `now`, shown while the expert is away.
pub fn expected_return(slots: &[PlannedSlot], tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    slots.iter().map(|s| s.bounds(tz).0).filter(|start| *start > now).min()
}

#[cfg(test)]
mod tests {
    use chrono_tz::Europe::Paris;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(y: i32, mo: u32, day: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, day, h, mi, 0).unwrap()
    }

    #[test]
    fn sp_planning_is_checked_against_the_15_day_horizon() {
        let p = PlanningPolicy::default();
        let today = d(2026, 11, 22);
        let slot = |date, start, end| PlannedSlot { date, start, end };
        assert_eq!(p.check(&slot(today, t(9, 0), t(12, 0)), today), Ok(()));
        assert_eq!(p.check(&slot(d(2026, 12, 7), t(20, 0), t(0, 0)), today), Ok(()), "until midnight, day 15");
        assert_eq!(p.check(&slot(d(2026, 12, 8), t(9, 0), t(10, 0)), today), Err(PlanningError::TooFarAhead(15)));
        assert_eq!(p.check(&slot(d(2026, 11, 21), t(9, 0), t(10, 0)), today), Err(PlanningError::InThePast));
        assert_eq!(p.check(&slot(today, t(10, 0), t(9, 0)), today), Err(PlanningError::EndsBeforeStart));
    }

    #[test]
    fn a_day_is_checked_as_a_whole() {
        let p = PlanningPolicy::default();
        let today = d(2026, 11, 22);
        let slot = |start, end| PlannedSlot { date: today, start, end };
        let ok = [slot(t(9, 0), t(12, 0)), slot(t(12, 0), t(14, 0)), slot(t(20, 0), t(0, 0))];
        assert_eq!(p.check_day(today, &ok, today), Ok(()), "touching slots and a slot until midnight");
        let overlap = [slot(t(9, 0), t(12, 0)), slot(t(11, 0), t(13, 0))];
        assert_eq!(p.check_day(today, &overlap, today), Err(PlanningError::Overlapping));
        let late = [slot(t(20, 0), t(0, 0)), slot(t(22, 0), t(23, 0))];
        assert_eq!(p.check_day(today, &late, today), Err(PlanningError::Overlapping), "midnight is the day's end");
        let other = [PlannedSlot { date: d(2026, 11, 23), start: t(9, 0), end: t(10, 0) }];
        assert_eq!(p.check_day(today, &other, today), Err(PlanningError::WrongDay));
        let many: Vec<_> = (0..7).map(|h| slot(t(h, 0), t(h, 30))).collect();
        assert_eq!(p.check_day(today, &many, today), Err(PlanningError::TooManySlots(6)));
        assert_eq!(p.check_day(today, &[], today), Ok(()), "an empty day clears it");
        assert_eq!(p.last_day(today), d(2026, 12, 7));
    }

    #[test]
    fn slots_round_trip_through_minutes() {
        let s = PlannedSlot { date: d(2026, 11, 22), start: t(9, 30), end: t(0, 0) };
        assert_eq!(s.minutes(), (570, 1440));
        assert_eq!(PlannedSlot::from_minutes(s.date, 570, 1440), Some(s));
        assert_eq!(PlannedSlot::from_minutes(s.date, 570, 1441), None);
    }

    #[test]
    fn sp_return_across_a_dst_change() {
        // Paris moves from UTC+1 to UTC+2 at 02:00 on Sunday 29 March 2026.
        let slots = [
            PlannedSlot { date: d(2026, 3, 28), start: t(9, 0), end: t(12, 0) },
            PlannedSlot { date: d(2026, 3, 29), start: t(9, 0), end: t(12, 0) },
        ];
        assert_eq!(expected_return(&slots, Paris, utc(2026, 3, 28, 6, 0)), Some(utc(2026, 3, 28, 8, 0)));
        // Saturday evening: the next return is Sunday 09:00 Paris, now 07:00 UTC, not 08:00.
        assert_eq!(expected_return(&slots, Paris, utc(2026, 3, 28, 20, 0)), Some(utc(2026, 3, 29, 7, 0)));
        assert!(in_planned_hours(&slots, Paris, utc(2026, 3, 29, 7, 30)));
        assert!(!in_planned_hours(&slots, Paris, utc(2026, 3, 29, 10, 0)), "12:00 Paris is 10:00 UTC");
        assert_eq!(expected_return(&slots, Paris, utc(2026, 3, 29, 12, 0)), None);
    }

    #[test]
    fn times_skipped_or_repeated_by_dst_are_read_sensibly() {
        // 02:30 does not exist on 29 March in Paris: it means 03:00 local (01:00 UTC).
        assert_eq!(local_instant(Paris, d(2026, 3, 29).and_time(t(2, 30))), utc(2026, 3, 29, 1, 0));
        // 02:30 happens twice on 25 October: the first one (00:30 UTC) counts.
        assert_eq!(local_instant(Paris, d(2026, 10, 25).and_time(t(2, 30))), utc(2026, 10, 25, 0, 30));
        // A slot until midnight on the long autumn day lasts 25 hours from midnight.
        let day = PlannedSlot { date: d(2026, 10, 25), start: t(0, 0), end: t(0, 0) };
        let (start, end) = day.bounds(Paris);
        assert_eq!(end - start, Duration::hours(25));
    }
}

//! SP-planning and SP-return: an expert's weekly planning, up to 15 days ahead, in their
//! own time zone, and the "expected return" shown while they are away. Local times are
//! turned into instants here, once, with daylight-saving gaps and overlaps handled.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Hours the expert plans to work, starting on one local day. The end is the first time
/// the clock reads `end` after `start`: an end earlier than the start is on the next day
/// (22:00–02:00 is a night slot, until 02:00 the next morning), an end at 00:00 is
/// midnight at the end of the day, and 00:00–00:00 is the whole day.
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

const DAY_MINUTES: u32 = 24 * 60;

/// Each submitted day's answer: its slots, sorted, to save; or why it is refused.
pub type DayResults = BTreeMap<NaiveDate, Result<Vec<PlannedSlot>, PlanningError>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanningError {
    #[error("a slot must not end when it starts")]
    EndsWhenItStarts,
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
    /// The day's first hours fall in the previous day's night slot.
    #[error("this day starts before the previous night's slot ends")]
    OverlapsPreviousNight,
    /// The day's night slot runs into the next day's first slot.
    #[error("the night slot runs into the next day's hours")]
    OverlapsNextDay,
}

impl PlanningPolicy {
    /// Checks a slot an expert submits on `today` (their local date).
    pub fn check(&self, slot: &PlannedSlot, today: NaiveDate) -> Result<(), PlanningError> {
        if slot.end == slot.start && slot.start != NaiveTime::MIN {
            return Err(PlanningError::EndsWhenItStarts);
        }
        self.check_date(slot.date, today)
    }

    /// Whether `day` may be planned on `today`: not past, within the horizon.
    pub fn check_date(&self, day: NaiveDate, today: NaiveDate) -> Result<(), PlanningError> {
        if day < today {
            return Err(PlanningError::InThePast);
        }
        if day > self.last_day(today) {
            return Err(PlanningError::TooFarAhead(self.horizon_days));
        }
        Ok(())
    }

    /// Checks the whole of one day as the expert submits it: a day that may be planned,
    /// every slot on it, each valid, none overlapping another (touching is fine:
    /// 09:00–12:00 then 12:00–14:00). An empty day clears it.
    pub fn check_day(&self, day: NaiveDate, slots: &[PlannedSlot], today: NaiveDate) -> Result<(), PlanningError> {
        self.check_date(day, today)?;
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

    /// Checks several days submitted at once, each on its own ([`Self::check_day`]) and
    /// against its neighbours as they will be (a night slot must end before the next
    /// day's first slot starts). `saved` is the planning kept so far, the day before the
    /// first submitted one and the day after the last included. Each day gets its own
    /// answer: a valid day is saved even when another is refused, and a refused day keeps
    /// its saved slots. When a new night and the next day's new hours collide, the later
    /// day is the one refused.
    pub fn check_days(
        &self,
        submitted: &BTreeMap<NaiveDate, Vec<PlannedSlot>>,
        saved: &[PlannedSlot],
        today: NaiveDate,
    ) -> DayResults {
        let mut results: DayResults = submitted
            .iter()
            .map(|(day, slots)| {
                let mut slots = slots.clone();
                slots.sort_by_key(|s| s.minutes());
                (*day, self.check_day(*day, &slots, today).map(|()| slots))
            })
            .collect();
        // The day's slots as they will be: the new ones if accepted, else those saved.
        let planned = |day: NaiveDate, results: &DayResults| match results.get(&day) {
            Some(Ok(slots)) => slots.clone(),
            _ => saved.iter().filter(|s| s.date == day).copied().collect(),
        };
        // Refusing a day brings its saved slots back, which may collide in turn: go on
        // until nothing changes (each round refuses one more day, or ends).
        loop {
            let refused = results.iter().filter(|(_, r)| r.is_ok()).find_map(|(day, _)| {
                let (previous, next) = (*day - Duration::days(1), *day + Duration::days(1));
                let next_is_new = matches!(results.get(&next), Some(Ok(_)));
                if night_runs_into(&planned(previous, &results), &planned(*day, &results)) {
                    Some((*day, PlanningError::OverlapsPreviousNight))
                } else if !next_is_new && night_runs_into(&planned(*day, &results), &planned(next, &results)) {
                    Some((*day, PlanningError::OverlapsNextDay))
                } else {
                    None
                }
            });
            match refused {
                Some((day, e)) => {
                    results.insert(day, Err(e));
                }
                None => return results,
            }
        }
    }

    /// The last local date an expert may plan on `today`.
    pub fn last_day(&self, today: NaiveDate) -> NaiveDate {
        today + Duration::days(self.horizon_days)
    }
}

/// Whether a night slot of `night` (one day's slots) is still running when one of
/// `next` (the following day's) starts.
fn night_runs_into(night: &[PlannedSlot], next: &[PlannedSlot]) -> bool {
    let Some(night_end) = night.iter().map(|s| s.minutes().1).filter(|end| *end > DAY_MINUTES).max() else {
        return false;
    };
    next.iter().any(|s| s.minutes().0 + DAY_MINUTES < night_end)
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
        let (_, end) = self.minutes();
        let start = local_instant(tz, self.date.and_time(self.start));
        let end_date = self.date + Duration::days(i64::from(end / DAY_MINUTES));
        (start, local_instant(tz, end_date.and_time(self.end)))
    }

    /// Start and end as minutes from the local midnight starting the slot's day; the end
    /// comes after the start, by at most a day: midnight at the end of the day is 1440,
    /// 02:00 the next day 1560.
    pub fn minutes(&self) -> (u32, u32) {
        let of = |t: NaiveTime| t.hour() * 60 + t.minute();
        let (start, end) = (of(self.start), of(self.end));
        (start, if end > start { end } else { end + DAY_MINUTES })
    }

    /// Whether the slot ends on the next day (past midnight, not at it).
    pub fn ends_next_day(&self) -> bool {
        self.minutes().1 > DAY_MINUTES
    }

    /// The slot from its [`Self::minutes`]: a start in the day, an end after it by at
    /// most a day.
    pub fn from_minutes(date: NaiveDate, start: u32, end: u32) -> Option<PlannedSlot> {
        if start >= DAY_MINUTES || end <= start || end > start + DAY_MINUTES {
            return None;
        }
        let time = |m: u32| NaiveTime::from_hms_opt((m % DAY_MINUTES) / 60, m % 60, 0);
        Some(PlannedSlot { date, start: time(start)?, end: time(end)? })
    }
}

/// WG-hours and WG-closing: whether `now` falls in planned hours. `slots` should hold the
/// day before too: its night slot may still be running.
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
        assert_eq!(p.check(&slot(today, t(10, 0), t(10, 0)), today), Err(PlanningError::EndsWhenItStarts));
        assert_eq!(p.check(&slot(today, t(0, 0), t(0, 0)), today), Ok(()), "00:00–00:00 is the whole day");
        assert_eq!(p.check(&slot(d(2026, 12, 7), t(22, 0), t(2, 0)), today), Ok(()), "a night from day 15");
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
        let night = PlannedSlot { date: d(2026, 11, 22), start: t(22, 0), end: t(2, 0) };
        assert_eq!(night.minutes(), (1320, 1560));
        assert!(night.ends_next_day() && !s.ends_next_day());
        assert_eq!(PlannedSlot::from_minutes(s.date, 1320, 1560), Some(night));
        let whole = PlannedSlot { date: s.date, start: t(0, 0), end: t(0, 0) };
        assert_eq!(PlannedSlot::from_minutes(s.date, 0, 1440), Some(whole));
        for (start, end) in [(570, 570), (570, 500), (570, 570 + 1441), (1440, 1500)] {
            assert_eq!(PlannedSlot::from_minutes(s.date, start, end), None, "{start}-{end}");
        }
    }

    #[test]
    fn sp_planning_a_night_slot_ends_the_next_day() {
        let night = PlannedSlot { date: d(2026, 11, 22), start: t(22, 0), end: t(2, 0) };
        // Paris is UTC+1 in November: 22:00 is 21:00 UTC, 02:00 the next day 01:00 UTC.
        assert_eq!(night.bounds(Paris), (utc(2026, 11, 22, 21, 0), utc(2026, 11, 23, 1, 0)));
        assert!(in_planned_hours(&[night], Paris, utc(2026, 11, 23, 0, 30)), "01:30 the next morning");
        assert!(!in_planned_hours(&[night], Paris, utc(2026, 11, 23, 1, 0)));
        assert_eq!(expected_return(&[night], Paris, utc(2026, 11, 22, 12, 0)), Some(utc(2026, 11, 22, 21, 0)));
        // Inside one day, the night part is after everything else of the day.
        let p = PlanningPolicy::default();
        let today = d(2026, 11, 22);
        let slot = |start, end| PlannedSlot { date: today, start, end };
        let ok = [slot(t(1, 0), t(3, 0)), slot(t(22, 0), t(2, 0))];
        assert_eq!(p.check_day(today, &ok, today), Ok(()), "01:00–03:00 is this morning, not the night's end");
        let overlap = [slot(t(21, 0), t(23, 0)), slot(t(22, 0), t(2, 0))];
        assert_eq!(p.check_day(today, &overlap, today), Err(PlanningError::Overlapping));
        // The night the clocks go back (03:00 becomes 02:00 on 25 October 2026): 02:00
        // happens twice and its first occurrence ends the night; 04:00 is an hour later.
        let long = PlannedSlot { date: d(2026, 10, 24), start: t(22, 0), end: t(2, 0) };
        let (start, end) = long.bounds(Paris);
        assert_eq!(end - start, Duration::hours(4));
        let longer = PlannedSlot { date: d(2026, 10, 24), start: t(22, 0), end: t(4, 0) };
        let (start, end) = longer.bounds(Paris);
        assert_eq!(end - start, Duration::hours(7));
    }

    #[test]
    fn sp_planning_days_are_saved_one_by_one_and_nights_checked_against_the_next_day() {
        let p = PlanningPolicy::default();
        let today = d(2026, 11, 22);
        let (mon, tue, wed) = (d(2026, 11, 23), d(2026, 11, 24), d(2026, 11, 25));
        let slot = |date, start, end| PlannedSlot { date, start, end };
        // One wrong day does not stop the others.
        let submitted = BTreeMap::from([
            (mon, vec![slot(mon, t(22, 0), t(2, 0))]),
            (wed, vec![slot(wed, t(9, 0), t(12, 0)), slot(wed, t(11, 0), t(13, 0))]),
            (d(2026, 12, 20), vec![]),
        ]);
        let results = p.check_days(&submitted, &[], today);
        assert_eq!(results[&mon], Ok(vec![slot(mon, t(22, 0), t(2, 0))]));
        assert_eq!(results[&wed], Err(PlanningError::Overlapping));
        assert_eq!(results[&d(2026, 12, 20)], Err(PlanningError::TooFarAhead(15)));
        // A new night running into the next day's new morning: the morning is refused.
        let both = BTreeMap::from([
            (mon, vec![slot(mon, t(22, 0), t(2, 0))]),
            (tue, vec![slot(tue, t(1, 0), t(5, 0)), slot(tue, t(2, 0), t(1, 0))]),
        ]);
        let results = p.check_days(&both, &[], today);
        assert_eq!(results[&tue], Err(PlanningError::Overlapping), "its own mistake first");
        let both =
            BTreeMap::from([(mon, vec![slot(mon, t(22, 0), t(2, 0))]), (tue, vec![slot(tue, t(1, 0), t(5, 0))])]);
        let results = p.check_days(&both, &[], today);
        assert!(results[&mon].is_ok());
        assert_eq!(results[&tue], Err(PlanningError::OverlapsPreviousNight));
        // Touching is fine: the night ends at 02:00, the morning starts at 02:00.
        let touching = BTreeMap::from([(tue, vec![slot(tue, t(2, 0), t(5, 0))])]);
        let saved = [slot(mon, t(22, 0), t(2, 0))];
        assert!(p.check_days(&touching, &saved, today)[&tue].is_ok());
        // A new night running into a saved morning: the night is refused.
        let night = BTreeMap::from([(mon, vec![slot(mon, t(23, 0), t(3, 0))])]);
        let saved = [slot(tue, t(1, 0), t(5, 0))];
        assert_eq!(p.check_days(&night, &saved, today)[&mon], Err(PlanningError::OverlapsNextDay));
        // Clearing that morning in the same submission lets the night in.
        let night_and_cleared = BTreeMap::from([(mon, vec![slot(mon, t(23, 0), t(3, 0))]), (tue, vec![])]);
        let results = p.check_days(&night_and_cleared, &saved, today);
        assert!(results[&mon].is_ok() && results[&tue].is_ok(), "{results:?}");
        // A refused day keeps its saved slots, which count against the neighbours: Tuesday's
        // new morning is wrong, so the saved 01:00–05:00 stays and Monday's night collides.
        let wrong_morning =
            BTreeMap::from([(mon, vec![slot(mon, t(23, 0), t(3, 0))]), (tue, vec![slot(tue, t(10, 0), t(10, 0))])]);
        let results = p.check_days(&wrong_morning, &saved, today);
        assert_eq!(results[&tue], Err(PlanningError::EndsWhenItStarts));
        assert_eq!(results[&mon], Err(PlanningError::OverlapsNextDay));
        // Yesterday's saved night counts against this morning.
        let yesterday = [slot(d(2026, 11, 21), t(22, 0), t(4, 0))];
        let morning = BTreeMap::from([(today, vec![slot(today, t(3, 0), t(6, 0))])]);
        assert_eq!(p.check_days(&morning, &yesterday, today)[&today], Err(PlanningError::OverlapsPreviousNight));
        // Days outside the planning window are refused whatever they hold.
        let past = BTreeMap::from([(d(2026, 11, 21), vec![])]);
        assert_eq!(p.check_days(&past, &[], today)[&d(2026, 11, 21)], Err(PlanningError::InThePast));
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

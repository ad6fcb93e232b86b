-- SP-planning: a slot may run past midnight (22:00–02:00 ends at 02:00 the next day).
-- `end_minute` counts from the midnight starting `day`: after the start, by at most a day
-- (1440 is midnight at the end of the day, 1560 is 02:00 the next day).
ALTER TABLE expert_planning DROP CONSTRAINT IF EXISTS expert_planning_end_minute_check;
ALTER TABLE expert_planning ADD CONSTRAINT expert_planning_end_minute_check
    CHECK (end_minute > start_minute AND end_minute <= start_minute + 1440);

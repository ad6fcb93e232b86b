-- SP-planning: a slot may run past midnight (22:00–02:00 ends at 02:00 the next day).
-- `end_minute` counts from the midnight starting `day`: after the start, by at most a day
-- (1440 is midnight at the end of the day, 1560 is 02:00 the next day). SQLite cannot
-- change a CHECK in place: the table is rebuilt with the same rows.
CREATE TABLE expert_planning_new (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day          TEXT NOT NULL CHECK (length(day) = 10),
    start_minute INTEGER NOT NULL CHECK (start_minute >= 0 AND start_minute < 1440),
    end_minute   INTEGER NOT NULL CHECK (end_minute > start_minute AND end_minute <= start_minute + 1440)
);
INSERT INTO expert_planning_new (id, user_id, day, start_minute, end_minute)
    SELECT id, user_id, day, start_minute, end_minute FROM expert_planning;
DROP TABLE expert_planning;
ALTER TABLE expert_planning_new RENAME TO expert_planning;
CREATE INDEX expert_planning_user_day ON expert_planning (user_id, day);

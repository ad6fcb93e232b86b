-- SP-planning: the hours an expert plans to work, one row per slot of a local day.
-- `day` is the expert's local date (YYYY-MM-DD, text as in the SQLite schema); start and
-- end are minutes after local midnight, an end of 1440 meaning midnight at the end of the day.
CREATE TABLE expert_planning (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day          TEXT NOT NULL CHECK (length(day) = 10),
    start_minute BIGINT NOT NULL CHECK (start_minute >= 0 AND start_minute < 1440),
    end_minute   BIGINT NOT NULL CHECK (end_minute > 0 AND end_minute <= 1440)
);
CREATE INDEX expert_planning_user_day ON expert_planning (user_id, day);

-- SP-return: clients who asked to be told when an expert is back. At most one pending
-- alert per client and expert; notified ones stay as history.
CREATE TABLE expert_alerts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expert_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    notified_at BIGINT
);
CREATE UNIQUE INDEX expert_alerts_pending ON expert_alerts (client_id, expert_id) WHERE notified_at IS NULL;
CREATE INDEX expert_alerts_expert ON expert_alerts (expert_id) WHERE notified_at IS NULL;

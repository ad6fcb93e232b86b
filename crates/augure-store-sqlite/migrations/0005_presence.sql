-- What the directory needs to know about an expert's availability right now.
CREATE TABLE expert_presence (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('available', 'busy', 'unavailable')),
    modes_on       TEXT NOT NULL,
    paused_until   INTEGER,
    last_heartbeat INTEGER,
    -- When bank details were last completed (SP-bank); NULL while missing.
    bank_details_at INTEGER,
    updated_at     INTEGER NOT NULL
);

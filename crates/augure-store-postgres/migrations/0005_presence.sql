-- What the directory needs to know about an expert's availability right now.
CREATE TABLE expert_presence (
    user_id        BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('available', 'busy', 'unavailable')),
    modes_on       TEXT NOT NULL,
    paused_until   BIGINT,
    last_heartbeat BIGINT,
    -- When bank details were last completed (SP-bank); NULL while missing.
    bank_details_at BIGINT,
    updated_at     BIGINT NOT NULL
);

-- PH-commission, AT-split: the commission an admin gave an expert on a channel, over the
-- settings' rate for the site and channel. No row: the settings apply. A consultation
-- freezes its rate when it opens, so a change here applies to the next ones only.
-- Rates are in basis points (30 % = 3000); instants are integer microseconds.
CREATE TABLE expert_commissions (
    expert_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL CHECK (channel IN ('phone', 'chat', 'video', 'email', 'appointment', 'event')),
    basis_points BIGINT NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (expert_id, channel)
);

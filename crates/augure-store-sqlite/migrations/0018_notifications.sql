-- SPEC §11: every notification a user gets, mail and SMS included, listed on their
-- dashboard. Recorded once per user and key (a job run twice records one). Read ones go
-- after `retention.notifications_days`; unread ones stay.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notice_key TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE UNIQUE INDEX notifications_user_key ON notifications (user_id, notice_key);
-- The header's count on every signed-in page.
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_read_age ON notifications (created_at) WHERE read_at IS NOT NULL;

-- The SMS outbox: the local default SMS port, like mail_outbox for mail.
CREATE TABLE sms_outbox (
    id         INTEGER PRIMARY KEY,
    sms_key    TEXT NOT NULL UNIQUE,
    to_number  TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sms_outbox_age ON sms_outbox (created_at);

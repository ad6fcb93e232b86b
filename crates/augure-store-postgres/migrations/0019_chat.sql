-- SP-chat: a chat consultation's transcript. Numbered per consultation (1, 2, …) so that
-- a tab that reconnects resumes after the last message it saw. `body` is what the author
-- wrote, `masked` what the other party is shown; `flags` lists the kinds of contact
-- details masked (comma-separated, '' when none) for the admins to look at. Messages go
-- after the transcript retention, by `sent_at`. Instants are integer microseconds.
CREATE TABLE chat_messages (
    consultation_id   BIGINT NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    seq               BIGINT NOT NULL CHECK (seq > 0),
    author            TEXT NOT NULL CHECK (author IN ('client', 'expert')),
    body              TEXT NOT NULL,
    masked            TEXT NOT NULL,
    flags             TEXT NOT NULL DEFAULT '',
    -- An image sent in the chat, re-encoded: its bytes, type and size, all or none.
    image             BYTEA,
    image_type        TEXT,
    image_width       BIGINT CHECK (image_width > 0),
    image_height      BIGINT CHECK (image_height > 0),
    -- The tab's own id for the message: a resend after a reconnection is not a second one.
    client_key        TEXT,
    sent_at           BIGINT NOT NULL,
    delivered_at      BIGINT,
    read_at           BIGINT,
    flag_dismissed_at BIGINT,
    PRIMARY KEY (consultation_id, seq),
    CHECK ((image IS NULL) = (image_type IS NULL)
        AND (image IS NULL) = (image_width IS NULL) AND (image IS NULL) = (image_height IS NULL))
);
CREATE UNIQUE INDEX chat_messages_client_key ON chat_messages (consultation_id, author, client_key)
    WHERE client_key IS NOT NULL;
-- The admins' list of flags still to look at, oldest first.
CREATE INDEX chat_messages_flagged ON chat_messages (sent_at) WHERE flags <> '' AND flag_dismissed_at IS NULL;
-- The retention purge.
CREATE INDEX chat_messages_age ON chat_messages (sent_at);

-- SP-notes: what an expert keeps for themselves about a client, one note per pair,
-- shown to the expert only when that client consults them again.
CREATE TABLE expert_notes (
    expert_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (expert_id, client_id)
);
-- An expert's notes, the most recently edited first.
CREATE INDEX expert_notes_recent ON expert_notes (expert_id, updated_at DESC);

-- SP-review: a party reporting the other about a consultation, once per consultation and
-- reporter, until an admin handles it.
CREATE TABLE consultation_reports (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultation_id BIGINT NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    reporter_id     BIGINT NOT NULL REFERENCES users (id),
    reported_id     BIGINT NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    UNIQUE (consultation_id, reporter_id)
);
-- The admins' queue, oldest first.
CREATE INDEX consultation_reports_open ON consultation_reports (created_at, id) WHERE resolved_at IS NULL;

-- SP-review: the clients an expert blocked; a blocked client cannot start a consultation
-- with them.
CREATE TABLE client_blocks (
    expert_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (expert_id, client_id)
);

-- SP-review: the client's review of a consultation, one per consultation, pending
-- moderation until published or refused.
CREATE TABLE reviews (
    consultation_id BIGINT PRIMARY KEY REFERENCES consultations (id),
    client_id       BIGINT NOT NULL REFERENCES users (id),
    expert_id       BIGINT NOT NULL REFERENCES users (id),
    rating          BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    created_at      BIGINT NOT NULL
);

-- SP-media, SP-presentation: what an expert submits (photo, audio, presentation per
-- language) waits for an admin; the public profile shows the latest approved version.
-- A newer submission of the same kind and language supersedes a pending one.
CREATE TABLE expert_media (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('photo', 'audio', 'presentation')),
    locale       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused', 'superseded')),
    content      BLOB,
    content_type TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    width        INTEGER,
    height       INTEGER,
    duration_ms  INTEGER,
    size         INTEGER NOT NULL DEFAULT 0,
    reason       TEXT,
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER
);
CREATE INDEX expert_media_queue ON expert_media (status, id);
CREATE INDEX expert_media_user ON expert_media (user_id, kind, locale, status);

-- Each site's public pages (legal notice, terms, privacy, contact), one text per language,
-- written by the operator in a tiny markup (paragraphs, ## headings, - lists).
CREATE TABLE site_pages (
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('legal', 'terms', 'privacy', 'contact')),
    locale     TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, kind, locale)
);

-- Who accepted which version of the terms, and when: every account at sign-up, experts
-- again when a new version asks them to (SP-contract). Kept as the operator's proof.
CREATE TABLE terms_acceptances (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version > 0),
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, version)
);

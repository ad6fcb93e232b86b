-- Live consultations (SPEC §4): the terms frozen when one opens (a price change during it
-- changes nothing for it), where its credit stands after its latest grant, the meter's
-- durable checkpoint, the lease of the node running it, and its end. A grant or a
-- settlement updates this row in the transaction that writes its ledger transfers, so
-- the row always says what the ledger holds for it. Amounts are minor units of
-- `currency`; instants integer microseconds.
CREATE TABLE consultations (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id         BIGINT NOT NULL REFERENCES users (id),
    expert_id         BIGINT NOT NULL REFERENCES users (id),
    site_id           BIGINT NOT NULL REFERENCES sites (id),
    channel           TEXT NOT NULL,
    plan              TEXT NOT NULL CHECK (plan IN ('per_minute', 'package')),
    -- PH-free: free minutes apply to the client's first consultation with the expert only.
    first_with_expert BIGINT NOT NULL CHECK (first_with_expert IN (0, 1)),
    currency          TEXT NOT NULL,
    per_minute_minor  BIGINT NOT NULL CHECK (per_minute_minor >= 0),
    -- The expert's package, both or neither.
    package_minor     BIGINT CHECK (package_minor >= 0),
    package_minutes   BIGINT CHECK (package_minutes > 0),
    -- Kept so that the frozen prices read back whole, though no live channel uses it.
    email_minor       BIGINT CHECK (email_minor >= 0),
    free_minutes      BIGINT NOT NULL CHECK (free_minutes >= 0),
    -- SP-tariffs: the per-minute price was the site's, not the expert's.
    imposed           BIGINT NOT NULL CHECK (imposed IN (0, 1)),
    commission_bp     BIGINT NOT NULL CHECK (commission_bp >= 0 AND commission_bp <= 10000),
    client_credit_account_id    BIGINT NOT NULL REFERENCES ledger_accounts (id),
    clearing_account_id         BIGINT NOT NULL REFERENCES ledger_accounts (id),
    expert_earnings_account_id  BIGINT NOT NULL REFERENCES ledger_accounts (id),
    platform_revenue_account_id BIGINT NOT NULL REFERENCES ledger_accounts (id),
    status            TEXT NOT NULL CHECK (status IN ('ringing', 'live', 'settled', 'lost')),
    -- The node running it, until `lease_until`; past that, another node may take it over.
    node_id           TEXT NOT NULL,
    lease_until       BIGINT NOT NULL,
    opened_at         BIGINT NOT NULL,
    -- The real start (first reply, bridge), once known; NULL if it never started.
    started_at        BIGINT,
    -- The latest grant: `posted_minor` is in the clearing account, `held_minor` more is
    -- reserved by grant `grant_seq`'s hold.
    grant_seq         BIGINT NOT NULL DEFAULT 0 CHECK (grant_seq >= 0),
    posted_minor      BIGINT NOT NULL DEFAULT 0 CHECK (posted_minor >= 0),
    held_minor        BIGINT NOT NULL DEFAULT 0 CHECK (held_minor >= 0),
    -- The meter's durable checkpoint: billable seconds as of `checkpoint_at`.
    billable_seconds  BIGINT NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
    checkpoint_at     BIGINT NOT NULL,
    -- The end: all set once settled or lost (lost: no money), all NULL before.
    end_reason        TEXT,
    ended_at          BIGINT,
    charge_minor      BIGINT CHECK (charge_minor >= 0),
    commission_minor  BIGINT CHECK (commission_minor >= 0),
    earnings_minor    BIGINT CHECK (earnings_minor >= 0),
    CHECK ((package_minor IS NULL) = (package_minutes IS NULL)),
    CHECK ((status IN ('settled', 'lost')) = (end_reason IS NOT NULL AND ended_at IS NOT NULL
        AND charge_minor IS NOT NULL AND commission_minor IS NOT NULL AND earnings_minor IS NOT NULL)),
    -- AT-split: the commission and the expert's share add up to the charge.
    CHECK (charge_minor = commission_minor + earnings_minor)
);
-- An expert is in at most one open consultation, whatever the channel or node: two
-- concurrent starts cannot both hold them. A settled or lost row leaves the index.
CREATE UNIQUE INDEX consultations_live_expert ON consultations (expert_id) WHERE status IN ('ringing', 'live');
-- What a node settles when it starts, and ticks.
CREATE INDEX consultations_node ON consultations (node_id) WHERE status IN ('ringing', 'live');
-- The leases that ran out, for another node to take over.
CREATE INDEX consultations_lapsed ON consultations (lease_until, id) WHERE status IN ('ringing', 'live');
-- A user's history, as client or as expert, newest first.
CREATE INDEX consultations_client ON consultations (client_id, opened_at DESC, id DESC);
CREATE INDEX consultations_expert ON consultations (expert_id, opened_at DESC, id DESC);
-- PH-free: whether a client already consulted an expert.
CREATE INDEX consultations_pair ON consultations (client_id, expert_id) WHERE status = 'settled';

-- Booleans are INTEGER 0/1 here: sqlx's Any driver cannot read SQLite's BOOLEAN affinity.
CREATE TABLE product_types (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL
);

CREATE TABLE products (
    id              INTEGER PRIMARY KEY,
    product_type_id BIGINT NOT NULL REFERENCES product_types(id),
    name            TEXT NOT NULL UNIQUE,
    tier            TEXT,
    platform        TEXT,
    created_at      BIGINT NOT NULL,
    -- Kept by every change of a finding's open state, so that totals never scan the findings.
    open_count      BIGINT NOT NULL DEFAULT 0,
    closed_count    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE engagements (
    id              INTEGER PRIMARY KEY,
    product_id      BIGINT NOT NULL REFERENCES products(id),
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (product_id, name)
);

CREATE TABLE tests (
    id              INTEGER PRIMARY KEY,
    engagement_id   BIGINT NOT NULL REFERENCES engagements(id),
    product_id      BIGINT NOT NULL REFERENCES products(id),
    title           TEXT NOT NULL,
    scan_type       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_import_id  BIGINT
);
CREATE INDEX tests_by_engagement ON tests (engagement_id, scan_type, title, id);

CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    test_id         BIGINT NOT NULL REFERENCES tests(id),
    kind            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    scan_date       TEXT,
    created         BIGINT NOT NULL DEFAULT 0,
    closed          BIGINT NOT NULL DEFAULT 0,
    reactivated     BIGINT NOT NULL DEFAULT 0,
    untouched       BIGINT NOT NULL DEFAULT 0,
    version         TEXT,
    branch_tag      TEXT,
    commit_hash     TEXT,
    build_id        TEXT,
    service         TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    actor           TEXT
);
CREATE INDEX imports_by_test ON imports (test_id, id);

CREATE TABLE findings (
    id                  INTEGER PRIMARY KEY,
    test_id             BIGINT NOT NULL REFERENCES tests(id),
    engagement_id       BIGINT NOT NULL,
    product_id          BIGINT NOT NULL,
    fingerprint         TEXT NOT NULL,
    title               TEXT NOT NULL,
    -- 0 info, 1 low, 2 medium, 3 high, 4 critical
    severity            BIGINT NOT NULL,
    active              INTEGER NOT NULL,
    verified            INTEGER NOT NULL,
    false_p             INTEGER NOT NULL DEFAULT FALSE,
    out_of_scope        INTEGER NOT NULL DEFAULT FALSE,
    risk_accepted       INTEGER NOT NULL DEFAULT FALSE,
    risk_accepted_until TEXT,
    is_mitigated        INTEGER NOT NULL DEFAULT FALSE,
    mitigated_at        BIGINT,
    mitigated_by        TEXT,
    duplicate           INTEGER NOT NULL DEFAULT FALSE,
    permanently_closed  INTEGER NOT NULL DEFAULT FALSE,
    closed_as           TEXT,
    priority            TEXT,
    is_open             INTEGER NOT NULL,
    triaged             INTEGER NOT NULL DEFAULT FALSE,
    created_import_id   BIGINT NOT NULL,
    first_seen          BIGINT NOT NULL,
    last_seen           BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    sla_due             TEXT,
    UNIQUE (test_id, fingerprint)
);
CREATE INDEX findings_by_product ON findings (product_id, id);

-- The normalized finding (tollgate-model JSON), 1:1 with findings. Kept apart so that the frequent
-- updates of a finding's status and last_seen rewrite a narrow row, not its ~1.5 KB of text.
CREATE TABLE finding_data (
    finding_id INTEGER PRIMARY KEY REFERENCES findings(id),
    data                TEXT NOT NULL
);
CREATE INDEX findings_by_open ON findings (is_open, id);
CREATE INDEX findings_by_update ON findings (updated_at);

CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    finding_id      BIGINT NOT NULL REFERENCES findings(id),
    author          TEXT NOT NULL,
    text            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX notes_by_finding ON notes (finding_id, id);

CREATE TABLE tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
    secret_sha256   TEXT NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    product_id      BIGINT REFERENCES products(id),
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);

CREATE TABLE gate_runs (
    id              INTEGER PRIMARY KEY,
    product_id      BIGINT NOT NULL REFERENCES products(id),
    engagement_id   BIGINT REFERENCES engagements(id),
    created_at      BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    commit_hash     TEXT,
    release_tag     TEXT,
    artifact_sha256 TEXT,
    body            TEXT NOT NULL
);
CREATE INDEX gate_runs_by_product ON gate_runs (product_id, id);

-- Every change of a finding's state, appended and never updated: created, mitigated and
-- reactivated by an import, closed or re-prioritized by triage. Trends, time to remediate and
-- a finding's history read it, and stay right when findings reopen.
CREATE TABLE finding_events (
    id          INTEGER PRIMARY KEY,
    finding_id  BIGINT NOT NULL REFERENCES findings(id),
    product_id  BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    -- created | mitigated | reactivated | closed | priority
    kind        TEXT NOT NULL,
    -- the finding's status word after the change (open, mitigated, false_positive, …)
    status      TEXT NOT NULL,
    is_open     INTEGER NOT NULL,
    -- 0 info … 4 critical, at the change
    severity    BIGINT NOT NULL,
    import_id   BIGINT,
    actor       TEXT,
    detail      TEXT
);
CREATE INDEX finding_events_by_finding ON finding_events (finding_id, id);
CREATE INDEX finding_events_by_product ON finding_events (product_id, at);

-- What the findings stored before this log say of their past: when each was created, and when
-- each mitigated one was mitigated.
INSERT INTO finding_events (finding_id, product_id, at, kind, status, is_open, severity, import_id)
SELECT id, product_id, first_seen, 'created', 'open', 1, severity, created_import_id FROM findings;
INSERT INTO finding_events (finding_id, product_id, at, kind, status, is_open, severity, actor)
SELECT id, product_id, mitigated_at, 'mitigated', 'mitigated', 0, severity, mitigated_by
FROM findings WHERE is_mitigated = 1 AND mitigated_at IS NOT NULL;

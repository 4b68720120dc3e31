-- Program metrics (docs/metrics.md): promotions of release artifacts, the blocking reasons of
-- gate runs as rows, each finding's category as a column, and a compact daily aggregate of the
-- number of open findings.

-- A release artifact promoted to an environment (`POST /api/v2/tollgate/promotions/`,
-- `tollgate promote`). It counts as scanned when a gate run of its product named the same
-- sha256 at or before `promoted_at`.
CREATE TABLE promotions (
    id              INTEGER PRIMARY KEY,
    product_id      BIGINT NOT NULL REFERENCES products(id),
    artifact_sha256 TEXT NOT NULL,
    release_tag     TEXT,
    environment     TEXT NOT NULL,
    promoted_at     BIGINT NOT NULL,
    actor           TEXT
);
CREATE INDEX promotions_by_time ON promotions (promoted_at, product_id);
CREATE INDEX gate_runs_by_artifact ON gate_runs (product_id, artifact_sha256, created_at);
CREATE INDEX gate_runs_by_time ON gate_runs (created_at, product_id);
CREATE INDEX imports_by_commit ON imports (commit_hash, test_id);

-- One row per blocking reason of a gate run (verdict "block"): the policy rule, or the reason's
-- kind when no rule fired it (broken-report, incomplete-scan, missing-scanner). Written with the
-- run; the summary JSON stays as sent.
CREATE TABLE gate_run_blocks (
    gate_run_id     BIGINT NOT NULL REFERENCES gate_runs(id),
    product_id      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    rule            TEXT NOT NULL,
    -- the findings the reason names
    findings        BIGINT NOT NULL
);
CREATE INDEX gate_run_blocks_by_time ON gate_run_blocks (created_at, product_id);
INSERT INTO gate_run_blocks (gate_run_id, product_id, created_at, rule, findings)
SELECT g.id, g.product_id, g.created_at,
       COALESCE(json_extract(r.value, '$.rule'), json_extract(r.value, '$.kind'), 'unknown'),
       CASE WHEN json_type(r.value, '$.fingerprints') = 'array'
            THEN json_array_length(r.value, '$.fingerprints') ELSE 0 END
FROM gate_runs g,
     json_each(CASE WHEN json_valid(g.body) AND json_type(g.body, '$.reasons') = 'array'
                    THEN g.body ELSE '{"reasons": []}' END, '$.reasons') r
WHERE r.type = 'object' AND json_extract(r.value, '$.verdict') = 'block';

-- The model's category (sast, mobile, …), so "mobile findings" need no JSON.
ALTER TABLE findings ADD COLUMN category TEXT;
UPDATE findings SET category = (
    SELECT CASE WHEN json_valid(d.data) THEN json_extract(d.data, '$.category') END
    FROM finding_data d WHERE d.finding_id = findings.id);

-- Open findings per product, severity, category mobile (1) or not (0) and UTC day first seen
-- (days since 1970-01-01), kept with the status-change log: ages, SLA buckets, overdue counts
-- and critical mobile findings read it instead of the findings.
CREATE TABLE open_by_age (
    product_id      BIGINT NOT NULL,
    severity        BIGINT NOT NULL,
    mobile          BIGINT NOT NULL,
    first_day       BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (product_id, severity, mobile, first_day)
);
INSERT INTO open_by_age (product_id, severity, mobile, first_day, n)
SELECT product_id, severity, CASE WHEN category = 'mobile' THEN 1 ELSE 0 END, first_seen / 86400, COUNT(*)
FROM findings WHERE is_open = 1
GROUP BY product_id, severity, CASE WHEN category = 'mobile' THEN 1 ELSE 0 END, first_seen / 86400;

-- One row per remediation: a mitigation by an import (the log's `mitigated` event), with the
-- seconds since the finding last opened (its creation or latest reactivation). Appended with
-- the event; time to remediate and SLA compliance read it.
CREATE TABLE remediations (
    finding_id      BIGINT NOT NULL,
    product_id      BIGINT NOT NULL,
    severity        BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    seconds         BIGINT NOT NULL
);
-- Covering: a window of remediations is read from the index alone.
CREATE INDEX remediations_by_time ON remediations (at, product_id, severity, seconds);
INSERT INTO remediations (finding_id, product_id, severity, at, seconds)
SELECT finding_id, product_id, severity, at, seconds FROM (
    SELECT e.finding_id, e.product_id, e.severity, e.at, e.at - (
        SELECT MAX(o.at) FROM finding_events o WHERE o.finding_id = e.finding_id AND o.id < e.id
        AND o.kind IN ('created', 'reactivated')) AS seconds
    FROM finding_events e WHERE e.kind = 'mitigated') x
WHERE seconds IS NOT NULL;

-- The net change of open findings per product, UTC day (days since 1970-01-01) and severity,
-- kept by every appended finding event; a row exists only where the number changed. Open
-- findings at the end of day D = SUM(delta) over days <= D.
CREATE TABLE open_daily (
    product_id      BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    severity        BIGINT NOT NULL,
    delta           BIGINT NOT NULL,
    PRIMARY KEY (product_id, day, severity)
);
CREATE INDEX open_daily_by_day ON open_daily (day);
INSERT INTO open_daily (product_id, day, severity, delta)
SELECT product_id, day, severity, SUM(d) FROM (
    SELECT product_id, at / 86400 AS day, severity, o AS d FROM (
        SELECT product_id, at, severity, CASE WHEN is_open THEN 1 ELSE 0 END AS o,
               LAG(CASE WHEN is_open THEN 1 ELSE 0 END, 1, 0) OVER w AS po,
               LAG(severity, 1, severity) OVER w AS ps
        FROM finding_events WINDOW w AS (PARTITION BY finding_id ORDER BY id)) x
    UNION ALL
    SELECT product_id, at / 86400, ps, -po FROM (
        SELECT product_id, at, CASE WHEN is_open THEN 1 ELSE 0 END AS o,
               LAG(CASE WHEN is_open THEN 1 ELSE 0 END, 1, 0) OVER w AS po,
               LAG(severity, 1, severity) OVER w AS ps
        FROM finding_events WINDOW w AS (PARTITION BY finding_id ORDER BY id)) y
) z GROUP BY product_id, day, severity HAVING SUM(d) <> 0;

-- Remediations per product, severity, UTC day and days taken (the seconds rounded up to whole
-- days, so "within N SLA days" is days_taken <= N, exactly): what time to remediate reads.
CREATE TABLE remediation_daily (
    product_id      BIGINT NOT NULL,
    severity        BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    days_taken      BIGINT NOT NULL,
    n               BIGINT NOT NULL,
    seconds         BIGINT NOT NULL,
    PRIMARY KEY (product_id, severity, day, days_taken)
);
CREATE INDEX remediation_daily_by_day ON remediation_daily (day);
INSERT INTO remediation_daily (product_id, severity, day, days_taken, n, seconds)
SELECT product_id, severity, at / 86400, (seconds + 86399) / 86400, COUNT(*), SUM(seconds)
FROM remediations
GROUP BY product_id, severity, at / 86400, (seconds + 86399) / 86400;

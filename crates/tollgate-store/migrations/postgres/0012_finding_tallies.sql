-- The queue's counts without counting findings (docs/architecture.md, "Tallies"). A count that
-- reads every matching finding costs time in proportion to the findings: 92,800 for `cwe=79`,
-- 921,770 for `category=sast` on a 1M-finding hub, 35–75 ms each alone and over a second with
-- eight people at once. These tables hold how many findings there are per combination of what
-- the queue filters on except time and text (product, scanner, category, severity, the status
-- flags), and per facet (tag, CWE, vulnerability id) the same. A count is then a sum over a few
-- rows of a small table, read in the same snapshot as the page.
--
-- Triggers keep them: every write of a finding, by any code path or a person at a SQL prompt,
-- moves its tally, so a tally can not drift from the findings the way a counter kept by the
-- application can when a new code path forgets it. On PostgreSQL they run once per statement
-- over its transition tables (an import's multi-row INSERT moves each tally once, not once per
-- finding), and add their deltas in key order so that two writers take the rows' locks in the
-- same order. A test holds each tally to COUNT(*) after imports, reimports, triage and bulk
-- triage on both backends.
CREATE TABLE finding_tallies (
    product_id    BIGINT NOT NULL,
    scanner       TEXT NOT NULL,
    category      TEXT NOT NULL,
    severity      BIGINT NOT NULL,
    is_open       BOOLEAN NOT NULL,
    false_p       BOOLEAN NOT NULL,
    risk_accepted BOOLEAN NOT NULL,
    is_mitigated  BOOLEAN NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                 is_mitigated)
);

CREATE TABLE facet_tallies (
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    product_id    BIGINT NOT NULL,
    scanner       TEXT NOT NULL,
    category      TEXT NOT NULL,
    severity      BIGINT NOT NULL,
    is_open       BOOLEAN NOT NULL,
    false_p       BOOLEAN NOT NULL,
    risk_accepted BOOLEAN NOT NULL,
    is_mitigated  BOOLEAN NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
);

-- The triggers look up a finding's facets by finding.
CREATE INDEX finding_facets_by_finding ON finding_facets (finding_id);

INSERT INTO finding_tallies
SELECT product_id, COALESCE(scanner, ''), COALESCE(category, ''), severity, is_open, false_p,
       risk_accepted, is_mitigated, COUNT(*)
FROM findings GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO facet_tallies
SELECT x.kind, x.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''),
       f.severity, f.is_open, f.false_p, f.risk_accepted, f.is_mitigated, COUNT(*)
FROM finding_facets x JOIN findings f ON f.id = x.finding_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

-- Adds the signed deltas of (key, d) rows to finding_tallies.
CREATE FUNCTION finding_tallies_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_tallies AS t
    SELECT product_id, COALESCE(scanner, ''), COALESCE(category, ''), severity, is_open,
           false_p, risk_accepted, is_mitigated, COUNT(*)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                 is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION finding_tallies_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_tallies AS t
    SELECT product_id, COALESCE(scanner, ''), COALESCE(category, ''), severity, is_open,
           false_p, risk_accepted, is_mitigated, -COUNT(*)
    FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                 is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    INSERT INTO facet_tallies AS t
    SELECT x.kind, x.value, o.product_id, COALESCE(o.scanner, ''), COALESCE(o.category, ''),
           o.severity, o.is_open, o.false_p, o.risk_accepted, o.is_mitigated, -COUNT(*)
    FROM old_rows o JOIN finding_facets x ON x.finding_id = o.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- Only the rows whose tallied columns changed move (an import's update of `last_seen` on 100k
-- untouched findings moves nothing).
CREATE FUNCTION finding_tallies_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT o.id AS id,
               o.product_id AS op, COALESCE(o.scanner, '') AS os, COALESCE(o.category, '') AS oc,
               o.severity AS osev, o.is_open AS oo, o.false_p AS ofp, o.risk_accepted AS ora,
               o.is_mitigated AS om,
               n.product_id AS np, COALESCE(n.scanner, '') AS ns, COALESCE(n.category, '') AS nc,
               n.severity AS nsev, n.is_open AS nopen, n.false_p AS nfp, n.risk_accepted AS nra,
               n.is_mitigated AS nm
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.product_id, COALESCE(o.scanner, ''), COALESCE(o.category, ''), o.severity,
               o.is_open, o.false_p, o.risk_accepted, o.is_mitigated)
              IS DISTINCT FROM
              (n.product_id, COALESCE(n.scanner, ''), COALESCE(n.category, ''), n.severity,
               n.is_open, n.false_p, n.risk_accepted, n.is_mitigated)
    ), moves AS (
        SELECT id, op AS product_id, os AS scanner, oc AS category, osev AS severity,
               oo AS is_open, ofp AS false_p, ora AS risk_accepted, om AS is_mitigated, -1 AS d
        FROM changed
        UNION ALL
        SELECT id, np, ns, nc, nsev, nopen, nfp, nra, nm, 1 FROM changed
    ), finding_moved AS (
        INSERT INTO finding_tallies AS t
        SELECT product_id, scanner, category, severity, is_open, false_p, risk_accepted,
               is_mitigated, SUM(d)
        FROM moves GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(d) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                     is_mitigated)
        DO UPDATE SET n = t.n + EXCLUDED.n
        RETURNING 1
    )
    INSERT INTO facet_tallies AS t
    SELECT x.kind, x.value, m.product_id, m.scanner, m.category, m.severity, m.is_open,
           m.false_p, m.risk_accepted, m.is_mitigated, SUM(m.d)
    FROM moves m JOIN finding_facets x ON x.finding_id = m.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 HAVING SUM(m.d) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- A batch of facets against the findings by primary key: without hash and merge joins the
-- planner can not pick a scan of every finding per statement (which it did with a new table's
-- stale statistics: 4.3 s of a 100k-finding import in 200 statements).
CREATE FUNCTION facet_tallies_insert() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    INSERT INTO facet_tallies AS t
    SELECT x.kind, x.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''),
           f.severity, f.is_open, f.false_p, f.risk_accepted, f.is_mitigated, COUNT(*)
    FROM new_rows x JOIN findings f ON f.id = x.finding_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- A batch of facets against the findings by primary key: without hash and merge joins the
-- planner can not pick a scan of every finding per statement (which it did with a new table's
-- stale statistics: 4.3 s of a 100k-finding import in 200 statements).
CREATE FUNCTION facet_tallies_delete() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    INSERT INTO facet_tallies AS t
    SELECT x.kind, x.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''),
           f.severity, f.is_open, f.false_p, f.risk_accepted, f.is_mitigated, -COUNT(*)
    FROM old_rows x JOIN findings f ON f.id = x.finding_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER finding_tallies_insert AFTER INSERT ON findings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_insert();
-- A finding's facets go before it (their foreign key): their own trigger counts them down.
CREATE TRIGGER finding_tallies_delete AFTER DELETE ON findings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_delete();
CREATE TRIGGER finding_tallies_update AFTER UPDATE ON findings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_update();
CREATE TRIGGER facet_tallies_insert AFTER INSERT ON finding_facets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION facet_tallies_insert();
CREATE TRIGGER facet_tallies_delete AFTER DELETE ON finding_facets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION facet_tallies_delete();

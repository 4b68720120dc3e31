-- A reimport's closes and reactivations (10k rows each on the bench) took ~200 µs per finding, of
-- which the triggers were three quarters (5,000 closes: the update 262 ms, the tallies' trigger
-- 323 ms, the text table's row trigger 452 ms):
--
-- * The tallies' trigger joined the moved findings to their facets by hashing all of
--   `finding_facets` (a scan of its 1.7M rows, 350 ms): the transition tables' row estimates are
--   the planner's defaults, so it took the moves for 250,000 rows. The facets are now read by the
--   moved ids (`= ANY (ARRAY(…))`, the facets' finding index), and JIT, which these estimates
--   also triggered (29 ms), is off for the function.
-- * The text table's product and open state were written by a PL/pgSQL call per finding
--   (~90 µs each). One statement per UPDATE of findings now does it, over its new rows,
--   comparing with the text table's own values (a change of neither writes nothing).
CREATE OR REPLACE FUNCTION finding_tallies_update() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    WITH changed AS MATERIALIZED (
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
    ), moves AS MATERIALIZED (
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
    ), facets AS MATERIALIZED (
        SELECT x.finding_id, x.kind, x.value FROM finding_facets x
        WHERE x.finding_id = ANY (ARRAY(SELECT id FROM changed))
    )
    INSERT INTO facet_tallies AS t
    SELECT x.kind, x.value, m.product_id, m.scanner, m.category, m.severity, m.is_open,
           m.false_p, m.risk_accepted, m.is_mitigated, SUM(m.d)
    FROM moves m JOIN facets x ON x.finding_id = m.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 HAVING SUM(m.d) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ON CONFLICT (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
    DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN NULL;
END $$;

DROP TRIGGER finding_text_state ON findings;
-- Each new row against the text table by its key: without hash and merge joins the planner
-- cannot pick a scan of the whole text table for a statement (the transition table's size is
-- unknown to it).
CREATE OR REPLACE FUNCTION finding_text_state() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
BEGIN
    UPDATE finding_text t SET product_id = n.product_id, is_open = n.is_open
    FROM new_rows n
    WHERE t.finding_id = n.id AND (t.product_id <> n.product_id OR t.is_open <> n.is_open);
    RETURN NULL;
END $$;
CREATE TRIGGER finding_text_state AFTER UPDATE ON findings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_text_state();

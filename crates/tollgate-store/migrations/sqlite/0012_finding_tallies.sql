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
-- application can when a new code path forgets it. A test holds each tally to COUNT(*) after
-- imports, reimports, triage and bulk triage on both backends.
CREATE TABLE finding_tallies (
    product_id    BIGINT NOT NULL,
    scanner       TEXT NOT NULL,
    category      TEXT NOT NULL,
    severity      BIGINT NOT NULL,
    is_open       INTEGER NOT NULL,
    false_p       INTEGER NOT NULL,
    risk_accepted INTEGER NOT NULL,
    is_mitigated  INTEGER NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                 is_mitigated)
) WITHOUT ROWID;

CREATE TABLE facet_tallies (
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    product_id    BIGINT NOT NULL,
    scanner       TEXT NOT NULL,
    category      TEXT NOT NULL,
    severity      BIGINT NOT NULL,
    is_open       INTEGER NOT NULL,
    false_p       INTEGER NOT NULL,
    risk_accepted INTEGER NOT NULL,
    is_mitigated  INTEGER NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (kind, value, product_id, scanner, category, severity, is_open, false_p,
                 risk_accepted, is_mitigated)
) WITHOUT ROWID;

-- The triggers look up a finding's facets by finding.
CREATE INDEX finding_facets_by_finding ON finding_facets (finding_id);

INSERT INTO finding_tallies
SELECT product_id, COALESCE(scanner, ''), COALESCE(category, ''), severity,
       CASE WHEN is_open THEN 1 ELSE 0 END, CASE WHEN false_p THEN 1 ELSE 0 END,
       CASE WHEN risk_accepted THEN 1 ELSE 0 END, CASE WHEN is_mitigated THEN 1 ELSE 0 END,
       COUNT(*)
FROM findings GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO facet_tallies
SELECT x.kind, x.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''),
       f.severity, CASE WHEN f.is_open THEN 1 ELSE 0 END, CASE WHEN f.false_p THEN 1 ELSE 0 END,
       CASE WHEN f.risk_accepted THEN 1 ELSE 0 END, CASE WHEN f.is_mitigated THEN 1 ELSE 0 END,
       COUNT(*)
FROM finding_facets x JOIN findings f ON f.id = x.finding_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;

CREATE TRIGGER finding_tallies_insert AFTER INSERT ON findings BEGIN
    INSERT INTO finding_tallies VALUES (
        NEW.product_id, COALESCE(NEW.scanner, ''), COALESCE(NEW.category, ''), NEW.severity,
        CASE WHEN NEW.is_open THEN 1 ELSE 0 END, CASE WHEN NEW.false_p THEN 1 ELSE 0 END,
        CASE WHEN NEW.risk_accepted THEN 1 ELSE 0 END,
        CASE WHEN NEW.is_mitigated THEN 1 ELSE 0 END, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER finding_tallies_delete AFTER DELETE ON findings BEGIN
    UPDATE finding_tallies SET n = n - 1
    WHERE product_id = OLD.product_id AND scanner = COALESCE(OLD.scanner, '')
      AND category = COALESCE(OLD.category, '') AND severity = OLD.severity
      AND is_open = CASE WHEN OLD.is_open THEN 1 ELSE 0 END
      AND false_p = CASE WHEN OLD.false_p THEN 1 ELSE 0 END
      AND risk_accepted = CASE WHEN OLD.risk_accepted THEN 1 ELSE 0 END
      AND is_mitigated = CASE WHEN OLD.is_mitigated THEN 1 ELSE 0 END;
    UPDATE facet_tallies SET n = n - (
        SELECT COUNT(*) FROM finding_facets x
        WHERE x.finding_id = OLD.id AND x.kind = facet_tallies.kind
          AND x.value = facet_tallies.value)
    WHERE (kind, value) IN (SELECT kind, value FROM finding_facets WHERE finding_id = OLD.id)
      AND product_id = OLD.product_id AND scanner = COALESCE(OLD.scanner, '')
      AND category = COALESCE(OLD.category, '') AND severity = OLD.severity
      AND is_open = CASE WHEN OLD.is_open THEN 1 ELSE 0 END
      AND false_p = CASE WHEN OLD.false_p THEN 1 ELSE 0 END
      AND risk_accepted = CASE WHEN OLD.risk_accepted THEN 1 ELSE 0 END
      AND is_mitigated = CASE WHEN OLD.is_mitigated THEN 1 ELSE 0 END;
END;

CREATE TRIGGER finding_tallies_update
AFTER UPDATE OF product_id, scanner, category, severity, is_open, false_p, risk_accepted,
                is_mitigated ON findings
WHEN OLD.product_id IS NOT NEW.product_id
  OR COALESCE(OLD.scanner, '') IS NOT COALESCE(NEW.scanner, '')
  OR COALESCE(OLD.category, '') IS NOT COALESCE(NEW.category, '')
  OR OLD.severity IS NOT NEW.severity
  OR (CASE WHEN OLD.is_open THEN 1 ELSE 0 END) IS NOT (CASE WHEN NEW.is_open THEN 1 ELSE 0 END)
  OR (CASE WHEN OLD.false_p THEN 1 ELSE 0 END) IS NOT (CASE WHEN NEW.false_p THEN 1 ELSE 0 END)
  OR (CASE WHEN OLD.risk_accepted THEN 1 ELSE 0 END)
     IS NOT (CASE WHEN NEW.risk_accepted THEN 1 ELSE 0 END)
  OR (CASE WHEN OLD.is_mitigated THEN 1 ELSE 0 END)
     IS NOT (CASE WHEN NEW.is_mitigated THEN 1 ELSE 0 END)
BEGIN
    UPDATE finding_tallies SET n = n - 1
    WHERE product_id = OLD.product_id AND scanner = COALESCE(OLD.scanner, '')
      AND category = COALESCE(OLD.category, '') AND severity = OLD.severity
      AND is_open = CASE WHEN OLD.is_open THEN 1 ELSE 0 END
      AND false_p = CASE WHEN OLD.false_p THEN 1 ELSE 0 END
      AND risk_accepted = CASE WHEN OLD.risk_accepted THEN 1 ELSE 0 END
      AND is_mitigated = CASE WHEN OLD.is_mitigated THEN 1 ELSE 0 END;
    INSERT INTO finding_tallies VALUES (
        NEW.product_id, COALESCE(NEW.scanner, ''), COALESCE(NEW.category, ''), NEW.severity,
        CASE WHEN NEW.is_open THEN 1 ELSE 0 END, CASE WHEN NEW.false_p THEN 1 ELSE 0 END,
        CASE WHEN NEW.risk_accepted THEN 1 ELSE 0 END,
        CASE WHEN NEW.is_mitigated THEN 1 ELSE 0 END, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE facet_tallies SET n = n - (
        SELECT COUNT(*) FROM finding_facets x
        WHERE x.finding_id = OLD.id AND x.kind = facet_tallies.kind
          AND x.value = facet_tallies.value)
    WHERE (kind, value) IN (SELECT kind, value FROM finding_facets WHERE finding_id = OLD.id)
      AND product_id = OLD.product_id AND scanner = COALESCE(OLD.scanner, '')
      AND category = COALESCE(OLD.category, '') AND severity = OLD.severity
      AND is_open = CASE WHEN OLD.is_open THEN 1 ELSE 0 END
      AND false_p = CASE WHEN OLD.false_p THEN 1 ELSE 0 END
      AND risk_accepted = CASE WHEN OLD.risk_accepted THEN 1 ELSE 0 END
      AND is_mitigated = CASE WHEN OLD.is_mitigated THEN 1 ELSE 0 END;
    INSERT INTO facet_tallies
    SELECT x.kind, x.value, NEW.product_id, COALESCE(NEW.scanner, ''),
           COALESCE(NEW.category, ''), NEW.severity, CASE WHEN NEW.is_open THEN 1 ELSE 0 END,
           CASE WHEN NEW.false_p THEN 1 ELSE 0 END, CASE WHEN NEW.risk_accepted THEN 1 ELSE 0 END,
           CASE WHEN NEW.is_mitigated THEN 1 ELSE 0 END, 1
    FROM finding_facets x WHERE x.finding_id = NEW.id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER facet_tallies_insert AFTER INSERT ON finding_facets BEGIN
    INSERT INTO facet_tallies
    SELECT NEW.kind, NEW.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''),
           f.severity, CASE WHEN f.is_open THEN 1 ELSE 0 END,
           CASE WHEN f.false_p THEN 1 ELSE 0 END, CASE WHEN f.risk_accepted THEN 1 ELSE 0 END,
           CASE WHEN f.is_mitigated THEN 1 ELSE 0 END, 1
    FROM findings f WHERE f.id = NEW.finding_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER facet_tallies_delete AFTER DELETE ON finding_facets BEGIN
    UPDATE facet_tallies SET n = n - 1
    WHERE kind = OLD.kind AND value = OLD.value
      AND (product_id, scanner, category, severity, is_open, false_p, risk_accepted,
           is_mitigated) IN (
        SELECT f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''), f.severity,
               CASE WHEN f.is_open THEN 1 ELSE 0 END, CASE WHEN f.false_p THEN 1 ELSE 0 END,
               CASE WHEN f.risk_accepted THEN 1 ELSE 0 END,
               CASE WHEN f.is_mitigated THEN 1 ELSE 0 END
        FROM findings f WHERE f.id = OLD.finding_id);
END;

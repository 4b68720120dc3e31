-- The findings queue (`/ui/findings`, docs/ui.md): every filter of the queue reads columns and
-- indexes, never a finding's JSON. The scanner's name and the finding's location text become
-- columns; the repeatable facets of a finding (tags, CWE numbers, vulnerability ids) become rows
-- of `finding_facets`. All are written at import; here they are filled for existing findings.
ALTER TABLE findings ADD COLUMN scanner TEXT;
-- What the UI shows as "where": file:line, package version, URL, component or target.
ALTER TABLE findings ADD COLUMN location TEXT;
-- jsonb refuses the escape \u0000 (stored text never holds one, see import::Incoming): skipped.
UPDATE findings f SET
    scanner = j.data -> 'scanner' ->> 'name',
    location = COALESCE(
        (j.data -> 'location' ->> 'file')
            || COALESCE(':' || (j.data -> 'location' ->> 'start_line'), ''),
        (j.data -> 'location' -> 'package' ->> 'name') || ' '
            || COALESCE(j.data -> 'location' -> 'package' ->> 'installed_version', ''),
        j.data -> 'location' ->> 'url',
        j.data -> 'location' ->> 'component',
        j.data -> 'location' ->> 'target',
        '')
FROM (SELECT finding_id, data::jsonb AS data FROM finding_data
      WHERE POSITION('\u0000' IN data) = 0) j
WHERE j.finding_id = f.id;

-- kind: tag | cwe | vuln; value: the tag word, the CWE number as text, the id verbatim.
CREATE TABLE finding_facets (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    finding_id  BIGINT NOT NULL REFERENCES findings(id)
);
CREATE INDEX finding_facets_by_value ON finding_facets (kind, value, finding_id);
INSERT INTO finding_facets (kind, value, finding_id)
SELECT DISTINCT k.kind, k.value, k.finding_id FROM (
    SELECT 'tag' AS kind, e.value #>> '{}' AS value, j.finding_id
    FROM (SELECT finding_id, data::jsonb AS data FROM finding_data
          WHERE POSITION('\u0000' IN data) = 0) j,
         jsonb_array_elements(CASE WHEN jsonb_typeof(j.data -> 'tags') = 'array'
                                   THEN j.data -> 'tags' ELSE '[]'::jsonb END) AS e(value)
    UNION ALL
    SELECT 'cwe', e.value #>> '{}', j.finding_id
    FROM (SELECT finding_id, data::jsonb AS data FROM finding_data
          WHERE POSITION('\u0000' IN data) = 0) j,
         jsonb_array_elements(CASE WHEN jsonb_typeof(j.data -> 'cwe') = 'array'
                                   THEN j.data -> 'cwe' ELSE '[]'::jsonb END) AS e(value)
    UNION ALL
    SELECT 'vuln', e.value #>> '{}', j.finding_id
    FROM (SELECT finding_id, data::jsonb AS data FROM finding_data
          WHERE POSITION('\u0000' IN data) = 0) j,
         jsonb_array_elements(CASE WHEN jsonb_typeof(j.data -> 'vulnerability_ids') = 'array'
                                   THEN j.data -> 'vulnerability_ids' ELSE '[]'::jsonb END) AS e(value)
) k;

-- The queue's default view (open, most severe first) and its filters.
CREATE INDEX findings_queue ON findings (is_open, severity, id);
CREATE INDEX findings_queue_by_product ON findings (product_id, is_open, severity, id);
CREATE INDEX findings_by_scanner ON findings (scanner, is_open, severity);
CREATE INDEX findings_by_category ON findings (category, is_open, severity);
-- Covering for the SLA filters sorted by severity (the default order).
CREATE INDEX findings_by_sla ON findings (is_open, sla_due, severity);
CREATE INDEX findings_by_first_seen ON findings (first_seen);
-- The closed status groups the products' counters do not count: small partial indexes in the
-- queue's default order (only the findings in the group are in them).
CREATE INDEX findings_false_positive ON findings (severity, id) WHERE false_p = TRUE;
CREATE INDEX findings_risk_accepted ON findings (severity, id) WHERE risk_accepted = TRUE;
CREATE INDEX findings_mitigated ON findings (severity, id) WHERE is_mitigated = TRUE;

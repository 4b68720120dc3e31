-- The findings queue (`/ui/findings`, docs/ui.md): every filter of the queue reads columns and
-- indexes, never a finding's JSON. The scanner's name and the finding's location text become
-- columns; the repeatable facets of a finding (tags, CWE numbers, vulnerability ids) become rows
-- of `finding_facets`. All are written at import; here they are filled for existing findings.
ALTER TABLE findings ADD COLUMN scanner TEXT;
-- What the UI shows as "where": file:line, package version, URL, component or target.
ALTER TABLE findings ADD COLUMN location TEXT;
UPDATE findings SET
    scanner = (SELECT CASE WHEN json_valid(d.data) THEN json_extract(d.data, '$.scanner.name') END
               FROM finding_data d WHERE d.finding_id = findings.id),
    location = (SELECT CASE WHEN json_valid(d.data) THEN COALESCE(
        json_extract(d.data, '$.location.file')
            || COALESCE(':' || json_extract(d.data, '$.location.start_line'), ''),
        json_extract(d.data, '$.location.package.name') || ' '
            || COALESCE(json_extract(d.data, '$.location.package.installed_version'), ''),
        json_extract(d.data, '$.location.url'),
        json_extract(d.data, '$.location.component'),
        json_extract(d.data, '$.location.target'),
        '') END
        FROM finding_data d WHERE d.finding_id = findings.id);

-- kind: tag | cwe | vuln; value: the tag word, the CWE number as text, the id verbatim.
CREATE TABLE finding_facets (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    finding_id  BIGINT NOT NULL REFERENCES findings(id)
);
CREATE INDEX finding_facets_by_value ON finding_facets (kind, value, finding_id);
INSERT INTO finding_facets (kind, value, finding_id)
SELECT DISTINCT 'tag', CAST(j.value AS TEXT), d.finding_id
FROM finding_data d,
     json_each(CASE WHEN json_valid(d.data) AND json_type(d.data, '$.tags') = 'array'
                    THEN json_extract(d.data, '$.tags') ELSE '[]' END) j;
INSERT INTO finding_facets (kind, value, finding_id)
SELECT DISTINCT 'cwe', CAST(j.value AS TEXT), d.finding_id
FROM finding_data d,
     json_each(CASE WHEN json_valid(d.data) AND json_type(d.data, '$.cwe') = 'array'
                    THEN json_extract(d.data, '$.cwe') ELSE '[]' END) j;
INSERT INTO finding_facets (kind, value, finding_id)
SELECT DISTINCT 'vuln', CAST(j.value AS TEXT), d.finding_id
FROM finding_data d,
     json_each(CASE WHEN json_valid(d.data) AND json_type(d.data, '$.vulnerability_ids') = 'array'
                    THEN json_extract(d.data, '$.vulnerability_ids') ELSE '[]' END) j;

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

-- A facet's page in the queue's severity order (`cwe=79`, most severe first) walked a window of
-- the findings' own order and probed `finding_facets` once per finding it passed: 244 probes of
-- the facets' index for a page of 50 (1.2 ms of the walk's 1.9 ms; docs/benchmarks.md). Each
-- facet row now carries its finding's severity, which never changes after the finding is
-- written (a reimport moves only lifecycle flags), and the facets' index holds them in that
-- order: the page reads the facet's own rows most severe first and looks at each one's finding
-- only for the other filters (queue.rs, `PostgresPage::facet_walk`).
--
-- The index replaces `finding_facets_by_value (kind, value, finding_id)`: a facet's findings are
-- the same prefix of it, and a probe of one finding's facet (a walk of another order) names the
-- finding's severity too (`x.severity = f.severity`), so it is one descent as before. The
-- facets keep as many indexes as they had, and an import writes no more of them.
ALTER TABLE finding_facets ADD COLUMN severity BIGINT;
UPDATE finding_facets x SET severity = f.severity FROM findings f WHERE f.id = x.finding_id;
ALTER TABLE finding_facets ALTER COLUMN severity SET NOT NULL;
CREATE INDEX finding_facets_in_order ON finding_facets (kind, value, severity, finding_id);
DROP INDEX finding_facets_by_value;

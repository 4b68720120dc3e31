-- Orders of the findings queue that no index held (docs/benchmarks.md, "The findings queue"): a
-- page sorted by SLA or title, or by severity over every status, read and sorted every matching
-- finding (hundreds of thousands of rows on a large hub). Each index holds one order exactly as
-- the queue's ORDER BY writes it (ties by id), then the columns the common filters test (open
-- state, product), so a page walks the index in order, filters from the index alone and stops
-- after one page. A page of a common facet (tag, CWE) walks them too, probing `finding_facets`.
CREATE INDEX findings_sla_order ON findings (
    (CASE WHEN sla_due IS NULL THEN 1 ELSE 0 END), sla_due, severity DESC, id, is_open, product_id);
CREATE INDEX findings_title_order ON findings (title, id, is_open, product_id);
CREATE INDEX findings_severity_order ON findings (severity, id, is_open, product_id);

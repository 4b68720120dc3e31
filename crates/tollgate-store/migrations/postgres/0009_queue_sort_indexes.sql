-- Orders of the findings queue that no index held (docs/benchmarks.md, "The findings queue"): a
-- page sorted by SLA, or by severity over every status, read and sorted every matching finding.
-- Each index holds one order exactly as the queue's ORDER BY writes it (ties by id), then the
-- columns the common filters test (open state, product), so a page walks the index in order and
-- stops after one page. (No title index here: a B-tree entry of PostgreSQL is limited to ~2.7 kB
-- and a scanner's title is not; a sort by title reads the matching findings.)
CREATE INDEX findings_sla_order ON findings (
    (CASE WHEN sla_due IS NULL THEN 1 ELSE 0 END), sla_due, severity DESC, id, is_open, product_id);
CREATE INDEX findings_severity_order ON findings (severity, id, is_open, product_id);

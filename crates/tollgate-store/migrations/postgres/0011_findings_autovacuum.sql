-- Index-only scans need PostgreSQL's visibility map, which only VACUUM sets. Right after a large
-- import or reimport the findings' pages are not all-visible yet and their planner statistics are
-- stale: counting the open critical findings of a 330k-finding hub read 21,552 heap blocks and
-- took 167 ms; after `VACUUM (ANALYZE) findings` (1.3 s) it read the index only: 7 ms
-- (docs/benchmarks.md). PostgreSQL's defaults wait for 20% of a table to change; these tables
-- change by whole reports, so autovacuum is asked to come after 2–5% instead.
ALTER TABLE findings SET (
    autovacuum_vacuum_scale_factor = 0.05,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02
);
ALTER TABLE finding_facets SET (
    autovacuum_vacuum_scale_factor = 0.05,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02
);

-- The queue by age and by first-seen day (docs/benchmarks.md, bench/ui.sh). `category=sast&sort=-age`
-- read the 921,770 open SAST findings of a 1M-finding hub through the category index and sorted
-- them (290 ms alone, 4.3 s at p99 with eight people): walking the open findings in first-seen
-- order (then id, as the queue sorts), with the category beside them in the index, stops after
-- one page (0.1 ms). `since=…&severity=low` counted 247,160 findings by reading each one's
-- first-seen day from the table (60 ms alone): an index of (open, severity, first seen) counts
-- them from one range of itself (5 ms on SQLite).
CREATE INDEX findings_open_by_age ON findings (is_open, first_seen, id, category);
CREATE INDEX findings_open_by_severity_age ON findings (is_open, severity, first_seen);
-- The queue by title (`sort=title`, 1.3 s at p99 over 1M findings): PostgreSQL can not index whole
-- titles (a B-tree entry holds ~2.7 kB and a scanner's title is not bounded), so the queue sorts
-- there by the first 256 characters, then the whole title within a tie (an incremental sort of
-- a few rows), then id; this index holds that order's first key.
CREATE INDEX findings_title_prefix_order ON findings (LEFT(title, 256), id);

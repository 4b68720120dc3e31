-- The queue by age and by first-seen day (docs/benchmarks.md, bench/ui.sh). `category=sast&sort=-age`
-- read the 921,770 open SAST findings of a 1M-finding hub through the category index and sorted
-- them (290 ms alone, 4.3 s at p99 with eight people): walking the open findings in first-seen
-- order (then id, as the queue sorts), with the category beside them in the index, stops after
-- one page (0.1 ms). `since=…&severity=low` counted 247,160 findings by reading each one's
-- first-seen day from the table (60 ms alone): an index of (open, severity, first seen) counts
-- them from one range of itself (5 ms).
CREATE INDEX findings_open_by_age ON findings (is_open, first_seen, id, category);
CREATE INDEX findings_open_by_severity_age ON findings (is_open, severity, first_seen);

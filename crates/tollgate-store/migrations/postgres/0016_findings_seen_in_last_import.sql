-- A finding the last import of its test reported is not written by that import: its `last_seen`
-- is that import's time, read through `tests.last_import_id` (query.rs, FINDING_COLUMNS). An
-- import then writes only the findings whose answer changes (reported again after a miss, or
-- missed after being reported) instead of every finding it saw again: 90k row updates of a
-- 100k-finding reimport, 4 s of 8 on a 1M-finding PostgreSQL hub. `last_seen` holds the time when
-- the flag is false. Rows from before this migration keep their stored time (false); the next import of
-- their test sets the flag on what it reports.
ALTER TABLE findings ADD COLUMN seen_in_last_import BOOLEAN NOT NULL DEFAULT FALSE;

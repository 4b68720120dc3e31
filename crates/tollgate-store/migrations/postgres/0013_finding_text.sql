-- The queue's text filter (`q`: a substring of the title or the location, case-insensitive) read
-- every open finding's title and location (docs/benchmarks.md). Trigram indexes (pg_trgm) of the
-- two lower-cased texts answer its `LOWER(…) LIKE '%…%'` directly. pg_trgm ships with
-- PostgreSQL (contrib) and is a trusted extension: a database owner may create it. Where it can
-- not be created the migration leaves a notice and the filter still works, reading every
-- finding.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX findings_title_text ON findings USING gin (LOWER(title) gin_trgm_ops);
    CREATE INDEX findings_location_text ON findings
        USING gin (LOWER(COALESCE(location, '')) gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): the queue''s text filter reads every finding', SQLERRM;
END $$;

-- The queue's text filter (`q`: a substring of the title or the location, case-insensitive) read
-- every open finding's title and location (docs/benchmarks.md). `finding_text` holds both texts
-- lower-cased, one row per finding, and a trigram index (pg_trgm) of it answers
-- `LIKE '%…%'`; the LIKE over the findings' own columns still decides (queue.rs), so this only
-- narrows. A table apart, not an index on `findings`: an import's update of 100k untouched
-- findings (`last_seen`) writes new row versions, and a trigram index on `findings` took a new
-- entry for each (+2.3 s per 100k-finding reimport, measured); this table changes only when a
-- title or location does. Kept by triggers as the tallies are.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a database owner may
-- create it. Where it can not be created the migration leaves a notice and the filter reads
-- this narrow table instead of the index.
CREATE TABLE finding_text (
    finding_id BIGINT PRIMARY KEY,
    text       TEXT NOT NULL
);
INSERT INTO finding_text
SELECT id, LOWER(title || E'\n' || COALESCE(location, '')) FROM findings;

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX finding_text_trigrams ON finding_text USING gin (text gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): the queue''s text filter reads finding_text whole', SQLERRM;
END $$;

CREATE FUNCTION finding_text_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_text
    SELECT id, LOWER(title || E'\n' || COALESCE(location, '')) FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION finding_text_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE finding_text SET text = LOWER(NEW.title || E'\n' || COALESCE(NEW.location, ''))
    WHERE finding_id = NEW.id;
    RETURN NULL;
END $$;

CREATE FUNCTION finding_text_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM finding_text WHERE finding_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER finding_text_insert AFTER INSERT ON findings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_text_insert();
CREATE TRIGGER finding_text_update AFTER UPDATE OF title, location ON findings
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.location IS DISTINCT FROM NEW.location)
    EXECUTE FUNCTION finding_text_update();
CREATE TRIGGER finding_text_delete AFTER DELETE ON findings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION finding_text_delete();

-- The queue's text filter in severity order (the default: `q=module7/pkg`, most severe first)
-- walked a window of the findings' own order and read each finding's title and location: for a
-- text in 1 of 90 open findings, 4,231 findings to fill a page of 50, nearly one heap page each
-- (2,168 buffers: 9.7 ms warm, and twice that while reimports evict those pages from the
-- default 128 MB of shared_buffers; docs/benchmarks.md). `finding_text` now carries each
-- finding's severity (written with the finding and never changed: a reimport moves only
-- lifecycle flags; the update trigger follows it all the same) and an index in the queue's
-- severity order that holds the text itself, so such a page reads that index's adjacent
-- entries alone (an index-only scan: ~100 buffers for the same 4,592 rows) and looks at a
-- finding only when its text matches (queue.rs, `PostgresPage::text_window`).
--
-- A B-tree entry holds at most ~2.7 kB, and scanner text has no bound (a ZAP URL, a long
-- title): the index holds the texts of at most 2,000 bytes, and a second, partial index the
-- rest in the same order without their text; the page merges the two (a Merge Append). Neither
-- index holds the open state or the product, so an import's state changes stay HOT updates here
-- (migration 0015), with no new index entry.
--
-- Rebuilt rather than updated in place, as in 0015: an UPDATE of a million rows would write a
-- new version of each and new entries in the trigram index.
CREATE TABLE finding_text_next (
    finding_id BIGINT PRIMARY KEY,
    product_id BIGINT NOT NULL,
    is_open    BOOLEAN NOT NULL,
    severity   BIGINT NOT NULL,
    text       TEXT NOT NULL
) WITH (fillfactor = 80);
INSERT INTO finding_text_next
SELECT f.id, f.product_id, f.is_open, f.severity,
       LOWER(f.title || E'\n' || COALESCE(f.location, ''))
FROM findings f;

DROP TABLE finding_text;
ALTER TABLE finding_text_next RENAME TO finding_text;
ALTER INDEX finding_text_next_pkey RENAME TO finding_text_pkey;
CREATE INDEX finding_text_by_product ON finding_text (product_id);
CREATE INDEX finding_text_in_order ON finding_text (severity, finding_id) INCLUDE (text)
    WHERE octet_length(text) <= 2000;
CREATE INDEX finding_text_long_in_order ON finding_text (severity, finding_id)
    WHERE octet_length(text) > 2000;

DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX finding_text_trigrams ON finding_text USING gin (text gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): the queue''s text filter reads finding_text whole', SQLERRM;
END $$;

CREATE OR REPLACE FUNCTION finding_text_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO finding_text
    SELECT id, product_id, is_open, severity, LOWER(title || E'\n' || COALESCE(location, ''))
    FROM new_rows;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION finding_text_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE finding_text
    SET text = LOWER(NEW.title || E'\n' || COALESCE(NEW.location, '')), severity = NEW.severity
    WHERE finding_id = NEW.id;
    RETURN NULL;
END $$;

DROP TRIGGER finding_text_update ON findings;
CREATE TRIGGER finding_text_update AFTER UPDATE OF title, location, severity ON findings
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.location IS DISTINCT FROM NEW.location
          OR OLD.severity IS DISTINCT FROM NEW.severity)
    EXECUTE FUNCTION finding_text_update();

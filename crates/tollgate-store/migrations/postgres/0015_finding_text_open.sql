-- The count of the queue's text filter (`q`) read each candidate's finding to test whether it is
-- open and to test the text again: 94,520 open findings hold `sql-injection` on a 1M-finding hub,
-- 447 ms to count, 330 ms of it in `findings`, and a count is read again after every import
-- (docs/benchmarks.md). `finding_text` now carries the finding's product and open state, so the
-- count of a text with a status group and products (or a viewer's product limit) reads
-- `finding_text` alone (queue.rs, `FindingFilter::text_count`): its text is the title and the
-- location, lower-cased, joined by a line feed, so a text without a line feed is in it exactly
-- when it is in the title or in the location.
--
-- Rebuilt rather than updated in place: an UPDATE of a million rows would write a new version of
-- each and a new entry in the trigram index for it. Pages keep room (fillfactor 80) so that an
-- import that closes or reopens a finding updates its row here in place (a HOT update: the
-- trigram index does not hold the open state, so it takes no new entry).
CREATE TABLE finding_text_next (
    finding_id BIGINT PRIMARY KEY,
    product_id BIGINT NOT NULL,
    is_open    BOOLEAN NOT NULL,
    text       TEXT NOT NULL
) WITH (fillfactor = 80);
INSERT INTO finding_text_next
SELECT f.id, f.product_id, f.is_open, LOWER(f.title || E'\n' || COALESCE(f.location, ''))
FROM findings f;

DROP TABLE finding_text;
ALTER TABLE finding_text_next RENAME TO finding_text;
ALTER INDEX finding_text_next_pkey RENAME TO finding_text_pkey;

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
    SELECT id, product_id, is_open, LOWER(title || E'\n' || COALESCE(location, '')) FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION finding_text_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE finding_text SET product_id = NEW.product_id, is_open = NEW.is_open
    WHERE finding_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER finding_text_state AFTER UPDATE OF product_id, is_open ON findings
    FOR EACH ROW
    WHEN (OLD.product_id IS DISTINCT FROM NEW.product_id OR OLD.is_open IS DISTINCT FROM NEW.is_open)
    EXECUTE FUNCTION finding_text_state();

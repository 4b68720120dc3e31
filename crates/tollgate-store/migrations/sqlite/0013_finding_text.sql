-- The queue's text filter (`q`: a substring of the title or the location, case-insensitive) read
-- every open finding's title and location: 0.6 s alone on a 1M-finding hub and 13 s at p99 with
-- eight people at once (docs/benchmarks.md). A full-text index of trigrams finds the findings
-- holding the text's trigrams; the LIKE still decides (queue.rs), so the index only narrows.
-- Contentless (the text is in `findings`), with deletes, kept by triggers as the tallies are.
-- `detail = none` keeps only which findings hold a trigram, not where: a third of the time to
-- build, and enough, since the query asks for every trigram of the text (a superset of the
-- findings holding the text in one piece, which the LIKE then picks).
CREATE VIRTUAL TABLE finding_text USING fts5 (
    title, location, content = '', contentless_delete = 1, tokenize = 'trigram', detail = none
);
INSERT INTO finding_text (rowid, title, location)
SELECT id, title, COALESCE(location, '') FROM findings;
-- How many findings hold a trigram: the queue searches by the text's rarest trigrams.
CREATE VIRTUAL TABLE finding_text_vocab USING fts5vocab (finding_text, 'row');

CREATE TRIGGER finding_text_insert AFTER INSERT ON findings BEGIN
    INSERT INTO finding_text (rowid, title, location)
    VALUES (NEW.id, NEW.title, COALESCE(NEW.location, ''));
END;

CREATE TRIGGER finding_text_delete AFTER DELETE ON findings BEGIN
    DELETE FROM finding_text WHERE rowid = OLD.id;
END;

CREATE TRIGGER finding_text_update AFTER UPDATE OF title, location ON findings
WHEN OLD.title IS NOT NEW.title OR OLD.location IS NOT NEW.location
BEGIN
    DELETE FROM finding_text WHERE rowid = OLD.id;
    INSERT INTO finding_text (rowid, title, location)
    VALUES (NEW.id, NEW.title, COALESCE(NEW.location, ''));
END;

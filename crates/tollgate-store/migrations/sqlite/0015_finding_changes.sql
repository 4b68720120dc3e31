-- A number that every change of what the queue reads moves: the findings, their facets, the
-- products (names, tiers, platforms). A read that finds the same number sees the same data, so
-- the queue remembers the count of a filter that had to read its findings (text, an SLA state,
-- a first-seen day: 100 ms for text held by 94k of 1M findings) under this number, and a second
-- page or a second person asking reads it back (queue.rs, `CountCache`). Row triggers, as the
-- tallies are kept: no write path can forget them (0.2 µs per row, measured).
-- PostgreSQL names a read's data by its snapshot (`pg_current_snapshot()`) and needs no table.
CREATE TABLE finding_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO finding_changes VALUES (1, 0);

CREATE TRIGGER finding_changes_insert AFTER INSERT ON findings BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_update AFTER UPDATE ON findings BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_delete AFTER DELETE ON findings BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_facet_insert AFTER INSERT ON finding_facets BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_facet_update AFTER UPDATE ON finding_facets BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_facet_delete AFTER DELETE ON finding_facets BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_product_update AFTER UPDATE ON products BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER finding_changes_product_delete AFTER DELETE ON products BEGIN
    UPDATE finding_changes SET n = n + 1 WHERE id = 1;
END;

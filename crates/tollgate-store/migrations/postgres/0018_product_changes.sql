-- The queue remembers the counts it has to count over the findings (text, an SLA state, a
-- first-seen day, two facets) by the data they were counted on (queue.rs, `CountCache`). On
-- PostgreSQL that was the snapshot's committed transactions, so that any commit — a reimport
-- into one product — made every such count be counted again over every product: `q=sql-injection`
-- read the 25k pages of `finding_text` holding it (136 ms) after each commit, 5-12x SQLite's p99
-- while reimports ran (docs/benchmarks.md).
--
-- Each product now carries a number that every write of its findings or their facets moves, in
-- the writer's own transaction (these statement triggers: no write path can forget them). A
-- snapshot that reads the same number reads the same findings of that product, so the queue
-- remembers a count per product under it and counts again only the products whose number moved:
-- after a reimport into one product of ten, a tenth of the rows. Writers already hold their
-- products' rows (`Store::lock_products`, taken before any finding's), so the update here waits
-- for nobody and orders no lock anew.
ALTER TABLE products ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION products_changed_by_findings() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT DISTINCT product_id FROM old_rows);
    ELSE
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT product_id FROM new_rows UNION SELECT product_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$;

-- Facets name their finding: its product is read by the findings' primary key (without hash and
-- merge joins the planner cannot pick a scan of every finding, as for the facets' tallies).
CREATE FUNCTION products_changed_by_facets() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT DISTINCT f.product_id FROM findings f
                     WHERE f.id = ANY (ARRAY(SELECT DISTINCT finding_id FROM new_rows)));
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT DISTINCT f.product_id FROM findings f
                     WHERE f.id = ANY (ARRAY(SELECT DISTINCT finding_id FROM old_rows)));
    ELSE
        UPDATE products SET changes = changes + 1
        WHERE id IN (SELECT DISTINCT f.product_id FROM findings f
                     WHERE f.id = ANY (ARRAY(SELECT finding_id FROM new_rows
                                             UNION SELECT finding_id FROM old_rows)));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_changed_insert AFTER INSERT ON findings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_findings();
CREATE TRIGGER products_changed_update AFTER UPDATE ON findings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_findings();
CREATE TRIGGER products_changed_delete AFTER DELETE ON findings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_findings();
CREATE TRIGGER products_changed_facet_insert AFTER INSERT ON finding_facets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_facets();
CREATE TRIGGER products_changed_facet_update AFTER UPDATE ON finding_facets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_facets();
CREATE TRIGGER products_changed_facet_delete AFTER DELETE ON finding_facets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_changed_by_facets();

-- A count of one product's text reads that product's rows: the trigram index's candidates and
-- this index's rows of the product, intersected (a bitmap AND) before the table is read.
CREATE INDEX finding_text_by_product ON finding_text (product_id);

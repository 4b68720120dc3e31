-- PostgreSQL only (autovacuum settings of the findings' tables); SQLite's statistics are kept by
-- the store after imports (see refresh_sqlite_statistics). Kept so both backends number their
-- migrations alike.
SELECT 1;

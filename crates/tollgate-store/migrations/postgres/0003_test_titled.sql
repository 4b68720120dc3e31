-- Whether the call that created a test named it (`test_title`): DefectDojo's test title is null
-- otherwise, and the hub shows it so. Tests created before this migration are taken as named
-- when their title differs from their scan type (the default the hub stored).
ALTER TABLE tests ADD COLUMN titled BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE tests SET titled = (title <> scan_type);

-- Open findings of the test right after each import (written by the import, in its transaction):
-- the test page's trend reads these instead of replaying the test's status-change log. Imports
-- made before this migration have none (NULL): the page leaves their point out.
ALTER TABLE imports ADD COLUMN open_after BIGINT;

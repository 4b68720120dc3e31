-- The risk acceptances that end soon (the web UI's /ui/risk-acceptances) are read through this
-- index, not by a scan of the findings: only findings with an end date are in it.
CREATE INDEX findings_by_risk_accepted_until ON findings (risk_accepted_until)
    WHERE risk_accepted_until IS NOT NULL;

-- A product's and an engagement's pages count each test's findings by severity and state from
-- this index alone (an index-only scan), not from the findings' rows.
CREATE INDEX findings_by_test_state ON findings (test_id, severity, is_open);

-- The risk acceptances that end soon (the web UI's /ui/risk-acceptances) are read through this
-- index, not by a scan of the findings: only findings with an end date are in it.
CREATE INDEX findings_by_risk_accepted_until ON findings (risk_accepted_until)
    WHERE risk_accepted_until IS NOT NULL;

//! DefectDojo-shaped JSON for products, engagements, tests, findings.

//! JSON shapes the hub returns, built from store types (pure functions, no I/O).
//!
//! `defectdojo` speaks DefectDojo API v2 (docs/hub-api.md), `security_finding` the Results API
//! shaped like Data Theorem's (docs/results-api.md). Instants are RFC 3339 in UTC, dates
//! `YYYY-MM-DD`.

pub mod defectdojo;
pub mod security_finding;

/// `2026-01-02T03:04:05Z` for Unix seconds (UTC).
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `2026-01-02` for Unix seconds (UTC).
pub fn date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-01-02T03:04:05Z, computed by hand: 20455 days + 3h 4m 5s
        assert_eq!(
            rfc3339(20_455 * 86_400 + 3 * 3600 + 4 * 60 + 5),
            "2026-01-02T03:04:05Z"
        );
        // leap day and the day after it
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(951_868_800), "2000-03-01");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}

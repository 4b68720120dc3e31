//! RFC 3339 instants to and from Unix seconds (UTC), without a date-time crate.

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-22T10:00:00Z` for Unix seconds.
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        let mut clock = String::new();
        push_clock(&mut clock, secs.rem_euclid(86_400));
        return format!("{y:04}-{m:02}-{d:02}T{clock}Z");
    }
    // Written digit by digit: pages render three of these per finding.
    let s = secs.rem_euclid(86_400);
    let mut out = String::with_capacity(20);
    push_digits(&mut out, y, 4);
    out.push('-');
    push_digits(&mut out, m, 2);
    out.push('-');
    push_digits(&mut out, d, 2);
    out.push('T');
    push_clock(&mut out, s);
    out.push('Z');
    out
}

/// Appends `HH:MM:SS` of a second of the day.
fn push_clock(out: &mut String, s: i64) {
    push_digits(out, s / 3600, 2);
    out.push(':');
    push_digits(out, s % 3600 / 60, 2);
    out.push(':');
    push_digits(out, s % 60, 2);
}

/// Appends the `width` low decimal digits of `n` (0 ≤ n), zero-padded.
fn push_digits(out: &mut String, n: i64, width: u32) {
    for k in (0..width).rev() {
        let digit = (n / 10_i64.pow(k)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// `2026-11-22` for Unix seconds (UTC).
pub fn date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days in month `m` (1–12) of year `y`, leap years included.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Reads a calendar date, exactly `YYYY-MM-DD` (`2023-02-31` is no date): Unix seconds at its
/// midnight UTC.
pub fn parse_date(text: &str) -> Option<i64> {
    if text.len() != 10 {
        return None;
    }
    parse(text)
}

/// Reads `2026-11-22`, `2026-11-22T10:00:00Z`, `…T10:00:00.123+02:00`, `… 10:00:00` (UTC).
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    secs += h * 3600 + mi * 60 + s;
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    match rest {
        "" | "Z" | "z" => Some(secs),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let off = &rest[1..];
            if off.len() != 5 || off.as_bytes()[2] != b':' {
                return None;
            }
            let oh: i64 = off[0..2].parse().ok()?;
            let om: i64 = off[3..5].parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            Some(secs - sign * (oh * 3600 + om * 60))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(parse_date("2023-02-31"), None);
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-04-31"), None);
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2000-02-29").is_some());
        assert_eq!(parse_date("1900-02-29"), None);
        assert_eq!(parse_date("2023-12-31T00:00:00Z"), None);
        assert_eq!(parse("2023-02-30T10:00:00Z"), None);
        assert_eq!(parse("2023-01-01T10:00:00+24:00"), None);
        assert_eq!(parse("2023-01-01T10:00:00+é:00"), None);
    }

    #[test]
    fn round_trips_and_offsets() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
        let t = parse("2026-11-22T10:20:30Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-22T10:20:30Z");
        assert_eq!(parse("2026-11-22T12:20:30.5+02:00"), Some(t));
        assert_eq!(parse("2026-11-22"), Some(t - 10 * 3600 - 20 * 60 - 30));
        assert_eq!(
            parse("2024-02-29T00:00:00Z").map(rfc3339).unwrap(),
            "2024-02-29T00:00:00Z"
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-22T25:00:00Z",
            "2026-11-22T10:00:00+0200",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}

//! RFC 3339 timestamps, parsed and formatted by hand: the service's two time fields do not justify a
//! date-time dependency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `2025-01-01T12:00:00.000Z` or `2025-01-01T12:00:00+02:00` (fraction optional, `T` may be a
/// space or lowercase). `None` for anything else, or a time before 1970.
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.trim().as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        // Digits only: `parse` would take a sign.
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    // The fraction, if any: at least one digit, read to the nanosecond.
    let fraction = match b[19] {
        b'.' => b[20..].iter().take_while(|d| d.is_ascii_digit()).count(),
        _ => 0,
    };
    if b[19] == b'.' && fraction == 0 {
        return None;
    }
    let digits = b[20..20 + fraction].iter().take(9).zip((0..9).rev());
    let nanos = digits
        .map(|(d, power)| u32::from(d - b'0') * 10u32.pow(power))
        .sum();
    let i = if fraction > 0 { 20 + fraction } else { 19 };
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let sign = if *sign == b'+' { 1 } else { -1 };
            (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))?
        }
        _ => return None,
    };

    // A leap second is read as the last second of its minute.
    let second = second.min(59);
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Formats as `2025-01-01T12:00:00.000Z` (UTC, milliseconds), the service's own form.
pub(crate) fn format_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (public domain), for the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<u64> {
        parse_rfc3339(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn parses_known_instants() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2025-01-01T12:00:00.000Z"), Some(1_735_732_800));
        assert_eq!(secs("2025-01-01T14:00:00+02:00"), Some(1_735_732_800));
        assert_eq!(secs("2025-01-01 07:30:00-04:30"), Some(1_735_732_800));
        assert_eq!(secs("2024-02-29t00:00:00z"), Some(1_709_164_800));
        assert_eq!(secs("2016-12-31T23:59:60Z"), Some(1_483_228_799));
    }

    #[test]
    fn keeps_the_fraction() {
        let t = parse_rfc3339("2025-01-01T12:00:00.123456789Z").unwrap();
        // To the platform's resolution: nanoseconds on Unix, 100 ns on Windows (123_456_700).
        assert_eq!(t, UNIX_EPOCH + Duration::new(1_735_732_800, 123_456_789));
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().subsec_micros(),
            123_456
        );
    }

    #[test]
    fn refuses_malformed_text() {
        for s in [
            "",
            "2025-01-01",
            "2025-01-01T12:00:00",
            "2025-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T12:00:00.Z",
            "2025-01-01T12:00:00+0200",
            "1969-12-31T23:59:59Z",
            "2025-0a-01T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn formats_and_parses_back() {
        for secs in [
            0u64,
            951_782_400,
            1_735_732_800,
            4_102_444_800,
            253_402_300_799,
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(secs * 1000 + 42);
            let text = format_rfc3339(t);
            assert_eq!(parse_rfc3339(&text), Some(t), "{text}");
        }
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(1_735_732_800)),
            "2025-01-01T12:00:00.000Z"
        );
    }
}

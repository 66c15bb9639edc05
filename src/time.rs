//! Time as quota writes and reads it: UTC RFC 3339 with whole seconds for timestamps,
//! `YYYY-MM-DD` for days. The one parser every layer uses.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// UTC RFC 3339 with seconds, as every timestamp column and JSON field carries it.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Any RFC 3339 time (fractional seconds and offsets included), in UTC.
pub(crate) fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// A time for people, to the minute: `2026-11-20 12:00 UTC`.
pub(crate) fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time for a table cell, short: `11-20 12:00` in `now`'s year, `2025-11-20` before it.
pub(crate) fn short(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    use chrono::Datelike;
    if t.year() == now.year() {
        t.format("%m-%d %H:%M").to_string()
    } else {
        t.format("%Y-%m-%d").to_string()
    }
}

/// A UTC day as `YYYY-MM-DD`.
pub(crate) fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A duration as the config writes it: `20s`, `0.5s`.
pub(crate) fn seconds(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A `YYYY-MM-DD` day: the one parser for the days quota stores, marks and takes as flags.
pub(crate) fn parse_day(s: &str) -> Result<NaiveDate, chrono::ParseError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
}

/// 00:00 UTC of a day.
pub(crate) fn start_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Midnight UTC of a day, as the report endpoints take `starting_at`.
pub(crate) fn midnight(d: NaiveDate) -> String {
    format!("{}T00:00:00Z", day(d))
}

/// `30m`, `2h`, `1h30m`, `1d`, `90s`: a positive length, or `None`.
pub(crate) fn duration(text: &str) -> Option<chrono::Duration> {
    let mut total = chrono::Duration::zero();
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += match c {
            'd' => chrono::Duration::days(n),
            'h' => chrono::Duration::hours(n),
            'm' => chrono::Duration::minutes(n),
            's' => chrono::Duration::seconds(n),
            _ => return None,
        };
    }
    (number.is_empty() && total > chrono::Duration::zero()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fractions_and_offsets_and_writes_seconds() {
        let t = parse("2026-11-28T13:00:00.123+01:00").unwrap();
        assert_eq!(ts(t), "2026-11-28T12:00:00Z");
        assert!(parse("2026-11-28").is_err());
        assert_eq!(parse_day("2026-02-03").unwrap().to_string(), "2026-02-03");
        assert!(parse_day("2026-02-30").is_err() && parse_day("3 Feb").is_err());
        assert_eq!(seconds(std::time::Duration::from_secs(20)), "20s");
        assert_eq!(seconds(std::time::Duration::from_millis(500)), "0.5s");
        let d = NaiveDate::from_ymd_opt(2026, 2, 3).unwrap();
        assert_eq!(
            (day(d), midnight(d)),
            ("2026-02-03".into(), "2026-02-03T00:00:00Z".into())
        );
    }
}

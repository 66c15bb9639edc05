//! Billing periods (SPEC §2): a period starts at 00:00 UTC on the account's `billing_day` and
//! ends where the next one begins; in a month without that day it starts on the month's last
//! day. Pure functions of `(billing_day, now)`. Beside the period, an account may have limits
//! per UTC day and per ISO week (`Window`): each window's instance containing `now` is a
//! `Period` too.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::time::start_of;

string_enum!(
    /// Which window a limit applies to: the billing period, the UTC day, or the ISO week
    /// (Monday 00:00 UTC to the next).
    Window { Period => "period", Day => "day", Week => "week" }
);

impl Window {
    /// The config table that sets this window's limits (`[accounts.daily]`).
    pub(crate) fn table(self) -> &'static str {
        match self {
            Window::Period => "period",
            Window::Day => "daily",
            Window::Week => "weekly",
        }
    }

    /// This window's instance that contains `now`, for an account billed on `billing_day`.
    pub(crate) fn containing(self, billing_day: u32, now: DateTime<Utc>) -> Period {
        let today = now.date_naive();
        let days = |first: NaiveDate, n: i64| Period {
            start: start_of(first),
            end: start_of(first + Duration::days(n)),
        };
        match self {
            Window::Period => Period::containing(billing_day, now),
            Window::Day => days(today, 1),
            Window::Week => days(
                today - Duration::days(i64::from(today.weekday().num_days_from_monday())),
                7,
            ),
        }
    }
}

/// A half-open interval `[start, end)` of whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    /// The period that contains `now`. `billing_day` must be 1–31 (validated with the config).
    pub(crate) fn containing(billing_day: u32, now: DateTime<Utc>) -> Period {
        let (year, month) = (now.year(), now.month());
        let this_month = start_in_month(billing_day, year, month);
        if now >= this_month {
            let (ny, nm) = next_month(year, month);
            Period {
                start: this_month,
                end: start_in_month(billing_day, ny, nm),
            }
        } else {
            let (py, pm) = prev_month(year, month);
            Period {
                start: start_in_month(billing_day, py, pm),
                end: this_month,
            }
        }
    }

    pub(crate) fn start_day(&self) -> NaiveDate {
        self.start.date_naive()
    }

    /// The first day no longer in the period (exclusive bound for day buckets).
    pub(crate) fn end_day(&self) -> NaiveDate {
        self.end.date_naive()
    }

    pub(crate) fn contains_day(&self, day: NaiveDate) -> bool {
        self.start_day() <= day && day < self.end_day()
    }

    /// Time left until the period rolls over (zero if `now` is past the end).
    pub(crate) fn remaining(&self, now: DateTime<Utc>) -> Duration {
        (self.end - now).max(Duration::zero())
    }
}

fn start_in_month(billing_day: u32, year: i32, month: u32) -> DateTime<Utc> {
    let day = billing_day.clamp(1, last_day_of_month(year, month));
    start_of(NaiveDate::from_ymd_opt(year, month, day).expect("day clamped to the month"))
}

pub(crate) fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = next_month(year, month);
    let first_of_next = NaiveDate::from_ymd_opt(ny, nm, 1).expect("valid month");
    first_of_next
        .pred_opt()
        .expect("not the first representable day")
        .day()
}

fn next_month(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

fn prev_month(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

/// "12d 4h", "3h 20m", "45m": how long until `end`, for tables.
pub(crate) fn human_duration(d: Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, (mins / 60) % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn period(bd: u32, now: &str) -> (String, String) {
        let p = Period::containing(bd, at(now));
        (p.start.to_rfc3339(), p.end.to_rfc3339())
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (at(a).to_rfc3339(), at(b).to_rfc3339())
    }

    #[test]
    fn first_of_month_is_the_calendar_month() {
        assert_eq!(
            period(1, "2026-11-28T12:00:00Z"),
            pair("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn december_rolls_into_january() {
        assert_eq!(
            period(1, "2026-12-31T23:59:59Z"),
            pair("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
        );
        assert_eq!(
            period(15, "2027-01-03T00:00:00Z"),
            pair("2026-12-15T00:00:00Z", "2027-01-15T00:00:00Z")
        );
    }

    #[test]
    fn billing_day_31_clamps_to_short_months() {
        assert_eq!(
            period(31, "2027-01-31T00:00:00Z"),
            pair("2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z")
        );
        assert_eq!(
            period(31, "2027-01-30T23:59:59Z"),
            pair("2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z")
        );
        assert_eq!(
            period(31, "2027-03-01T00:00:00Z"),
            pair("2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z")
        );
        assert_eq!(
            period(30, "2027-04-30T10:00:00Z"),
            pair("2027-04-30T00:00:00Z", "2027-05-30T00:00:00Z")
        );
    }

    #[test]
    fn february_in_leap_and_common_years() {
        assert_eq!(
            period(29, "2028-02-29T00:00:00Z"),
            pair("2028-02-29T00:00:00Z", "2028-03-29T00:00:00Z")
        );
        assert_eq!(
            period(29, "2027-02-28T06:00:00Z"),
            pair("2027-02-28T00:00:00Z", "2027-03-29T00:00:00Z")
        );
        assert_eq!(
            period(30, "2028-02-29T23:00:00Z"),
            pair("2028-02-29T00:00:00Z", "2028-03-30T00:00:00Z")
        );
        assert_eq!(last_day_of_month(2100, 2), 28);
        assert_eq!(last_day_of_month(2000, 2), 29);
    }

    #[test]
    fn now_exactly_on_a_boundary_starts_the_new_period() {
        assert_eq!(
            period(15, "2026-11-15T00:00:00Z"),
            pair("2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z")
        );
        assert_eq!(
            period(15, "2026-11-14T23:59:59.999Z"),
            pair("2026-10-15T00:00:00Z", "2026-11-15T00:00:00Z")
        );
    }

    #[test]
    fn days_and_iso_weeks_start_at_utc_midnight_and_on_monday() {
        let span = |w: Window, now: &str| {
            let p = w.containing(15, at(now));
            (p.start.to_rfc3339(), p.end.to_rfc3339())
        };
        assert_eq!(
            span(Window::Day, "2026-12-31T23:59:59Z"),
            pair("2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z")
        );
        // 2026-12-04 is a Friday; the week runs Monday to Monday, across the year's end too.
        assert_eq!(
            span(Window::Week, "2026-12-04T12:00:00Z"),
            pair("2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z")
        );
        assert_eq!(
            span(Window::Week, "2026-12-07T00:00:00Z"),
            pair("2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z")
        );
        assert_eq!(
            span(Window::Week, "2027-01-01T08:00:00Z"),
            pair("2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z")
        );
        assert_eq!(
            span(Window::Period, "2026-12-04T12:00:00Z"),
            period(15, "2026-12-04T12:00:00Z")
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::minutes(45)), "45m");
        assert_eq!(human_duration(Duration::minutes(200)), "3h 20m");
        assert_eq!(human_duration(Duration::hours(292)), "12d 4h");
        assert_eq!(human_duration(Duration::minutes(-5)), "0m");
    }

    proptest! {
        #[test]
        fn every_instant_lies_in_its_period_and_periods_tile(
            bd in 1u32..=31,
            secs in 0i64..(200 * 366 * 86_400),
        ) {
            let now = at("1990-01-01T00:00:00Z") + Duration::seconds(secs);
            let p = Period::containing(bd, now);
            prop_assert!(p.start <= now && now < p.end);
            prop_assert_eq!(Period::containing(bd, p.end).start, p.end);
            prop_assert_eq!(Period::containing(bd, p.start - Duration::seconds(1)).end, p.start);
            let len = (p.end - p.start).num_days();
            prop_assert!((28..=31).contains(&len), "period of {} days", len);
        }
    }
}

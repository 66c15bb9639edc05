//! Which days a sync must read (SPEC §1). Steady state re-reads yesterday and today (UTC):
//! the newest bucket is never final and late data corrects itself. After a gap the window
//! reaches back to the day of the account's last successful sync, so no day is skipped (a
//! period that began since is covered by that too). An account never synced, or `--full`,
//! reads its whole current period (and week, if it has weekly limits and the week began
//! earlier). Nothing older than the retention horizon is read.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::account::Account;
use crate::period::Period;

pub(crate) fn first_day(
    accounts: &[&Account],
    last_synced: impl Fn(&Account) -> Option<DateTime<Utc>>,
    full: bool,
    retention_days: u32,
    now: DateTime<Utc>,
) -> NaiveDate {
    let yesterday = now.date_naive() - Duration::days(1);
    accounts
        .iter()
        .map(|a| match last_synced(a) {
            Some(last) if !full => last.date_naive(),
            _ => first_of_windows(a, now),
        })
        .min()
        .map_or(yesterday, |day| within(day, retention_days, now))
}

/// The first day of `account`'s current period, or of its week when that began earlier.
fn first_of_windows(account: &Account, now: DateTime<Utc>) -> NaiveDate {
    account
        .each_window(now)
        .map(|(_, span, _, _)| span.start_day())
        .min()
        .unwrap_or_else(|| Period::containing(account.billing_day, now).start_day())
}

/// `day`, but no later than yesterday and no earlier than the retention horizon.
fn within(day: NaiveDate, retention_days: u32, now: DateTime<Utc>) -> NaiveDate {
    let yesterday = now.date_naive() - Duration::days(1);
    let horizon = now.date_naive() - Duration::days(i64::from(retention_days));
    day.min(yesterday).max(horizon.min(yesterday))
}

/// The first day the cost report must cover: back to the day of the last successful cost
/// fetch (so no day is skipped), else the earliest current period start of the accounts
/// with a cost limit; never past retention.
pub(crate) fn cost_first_day(
    last: Option<DateTime<Utc>>,
    accounts: &[&Account],
    retention_days: u32,
    now: DateTime<Utc>,
) -> NaiveDate {
    let yesterday = now.date_naive() - Duration::days(1);
    let from = match last {
        Some(t) => t.date_naive(),
        None => accounts
            .iter()
            .map(|a| first_of_windows(a, now))
            .min()
            .unwrap_or(yesterday),
    };
    within(from, retention_days, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Selector;
    use crate::quota::Limits;
    use std::collections::HashMap;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        crate::time::parse_day(s).unwrap()
    }

    fn account(name: &str, billing_day: u32) -> Account {
        Account {
            name: name.into(),
            selector: Selector::Organization,
            limits: Limits::default().into(),
            billing_day,
            thresholds: vec![80].into(),
            forecast: true,
            windows: Vec::new().into(),
            burn: crate::burn::STANDARD.into(),
            model: None,
        }
    }

    fn synced(pairs: &[(&str, &str)]) -> impl Fn(&Account) -> Option<DateTime<Utc>> {
        let map: HashMap<String, DateTime<Utc>> =
            pairs.iter().map(|(n, t)| (n.to_string(), at(t))).collect();
        move |a| map.get(&a.name).copied()
    }

    #[test]
    fn steady_state_is_yesterday_and_today() {
        let a = account("a", 1);
        let s = synced(&[("a", "2026-11-20T11:59:00Z")]);
        assert_eq!(
            first_day(&[&a], &s, false, 400, at("2026-11-20T12:00:00Z")),
            day("2026-11-19")
        );
    }

    #[test]
    fn a_gap_reaches_back_to_the_last_sync() {
        let a = account("a", 1);
        let s = synced(&[("a", "2026-11-12T08:00:00Z")]);
        assert_eq!(
            first_day(&[&a], &s, false, 400, at("2026-11-20T12:00:00Z")),
            day("2026-11-12")
        );
    }

    #[test]
    fn new_accounts_full_and_new_periods_read_the_whole_period() {
        let a = account("a", 1);
        let b = account("b", 15);
        let now = at("2026-11-20T12:00:00Z");
        assert_eq!(
            first_day(&[&a, &b], synced(&[]), false, 400, now),
            day("2026-11-01")
        );
        let s = synced(&[("a", "2026-11-20T11:00:00Z"), ("b", "2026-11-20T11:00:00Z")]);
        assert_eq!(first_day(&[&a, &b], &s, true, 400, now), day("2026-11-01"));
        assert_eq!(first_day(&[&b], &s, true, 400, now), day("2026-11-15"));
        // Last synced before the period began: from that day, which covers the new period.
        let s = synced(&[("b", "2026-11-14T23:59:00Z")]);
        assert_eq!(
            first_day(&[&b], &s, false, 400, at("2026-11-16T00:01:00Z")),
            day("2026-11-14")
        );
    }

    #[test]
    fn no_accounts_still_reads_the_trailing_window() {
        assert_eq!(
            first_day(&[], synced(&[]), false, 400, at("2026-11-20T00:00:00Z")),
            day("2026-11-19")
        );
    }

    #[test]
    fn cost_reads_back_to_its_last_fetch_or_the_period_start() {
        let a = account("a", 15);
        let now = at("2026-11-20T12:00:00Z");
        assert_eq!(cost_first_day(None, &[&a], 400, now), day("2026-11-15"));
        assert_eq!(
            cost_first_day(Some(at("2026-11-20T11:45:00Z")), &[&a], 400, now),
            day("2026-11-19")
        );
        assert_eq!(
            cost_first_day(Some(at("2026-11-02T00:00:00Z")), &[&a], 400, now),
            day("2026-11-02")
        );
    }

    #[test]
    fn a_gap_across_periods_skips_no_day_but_stops_at_retention() {
        let a = account("a", 1);
        let s = synced(&[("a", "2026-09-01T08:00:00Z")]);
        assert_eq!(
            first_day(&[&a], &s, false, 400, at("2026-11-20T12:00:00Z")),
            day("2026-09-01")
        );
        assert_eq!(
            first_day(&[&a], &s, false, 30, at("2026-11-20T12:00:00Z")),
            day("2026-10-21")
        );
    }
}

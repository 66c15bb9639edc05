//! From usage to readings, as pure logic: which rows belong to an account, summed over its
//! current billing period, where each quota is heading, and which quotas are measured. The
//! rows come in as plain data (`Loaded`); reading them from the store and applying what
//! reconciliation decides is `apply`'s work.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::account::{Account, UsageSource};
use crate::period::{Period, Window};
use crate::quota::{DayUsage, QuotaType, Totals};
use crate::reconcile::{Forecast, Reading};
use crate::records::{CostDay, DeveloperDay};

mod days;
mod unmeasured;

pub(crate) use days::{DayValues, by_day};
use days::{Index, by_actor, daily};
pub(crate) use unmeasured::{Unmeasured, never_measured, reason, unmeasurable};

/// One account at `now`: its period, its totals and a reading per quota type; the same for
/// each day or week window it has limits for.
#[derive(Debug, Clone)]
pub(crate) struct View<'a> {
    pub account: &'a Account,
    pub period: Period,
    pub readings: Vec<Reading>,
    /// The account's day and week windows (`Account::windows`), in that order.
    pub windows: Vec<WindowView<'a>>,
}

/// One window's instance of an account: its limits' readings.
#[derive(Debug, Clone)]
pub(crate) struct WindowView<'a> {
    pub window: Window,
    pub span: Period,
    pub thresholds: &'a [u32],
    pub readings: Vec<Reading>,
}

impl<'a> View<'a> {
    /// Every window of the account, the period first.
    pub(crate) fn all(&self) -> impl Iterator<Item = WindowView<'a>> + '_ {
        std::iter::once(WindowView {
            window: Window::Period,
            span: self.period,
            thresholds: &self.account.thresholds,
            readings: self.readings.clone(),
        })
        .chain(self.windows.iter().cloned())
    }
}

#[cfg(test)]
impl View<'_> {
    pub(crate) fn reading(&self, q: QuotaType) -> Reading {
        self.readings
            .iter()
            .copied()
            .find(|r| r.quota_type == q)
            .expect("a reading per quota type")
    }
}

/// What the views are computed from.
pub(crate) struct Inputs<'r> {
    /// Usage rows from the earliest period start on.
    pub usage: &'r [DayUsage],
    /// Claude Code days from the earliest period start on; `None` when the report has never
    /// been read.
    pub developers: Option<&'r [DeveloperDay]>,
    /// Cost rows from the earliest period start on; `None` when cost has never been read.
    pub cost: Option<&'r [CostDay]>,
    pub source: UsageSource,
    /// The Default Workspace's real id, where a source reports it (analytics) instead of
    /// null: its rows are the `workspace_id = "default"` account's.
    pub default_workspace: Option<&'r str>,
    /// Usage per model (`model` of each row), for accounts scoped to models.
    pub by_model: &'r [(String, DayUsage)],
    /// Cost per model; `None` until a cost read grouped by model was stored.
    pub cost_by_model: Option<&'r [(String, CostDay)]>,
    /// Claude Code days per model, for developer accounts scoped to models.
    pub developers_by_model: &'r [(String, DeveloperDay)],
}

/// Usage (summed per segment, see `segment_bounds`) and cost from the earliest period start
/// on, as the views need them.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub usage: Vec<DayUsage>,
    pub developers: Option<Vec<DeveloperDay>>,
    pub cost: Option<Vec<CostDay>>,
    /// `Fact::DefaultWorkspace`, once learned.
    pub default_workspace: Option<String>,
    /// Usage per model from the earliest period start on, when an account is scoped.
    pub by_model: Vec<(String, DayUsage)>,
    /// Cost per model likewise, once a cost read grouped by model was stored.
    pub cost_by_model: Option<Vec<(String, CostDay)>>,
    /// Claude Code days per model, when a developer account is scoped.
    pub developers_by_model: Vec<(String, DeveloperDay)>,
}

/// The days that cut stored usage into segments for `accounts` at `now`, ascending: every
/// account's period (and day and week window) start and end, the start of the forecast's rate window, today, and the
/// earliest period start and latest period end. Every period total and every forecast range
/// starts and ends on one of them, so summing the segments dated inside a range is exact
/// (`store::usage::segment_sums`), and the number of segments does not grow with the day of
/// the period. Nothing past the latest period end is read.
pub(crate) fn segment_bounds(accounts: &[&Account], now: DateTime<Utc>) -> Vec<NaiveDate> {
    let today = now.date_naive();
    let earliest = earliest_start(accounts, now).date_naive();
    let periods: Vec<Period> = accounts
        .iter()
        .flat_map(|a| a.each_window(now).map(|(_, span, _, _)| span))
        .collect();
    let latest_end = periods
        .iter()
        .map(Period::end_day)
        .max()
        .unwrap_or(today + chrono::Duration::days(1));
    let mut bounds: Vec<NaiveDate> = periods
        .iter()
        .flat_map(|p| [p.start_day(), p.end_day()])
        .chain([
            earliest,
            today - chrono::Duration::days(RATE_DAYS),
            today,
            latest_end,
        ])
        .filter(|d| (earliest..=latest_end).contains(d))
        .collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds
}

impl Loaded {
    pub(crate) fn inputs(&self, source: UsageSource) -> Inputs<'_> {
        Inputs {
            usage: &self.usage,
            developers: self.developers.as_deref(),
            cost: self.cost.as_deref(),
            source,
            default_workspace: self.default_workspace.as_deref(),
            by_model: &self.by_model,
            cost_by_model: self.cost_by_model.as_deref(),
            developers_by_model: &self.developers_by_model,
        }
    }
}

/// How much of the period must have passed before forecasts are made.
const FORECAST_AFTER: f64 = 0.2;
/// When forecasts start in `period`: once `FORECAST_AFTER` of it has passed.
pub(crate) fn forecasts_from(period: Period) -> DateTime<Utc> {
    let length = (period.end - period.start).num_seconds() as f64;
    #[allow(clippy::cast_possible_truncation)] // a fraction of a period's seconds
    let after = (FORECAST_AFTER * length).ceil() as i64;
    period.start + chrono::Duration::seconds(after)
}

/// Full days the daily rate is averaged over.
const RATE_DAYS: i64 = 7;

/// What a sum of `account`'s usage is worth for quota type `q`, or `None` when that quota is
/// not measured for it.
fn value(account: &Account, inputs: &Inputs<'_>, t: &Totals, q: QuotaType) -> Option<Decimal> {
    let cost = || Some(t.cost_usd.unwrap_or_default().normalize());
    if account.model.is_some() && q == QuotaType::CostUsd && !account.selector.is_developer() {
        let read = inputs.source == UsageSource::Analytics && inputs.cost_by_model.is_some();
        return read.then(cost).flatten();
    }
    if account.selector.is_developer() {
        // Measured once the report has been read; requests never.
        return match q {
            _ if inputs.developers.is_none() => None,
            QuotaType::Requests => None,
            QuotaType::CostUsd => cost(),
            _ => t.get(q),
        };
    }
    match q {
        QuotaType::Requests if !inputs.source.measures_requests() => None,
        QuotaType::CostUsd
            if inputs.cost.is_none() || !account.selector.reads_cost(inputs.source) =>
        {
            None
        }
        QuotaType::CostUsd => cost(),
        _ => t.get(q),
    }
}

/// Sums each account's rows over its period containing `now`, and projects where each quota
/// is heading.
pub(crate) fn views<'a>(
    accounts: &[&'a Account],
    inputs: &Inputs<'_>,
    now: DateTime<Utc>,
) -> Vec<View<'a>> {
    let index = Index::new(inputs.usage, inputs.default_workspace);
    let developers = by_actor(inputs.developers.unwrap_or_default());
    accounts
        .iter()
        .map(|&account| {
            let days = daily(account, &index, &developers, inputs, reach(account, now));
            let value = |t: &Totals, q| value(account, inputs, t, q);
            let mut windows = account
                .each_window(now)
                .map(|(window, span, limits, thresholds)| WindowView {
                    window,
                    span,
                    thresholds,
                    readings: readings(account, window, span, limits, &days, value, now),
                });
            let period = windows.next().expect("the period comes first");
            View {
                account,
                period: period.span,
                readings: period.readings,
                windows: windows.collect(),
            }
        })
        .collect()
}

/// The days an account's views read: its windows' instances, and the week before today
/// for a day window's forecast (the daily rate, which a day has no full days of).
fn reach(account: &Account, now: DateTime<Utc>) -> Period {
    let today = now.date_naive();
    let mut reach = Period::containing(account.billing_day, now);
    for (window, span, _, _) in account.each_window(now) {
        reach.start = reach.start.min(span.start);
        reach.end = reach.end.max(span.end);
        if window == Window::Day && account.forecast {
            let rate_from =
                Window::Day.containing(1, now).start - chrono::Duration::days(RATE_DAYS);
            reach.start = reach.start.min(rate_from);
        }
    }
    debug_assert!(reach.start.date_naive() <= today);
    reach
}

/// The readings of one window instance (`span`) of an account from its daily totals:
/// `value` says what each quota type is worth in a sum (or that it is not measured).
fn readings(
    account: &Account,
    window: Window,
    span: Period,
    limits: &crate::quota::Limits,
    daily: &BTreeMap<NaiveDate, Totals>,
    value: impl Fn(&Totals, QuotaType) -> Option<Decimal>,
    now: DateTime<Utc>,
) -> Vec<Reading> {
    let mut total = Totals::empty();
    total.cost_usd = Some(Decimal::ZERO);
    for (_, t) in daily.range(span.start_day()..span.end_day()) {
        total.merge(t);
    }
    // The daily rate is averaged over the full days of the window so far, and for a day
    // window (which has none) over the week before it.
    let rate_from = match window {
        Window::Day => span.start_day() - chrono::Duration::days(RATE_DAYS),
        Window::Period | Window::Week => span.start_day(),
    };
    QuotaType::ALL
        .into_iter()
        .map(|q| {
            let used = value(&total, q);
            let limit = limits.get(q);
            let forecast = used.filter(|_| account.forecast).and_then(|u| {
                let rate = (daily, rate_from);
                forecast(rate, |t| value(t, q), u, limit, span, now)
            });
            Reading {
                quota_type: q,
                limit,
                used,
                forecast,
            }
        })
        .collect()
}

/// `used` plus the average daily rate of the last full days (up to 7, none before
/// `rate_from`) times the time left, once `FORECAST_AFTER` of the period has passed.
fn forecast(
    (daily, rate_from): (&BTreeMap<NaiveDate, Totals>, NaiveDate),
    value: impl Fn(&Totals) -> Option<Decimal>,
    used: Decimal,
    limit: Option<Decimal>,
    period: Period,
    now: DateTime<Utc>,
) -> Option<Forecast> {
    if now < forecasts_from(period) {
        return None;
    }
    let today = now.date_naive();
    let first = (today - chrono::Duration::days(RATE_DAYS)).max(rate_from);
    let days = (today - first).num_days();
    if days <= 0 {
        return None;
    }
    // Days without rows count as zero: no usage is a rate too.
    let mut sum = Decimal::ZERO;
    for (_, t) in daily.range(first..today) {
        sum += value(t)?;
    }
    let rate = sum / Decimal::from(days);
    let left = Decimal::from(period.remaining(now).num_seconds()) / Decimal::from(86_400);
    let projected = used + rate * left;
    let exhausts_at = limit
        .filter(|l| rate > Decimal::ZERO && used < *l)
        .and_then(|l| {
            let secs = ((l - used) / rate * Decimal::from(86_400)).trunc();
            let secs: i64 = secs.try_into().ok()?;
            let at = now + chrono::Duration::seconds(secs);
            (at < period.end).then_some(at)
        });
    Some(Forecast {
        projected,
        exhausts_at,
    })
}

/// The earliest day the accounts' views read (`reach`: their current periods, day and week
/// windows), or the start of `now`'s calendar month if there are none.
pub(crate) fn earliest_start(accounts: &[&Account], now: DateTime<Utc>) -> DateTime<Utc> {
    accounts
        .iter()
        .map(|a| reach(a, now).start)
        .min()
        .unwrap_or_else(|| Period::containing(1, now).start)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::account::Selector;
    use crate::quota::Limits;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    pub(crate) fn account(name: &str, selector: Selector, billing_day: u32) -> Account {
        Account {
            name: name.into(),
            selector,
            limits: Limits::default().into(),
            billing_day,
            thresholds: vec![80, 95, 100].into(),
            forecast: true,
            windows: Vec::new().into(),
            burn: crate::burn::STANDARD.into(),
            model: None,
        }
    }

    /// Usage rows alone, from the messages source.
    fn usage_only(rows: &[DayUsage]) -> Inputs<'_> {
        Inputs {
            usage: rows,
            developers: None,
            cost: None,
            source: UsageSource::Messages,
            default_workspace: None,
            by_model: &[],
            cost_by_model: None,
            developers_by_model: &[],
        }
    }

    pub(crate) fn row(
        key: Option<&str>,
        ws: Option<&str>,
        day: NaiveDate,
        input: u64,
        output: u64,
    ) -> DayUsage {
        DayUsage {
            api_key_id: key.map(String::from),
            workspace_id: ws.map(String::from),
            ..DayUsage::split(day, input, (0, 0), 0, output)
        }
    }

    #[test]
    fn selectors_pick_their_rows_and_periods_bound_them() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let rows = vec![
            row(Some("apikey_a"), Some("wrkspc_x"), d(14), 1000, 0), // before a's period
            row(Some("apikey_a"), Some("wrkspc_x"), d(15), 10, 1),
            row(Some("apikey_b"), None, d(20), 100, 2),
            row(None, None, d(21), 7, 0), // Playground in the Default Workspace
        ];
        let accounts = [
            account("a", Selector::ApiKey("apikey_a".into()), 15),
            account("x", Selector::Workspace(Some("wrkspc_x".into())), 1),
            account("default", Selector::Workspace(None), 1),
            account("org", Selector::Organization, 1),
            account("none", Selector::ApiKey("apikey_zzz".into()), 1),
        ];
        let refs: Vec<&Account> = accounts.iter().collect();
        let now = DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let inputs = usage_only(&rows);
        let all = views(&refs, &inputs, now);
        let tokens: Vec<_> = all
            .iter()
            .map(|v| v.reading(QuotaType::Tokens).used.unwrap())
            .collect();
        assert_eq!(
            tokens,
            [11.into(), 1011.into(), 109.into(), 1120.into(), 0.into()]
        );
        let v = &all[0];
        assert_eq!(v.reading(QuotaType::Requests).used, None);
        assert_eq!(v.reading(QuotaType::CostUsd).used, None);
    }

    /// A day window sums today only, a week window from Monday; a day's forecast takes the
    /// rate of the 7 days before it, from 04:48 UTC on.
    #[test]
    fn day_and_week_windows_sum_their_own_days_and_forecast() {
        use crate::account::WindowRule;
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        // 7,000 tokens a day over Nov 27 - Dec 3 (Dec 1-3 here), 3,000 so far on Dec 4.
        let mut rows: Vec<DayUsage> = (1..=3)
            .map(|day| row(Some("k"), None, d(day), 7_000, 0))
            .collect();
        rows.extend((27..=30).map(|day| {
            let nov = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
            row(Some("k"), None, nov, 7_000, 0)
        }));
        rows.push(row(Some("k"), None, d(4), 3_000, 0));
        let mut a = account("a", Selector::ApiKey("k".into()), 1);
        let rule = |window, tokens| WindowRule {
            window,
            limits: crate::quota::Limits {
                tokens: Some(tokens),
                ..Default::default()
            },
            thresholds: vec![80].into(),
        };
        a.windows = vec![rule(Window::Day, 8_000), rule(Window::Week, 40_000)].into();
        let inputs = usage_only(&rows);
        let at = |s: &str| crate::time::parse(s).unwrap();
        let v = &views(&[&a], &inputs, at("2026-12-04T12:00:00Z"))[0];
        let tokens = |w: &WindowView<'_>| {
            *w.readings
                .iter()
                .find(|r| r.quota_type == QuotaType::Tokens)
                .unwrap()
        };
        let (day, week) = (tokens(&v.windows[0]), tokens(&v.windows[1]));
        assert_eq!(v.reading(QuotaType::Tokens).used, Some(24_000.into()));
        // The week from Monday Nov 30: 7,000 + 3 × 7,000 + 3,000.
        assert_eq!(
            (day.used, week.used),
            (Some(3_000.into()), Some(31_000.into()))
        );
        // Half the day left at 7,000 a day: 3,000 + 3,500.
        assert_eq!(day.forecast.unwrap().projected, 6_500.into());
        // Before 04:48 UTC, no forecast for the day.
        let early = &views(&[&a], &inputs, at("2026-12-04T04:47:00Z"))[0];
        assert_eq!(tokens(&early.windows[0]).forecast, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every account's period total equals a straightforward sum over the raw rows.
        #[test]
        fn totals_equal_a_reference_sum(
            rows in proptest::collection::vec(
                (0usize..4, 0usize..3, 0i64..90, 0u64..1_000_000, 0u64..1_000_000, proptest::option::of(0u64..1000)),
                0..60,
            ),
            billing_day in 1u32..=31,
            now_offset in 0i64..90,
        ) {
            let keys = [Some("apikey_a"), Some("apikey_b"), Some("apikey_c"), None];
            let workspaces = [Some("wrkspc_x"), Some("wrkspc_y"), None];
            let base = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
            let rows: Vec<DayUsage> = rows.iter().map(|&(k, w, d, i, o, req)| DayUsage {
                requests: req,
                ..row(keys[k], workspaces[w], base + chrono::Duration::days(d), i, o)
            }).collect();
            let mut accounts: Vec<Account> = keys.iter().flatten().map(|k| account(k, Selector::ApiKey(k.to_string()), billing_day)).collect();
            accounts.extend(workspaces.iter().map(|w| account(w.unwrap_or("default"), Selector::Workspace(w.map(String::from)), billing_day)));
            accounts.push(account("org", Selector::Organization, billing_day));
            let refs: Vec<&Account> = accounts.iter().collect();
            let now = base.and_hms_opt(12, 0, 0).unwrap().and_utc() + chrono::Duration::days(now_offset);
            for v in views(&refs, &Inputs { usage: &rows, developers: None, cost: None, source: UsageSource::Analytics, default_workspace: None, by_model: &[], cost_by_model: None, developers_by_model: &[] }, now) {
                let mine: Vec<&DayUsage> = rows.iter().filter(|r| {
                    let selected = match &v.account.selector {
                        Selector::ApiKey(k) => r.api_key_id.as_deref() == Some(k.as_str()),
                        Selector::Workspace(w) => r.workspace_id == *w,
                        Selector::Organization => true,
                        Selector::ClaudeCodeUser(_) | Selector::ClaudeCodeApiKey(_) => false,
                    };
                    let day = crate::time::start_of(r.day);
                    selected && v.period.start <= day && day < v.period.end
                }).collect();
                let tokens: u64 = mine.iter().map(|r| r.tokens().unwrap()).sum();
                let requests: Option<u64> = mine.iter().map(|r| r.requests).sum();
                prop_assert_eq!(v.reading(QuotaType::Tokens).used, Some(tokens.into()));
                prop_assert_eq!(v.reading(QuotaType::Requests).used, requests.map(Into::into));
            }
        }
    }
}

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

const T: &[u32] = &[80, 95, 100];

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn period(now: DateTime<Utc>) -> Period {
    Period::containing(1, now)
}

/// An in-memory account: what the store does with actions, in a few lines.
struct World {
    alerts: Vec<Alert>,
    status: AccountStatus,
    next_id: u32,
}

impl World {
    fn new() -> World {
        World {
            alerts: Vec::new(),
            status: AccountStatus::Active,
            next_id: 0,
        }
    }

    fn step(
        &mut self,
        now: DateTime<Utc>,
        thresholds: &[u32],
        readings: &[Reading],
    ) -> Vec<Action> {
        self.step_windows(now, &[(Window::Period, thresholds, readings)])
    }

    /// One evaluation of the account's windows: each with its thresholds and readings.
    fn step_windows(
        &mut self,
        now: DateTime<Utc>,
        windows: &[(Window, &[u32], &[Reading])],
    ) -> Vec<Action> {
        let evals: Vec<Evaluation<'_>> = windows
            .iter()
            .map(|&(window, thresholds, readings)| Evaluation {
                account: "acct",
                window,
                period: window.containing(1, now),
                thresholds,
                forecast: true,
                readings: readings.to_vec(),
                burns: Vec::new(),
            })
            .collect();
        let actions = reconcile(&evals, &self.alerts, self.status);
        let p = period(now);
        for action in &actions {
            self.apply(action, p, now);
        }
        actions
    }

    fn apply(&mut self, action: &Action, p: Period, now: DateTime<Utc>) {
        match action {
            Action::Create(f) => {
                self.next_id += 1;
                let a = alert_from(format!("id{}", self.next_id), f, p, now);
                assert!(
                    !self.alerts.iter().any(|b| b.quota_type == a.quota_type
                        && b.window == a.window
                        && b.threshold == a.threshold
                        && b.period_start == a.period_start),
                    "duplicate identity created"
                );
                self.alerts.push(a);
            }
            Action::Reopen { id, firing } => {
                let a = self.alerts.iter_mut().find(|a| &a.id == id).unwrap();
                assert!(!a.is_open(), "reopening an open alert");
                let fresh = alert_from(a.id.clone(), firing, p, a.created_at);
                *a = fresh;
            }
            Action::Resolve { id, resolution } => {
                let a = self.alerts.iter_mut().find(|a| &a.id == id).unwrap();
                assert!(a.is_open(), "resolving a resolved alert");
                a.resolved_at = Some(now);
                a.resolution = Some(*resolution);
            }
            Action::SetStatus(s) => self.status = *s,
        }
    }

    fn resolve_manually(&mut self, idx: usize, now: DateTime<Utc>) {
        let open: Vec<usize> = (0..self.alerts.len())
            .filter(|&i| self.alerts[i].is_open())
            .collect();
        if let Some(&i) = open.get(idx % open.len().max(1)) {
            self.alerts[i].resolved_at = Some(now);
            self.alerts[i].resolution = Some(Resolution::Manual);
        }
    }

    fn open(&self) -> Vec<(QuotaType, u32, Option<Resolution>)> {
        let mut v: Vec<_> = self
            .alerts
            .iter()
            .filter(|a| a.is_open())
            .map(|a| (a.quota_type.unwrap(), a.threshold, a.resolution))
            .collect();
        v.sort();
        v
    }

    fn by_threshold(&self, t: u32) -> &Alert {
        self.alerts.iter().rev().find(|a| a.threshold == t).unwrap()
    }
}

fn alert_from(id: String, f: &Firing, _p: Period, created_at: DateTime<Utc>) -> Alert {
    Alert::new(id, "acct", f, created_at)
}

fn tokens(used: u64, limit: u64) -> Vec<Reading> {
    vec![Reading {
        quota_type: QuotaType::Tokens,
        limit: Some(Decimal::from(limit)),
        used: Some(Decimal::from(used)),
        forecast: None,
    }]
}

#[test]
fn below_every_threshold_nothing_happens() {
    let mut w = World::new();
    assert!(
        w.step(at("2026-11-10T00:00:00Z"), T, &tokens(79, 100))
            .is_empty()
    );
}

#[test]
fn each_band_of_the_seed_table() {
    for (used, t, ty, sev) in [
        (80, 80, AlertType::ApproachingLimit, Severity::Warning),
        (94, 80, AlertType::ApproachingLimit, Severity::Warning),
        (95, 95, AlertType::ApproachingLimit, Severity::Critical),
        (99, 95, AlertType::ApproachingLimit, Severity::Critical),
        (100, 100, AlertType::QuotaExceeded, Severity::Critical),
        (250, 100, AlertType::QuotaExceeded, Severity::Critical),
    ] {
        let mut w = World::new();
        w.step(at("2026-11-10T00:00:00Z"), T, &tokens(used, 100));
        let a = &w.alerts[0];
        assert_eq!(
            (w.alerts.len(), a.threshold, a.alert_type, a.severity),
            (1, t, ty, sev),
            "{used}%"
        );
        let exhausted = used >= 100;
        assert_eq!(w.status == AccountStatus::Exhausted, exhausted, "{used}%");
    }
}

#[test]
fn escalation_supersedes_the_lower_alert() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &tokens(81, 100));
    w.step(now, T, &tokens(96, 100));
    assert_eq!(w.by_threshold(80).resolution, Some(Resolution::Superseded));
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 95, None)]);
    w.step(now, T, &tokens(101, 100));
    assert_eq!(w.by_threshold(95).resolution, Some(Resolution::Superseded));
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 100, None)]);
    assert_eq!(w.status, AccountStatus::Exhausted);
}

#[test]
fn crossing_several_thresholds_at_once_creates_only_the_highest() {
    let mut w = World::new();
    let actions = w.step(at("2026-11-10T00:00:00Z"), T, &tokens(100, 100));
    let created: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::Create(_)))
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 100, None)]);
}

#[test]
fn replay_changes_nothing() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    assert!(!w.step(now, T, &tokens(97, 100)).is_empty());
    assert!(w.step(now, T, &tokens(97, 100)).is_empty());
    assert!(
        w.step(now + Duration::hours(1), T, &tokens(97, 100))
            .is_empty()
    );
}

#[test]
fn period_rollover_resolves_and_clears_exhausted() {
    let mut w = World::new();
    w.step(at("2026-11-29T00:00:00Z"), T, &tokens(120, 100));
    assert_eq!(w.status, AccountStatus::Exhausted);
    w.step(at("2026-12-01T00:00:00Z"), T, &tokens(3, 100));
    assert_eq!(
        w.by_threshold(100).resolution,
        Some(Resolution::PeriodEnded)
    );
    assert_eq!(w.status, AccountStatus::Active);
    assert!(w.open().is_empty());
}

#[test]
fn a_new_period_rearms_every_identity() {
    let mut w = World::new();
    w.step(at("2026-11-20T00:00:00Z"), T, &tokens(85, 100));
    w.resolve_manually(0, at("2026-11-20T01:00:00Z"));
    w.step(at("2026-12-20T00:00:00Z"), T, &tokens(85, 100));
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 80, None)]);
    assert_eq!(w.alerts.len(), 2);
}

#[test]
fn corrected_usage_below_the_threshold_recovers() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &tokens(82, 100));
    w.step(now, T, &tokens(70, 100));
    assert_eq!(w.by_threshold(80).resolution, Some(Resolution::Recovered));
    assert!(w.open().is_empty());
}

#[test]
fn a_raised_or_removed_limit_recovers() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &tokens(96, 100));
    w.step(now, T, &tokens(96, 200));
    assert_eq!(w.by_threshold(95).resolution, Some(Resolution::Recovered));

    let mut w = World::new();
    w.step(now, T, &tokens(96, 100));
    let no_limit = [Reading {
        quota_type: QuotaType::Tokens,
        limit: None,
        used: Some(96.into()),
        forecast: None,
    }];
    w.step(now, T, &no_limit);
    assert!(w.open().is_empty());
}

#[test]
fn falling_from_95_to_85_reopens_the_superseded_warning() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &tokens(81, 100));
    w.step(now, T, &tokens(96, 100));
    w.step(now, T, &tokens(85, 100));
    assert_eq!(w.by_threshold(95).resolution, Some(Resolution::Recovered));
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 80, None)]);
    assert_eq!(w.alerts.len(), 2, "reopened, not duplicated");
}

#[test]
fn a_manual_resolve_is_final_for_its_identity_in_its_period() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &tokens(96, 100));
    w.resolve_manually(0, now);
    assert!(w.step(now, T, &tokens(97, 100)).is_empty());
    assert!(w.open().is_empty());
    // A higher threshold is a new problem.
    w.step(now, T, &tokens(100, 100));
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 100, None)]);
}

#[test]
fn unmeasured_usage_leaves_alerts_alone() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    let req = |used| {
        [Reading {
            quota_type: QuotaType::Requests,
            limit: Some(100.into()),
            used,
            forecast: None,
        }]
    };
    w.step(now, T, &req(Some(90.into())));
    assert!(w.step(now, T, &req(None)).is_empty());
    assert_eq!(w.open().len(), 1);
}

#[test]
fn quota_types_are_independent() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    let readings = [
        Reading {
            quota_type: QuotaType::Tokens,
            limit: Some(100.into()),
            used: Some(81.into()),
            forecast: None,
        },
        Reading {
            quota_type: QuotaType::OutputTokens,
            limit: Some(10.into()),
            used: Some(10.into()),
            forecast: None,
        },
    ];
    w.step(now, T, &readings);
    assert_eq!(
        w.open(),
        vec![
            (QuotaType::Tokens, 80, None),
            (QuotaType::OutputTokens, 100, None)
        ]
    );
    assert_eq!(w.status, AccountStatus::Exhausted);
}

#[test]
fn custom_thresholds_classify_by_value() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, &[50, 97, 120], &tokens(98, 100));
    assert_eq!(w.alerts[0].severity, Severity::Critical);
    assert_eq!(w.alerts[0].alert_type, AlertType::ApproachingLimit);
    w.step(now, &[50, 97, 120], &tokens(121, 100));
    assert_eq!(w.by_threshold(120).alert_type, AlertType::QuotaExceeded);
    // Exhaustion follows the limit, not the list of thresholds.
    let mut w = World::new();
    w.step(now, &[50], &tokens(100, 100));
    assert_eq!(w.status, AccountStatus::Exhausted);
}

#[test]
fn message_names_account_quota_and_numbers() {
    let mut w = World::new();
    w.step(
        at("2026-11-10T00:00:00Z"),
        T,
        &tokens(4_100_000_000, 5_000_000_000),
    );
    assert_eq!(
        w.alerts[0].message,
        "acct: tokens has reached 80% of its limit: 4,100,000,000 of 5,000,000,000 (82%) \
         in the period 2026-11-01 to 2026-12-01"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any sequence of readings, manual resolves and period changes: replaying a step changes
    /// nothing, there is never more than one open alert per (quota type, period), and a
    /// manual resolve is never undone within its period.
    #[test]
    fn reconciliation_is_a_fixpoint_with_one_open_alert_per_problem(
        steps in proptest::collection::vec(
            (0u64..140, 0u64..140, prop::bool::ANY, 0usize..4, 0i64..3, prop::bool::ANY),
            1..25,
        ),
        thresholds in proptest::sample::subsequence(vec![50u32, 80, 90, 95, 100, 110], 1..6),
    ) {
        let mut w = World::new();
        let mut now = at("2026-11-01T00:00:00Z");
        for (tokens_used, out_used, output_limited, manual, months, requests_measured) in steps {
            now += Duration::days(months * 17);
            let readings = vec![
                Reading { quota_type: QuotaType::Tokens, limit: Some(100.into()), used: Some(tokens_used.into()), forecast: None },
                Reading {
                    quota_type: QuotaType::OutputTokens,
                    limit: output_limited.then(|| 50.into()),
                    used: Some(out_used.into()), forecast: None },
                Reading {
                    quota_type: QuotaType::Requests,
                    limit: Some(100.into()),
                    used: requests_measured.then(|| tokens_used.into()), forecast: None },
            ];
            w.step(now, &thresholds, &readings);
            let manual_before: Vec<String> = w.alerts.iter()
                .filter(|a| a.resolution == Some(Resolution::Manual)).map(|a| a.id.clone()).collect();
            prop_assert!(w.step(now, &thresholds, &readings).is_empty(), "replay changed something");
            if manual > 0 { w.resolve_manually(manual, now); }
            w.step(now, &thresholds, &readings);
            for id in manual_before {
                let a = w.alerts.iter().find(|a| a.id == id).unwrap();
                prop_assert_eq!(a.resolution, Some(Resolution::Manual));
            }
            let mut open: Vec<_> = w.alerts.iter().filter(|a| a.is_open())
                .map(|a| (a.quota_type, a.period_start)).collect();
            let n = open.len();
            open.sort();
            open.dedup();
            prop_assert_eq!(open.len(), n, "two open alerts for one problem");
        }
    }
}

fn forecasting(used: u64, limit: u64, projected: Option<u64>) -> Vec<Reading> {
    vec![Reading {
        quota_type: QuotaType::Tokens,
        limit: Some(Decimal::from(limit)),
        used: Some(Decimal::from(used)),
        forecast: projected.map(|p| Forecast {
            projected: Decimal::from(p),
            exhausts_at: None,
        }),
    }]
}

fn forecast_alerts(w: &World) -> Vec<(Option<Resolution>, AlertType)> {
    w.alerts
        .iter()
        .filter(|a| a.alert_type == AlertType::ForecastExceeded)
        .map(|a| (a.resolution, a.alert_type))
        .collect()
}

#[test]
fn forecast_fires_once_and_recovers_with_hysteresis() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    assert!(
        w.step(now, T, &forecasting(40, 100, Some(99))).is_empty(),
        "below the limit: nothing"
    );
    w.step(now, T, &forecasting(40, 100, Some(120)));
    let a = w
        .alerts
        .iter()
        .find(|a| a.alert_type == AlertType::ForecastExceeded)
        .unwrap();
    assert_eq!(
        (a.severity, a.threshold),
        (Severity::Warning, FORECAST_THRESHOLD)
    );
    assert!(
        w.step(now, T, &forecasting(40, 100, Some(120))).is_empty(),
        "once"
    );
    assert!(
        w.step(now, T, &forecasting(40, 100, Some(91))).is_empty(),
        "hysteresis: still ≥ 90 %"
    );
    w.step(now, T, &forecasting(40, 100, Some(89)));
    assert_eq!(
        forecast_alerts(&w),
        [(Some(Resolution::Recovered), AlertType::ForecastExceeded)]
    );
    w.step(now, T, &forecasting(45, 100, Some(130)));
    assert_eq!(
        forecast_alerts(&w),
        [(None, AlertType::ForecastExceeded)],
        "reopened, not duplicated"
    );
}

#[test]
fn reaching_the_limit_supersedes_the_forecast() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &forecasting(40, 100, Some(120)));
    w.step(now, T, &forecasting(100, 100, Some(180)));
    assert_eq!(
        forecast_alerts(&w),
        [(Some(Resolution::Superseded), AlertType::ForecastExceeded)]
    );
    assert_eq!(w.open(), vec![(QuotaType::Tokens, 100, None)]);
}

#[test]
fn a_manual_resolve_of_a_forecast_is_final_and_periods_end_it() {
    let mut w = World::new();
    let now = at("2026-11-10T00:00:00Z");
    w.step(now, T, &forecasting(40, 100, Some(120)));
    w.resolve_manually(0, now);
    assert!(w.step(now, T, &forecasting(40, 100, Some(150))).is_empty());
    let mut w = World::new();
    w.step(now, T, &forecasting(40, 100, Some(120)));
    w.step(at("2026-12-10T00:00:00Z"), T, &forecasting(1, 100, None));
    assert_eq!(
        forecast_alerts(&w),
        [(Some(Resolution::PeriodEnded), AlertType::ForecastExceeded)]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With forecasts in play, replay is still a fixpoint and one problem has one open alert.
    #[test]
    fn forecasts_keep_the_fixpoint(
        steps in proptest::collection::vec((0u64..130, proptest::option::of(0u64..200), 0usize..3, 0i64..2), 1..20),
    ) {
        let mut w = World::new();
        let mut now = at("2026-11-05T00:00:00Z");
        for (used, projected, manual, months) in steps {
            now += Duration::days(months * 20);
            let readings = forecasting(used, 100, projected);
            w.step(now, T, &readings);
            prop_assert!(w.step(now, T, &readings).is_empty(), "replay changed something");
            if manual > 0 { w.resolve_manually(manual, now); }
            let mut open: Vec<_> = w.alerts.iter().filter(|a| a.is_open())
                .map(|a| (a.quota_type, a.alert_type == AlertType::ForecastExceeded, a.period_start)).collect();
            let n = open.len();
            open.sort();
            open.dedup();
            prop_assert_eq!(open.len(), n);
        }
    }
}

#[test]
fn each_window_has_its_own_ladder_and_a_day_rolls_over_alone() {
    let mut w = World::new();
    let day_limit = tokens(85, 100);
    let period_limit = tokens(85, 1_000);
    let now = at("2026-12-04T12:00:00Z");
    let windows: [(Window, &[u32], &[Reading]); 2] = [
        (Window::Period, T, &period_limit),
        (Window::Day, T, &day_limit),
    ];
    let actions = w.step_windows(now, &windows);
    let created: Vec<(Window, u32, DateTime<Utc>)> = w
        .alerts
        .iter()
        .map(|a| (a.window, a.threshold, a.period_start))
        .collect();
    assert_eq!(created, [(Window::Day, 80, at("2026-12-04T00:00:00Z"))]);
    assert!(
        w.alerts[0].message.contains("tokens/day"),
        "{}",
        w.alerts[0].message
    );
    assert!(!actions.iter().any(|a| matches!(a, Action::SetStatus(_))));
    // Replayed: nothing. The day at 100 %: exhausted, the warning superseded.
    assert!(w.step_windows(now, &windows).is_empty());
    let full = tokens(100, 100);
    w.step_windows(
        now,
        &[(Window::Period, T, &period_limit), (Window::Day, T, &full)],
    );
    assert_eq!(w.status, AccountStatus::Exhausted);
    // The next UTC day: the day's alerts roll over, the account is active again, and the
    // period's readings (10 % of its limit) raise nothing.
    let next = at("2026-12-05T00:01:00Z");
    let fresh = tokens(0, 100);
    let actions = w.step_windows(
        next,
        &[(Window::Period, T, &period_limit), (Window::Day, T, &fresh)],
    );
    let resolved: Vec<Resolution> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Resolve { resolution, .. } => Some(*resolution),
            _ => None,
        })
        .collect();
    assert_eq!(resolved, [Resolution::Rollover]);
    assert!(actions.contains(&Action::SetStatus(AccountStatus::Active)));
    assert!(w.open().is_empty());
}

#[test]
fn alerts_of_a_window_no_longer_configured_recover() {
    let mut w = World::new();
    let now = at("2026-12-04T12:00:00Z");
    let week = tokens(96, 100);
    w.step_windows(now, &[(Window::Period, T, &[]), (Window::Week, T, &week)]);
    assert_eq!(w.open(), [(QuotaType::Tokens, 95, None)]);
    let actions = w.step_windows(now, &[(Window::Period, T, &[])]);
    assert_eq!(
        actions,
        [Action::Resolve {
            id: "id1".into(),
            resolution: Resolution::Recovered
        }]
    );
}

//! Alert reconciliation (SPEC §4) as pure logic: from one account's readings in its current
//! billing period (and day and week windows) and its existing alerts, decide what to create,
//! reopen and resolve. Each window's instance has its own ladder, as below.
//!
//! The result is a fixpoint: applying the actions and reconciling again with the same
//! readings yields no action, so re-running `sync` or `check` changes nothing.
//!
//! Rules, per quota type with a limit and a measured value:
//! - the highest crossed threshold `h` is the one problem to show; if no alert exists for its
//!   identity it is created; if one was auto-resolved (`recovered`, `superseded`) earlier in
//!   this period it is reopened, because the condition holds again; a `manual` resolve is
//!   final for the identity in its period;
//! - open alerts below `h` are resolved as `superseded`, open alerts above `h` (or all, when
//!   nothing is crossed or the limit was removed) as `recovered`;
//! - open alerts of any other period are resolved as `period_ended` (of another day or week
//!   as `rollover`), and those of a window the account no longer has as `recovered`;
//! - the account is `exhausted` while any measured quota has reached its limit in any window.
//!
//! A quota whose usage is not measured is left alone: no data is not a recovery.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::alert::{AccountStatus, Alert, AlertType, Firing, Resolution, Severity, classify};
use crate::burn::Burn;
use crate::period::{Period, Window};
use crate::quota::{self, QuotaType};

mod burn;

use burn::burn_alerts;

/// One quota of one account: its limit (if any), its usage in the period (if measured) and
/// where the usage is heading (once enough of the period has passed to tell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reading {
    pub quota_type: QuotaType,
    pub limit: Option<Decimal>,
    pub used: Option<Decimal>,
    pub forecast: Option<Forecast>,
}

/// Usage projected to the end of the period at the recent daily rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Forecast {
    pub projected: Decimal,
    /// When usage reaches the limit at that rate (`None`: not within the period, or no limit).
    pub exhausts_at: Option<DateTime<Utc>>,
}

/// One window instance of one account.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation<'a> {
    pub account: &'a str,
    pub window: Window,
    /// The window's instance: the billing period, this UTC day or this ISO week.
    pub period: Period,
    /// Ascending and without duplicates (the config guarantees it).
    pub thresholds: &'a [u32],
    /// Whether forecast alerts are raised; off, an open one resolves as `recovered`.
    pub forecast: bool,
    pub readings: Vec<Reading>,
    /// The burn-rate rules applied to its limited quotas (`crate::burn`).
    pub burns: Vec<Burn>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// A new alert for an identity that has none in this period.
    Create(Firing),
    /// An auto-resolved alert whose condition holds again.
    Reopen {
        id: String,
        firing: Firing,
    },
    Resolve {
        id: String,
        resolution: Resolution,
    },
    SetStatus(AccountStatus),
}

/// Decides what changes for one account, from an evaluation of each of its windows.
/// `existing` must hold every open alert of the account and every alert (open or not) of
/// its windows' current instances; others are ignored.
pub(crate) fn reconcile(
    windows: &[Evaluation<'_>],
    existing: &[Alert],
    status: AccountStatus,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for a in existing.iter().filter(|a| a.is_open()) {
        match windows.iter().find(|w| w.window == a.window) {
            None => actions.push(resolve(a, Resolution::Recovered)),
            Some(w) if a.period_start != w.period.start => actions.push(resolve(
                a,
                match a.window {
                    Window::Period => Resolution::PeriodEnded,
                    Window::Day | Window::Week => Resolution::Rollover,
                },
            )),
            Some(_) => {}
        }
    }
    let mut exhausted = false;
    for eval in windows {
        let mine: Vec<&Alert> = existing
            .iter()
            .filter(|a| a.window == eval.window && a.period_start == eval.period.start)
            .collect();
        exhausted |= ladder(eval, &mine, &mut actions);
    }
    let wanted = if exhausted {
        AccountStatus::Exhausted
    } else {
        AccountStatus::Active
    };
    if wanted != status {
        actions.push(Action::SetStatus(wanted));
    }
    actions
}

/// The threshold and forecast alerts of one window instance, from its alerts `in_window`.
/// Returns whether a measured quota has reached its limit.
fn ladder(eval: &Evaluation<'_>, in_window: &[&Alert], actions: &mut Vec<Action>) -> bool {
    let mut exhausted = false;
    for reading in &eval.readings {
        let in_period: Vec<&Alert> = in_window
            .iter()
            .copied()
            .filter(|a| a.quota_type == Some(reading.quota_type) && is_threshold_alert(a))
            .collect();
        let open = || in_period.iter().copied().filter(|a| a.is_open());

        let Some(limit) = reading.limit else {
            actions.extend(open().map(|a| resolve(a, Resolution::Recovered)));
            continue;
        };
        let Some(used) = reading.used else { continue };
        exhausted |= quota::crossed(used, limit, 100);

        let highest = eval
            .thresholds
            .iter()
            .rev()
            .copied()
            .find(|&t| quota::crossed(used, limit, t));
        let Some(h) = highest else {
            actions.extend(open().map(|a| resolve(a, Resolution::Recovered)));
            continue;
        };
        for a in open() {
            if a.threshold > h {
                actions.push(resolve(a, Resolution::Recovered));
            } else if a.threshold < h {
                actions.push(resolve(a, Resolution::Superseded));
            }
        }
        let existing = in_period.iter().copied().find(|a| a.threshold == h);
        raise(
            existing,
            || firing(eval, reading.quota_type, used, limit, h),
            actions,
        );
    }
    for reading in &eval.readings {
        forecast(eval, reading, in_window, actions);
    }
    burn_alerts(eval, in_window, actions);
    exhausted
}

/// Forecast alerts (SPEC §4 "later"): a warning when usage projected to the period end
/// reaches the limit. Their identity uses threshold 0, which no configured threshold can be,
/// so they never collide with the threshold alerts' identities. Resolved as `recovered` when
/// the projection falls below `FORECAST_CLEAR` percent of the limit (hysteresis), and as
/// `superseded` once the limit is actually reached (`quota_exceeded` takes over).
pub(crate) const FORECAST_THRESHOLD: u32 = 0;
pub(crate) const FORECAST_CLEAR: u32 = 90;

fn forecast(
    eval: &Evaluation<'_>,
    reading: &Reading,
    in_window: &[&Alert],
    actions: &mut Vec<Action>,
) {
    let mine = in_window.iter().copied().find(|a| {
        a.quota_type == Some(reading.quota_type) && a.alert_type == AlertType::ForecastExceeded
    });
    if !eval.forecast {
        if let Some(a) = mine.filter(|a| a.is_open()) {
            actions.push(resolve(a, Resolution::Recovered));
        }
        return;
    }
    let (Some(limit), Some(used)) = (reading.limit, reading.used) else {
        if let Some(a) = mine.filter(|a| a.is_open() && reading.limit.is_none()) {
            actions.push(resolve(a, Resolution::Recovered));
        }
        return;
    };
    let reached = quota::crossed(used, limit, 100);
    let projected = reading.forecast.map(|f| f.projected);
    match mine {
        Some(a) if a.is_open() => {
            if reached {
                actions.push(resolve(a, Resolution::Superseded));
            } else if projected.is_some_and(|p| !quota::crossed(p, limit, FORECAST_CLEAR)) {
                actions.push(resolve(a, Resolution::Recovered));
            }
        }
        _ if reached => {}
        found => {
            let Some(f) = reading
                .forecast
                .filter(|f| quota::crossed(f.projected, limit, 100))
            else {
                return;
            };
            raise(
                found,
                || forecast_firing(eval, reading.quota_type, used, limit, f),
                actions,
            );
        }
    }
}

fn forecast_firing(
    eval: &Evaluation<'_>,
    q: QuotaType,
    used: Decimal,
    limit: Decimal,
    f: Forecast,
) -> Firing {
    let when = f.exhausts_at.map_or_else(
        || format!("before the {} ends", eval.window),
        |t| format!("around {}", crate::time::minute(t)),
    );
    let by = match eval.window {
        Window::Day => crate::time::minute(eval.period.end),
        Window::Period | Window::Week => eval.period.end_day().to_string(),
    };
    let message = format!(
        "{account}: {q} is projected to reach its limit {when}: {used} of {limit} used, {projected} projected by {by}",
        account = eval.account,
        q = labelled(q, eval.window),
        used = q.display(used),
        limit = q.display(limit),
        projected = q.display(f.projected),
    );
    Firing {
        alert_type: AlertType::ForecastExceeded,
        severity: Severity::Warning,
        message,
        current_value: used,
        limit_value: limit,
        percentage: quota::percentage(used, limit),
        quota_type: q,
        threshold: FORECAST_THRESHOLD,
        window: eval.window,
        span: eval.period,
    }
}

/// The condition of an alert's identity holds: create it if it has no alert in this period,
/// reopen it if it was resolved automatically (`recovered`, `superseded`), and leave it when
/// it is open or was resolved by hand (final for the period).
fn raise(existing: Option<&Alert>, firing: impl FnOnce() -> Firing, actions: &mut Vec<Action>) {
    match existing {
        None => actions.push(Action::Create(firing())),
        Some(a)
            if matches!(
                a.resolution,
                Some(Resolution::Recovered | Resolution::Superseded)
            ) && !a.is_open() =>
        {
            actions.push(Action::Reopen {
                id: a.id.clone(),
                firing: firing(),
            });
        }
        Some(_) => {}
    }
}

fn is_threshold_alert(a: &Alert) -> bool {
    matches!(
        a.alert_type,
        AlertType::ApproachingLimit | AlertType::QuotaExceeded
    )
}

fn resolve(a: &Alert, resolution: Resolution) -> Action {
    Action::Resolve {
        id: a.id.clone(),
        resolution,
    }
}

fn firing(eval: &Evaluation<'_>, q: QuotaType, used: Decimal, limit: Decimal, t: u32) -> Firing {
    let (alert_type, severity) = classify(t);
    let percentage = quota::percentage(used, limit);
    let what = match alert_type {
        AlertType::QuotaExceeded => "has exceeded its limit".to_string(),
        _ => format!("has reached {t}% of its limit"),
    };
    let (start, end) = (eval.period.start_day(), eval.period.end_day());
    let when = match eval.window {
        Window::Period => format!("in the period {start} to {end}"),
        Window::Day => format!("on {start} (UTC)"),
        Window::Week => format!("in the week {start} to {end}"),
    };
    let message = format!(
        "{account}: {q} {what}: {used} of {limit} ({percentage}%) {when}",
        account = eval.account,
        q = labelled(q, eval.window),
        used = q.display(used),
        limit = q.display(limit),
    );
    Firing {
        alert_type,
        severity,
        message,
        current_value: used,
        limit_value: limit,
        percentage,
        quota_type: q,
        threshold: t,
        window: eval.window,
        span: eval.period,
    }
}

/// A quota type with its window where that is not the period: `tokens/day`.
fn labelled(q: QuotaType, window: Window) -> String {
    match window {
        Window::Period => q.to_string(),
        w => format!("{q}/{w}"),
    }
}

#[cfg(test)]
mod tests;

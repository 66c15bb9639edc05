//! Alert reconciliation (SPEC §4) as pure logic: from one account's readings in its current
//! billing period, its existing alerts and `now`, decide what to create, reopen and resolve.
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
//! - open alerts of any other period are resolved as `period_ended`;
//! - the account is `exhausted` while any measured quota has reached its limit.
//!
//! A quota whose usage is not measured is left alone: no data is not a recovery.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::alert::{AccountStatus, Alert, AlertType, Resolution, Severity, classify};
use crate::period::Period;
use crate::quota::{self, QuotaType};

/// One quota of one account: its limit (if any) and its usage in the period (if measured).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub quota_type: QuotaType,
    pub limit: Option<Decimal>,
    pub used: Option<Decimal>,
}

#[derive(Debug, Clone)]
pub struct Evaluation<'a> {
    pub account: &'a str,
    pub period: Period,
    /// Ascending and without duplicates (the config guarantees it).
    pub thresholds: &'a [u32],
    pub readings: Vec<Reading>,
}

/// The fields of an alert that is about to be created or reopened.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub alert_type: AlertType,
    pub severity: Severity,
    pub message: String,
    pub current_value: Decimal,
    pub limit_value: Decimal,
    pub percentage: f64,
    pub quota_type: QuotaType,
    pub threshold: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
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

/// Decides what changes for one account. `existing` must hold every open alert of the
/// account and every alert (open or not) of its current period; others are ignored.
pub fn reconcile(
    eval: &Evaluation<'_>,
    existing: &[Alert],
    status: AccountStatus,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let _ = now; // reserved for time-based rules (forecasts); decisions today need only the period
    let mut actions = Vec::new();
    let current = |a: &&Alert| a.period_start == eval.period.start;

    for a in existing
        .iter()
        .filter(|a| a.is_open() && a.period_start != eval.period.start)
    {
        actions.push(resolve(a, Resolution::PeriodEnded));
    }

    let mut exhausted = false;
    for reading in &eval.readings {
        let in_period: Vec<&Alert> = existing
            .iter()
            .filter(current)
            .filter(|a| a.quota_type == reading.quota_type && is_threshold_alert(a))
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
        let firing = || firing(eval, reading.quota_type, used, limit, h);
        match in_period.iter().find(|a| a.threshold == h) {
            None => actions.push(Action::Create(firing())),
            // Auto-resolved earlier in this period and true again: reopen. A manual resolve
            // (or an odd period_ended) is final for this period.
            Some(a)
                if matches!(
                    a.resolution,
                    Some(Resolution::Recovered | Resolution::Superseded)
                ) =>
            {
                actions.push(Action::Reopen {
                    id: a.id.clone(),
                    firing: firing(),
                });
            }
            Some(_) => {}
        }
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
    let message = format!(
        "{account}: {q} {what}: {used} of {limit} ({percentage}%) in the period {start} to {end}",
        account = eval.account,
        used = q.display(used),
        limit = q.display(limit),
        start = eval.period.start.format("%Y-%m-%d"),
        end = eval.period.end.format("%Y-%m-%d"),
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
    }
}

#[cfg(test)]
mod tests;

//! Applying decisions: alerts and account statuses written, notifications enqueued, in
//! the caller's transaction.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Changes;
use crate::account::Channel;
use crate::alert::{Alert, Event, Resolution};
use crate::notify;
use crate::reconcile::Action;
use crate::store::alerts::Resolve;
use crate::store::{self, Tx, alerts, outbox};

/// The log lines of one evaluation: one a change up to `Journal::LINES`, the rest at debug
/// level and counted (a first sync of 100,000 accounts would write as many lines).
#[derive(Debug, Default)]
pub(crate) struct Journal {
    lines: usize,
    skipped: usize,
}

impl Journal {
    const LINES: usize = 20;

    pub(super) fn line(&mut self, level: log::Level, msg: impl FnOnce() -> String) {
        if self.lines < Self::LINES {
            self.lines += 1;
            log::log!(level, "{}", msg());
        } else {
            self.skipped += 1;
            log::debug!("{}", msg());
        }
    }

    /// The count of what was not logged one by one.
    pub(super) fn finish(&self) {
        if self.skipped > 0 {
            log::warn!(
                "{} more alert and account status changes (at debug level one by one; `quota alerts list` shows the alerts)",
                self.skipped
            );
        }
    }
}

/// Applies one account's actions and enqueues the notifications they cause. Must run inside
/// the write transaction that read `existing`.
pub(crate) fn apply_actions(
    tx: &Tx<'_>,
    account: &str,
    actions: &[Action],
    existing: &[Alert],
    channels: &[Channel],
    now: DateTime<Utc>,
    journal: &mut Journal,
) -> Result<Changes> {
    let mut changes = Changes::default();
    for action in actions {
        match action {
            Action::Create(f) => {
                let alert = Alert::new(uuid::Uuid::new_v4().to_string(), account, f, now);
                if alerts::insert(tx, &alert)? {
                    changes.created += 1;
                    let to = notify::route(channels, account, f.severity, Event::Firing);
                    outbox::enqueue(tx, &alert.id, Event::Firing, &to, now)?;
                    journal.line(log::Level::Warn, || {
                        format!("alert {}: {}", alert.id, f.message)
                    });
                }
            }
            Action::Reopen { id, firing } => {
                alerts::reopen(tx, id, firing)?;
                changes.reopened += 1;
                let to = notify::route(channels, account, firing.severity, Event::Firing);
                outbox::enqueue(tx, id, Event::Firing, &to, now)?;
                journal.line(log::Level::Warn, || {
                    format!("alert {id} reopened: {}", firing.message)
                });
            }
            Action::Resolve { id, resolution } => {
                let Some(alert) = existing.iter().find(|a| &a.id == id) else {
                    continue;
                };
                if resolve(tx, alert, Resolve::auto(*resolution), channels, now)? {
                    changes.resolved += 1;
                    journal.line(log::Level::Info, || {
                        format!("alert {id} resolved ({resolution})")
                    });
                }
            }
            Action::SetStatus(status) => {
                store::accounts::set_status(tx, account, *status, now)?;
                journal.line(log::Level::Info, || {
                    format!("account {account} is now {status}")
                });
            }
        }
    }
    Ok(changes)
}

/// Resolves one open alert and enqueues its resolved notice for the channels that want it
/// (none when `channels` is empty). `false` when it was no longer open.
pub(crate) fn resolve(
    tx: &Tx<'_>,
    alert: &Alert,
    how: Resolve<'_>,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<bool> {
    if !alerts::resolve(tx, &alert.id, how, now)? {
        return Ok(false);
    }
    let to = notify::route(channels, &alert.account, alert.severity, Event::Resolved);
    outbox::enqueue(tx, &alert.id, Event::Resolved, &to, now)?;
    Ok(true)
}

/// Resolves, as `account_removed`, the open alerts of every account that is `gone` (no
/// longer configured or discovered), with their resolved notices: for an unfiltered run only.
/// One log line per account.
pub(crate) fn retire_removed(
    tx: &Tx<'_>,
    gone: &dyn Fn(&str) -> bool,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut total = 0;
    for account in alerts::accounts_with_open(tx)? {
        if !gone(&account) {
            continue;
        }
        let n = retire(tx, &account, Resolution::AccountRemoved, channels, now)?;
        log::warn!(
            "account {account:?} is no longer configured or discovered: its {n} open alert(s) resolved as account_removed"
        );
        total += n;
    }
    Ok(total)
}

/// Resolves every open alert of an account that is no longer evaluated. Returns how many.
pub(crate) fn retire(
    tx: &Tx<'_>,
    account: &str,
    resolution: Resolution,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<usize> {
    let filter = alerts::ListFilter {
        accounts: vec![account.to_string()],
        ..Default::default()
    };
    let mut n = 0;
    for alert in alerts::list(tx, &filter)? {
        if resolve(tx, &alert, Resolve::auto(resolution), channels, now)? {
            n += 1;
        }
    }
    Ok(n)
}

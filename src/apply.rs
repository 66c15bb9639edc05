//! The use-case layer between the pure core and the store: read what evaluation needs,
//! decide with `evaluate` and `reconcile`, and apply the decision through the store's
//! primitives, with the notifications it causes, inside the caller's write transaction.
//! `sync` and `check` (and discovery) all apply decisions here.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use crate::alert::{AccountStatus, Alert, Event, Resolution};
use crate::config::{Account, Channel, UsageSource};
use crate::evaluate::{self, Loaded};
use crate::notify;
use crate::period::Period;
use crate::reconcile::{Action, Evaluation, reconcile};
use crate::store::accounts::{AccountRecord, AccountRow};
use crate::store::alerts::Resolve;
use crate::store::{self, Tx, alerts, outbox};

/// What one application of actions changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub created: usize,
    pub resolved: usize,
    pub reopened: usize,
}

impl Changes {
    pub fn add(&mut self, other: Changes) {
        self.created += other.created;
        self.resolved += other.resolved;
        self.reopened += other.reopened;
    }
}

/// Stored usage and cost that evaluating `accounts` at `now` needs, in summed segments. Cost
/// counts as measured once a cost fetch has succeeded (`cost_synced_at`).
pub fn load(tx: &Tx<'_>, accounts: &[&Account], now: DateTime<Utc>) -> Result<Loaded> {
    let bounds = evaluate::segment_bounds(accounts, now);
    let earliest = evaluate::earliest_start(accounts, now).date_naive();
    load_with(tx, accounts, &bounds, earliest)
}

/// Usage summed between `bounds`, with cost and developer days from `first` on (each `None`
/// until its report has been read once).
fn load_with(
    tx: &Tx<'_>,
    accounts: &[&Account],
    bounds: &[NaiveDate],
    first: NaiveDate,
) -> Result<Loaded> {
    let usage = store::usage::segment_sums(tx, bounds)?;
    let cost = match store::get_state(tx, store::COST_SYNCED)? {
        Some(_) => Some(store::cost::since(tx, first)?),
        None => None,
    };
    let developers = match store::get_state(tx, store::CLAUDE_CODE_READ)? {
        Some(_) if accounts.iter().any(|a| a.selector.is_developer()) => {
            Some(store::developers::since(tx, first)?)
        }
        Some(_) => Some(Vec::new()),
        None => None,
    };
    Ok(Loaded {
        usage,
        developers,
        cost,
    })
}

/// Records accounts the store does not know yet (or whose selector changed); returns what
/// the store knew before.
pub fn record_accounts(
    tx: &Tx<'_>,
    accounts: &[&Account],
    now: DateTime<Utc>,
) -> Result<HashMap<String, AccountRow>> {
    let known = store::accounts::states(tx)?;
    let selectors: Vec<String> = accounts.iter().map(|a| a.selector.to_string()).collect();
    let records: Vec<AccountRecord<'_>> = accounts
        .iter()
        .zip(&selectors)
        .map(|(a, s)| AccountRecord {
            name: &a.name,
            selector: s,
        })
        .collect();
    store::accounts::upsert(tx, &records, &known, now)?;
    Ok(known)
}

/// Which accounts a run evaluates: all of them (and then the open alerts of accounts that
/// exist no more are resolved), or the ones `--account` named (and nothing else is touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Selected,
}

/// Stored usage of every day from `first` to `last` (inclusive), one row per key, workspace
/// and day, with cost and developer days from `first` on: what `quota usage` reads.
pub fn load_days(
    tx: &Tx<'_>,
    accounts: &[&Account],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Loaded> {
    let bounds: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| *d <= last + chrono::Duration::days(1))
        .collect();
    load_with(tx, accounts, &bounds, first)
}

/// Records the accounts, evaluates each against stored usage and applies the alert actions,
/// all in the caller's transaction. With `Scope::All`, alerts of removed accounts resolve as
/// `account_removed`.
pub fn evaluate_accounts(
    tx: &Tx<'_>,
    accounts: &[&Account],
    scope: Scope,
    source: UsageSource,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<Changes> {
    let known = record_accounts(tx, accounts, now)?;
    let states = if accounts.iter().all(|a| known.contains_key(&a.name)) {
        known
    } else {
        store::accounts::states(tx)?
    };
    let earliest = evaluate::earliest_start(accounts, now);
    let loaded = load(tx, accounts, now)?;
    let mut existing = store::alerts::for_reconcile(tx, earliest)?;
    let mut changes = Changes::default();
    for view in evaluate::views(accounts, &loaded.inputs(source), now) {
        let name = view.account.name.as_str();
        let alerts = existing.remove(name).unwrap_or_default();
        let status = states.get(name).map_or(AccountStatus::Active, |s| s.status);
        let eval = Evaluation {
            account: name,
            period: view.period,
            thresholds: &view.account.thresholds,
            forecast: view.account.forecast,
            readings: view.readings,
        };
        let actions = reconcile(&eval, &alerts, status);
        changes.add(apply_actions(
            tx,
            name,
            view.period,
            &actions,
            &alerts,
            channels,
            now,
        )?);
    }
    if scope == Scope::All {
        changes.resolved += retire_removed(tx, accounts, channels, now)?;
    }
    Ok(changes)
}

/// Applies one account's actions and enqueues the notifications they cause. Must run inside
/// the write transaction that read `existing`.
pub fn apply_actions(
    tx: &Tx<'_>,
    account: &str,
    period: Period,
    actions: &[Action],
    existing: &[Alert],
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<Changes> {
    let mut changes = Changes::default();
    for action in actions {
        match action {
            Action::Create(f) => {
                let alert = Alert::new(uuid::Uuid::new_v4().to_string(), account, f, period, now);
                if alerts::insert(tx, &alert)? {
                    changes.created += 1;
                    let to = notify::route(channels, f.severity, Event::Firing);
                    outbox::enqueue(tx, &alert.id, Event::Firing, &to, now)?;
                    log::warn!("alert {}: {}", alert.id, f.message);
                }
            }
            Action::Reopen { id, firing } => {
                alerts::reopen(tx, id, firing)?;
                changes.reopened += 1;
                let to = notify::route(channels, firing.severity, Event::Firing);
                outbox::enqueue(tx, id, Event::Firing, &to, now)?;
                log::warn!("alert {id} reopened: {}", firing.message);
            }
            Action::Resolve { id, resolution } => {
                let Some(alert) = existing.iter().find(|a| &a.id == id) else {
                    continue;
                };
                if resolve(tx, alert, Resolve::auto(*resolution), channels, now)? {
                    changes.resolved += 1;
                    log::info!("alert {id} resolved ({resolution})");
                }
            }
            Action::SetStatus(status) => {
                store::accounts::set_status(tx, account, *status, now)?;
                log::info!("account {account} is now {status}");
            }
        }
    }
    Ok(changes)
}

/// Resolves one open alert and enqueues its resolved notice for the channels that want it
/// (none when `channels` is empty). `false` when it was no longer open.
pub fn resolve(
    tx: &Tx<'_>,
    alert: &Alert,
    how: Resolve<'_>,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<bool> {
    if !alerts::resolve(tx, &alert.id, how, now)? {
        return Ok(false);
    }
    let to = notify::route(channels, alert.severity, Event::Resolved);
    outbox::enqueue(tx, &alert.id, Event::Resolved, &to, now)?;
    Ok(true)
}

/// Resolves, as `account_removed`, the open alerts of every account not in `current` (no
/// longer configured or discovered), with their resolved notices: for an unfiltered run only.
/// One log line per account.
pub fn retire_removed(
    tx: &Tx<'_>,
    current: &[&Account],
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<usize> {
    let names: std::collections::HashSet<&str> = current.iter().map(|a| a.name.as_str()).collect();
    let mut total = 0;
    for account in alerts::accounts_with_open(tx)? {
        if names.contains(account.as_str()) {
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
pub fn retire(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Selector;
    use crate::evaluate::tests::{account, row};
    use crate::quota::DayUsage;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Reading the store in summed segments gives exactly the views the raw rows give:
        /// every total, every forecast.
        #[test]
        fn segment_sums_give_the_same_views_as_raw_rows(
            rows in proptest::collection::vec((0usize..3, 0usize..2, 0i64..70, 0u64..1_000_000, 0u64..1_000, proptest::option::of(0u64..50)), 0..80),
            days in proptest::collection::vec(1u32..=31, 1..4),
            now_offset in 20i64..70,
        ) {
            let keys = [Some("apikey_a"), Some("apikey_b"), None];
            let workspaces = [Some("wrkspc_x"), None];
            let base = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<DayUsage> = rows.iter().filter_map(|&(k, w, d, i, o, req)| {
                let day = base + chrono::Duration::days(d);
                seen.insert((k, w, day)).then(|| DayUsage { requests: req, ..row(keys[k], workspaces[w], day, i, o) })
            }).collect();
            let dir = tempfile::tempdir().unwrap();
            let mut store = store::Store::open(&dir.path().join("q.db")).unwrap();
            let now = base.and_hms_opt(15, 0, 0).unwrap().and_utc() + chrono::Duration::days(now_offset);
            store.write(|tx| store::usage::upsert(tx, &rows, "analytics", now)).unwrap();
            let mut accounts: Vec<Account> = Vec::new();
            for (n, bd) in days.iter().enumerate() {
                accounts.push(account(&format!("k{n}"), Selector::ApiKey("apikey_a".into()), *bd));
                accounts.push(account(&format!("w{n}"), Selector::Workspace(None), *bd));
                accounts.push(account(&format!("o{n}"), Selector::Organization, *bd));
            }
            let refs: Vec<&Account> = accounts.iter().collect();
            let loaded = store.read(|tx| load(tx, &refs, now)).unwrap();
            let raw = evaluate::views(&refs, &evaluate::Inputs { usage: &rows, developers: None, cost: None, source: UsageSource::Analytics }, now);
            let summed = evaluate::views(&refs, &loaded.inputs(UsageSource::Analytics), now);
            for (r, s) in raw.iter().zip(&summed) {
                prop_assert_eq!(&r.readings, &s.readings, "account {}", r.account.name);
            }
        }
    }
}

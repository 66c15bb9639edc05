//! What an evaluation reads: stored usage, cost and developer days in summed segments,
//! and the accounts as the store knows them.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Account, UsageSource};
use crate::evaluate::{self, Loaded};
use crate::incremental;
use crate::store::accounts::{AccountRecord, AccountRow};
use crate::store::usage::Rows;
use crate::store::{self, Tx};

/// Stored usage and cost that evaluating `accounts` at `now` needs, in summed segments. Cost
/// counts as measured once a cost fetch has succeeded (`cost_synced_at`).
pub(crate) fn load(tx: &Tx<'_>, accounts: &[&Account], now: DateTime<Utc>) -> Result<Loaded> {
    let bounds = evaluate::segment_bounds(accounts, now);
    let earliest = evaluate::earliest_start(accounts, now).date_naive();
    load_with(tx, accounts, &bounds, earliest, Rows::All)
}

/// Usage summed between `bounds` (the `rows` asked for; none when every account is a
/// developer's), with cost and developer days from `first` on (each `None` until its report
/// has been read once).
pub(super) fn load_with(
    tx: &Tx<'_>,
    accounts: &[&Account],
    bounds: &[NaiveDate],
    first: NaiveDate,
    rows: Rows<'_>,
) -> Result<Loaded> {
    let usage = if accounts.iter().all(|a| a.selector.is_developer()) {
        Vec::new()
    } else {
        store::usage::segment_sums(tx, bounds, rows)?
    };
    let cost = match store::get_state(tx, store::Fact::CostSynced)? {
        Some(_) => Some(store::cost::since(tx, first)?),
        None => None,
    };
    let developers = match store::get_state(tx, store::Fact::ClaudeCodeRead)? {
        Some(_) if accounts.iter().any(|a| a.selector.is_developer()) => {
            Some(store::developers::since(tx, first)?)
        }
        Some(_) => Some(Vec::new()),
        None => None,
    };
    let default_workspace = store::get_state(tx, store::Fact::DefaultWorkspace)?;
    let globs: Vec<&crate::account::ModelGlob> =
        accounts.iter().filter_map(|a| a.model.as_ref()).collect();
    let scoped = !globs.is_empty();
    let by_model = if scoped {
        store::usage::models::since(tx, first, &|m| globs.iter().any(|g| g.matches(m)))?
    } else {
        Vec::new()
    };
    let cost_by_model = match store::get_state(tx, store::Fact::ModelCostSynced)? {
        Some(_) if scoped => Some(store::cost::models_since(tx, first)?),
        _ => None,
    };
    let scoped_developer = accounts
        .iter()
        .any(|a| a.model.is_some() && a.selector.is_developer());
    let developers_by_model = if scoped_developer && developers.is_some() {
        store::developers::models_since(tx, first)?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        usage,
        developers,
        cost,
        default_workspace,
        by_model,
        cost_by_model,
        developers_by_model,
    })
}

/// Records accounts the store does not know yet (or whose selector changed); returns what
/// the store knew before.
pub(crate) fn record_accounts(
    tx: &Tx<'_>,
    accounts: &[&Account],
    source: UsageSource,
    now: DateTime<Utc>,
) -> Result<HashMap<String, AccountRow>> {
    let known = store::accounts::states(tx)?;
    // Only what is new or changed is held (a sync of 100,000 accounts changes few).
    let changed: Vec<(&str, String)> = accounts
        .iter()
        .filter_map(|a| {
            let k = known.get(&a.name);
            // An account last evaluated as it is now has the same selector (the fingerprint
            // covers it): no text to format.
            if k.is_some_and(|k| k.fingerprint == Some(incremental::fingerprint(a, source))) {
                return None;
            }
            let selector = a.selector.to_string();
            let same = k.is_some_and(|k| k.selector == selector);
            (!same).then_some((a.name.as_str(), selector))
        })
        .collect();
    let records: Vec<AccountRecord<'_>> = changed
        .iter()
        .map(|(name, selector)| AccountRecord { name, selector })
        .collect();
    store::accounts::upsert(tx, &records, &known, now)?;
    Ok(known)
}

/// When an account's data was last read whole. A usage account: its own mark (set by its
/// first sync, and by `--account` syncs), or the last unfiltered sync's if later, which read
/// every key and workspace (`store::Fact::SyncedAllAt`). A developer account: the last read of
/// its report. `None`: never.
pub(crate) fn synced_at(
    account: &Account,
    own: Option<DateTime<Utc>>,
    all: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let own = own?;
    if account.selector.is_developer() {
        return Some(own);
    }
    Some(all.map_or(own, |all| all.max(own)))
}

/// The last unfiltered sync's time (see `synced_at`).
pub(crate) fn synced_all_at(tx: &Tx<'_>) -> Result<Option<DateTime<Utc>>> {
    store::get_time(tx, store::Fact::SyncedAllAt)
}

/// Stored usage of every day from `first` to `last` (inclusive), one row per key, workspace
/// and day, with cost and developer days from `first` on: what `quota usage` reads.
pub(crate) fn load_days(
    tx: &Tx<'_>,
    accounts: &[&Account],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Loaded> {
    let bounds: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| *d <= last + chrono::Duration::days(1))
        .collect();
    load_with(tx, accounts, &bounds, first, Rows::All)
}

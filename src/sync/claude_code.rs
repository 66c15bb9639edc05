//! The Claude Code phase of a sync: when developer accounts exist (or developer
//! discovery is on) and the report is due, read it one UTC day per request and store it in
//! its own transaction, naming newly seen actors when discovery is on.
//!
//! The window is the one usage has (SPEC §1): yesterday and today in steady state, back to the
//! day of the last successful read after a gap, and the whole current billing period for a
//! new developer account or `--full`. The report lags by about an hour, so it is read at most
//! every `claude_code_interval_minutes` — except when an account has never been read, which
//! is read at once.

use std::collections::{BTreeSet, HashSet};

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::Request;
use crate::account::Account;
use crate::api::{self, Client};
use crate::config::{Config, DeveloperDiscovery};
use crate::period::Period;
use crate::records::ActorKind;
use crate::store::{self, Fact, Store};
use crate::window;

/// What a read did: how many days and requests, and the developer accounts it named.
#[derive(Debug, Default)]
pub(super) struct Read {
    pub days: usize,
    pub actors: usize,
    pub discovered: Vec<String>,
}

/// Reads and stores the report if due. `None` when there was nothing to do.
pub(super) fn read(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    req: &Request<'_>,
    all: &[&Account],
    now: DateTime<Utc>,
) -> Result<Option<Read>> {
    let discovery = config.developer_discovery == DeveloperDiscovery::Always;
    let developers: Vec<&Account> = crate::account::select(all, req.accounts)?
        .into_iter()
        .filter(|a| a.selector.is_developer())
        .collect();
    let filtered = !req.accounts.is_empty();
    if developers.is_empty() && (filtered || !discovery) {
        return Ok(None);
    }
    let marks = store.read(store::accounts::last_synced)?;
    let synced = |a: &Account| marks.get(&a.name);
    let fresh = developers.iter().any(|a| synced(a).is_none());
    let last = store.read(|tx| store::get_time(tx, Fact::ClaudeCodeRead))?;
    let due = super::due(last, config.api.claude_code_interval, now);
    if !req.full && !fresh && !due {
        return Ok(None);
    }
    let days = days_to_read(config, &developers, synced, req.full, now);
    let mut rows = Vec::new();
    let mut by_model = Vec::new();
    for d in &days {
        let (day, models) = api::claude_code::read_day(client, *d)?;
        rows.extend(day);
        by_model.extend(models);
    }
    let seen: BTreeSet<(ActorKind, &str)> =
        rows.iter().map(|r| (r.kind, r.actor.as_str())).collect();
    let unconfigured = unconfigured(config, &seen);
    let reserved: HashSet<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let discovered = store.write(|tx| {
        store::developers::replace_days(tx, &days, &rows, now)?;
        store::developers::replace_model_days(tx, &days, &by_model, now)?;
        store::set_time(tx, Fact::ClaudeCodeRead, now)?;
        // Evaluated by the next evaluation of every developer account (this sync's, unless
        // its usage read fails).
        store::set_state(tx, Fact::ClaudeCodePending, "1")?;
        let added = if discovery {
            store::developers::refresh_actors(tx, &unconfigured, &reserved, now)?
        } else {
            Vec::new()
        };
        mark_read(tx, &developers, config.api.usage_source, now)?;
        Ok(added)
    })?;
    if !discovered.is_empty() {
        // The accounts this read discovered were read by it: the next sync need not read
        // their whole period again.
        let roster = super::Roster::load(config, store)?;
        let found: Vec<&Account> = roster
            .all()
            .into_iter()
            .filter(|a| discovered.contains(&a.name))
            .collect();
        store.write(|tx| mark_read(tx, &found, config.api.usage_source, now))?;
    }
    Ok(Some(Read {
        days: days.len(),
        actors: seen.len(),
        discovered,
    }))
}

/// The days the report is read for: from the first day an account needs (its whole period
/// when new or with `--full`) through today.
fn days_to_read(
    config: &Config,
    developers: &[&Account],
    synced: impl Fn(&Account) -> Option<DateTime<Utc>>,
    full: bool,
    now: DateTime<Utc>,
) -> Vec<NaiveDate> {
    let first = if developers.is_empty() {
        // Discovery with no developer account yet: the defaults' whole period.
        Period::containing(config.claude_code_defaults.billing_day, now).start_day()
    } else {
        window::first_day(
            developers,
            synced,
            full,
            config.database.retention_days,
            now,
        )
    };
    first
        .iter_days()
        .take_while(|d| *d <= now.date_naive())
        .collect()
}

/// The actors of the report no configured account covers (the configured account wins).
fn unconfigured<'r>(
    config: &Config,
    seen: &BTreeSet<(ActorKind, &'r str)>,
) -> Vec<(ActorKind, &'r str)> {
    let configured: HashSet<(ActorKind, &str)> = config
        .accounts
        .iter()
        .filter_map(|a| a.selector.actor())
        .collect();
    seen.iter()
        .copied()
        .filter(|a| !configured.contains(a))
        .collect()
}

/// Records the developer accounts as read through `now` ("data as of" in `status`).
fn mark_read(
    tx: &store::Tx<'_>,
    developers: &[&Account],
    source: crate::account::UsageSource,
    now: DateTime<Utc>,
) -> Result<()> {
    crate::apply::record_accounts(tx, developers, source, now)?;
    let names: Vec<&str> = developers.iter().map(|a| a.name.as_str()).collect();
    store::accounts::mark_synced(tx, &names, now)
}

//! Key discovery: with discovery on and due (hourly), list the active keys and record them;
//! keys no longer active stop being evaluated and their open alerts resolve as
//! `account_removed`, in one transaction. The same listing checks the configured
//! `api_key_id`s (`super::unlisted`).

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::unlisted;
use crate::alert::Resolution;
use crate::api::{self, Client};
use crate::apply;
use crate::config::Config;
use crate::store::{self, Fact, Store, keys};

/// How often the list of API keys is read.
pub(super) const INTERVAL: Duration = Duration::from_secs(3600);

/// Dropped keys (and configured ids not listed) are logged one line each up to this many,
/// then as a count.
pub(super) const MAX_DROPPED_LINES: usize = 20;

/// With discovery on, lists and records the active keys when due: `None` when not. Each page
/// of keys goes to a staging table as it comes; the store takes the listing in one
/// transaction once it is whole.
pub(super) fn keys(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    if !config.discovers_keys() || !list_keys_when_due(store, client, config, now)? {
        return Ok(None);
    }
    let reserved = config.accounts.iter().map(|a| a.name.clone()).collect();
    store.write(|tx| {
        unlisted::record_keys(tx, config, now)?;
        let refresh = keys::refresh_staged(tx, &reserved, now)?;
        super::log_names("API key", &refresh.added);
        for (i, name) in refresh.deactivated.iter().enumerate() {
            let n = apply::retire(tx, name, Resolution::AccountRemoved, &config.notify, now)?;
            if i < MAX_DROPPED_LINES {
                log::warn!(
                    "API key account {name:?} is no longer active: it is not evaluated any more, and its {n} open alert(s) resolved as account_removed"
                );
            }
        }
        if let Some(more) = refresh
            .deactivated
            .len()
            .checked_sub(MAX_DROPPED_LINES)
            .filter(|m| *m > 0)
        {
            log::warn!(
                "{more} more API key accounts are no longer active (their open alerts resolved as account_removed)"
            );
        }
        Ok(Some(()))
    })
}

/// Lists the active keys into the store's staging when an hour has passed since the last
/// listing, or at once when the configured key ids or names changed since; whether it did.
pub(super) fn list_keys_when_due(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<bool> {
    let due = store.read(|tx| {
        let last = store::get_time(tx, Fact::KeysListed)?;
        Ok(super::due(last, INTERVAL, now) || unlisted::keys_changed(tx, config)?)
    })?;
    if !due {
        return Ok(false);
    }
    store.scratch(keys::begin_listing)?;
    let listed = api::keys::list_active(client, &mut |page| {
        store.scratch(|tx| keys::stage_page(tx, page))
    })?;
    log::debug!("listed {listed} active API keys");
    Ok(true)
}

/// With the analytics source and a `workspace_id = "default"` account, learns the Default
/// Workspace's real id when due (hourly, like the key list): `None` when not due.
pub(super) fn default_workspace(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    let wanted = config.api.usage_source == crate::account::UsageSource::Analytics
        && config
            .accounts
            .iter()
            .any(|a| a.selector == crate::account::Selector::Workspace(None));
    if !wanted
        || !super::due(
            store.read(|tx| store::get_time(tx, Fact::WorkspacesListed))?,
            INTERVAL,
            now,
        )
    {
        return Ok(None);
    }
    let (id, listed) = api::workspaces::default_id(client)?;
    store.write(|tx| {
        match &id {
            Some(id) => store::set_state(tx, Fact::DefaultWorkspace, id)?,
            None => store::clear_state(tx, Fact::DefaultWorkspace)?,
        }
        store::set_time(tx, Fact::WorkspacesListed, now)?;
        // The same list checks the configured workspace ids (`unlisted::check_workspaces`).
        unlisted::record_workspaces(tx, config, &listed, now)
    })?;
    log::debug!(
        "the Default Workspace is {}",
        id.as_deref().unwrap_or("reported as null")
    );
    Ok(Some(()))
}

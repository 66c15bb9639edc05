//! Key discovery: with discovery on and due (hourly), list the active keys and record them;
//! keys no longer active stop being evaluated and their open alerts resolve as
//! `account_removed`, in one transaction. The same listing checks the configured
//! `api_key_id`s: one that is not an active key of the organization (a typo, or a key rotated
//! away) would read 0 for ever, so it is recorded (`Fact::KeysUnlisted`) and told.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::account::Account;
use crate::alert::Resolution;
use crate::api::{self, Client};
use crate::apply;
use crate::config::Config;
use crate::store::{self, Fact, Store, keys};

/// How often the list of API keys is read.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Dropped keys (and configured keys not listed) are logged one line each up to this many,
/// then as a count.
const MAX_DROPPED_LINES: usize = 20;

/// With discovery on, lists and records the active keys when due: `None` when not. Each page
/// of keys goes to a staging table as it comes; the store takes the listing in one
/// transaction once it is whole.
pub(super) fn keys(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    if !config.discovers_keys() || !list_when_due(store, client, now)? {
        return Ok(None);
    }
    let reserved = config.accounts.iter().map(|a| a.name.clone()).collect();
    store.write(|tx| {
        unlisted(tx, config, now)?;
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

/// With discovery off, lists the active keys when due (after the usage read: it is not
/// needed for it) to check the configured `api_key_id`s: `None` when not due or nothing to
/// check.
pub(super) fn check_configured(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    let any = config
        .accounts
        .iter()
        .any(|a| a.selector.api_key_id().is_some());
    if config.discovers_keys() || !any || !list_when_due(store, client, now)? {
        return Ok(None);
    }
    store.write(|tx| unlisted(tx, config, now))?;
    Ok(Some(()))
}

/// Lists the active keys into the store's staging when an hour has passed since the last
/// listing; whether it did.
fn list_when_due(store: &mut Store, client: &mut Client, now: DateTime<Utc>) -> Result<bool> {
    let last = store.read(|tx| store::get_time(tx, Fact::KeysListed))?;
    if !super::due(last, INTERVAL, now) {
        return Ok(false);
    }
    store.scratch(keys::begin_listing)?;
    let listed = api::keys::list_active(client, &mut |page| {
        store.scratch(|tx| keys::stage_page(tx, page))
    })?;
    log::debug!("listed {listed} active API keys");
    Ok(true)
}

/// Records the listing's time and the configured key ids it lacks, and logs them when
/// those change.
fn unlisted(tx: &store::Tx<'_>, config: &Config, now: DateTime<Utc>) -> Result<()> {
    store::set_time(tx, Fact::KeysListed, now)?;
    let configured: Vec<&str> = config
        .accounts
        .iter()
        .filter_map(|a| a.selector.api_key_id())
        .collect();
    let missing = keys::unlisted(tx, &configured)?.join(",");
    if store::get_state(tx, Fact::KeysUnlisted)?.unwrap_or_default() == missing {
        return Ok(());
    }
    if missing.is_empty() {
        store::clear_state(tx, Fact::KeysUnlisted)?;
        log::info!("every configured api_key_id is an active key of the organization");
        return Ok(());
    }
    store::set_state(tx, Fact::KeysUnlisted, &missing)?;
    let accounts = unlisted_accounts(tx, config)?;
    for a in accounts.iter().take(MAX_DROPPED_LINES) {
        log::warn!("{}", unlisted_line(a, now));
    }
    if let Some(more) = accounts
        .len()
        .checked_sub(MAX_DROPPED_LINES)
        .filter(|m| *m > 0)
    {
        log::warn!(
            "{more} more configured api_key_ids are not active keys: see quota config check"
        );
    }
    Ok(())
}

/// The configured accounts whose `api_key_id` the last listing did not have
/// (`Fact::KeysUnlisted`).
pub(crate) fn unlisted_accounts<'a>(
    tx: &store::Tx<'_>,
    config: &'a Config,
) -> Result<Vec<&'a Account>> {
    let ids = store::get_state(tx, Fact::KeysUnlisted)?.unwrap_or_default();
    let ids: Vec<&str> = ids.split(',').filter(|i| !i.is_empty()).collect();
    Ok(config
        .accounts
        .iter()
        .filter(|a| a.selector.api_key_id().is_some_and(|id| ids.contains(&id)))
        .collect())
}

/// What an account whose key the listing at `listed` did not have means, and what to do.
pub(crate) fn unlisted_line(a: &Account, listed: DateTime<Utc>) -> String {
    format!(
        "{}: api_key_id {} is not an active key of the organization (keys listed {}): its usage reads 0; check the id, or point the account at the key that replaced it",
        a.name,
        a.selector.api_key_id().unwrap_or_default(),
        crate::time::minute(listed)
    )
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
    let id = api::workspaces::default_id(client)?;
    store.write(|tx| {
        match &id {
            Some(id) => store::set_state(tx, Fact::DefaultWorkspace, id)?,
            None => store::clear_state(tx, Fact::DefaultWorkspace)?,
        }
        store::set_time(tx, Fact::WorkspacesListed, now)
    })?;
    log::debug!(
        "the Default Workspace is {}",
        id.as_deref().unwrap_or("reported as null")
    );
    Ok(Some(()))
}

//! Configured ids checked against the organization's own lists. A configured `api_key_id`
//! that is not an active key, a `claude_code_api_key` that is no active key's name, or a
//! `workspace_id` that is not a workspace (a typo, a key rotated away, a workspace
//! archived), has no usage rows: its account would read 0 for ever, an "all clear" nobody
//! asked for. The hourly listings find them, and a listing runs on the next sync whenever
//! the configured ids change (so a mistyped id is told the minute after the edit); each
//! finding is a `sync_state` fact, logged when it changes, and shown by `status`, `config
//! check` and the textfile.

use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::discover::{INTERVAL, MAX_DROPPED_LINES, list_keys_when_due};
use super::health;
use crate::account::{Account, Selector};
use crate::api::{self, Client};
use crate::config::Config;
use crate::incremental::set_digest;
use crate::store::{self, Fact, Store, Tx, keys};

/// The organization's lists that configured ids are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// The active keys, by id.
    Keys,
    /// The active keys, by name (a Claude Code API actor is named by its key's name).
    KeyNames,
    Workspaces,
}

impl Listing {
    const ALL: [Listing; 3] = [Listing::Keys, Listing::KeyNames, Listing::Workspaces];

    /// The id of this list an account is configured with (never the Default Workspace's:
    /// it has no id of its own to check).
    fn id_of(self, a: &Account) -> Option<&str> {
        match (self, &a.selector) {
            (Listing::Keys, Selector::ApiKey(id)) => Some(id),
            (Listing::KeyNames, Selector::ClaudeCodeApiKey(name)) => Some(name),
            (Listing::Workspaces, Selector::Workspace(Some(id))) => Some(id),
            _ => None,
        }
    }

    fn configured(self, config: &Config) -> Vec<&str> {
        config
            .accounts
            .iter()
            .filter_map(|a| self.id_of(a))
            .collect()
    }

    /// When the list was last read, and the configured ids it lacked.
    fn facts(self) -> (Fact, Fact) {
        match self {
            Listing::Keys => (Fact::KeysListed, Fact::KeysUnlisted),
            Listing::KeyNames => (Fact::KeysListed, Fact::KeyNamesUnlisted),
            Listing::Workspaces => (Fact::WorkspacesChecked, Fact::WorkspacesUnlisted),
        }
    }

    /// The digest of the configured ids the last listing checked.
    fn checked_for(self) -> Fact {
        match self {
            Listing::Keys => Fact::KeysCheckedFor,
            Listing::KeyNames => Fact::KeyNamesCheckedFor,
            Listing::Workspaces => Fact::WorkspacesCheckedFor,
        }
    }

    /// How the missing ids are stored in one fact: a key's name may hold a comma.
    fn separator(self) -> char {
        match self {
            Listing::KeyNames => '\n',
            Listing::Keys | Listing::Workspaces => ',',
        }
    }

    fn line(self, a: &Account, listed: DateTime<Utc>) -> String {
        let id = self.id_of(a).unwrap_or_default();
        let (key, id, what, replaced) = match self {
            Listing::Keys => ("api_key_id", id.to_string(), "an active key", "key"),
            Listing::KeyNames => (
                "claude_code_api_key",
                format!("{id:?}"),
                "the name of an active key",
                "key",
            ),
            Listing::Workspaces => ("workspace_id", id.to_string(), "a workspace", "workspace"),
        };
        let checked = if self == Listing::KeyNames {
            "name"
        } else {
            "id"
        };
        format!(
            "{}: {key} {id} is not {what} of the organization (listed {}): its usage reads 0; check the {checked}, or point the account at the {replaced} that replaced it",
            a.name,
            crate::time::minute(listed)
        )
    }
}

/// Both checks, when due, each an advisory read of its own in `reads` (`key_check`,
/// `workspace_check`): no usage depends on them, so a failing listing is a warning and
/// is tried again on the next sync; it neither fails the sync nor raises `sync_failing`.
pub(super) fn check(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
    reads: &mut health::Reads,
) {
    let keys = check_keys(store, client, config, now);
    reads.advisory(health::KEY_CHECK, keys);
    let workspaces = check_workspaces(store, client, config, now);
    reads.advisory(health::WORKSPACE_CHECK, workspaces);
}

/// With discovery off, lists the active keys when due to check the configured
/// `api_key_id`s and `claude_code_api_key`s (with it on, discovery's own listing does):
/// `None` when not due or nothing to check. After the usage read, which does not need it.
fn check_keys(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    if !config.lists_keys() {
        forget_keys(store)?;
        return Ok(None);
    }
    let none = [Listing::Keys, Listing::KeyNames]
        .iter()
        .all(|l| l.configured(config).is_empty());
    if config.discovers_keys() || none || !list_keys_when_due(store, client, config, now)? {
        return Ok(None);
    }
    store.write(|tx| record_keys(tx, config, now))?;
    Ok(Some(()))
}

/// With `api_keys = "never"` nothing is checked against the keys: what earlier listings
/// found is forgotten (read first, so that a steady sync writes nothing), and the next
/// listing, if the setting changes, checks every id at once.
fn forget_keys(store: &mut Store) -> Result<()> {
    let facts = [
        Fact::KeysUnlisted,
        Fact::KeyNamesUnlisted,
        Fact::KeysCheckedFor,
        Fact::KeyNamesCheckedFor,
    ];
    let stored = store.read(|tx| {
        let mut any = false;
        for f in facts {
            any |= store::get_state(tx, f)?.is_some();
        }
        Ok(any)
    })?;
    if stored {
        store.write(|tx| facts.iter().try_for_each(|f| store::clear_state(tx, *f)))?;
    }
    Ok(())
}

/// Whether the configured key ids or names are not the ones the last key listing checked.
pub(super) fn keys_changed(tx: &Tx<'_>, config: &Config) -> Result<bool> {
    Ok(changed(tx, config, Listing::Keys)? || changed(tx, config, Listing::KeyNames)?)
}

/// Records which configured key ids and names the listing just staged lacks.
pub(super) fn record_keys(tx: &Tx<'_>, config: &Config, now: DateTime<Utc>) -> Result<()> {
    for (listing, column) in [(Listing::Keys, "id"), (Listing::KeyNames, "name")] {
        let missing = keys::unlisted(tx, column, &listing.configured(config))?;
        record(tx, config, listing, &missing, now)?;
    }
    Ok(())
}

/// Lists the workspaces when due to check the configured `workspace_id`s: `None` when not
/// due or nothing to check.
fn check_workspaces(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<()>> {
    if Listing::Workspaces.configured(config).is_empty() {
        return Ok(None);
    }
    let due = store.read(|tx| {
        let last = store::get_time(tx, Fact::WorkspacesChecked)?;
        Ok(super::due(last, INTERVAL, now) || changed(tx, config, Listing::Workspaces)?)
    })?;
    if !due {
        return Ok(None);
    }
    let listed = api::workspaces::ids(client, false)?;
    store.write(|tx| record_workspaces(tx, config, &listed, now))?;
    Ok(Some(()))
}

/// Records which configured workspace ids `listed` (the plain list) lacks.
pub(super) fn record_workspaces(
    tx: &Tx<'_>,
    config: &Config,
    listed: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let missing: Vec<String> = Listing::Workspaces
        .configured(config)
        .into_iter()
        .filter(|id| !listed.iter().any(|l| l == id))
        .map(String::from)
        .collect();
    record(tx, config, Listing::Workspaces, &missing, now)
}

/// Whether the configured ids of `listing` are not the ones its last listing checked (an
/// account added or its id edited): then they are checked on this sync, not within the hour,
/// so a mistyped id is told the minute after the edit.
fn changed(tx: &Tx<'_>, config: &Config, listing: Listing) -> Result<bool> {
    let configured = listing.configured(config);
    if configured.is_empty() {
        return Ok(false);
    }
    let checked = store::get_state(tx, listing.checked_for())?;
    Ok(checked.is_none_or(|c| c != set_digest(&configured)))
}

/// Records a listing's time and the configured ids it lacked, and logs them when they
/// change.
fn record(
    tx: &Tx<'_>,
    config: &Config,
    listing: Listing,
    missing: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let (listed, unlisted) = listing.facts();
    store::set_time(tx, listed, now)?;
    let checked_for = set_digest(&listing.configured(config));
    store::set_state(tx, listing.checked_for(), &checked_for)?;
    let joined = missing.join(&listing.separator().to_string());
    if store::get_state(tx, unlisted)?.unwrap_or_default() == joined {
        return Ok(());
    }
    if joined.is_empty() {
        return store::clear_state(tx, unlisted);
    }
    store::set_state(tx, unlisted, &joined)?;
    let missing: HashSet<&str> = missing.iter().map(String::as_str).collect();
    let found: Vec<&Account> = config
        .accounts
        .iter()
        .filter(|a| listing.id_of(a).is_some_and(|id| missing.contains(id)))
        .collect();
    for a in found.iter().take(MAX_DROPPED_LINES) {
        log::warn!("{}", listing.line(a, now));
    }
    if let Some(more) = found
        .len()
        .checked_sub(MAX_DROPPED_LINES)
        .filter(|m| *m > 0)
    {
        log::warn!("{more} more configured ids are not listed: see quota config check");
    }
    Ok(())
}

/// Each of `accounts` whose id the last listing of its kind lacked, by name, with the line
/// that says so.
pub(crate) fn findings(tx: &Tx<'_>, accounts: &[&Account]) -> Result<Vec<(String, String)>> {
    Ok(verdicts(tx, accounts)?
        .into_iter()
        .filter(|v| v.unlisted)
        .map(|v| (v.account.name.clone(), v.listing.line(v.account, v.listed)))
        .collect())
}

/// Each of `accounts` whose id a listing has checked, by name, and whether it was missing
/// (the textfile's `quota_account_unlisted`).
pub(crate) fn checked(tx: &Tx<'_>, accounts: &[&Account]) -> Result<Vec<(String, bool)>> {
    Ok(verdicts(tx, accounts)?
        .into_iter()
        .map(|v| (v.account.name.clone(), v.unlisted))
        .collect())
}

/// An account's id, as the last listing of its kind found it.
struct Verdict<'a> {
    account: &'a Account,
    listing: Listing,
    listed: DateTime<Utc>,
    unlisted: bool,
}

fn verdicts<'a>(tx: &Tx<'_>, accounts: &[&'a Account]) -> Result<Vec<Verdict<'a>>> {
    let mut out = Vec::new();
    for listing in Listing::ALL {
        let (listed, unlisted) = listing.facts();
        let Some(at) = store::get_time(tx, listed)? else {
            continue;
        };
        let missing = store::get_state(tx, unlisted)?.unwrap_or_default();
        let ids: HashSet<&str> = missing
            .split(listing.separator())
            .filter(|id| !id.is_empty())
            .collect();
        out.extend(accounts.iter().filter_map(|a| {
            let id = listing.id_of(a)?;
            Some(Verdict {
                account: a,
                listing,
                listed: at,
                unlisted: ids.contains(id),
            })
        }));
    }
    Ok(out)
}

//! `sync_state`: small named facts, each one text value (times as RFC 3339).

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Tx;
use super::sql::vals;

/// The named facts of `sync_state`, each one text value. The sync use case (`crate::sync`)
/// owns when each is set and cleared; the rest of quota only reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact {
    /// The last successful sync's time.
    LastSuccess,
    /// The last successful cost report fetch.
    CostSynced,
    /// The last successful read of the Claude Code report.
    ClaudeCodeRead,
    /// The last api_keys listing (discovery, and the check of the configured keys).
    KeysListed,
    /// The configured `api_key_id`s that the last listing did not have as active keys of the
    /// organization (comma-separated): a typo, or a key rotated away, whose usage reads 0.
    KeysUnlisted,
    /// A digest of the configured `api_key_id`s the last listing checked: when the config's
    /// differ, the next sync lists the keys again without waiting for the hour.
    KeysCheckedFor,
    /// The configured `claude_code_api_key`s that the last listing had as no active key's
    /// name (one per line: a name may hold a comma).
    KeyNamesUnlisted,
    /// A digest of the configured `claude_code_api_key`s the last listing checked.
    KeyNamesCheckedFor,
    /// The usage source's own "data as of" watermark (analytics).
    UsageAsOf,
    /// The count fields the last usage read found in no row (comma-separated), for the "not
    /// measured" reasons.
    UsageUnreported,
    /// The models the last read grouped by model saw (comma-separated), for `config check`.
    ModelsSeen,
    /// The last cost read grouped by model (analytics, while a scoped account has a cost
    /// limit): cost per model is measured from then on.
    ModelCostSynced,
    /// An analytics read cut short: `FIRST NEXT` (days), meaning the read that began at FIRST
    /// has stored every day before NEXT.
    UsageResume,
    /// The last unfiltered sync that stored a whole usage read: it read every key and
    /// workspace, so every usage account that was ever synced is current as of then (one fact
    /// instead of an UPDATE of every account row each minute).
    SyncedAllAt,
    /// The `now` of the last evaluation that covered every account (an unfiltered sync or
    /// check): every account's alerts and status are as a full evaluation at that time would
    /// leave them.
    EvaluatedAt,
    /// The last full evaluation pass (every account, whatever changed).
    FullPassAt,
    /// Set when stored data changed without the evaluation that covers every account (a
    /// `--account` sync, pruning): the next evaluation is a full pass.
    EvaluationStale,
    /// Set by a Claude Code read and cleared by the evaluation that covers every developer
    /// account: the read's days are evaluated even when that comes later.
    ClaudeCodePending,
    /// The roster (`incremental::roster`) that the last evaluation covering every account
    /// left recorded: each account stored with its selector and fingerprint, no open alert of
    /// an account not in it. Every evaluation clears it first, and only one that covers every
    /// account sets it again.
    EvaluatedRoster,
    /// The configuration warnings the last sync logged (one per line), so that each is
    /// logged when it first appears or changes, not every minute.
    ConfigWarnings,
    /// The Default Workspace's real id, which the analytics source reports where the legacy
    /// reports give null (learned from the workspaces list).
    DefaultWorkspace,
    /// The last listing of the workspaces (for the Default Workspace's id).
    WorkspacesListed,
    /// The last listing of the workspaces that checked the configured `workspace_id`s.
    WorkspacesChecked,
    /// The configured `workspace_id`s that listing did not have (comma-separated).
    WorkspacesUnlisted,
    /// A digest of the configured `workspace_id`s that listing checked (as `KeysCheckedFor`).
    WorkspacesCheckedFor,
}

impl Fact {
    /// The key it is stored under (the schema's, unchanged since the facts were strings).
    fn key(self) -> &'static str {
        match self {
            Fact::LastSuccess => "last_success_at",
            Fact::CostSynced => "cost_synced_at",
            Fact::ClaudeCodeRead => "claude_code_read_at",
            Fact::KeysListed => "keys_listed_at",
            Fact::KeysUnlisted => "keys_unlisted",
            Fact::KeysCheckedFor => "keys_checked_for",
            Fact::KeyNamesUnlisted => "key_names_unlisted",
            Fact::KeyNamesCheckedFor => "key_names_checked_for",
            Fact::UsageAsOf => "usage_data_as_of",
            Fact::UsageUnreported => "usage_unreported",
            Fact::ModelsSeen => "models_seen",
            Fact::ModelCostSynced => "model_cost_synced",
            Fact::UsageResume => "usage_resume",
            Fact::SyncedAllAt => "synced_all_at",
            Fact::EvaluatedAt => "evaluated_at",
            Fact::FullPassAt => "full_pass_at",
            Fact::EvaluationStale => "evaluation_stale",
            Fact::ClaudeCodePending => "claude_code_pending",
            Fact::EvaluatedRoster => "evaluated_roster",
            Fact::ConfigWarnings => "config_warnings",
            Fact::DefaultWorkspace => "default_workspace",
            Fact::WorkspacesListed => "workspaces_listed_at",
            Fact::WorkspacesChecked => "workspaces_checked_at",
            Fact::WorkspacesUnlisted => "workspaces_unlisted",
            Fact::WorkspacesCheckedFor => "workspaces_checked_for",
        }
    }
}

/// Reads one fact.
pub(crate) fn get_state(tx: &Tx<'_>, fact: Fact) -> Result<Option<String>> {
    tx.first(
        "SELECT value FROM sync_state WHERE key = ?1",
        &vals![fact.key()],
        |r| r.text(0),
    )
}

/// A fact that is a time; `None` when unset or not a time.
pub(crate) fn get_time(tx: &Tx<'_>, fact: Fact) -> Result<Option<DateTime<Utc>>> {
    Ok(get_state(tx, fact)?.and_then(|t| crate::time::parse(&t).ok()))
}

pub(crate) fn set_state(tx: &Tx<'_>, fact: Fact, value: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &vals![fact.key(), value],
    )?;
    Ok(())
}

/// Sets a fact to a time.
pub(crate) fn set_time(tx: &Tx<'_>, fact: Fact, at: DateTime<Utc>) -> Result<()> {
    set_state(tx, fact, &crate::time::ts(at))
}

/// Removes one fact.
pub(crate) fn clear_state(tx: &Tx<'_>, fact: Fact) -> Result<()> {
    tx.exec("DELETE FROM sync_state WHERE key = ?1", &vals![fact.key()])?;
    Ok(())
}

//! The sync's one transaction: the staged usage and the cost go into the store, every
//! account is evaluated, and what this run read is marked. All of it commits, or none.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Account, UsageSource};
use crate::api::usage::Fetched;
use crate::apply::{self, Changes, Pass, Scope};
use crate::config::Config;
use crate::evaluate;
use crate::incremental::Changed;
use crate::quota::QuotaType;
use crate::store::usage::Staged;
use crate::store::{self, Fact, Store, Tx, accounts, lease, usage};

/// What the reads brought, for the transaction.
pub(super) struct Read {
    pub fetched: Fetched,
    pub staged: Staged,
    /// Per-model rows, when the read was grouped by model.
    pub models: Option<super::fetch::Models>,
    /// Yesterday and today only (`Plan::steady`).
    pub steady: bool,
    pub cost: Option<super::fetch::Cost>,
    /// The fetch lease's fencing token, when hosts share the store.
    pub token: Option<i64>,
}

/// Stores what was read and evaluates the accounts, in one transaction. A steady read of an
/// unfiltered sync is evaluated incrementally: only the accounts whose usage, config or time
/// changed (`apply::Pass`).
pub(super) fn usage_and_evaluate(
    store: &mut Store,
    config: &Config,
    scope: Scope,
    accounts: &[&Account],
    read: Read,
    now: DateTime<Utc>,
) -> Result<Changes> {
    let incremental = read.steady && scope == Scope::All;
    let retention_start =
        now.date_naive() - chrono::Duration::days(i64::from(config.database.retention_days));
    let (evaluated, pruned) = store.write(|tx| {
        if let Some(token) = read.token
            && !lease::holds(tx, lease::FETCH, token)?
        {
            anyhow::bail!(
                "another run took over the Admin API read (a later minute) while this one was reading: nothing of this read was stored"
            );
        }
        let (written, mut changed) = store_read(
            tx,
            config,
            (read.staged, &read.fetched, read.models.as_ref()),
            now,
            incremental,
        )?;
        if scope == Scope::All {
            // Burn rates measure growth between reads of every account's usage.
            store::burn::record_read(tx, now)?;
        }
        if let Some(super::fetch::Cost { rows, by_model }) = &read.cost {
            if let Some(models) = by_model {
                store::cost::replace_models(tx, models, now)?;
                store::set_time(tx, Fact::ModelCostSynced, now)?;
            }
            store::cost::upsert(tx, rows, now)?;
            store::set_time(tx, Fact::CostSynced, now)?;
            changed.cost = true;
            changed.key_cost = rows.iter().any(|r| r.api_key_id.is_some());
        }
        let pass = if incremental {
            Pass::Incremental(&changed)
        } else {
            Pass::Full
        };
        let evaluated = apply::evaluate_accounts(
            tx,
            accounts,
            scope,
            pass,
            config.api.usage_source,
            &config.notify,
            now,
        )?;
        if scope == Scope::Selected && (written > 0 || read.cost.is_some()) {
            // Rows of accounts this run did not evaluate may have changed.
            store::set_state(tx, Fact::EvaluationStale, "1")?;
        }
        mark_synced(tx, scope, accounts, now)?;
        let pruned = prune(tx, retention_start)?;
        store::burn::prune(tx, now - keep_for_burn(accounts), now - chrono::Duration::days(40))?;
        Ok((evaluated, pruned))
    })?;
    log::info!(
        "evaluated {} of {} accounts ({})",
        evaluated.accounts,
        accounts.len(),
        if evaluated.full {
            "full pass"
        } else {
            "incremental: the others are unchanged"
        }
    );
    if pruned > 0 {
        log::info!(
            "removed {pruned} rows older than {retention_start} ([database] retention_days)"
        );
    }
    Ok(evaluated.changes)
}

/// Moves the staged usage (and its per-model rows) into the store with the read's facts: its
/// "data as of", what it left out (which changes what is measured for every account), and
/// no resume mark (the read is whole). Returns the rows written and, for an incremental
/// pass, what changed.
fn store_read(
    tx: &Tx<'_>,
    config: &Config,
    (staged, fetched, models): (Staged, &Fetched, Option<&super::fetch::Models>),
    now: DateTime<Utc>,
    incremental: bool,
) -> Result<(usize, Changed)> {
    let source = config.api.usage_source.as_str();
    let mut changed = Changed::default();
    // The Default Workspace's rows are the "default" account's, under either id.
    let default = store::get_state(tx, Fact::DefaultWorkspace)?;
    let mut seen = |k: &str, w: &str| {
        let w = if Some(w) == default.as_deref() { "" } else { w };
        changed.usage(k, w);
    };
    let written = if incremental {
        usage::upsert_staged(tx, staged, source, now, Some(&mut seen))?
    } else {
        usage::upsert_staged(tx, staged, source, now, None)?
    };
    if let Some(m) = models {
        let keys: Vec<&str> = m.keys.iter().map(String::as_str).collect();
        for (k, w) in usage::models::replace(tx, (m.from, None), &keys, &m.rows, now)? {
            seen(&k, &w);
        }
        store::set_state(tx, Fact::ModelsSeen, &m.seen.join(","))?;
    }
    if let Some(as_of) = &fetched.data_as_of {
        store::set_state(tx, Fact::UsageAsOf, as_of)?;
    }
    store::clear_state(tx, Fact::UsageResume)?;
    let unreported = fetched.unreported.join(",");
    if store::get_state(tx, Fact::UsageUnreported)?.unwrap_or_default() != unreported {
        // What is measured changed for every account; said once, when it changes.
        changed = Changed::everything();
        warn_unreported(config.api.usage_source, &fetched.unreported);
    }
    if unreported.is_empty() {
        store::clear_state(tx, Fact::UsageUnreported)?;
    } else {
        store::set_state(tx, Fact::UsageUnreported, &unreported)?;
    }
    Ok((written, changed))
}

/// Marks the usage accounts as read through `now`. An unfiltered sync records one fact for
/// every account, and a mark on the accounts synced for the first time (see
/// `apply::synced_at`), instead of an UPDATE of every account. Developer accounts are as
/// fresh as the last read of their report, not of usage.
fn mark_synced(tx: &Tx<'_>, scope: Scope, accounts: &[&Account], now: DateTime<Utc>) -> Result<()> {
    let mut names: Vec<&str> = accounts
        .iter()
        .filter(|a| !a.selector.is_developer())
        .map(|a| a.name.as_str())
        .collect();
    match scope {
        Scope::All => {
            // A set, not a binary search: the store's order need not be `str`'s.
            let unmarked: std::collections::HashSet<String> =
                accounts::never_synced(tx)?.into_iter().collect();
            names.retain(|n| unmarked.contains(*n));
            accounts::mark_synced(tx, &names, now)?;
            store::set_time(tx, Fact::SyncedAllAt, now)?;
        }
        Scope::Selected => accounts::mark_synced(tx, &names, now)?,
    }
    store::set_time(tx, Fact::LastSuccess, now)
}

/// Removes what is older than retention. Sums may then have shrunk under accounts that were
/// not evaluated: the next evaluation is a full pass.
fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    let pruned = usage::prune(tx, before)?
        + usage::models::prune(tx, before)?
        + store::cost::prune(tx, before)?
        + store::developers::prune(tx, before)?;
    if pruned > 0 {
        store::set_state(tx, Fact::EvaluationStale, "1")?;
    }
    Ok(pruned)
}

/// How long burn rates look back: the longest rule's lookbacks (see `burn::usage_over`).
fn keep_for_burn(accounts: &[&Account]) -> chrono::Duration {
    let mut longest = chrono::Duration::zero();
    let mut seen: Option<&crate::account::BurnRules> = None;
    for a in accounts {
        // Most accounts share one list: look at each list once.
        if seen.is_some_and(|s| std::sync::Arc::ptr_eq(s, &a.burn)) {
            continue;
        }
        seen = Some(&a.burn);
        for r in a.burn.iter() {
            longest = longest.max(r.long + r.short);
        }
    }
    longest
}

/// One warning line when the read left out counts that some quota needs.
fn warn_unreported(source: UsageSource, unreported: &[&str]) {
    let fields: Vec<String> = unreported.iter().map(|f| (*f).to_string()).collect();
    let quotas: Vec<&str> = evaluate::unmeasurable(&fields)
        .into_iter()
        .map(QuotaType::as_str)
        .collect();
    if quotas.is_empty() {
        return;
    }
    log::warn!(
        "the {} source reported no {} in any row: {} not measured for the accounts that have limits on {} (see quota status)",
        source.as_str(),
        fields.join(", "),
        quotas.join(", "),
        if quotas.len() == 1 { "it" } else { "them" }
    );
}

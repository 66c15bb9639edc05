//! The sync use case: one `quota sync`, as phases over plain values. Each phase is one
//! function; `run` calls them in order:
//!
//! 1. [`discover::keys`]: list the active API keys when due (hourly) and record them;
//!    [`discover::default_workspace`]: learn the Default Workspace's id (analytics);
//! 2. [`Roster::load`]: every account the run knows, configured and discovered;
//! 3. [`claude_code::read`]: the Claude Code report when due, in its own transaction;
//! 4. [`plan`]: the window of days to read, and where a cut-short read resumes;
//! 5. [`fetch::usage`] and [`fetch::cost`]: the usage read streams into the store's staging
//!    ([`Store::staging`]), the cost report is held;
//! 6. [`record`]: in one transaction, the staged usage, the cost, the evaluation of every
//!    account, and the marks of what this run read;
//! 7. [`unlisted::check`]: hourly, that each configured `api_key_id` and `workspace_id` is
//!    one the organization lists.
//!
//! Every `sync_state` fact (`store::Fact`) is set and cleared here or in the evaluation it
//! calls (`apply`): the command only reads the outcome.

mod claude_code;
pub(crate) mod deliver;
mod discover;
pub(crate) mod export;
mod fetch;
pub(crate) mod health;
mod record;
mod roster;
mod unlisted;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

pub(crate) use roster::Roster;
pub(crate) use unlisted::findings as unlisted_findings;

use crate::account::{Account, UsageSource};
use crate::api::Client;
use crate::apply::{self, Changes, Scope};
use crate::config::Config;
use crate::store::{self, Store, accounts, lease};
use crate::window;

/// What the operator asked for: `--account` names (none: every account) and `--full`; and
/// which run this is (`host:pid`), for the fetch lease.
pub(crate) struct Request<'a> {
    pub accounts: &'a [String],
    pub full: bool,
    pub holder: &'a str,
}

impl Request<'_> {
    fn scope(&self) -> Scope {
        if self.accounts.is_empty() {
            Scope::All
        } else {
            Scope::Selected
        }
    }
}

/// What a sync did, for its summary line.
#[derive(Debug)]
pub(crate) struct Synced {
    pub accounts: usize,
    pub first_day: NaiveDate,
    pub usage_requests: u32,
    pub pages: usize,
    pub rows: usize,
    /// Rows of the cost report, when it was due.
    pub cost_rows: Option<usize>,
    /// Days and actors of a Claude Code read, when it was due.
    pub developers: Option<(usize, usize)>,
    pub changes: Changes,
    /// Phases that failed without stopping the usage sync (discovery, cost, Claude Code):
    /// usage was stored, and the exit code says "partly".
    pub problems: Vec<String>,
    /// The run that has this minute's Admin API read, when it is another (a host sharing
    /// the store): this run only evaluated.
    pub read_by: Option<String>,
}

/// Whose turn it is to read the Admin API.
enum Turn {
    /// This run reads; with a fencing token when hosts share the store.
    Fetch(Option<i64>),
    /// Another run has this minute: this one evaluates and delivers only.
    Skip(String),
}

/// Takes this minute's fetch lease on a store that hosts share. A plain `quota sync` of a
/// host that finds the minute taken skips the read; `--full` and `--account` always read
/// (an operator asked for them).
fn turn(store: &mut Store, req: &Request<'_>, now: DateTime<Utc>) -> Result<Turn> {
    use chrono::DurationRound;
    if !store.shared() || req.full || !req.accounts.is_empty() {
        return Ok(Turn::Fetch(None));
    }
    let minute = now.duration_trunc(chrono::Duration::minutes(1))?;
    store.write(
        |tx| match lease::take(tx, lease::FETCH, req.holder, minute)? {
            Some(token) => Ok(Turn::Fetch(Some(token))),
            None => Ok(Turn::Skip(
                lease::holder(tx, lease::FETCH)?
                    .map(|(holder, _)| holder)
                    .unwrap_or_default(),
            )),
        },
    )
}

/// The run of a host whose minute another has: every account evaluated against what is
/// stored (incrementally: only what time or the config changed), nothing read.
fn evaluate_only(
    store: &mut Store,
    config: &Config,
    read_by: String,
    now: DateTime<Utc>,
) -> Result<Synced> {
    let roster = Roster::load(config, store)?;
    let accounts = roster.select(&[])?;
    let nothing = crate::incremental::Changed::default();
    let evaluated = store.write(|tx| {
        apply::evaluate_accounts(
            tx,
            &accounts,
            Scope::All,
            apply::Pass::Incremental(&nothing),
            config.api.usage_source,
            &config.notify,
            now,
        )
    })?;
    log::info!(
        "the Admin API was read this minute by {read_by}: evaluated {} of {} accounts",
        evaluated.accounts,
        accounts.len()
    );
    Ok(Synced {
        accounts: accounts.len(),
        first_day: now.date_naive(),
        usage_requests: 0,
        pages: 0,
        rows: 0,
        cost_rows: None,
        developers: None,
        changes: evaluated.changes,
        problems: Vec::new(),
        read_by: Some(read_by),
    })
}

/// The days a usage read covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// The first day of the window (SPEC §1).
    pub first_day: NaiveDate,
    /// Where an analytics read of the same window that was cut short got to.
    pub resume: Option<NaiveDate>,
    /// Yesterday and today only: an unfiltered steady sync is evaluated incrementally.
    pub steady: bool,
}

/// One sync, every phase in order. An error stops the sync with nothing of the usage read
/// stored; a failed side phase is in `Synced::problems`. How each read went is recorded
/// either way (`health`).
pub(crate) fn run(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    req: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Synced> {
    let token = match turn(store, req, now)? {
        Turn::Fetch(token) => token,
        Turn::Skip(read_by) => return evaluate_only(store, config, read_by, now),
    };
    let mut reads = health::Reads::default();
    let result = phases(store, client, config, req, token, now, &mut reads);
    match &result {
        Ok(_) => reads.ok(health::USAGE),
        Err(e) => reads.failed(health::USAGE, e),
    }
    if let Err(e) = health::record(store, &reads, config, now) {
        log::error!("cannot record how this run's reads went: {e:#}");
    }
    result
}

fn phases(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    req: &Request<'_>,
    token: Option<i64>,
    now: DateTime<Utc>,
    reads: &mut health::Reads,
) -> Result<Synced> {
    let mut problems: Vec<String> = Vec::new();
    let listed = discover::keys(store, client, config, now);
    reads.side(
        health::DISCOVERY,
        listed,
        "key discovery failed",
        &mut problems,
    );
    let learned = discover::default_workspace(store, client, config, now);
    reads.side(
        health::WORKSPACES,
        learned,
        "listing the workspaces failed",
        &mut problems,
    );
    let mut roster = Roster::load(config, store)?;
    let developers = claude_code::read(store, client, config, req, &roster.all(), now);
    let developers = reads.side(
        health::CLAUDE_CODE,
        developers,
        "the Claude Code usage report failed",
        &mut problems,
    );
    if let Some(read) = developers.as_ref().filter(|r| !r.discovered.is_empty()) {
        log_names("developer", &read.discovered);
        roster = Roster::load(config, store)?;
    }
    let accounts = roster.select(req.accounts)?;
    let plan = plan(store, config, req, &accounts, now)?;
    let before = client.requests;
    let (fetched, staged, models) = fetch::usage(store, client, config, req, &accounts, plan, now)?;
    let usage_requests = client.requests - before;
    let cost = fetch::cost(store, client, config, req, &accounts, now);
    let cost = reads.side(health::COST, cost, "the cost report failed", &mut problems);
    let cost_rows = cost.as_ref().map(|c| c.rows.len());
    let (pages, rows) = (fetched.pages, fetched.rows);
    let changes = record::usage_and_evaluate(
        store,
        config,
        req.scope(),
        &accounts,
        record::Read {
            fetched,
            staged,
            models,
            steady: plan.steady,
            cost,
            token,
        },
        now,
    )?;
    unlisted::check(store, client, config, now, reads);
    Ok(Synced {
        accounts: accounts.len(),
        first_day: plan.first_day,
        usage_requests,
        pages,
        rows,
        cost_rows,
        developers: developers.map(|r| (r.days, r.actors)),
        changes,
        problems,
        read_by: None,
    })
}

/// Logs the configuration's warnings when they first appear or change; at debug level on
/// the runs in between (a sync runs every minute: 1,440 identical lines a day help nobody).
pub(crate) fn warn_once(store: &mut Store, warnings: &[String]) {
    let now = warnings.join("\n");
    let changed = store.write(|tx| {
        let before = store::get_state(tx, store::Fact::ConfigWarnings)?;
        if before.as_deref().unwrap_or("") == now {
            return Ok(false);
        }
        if now.is_empty() {
            store::clear_state(tx, store::Fact::ConfigWarnings)?;
        } else {
            store::set_state(tx, store::Fact::ConfigWarnings, &now)?;
        }
        Ok(true)
    });
    for w in warnings {
        match changed {
            Ok(false) => log::debug!("{w}"),
            // Changed, or the store cannot say: logged.
            _ => log::warn!("{w}"),
        }
    }
}

/// The window of this read: the trailing window, back to the last sync after a gap, or the
/// whole period for new accounts and `--full`; and, for the analytics source, where a read
/// of the same window that was cut short resumes.
fn plan(
    store: &mut Store,
    config: &Config,
    req: &Request<'_>,
    accounts: &[&Account],
    now: DateTime<Utc>,
) -> Result<Plan> {
    let (marks, all, resume_mark) = store.read(|tx| {
        Ok((
            accounts::last_synced(tx)?,
            apply::synced_all_at(tx)?,
            store::get_state(tx, store::Fact::UsageResume)?,
        ))
    })?;
    let first_day = window::first_day(
        accounts,
        |a| apply::synced_at(a, marks.get(&a.name), all),
        req.full,
        config.database.retention_days,
        now,
    );
    let resume = match config.api.usage_source {
        UsageSource::Analytics => resume_day(resume_mark.as_deref(), first_day, now),
        UsageSource::Messages => None,
    };
    Ok(Plan {
        first_day,
        resume,
        steady: first_day >= now.date_naive() - chrono::Duration::days(1),
    })
}

/// The `Fact::UsageResume` mark of an analytics read cut short: `FIRST NEXT`.
fn resume_mark(first_day: NaiveDate, next: NaiveDate) -> String {
    format!("{first_day} {next}")
}

/// Where an earlier analytics read of the same window stopped, if one did.
fn resume_day(mark: Option<&str>, first_day: NaiveDate, now: DateTime<Utc>) -> Option<NaiveDate> {
    let (from, next) = mark?.split_once(' ')?;
    let (from, next) = (
        crate::time::parse_day(from).ok()?,
        crate::time::parse_day(next).ok()?,
    );
    (from == first_day && next > first_day && next <= now.date_naive()).then_some(next)
}

/// Whether `last` is older than `interval` (or missing, or in the future after a clock
/// change).
fn due(last: Option<DateTime<Utc>>, interval: std::time::Duration, now: DateTime<Utc>) -> bool {
    match last {
        None => true,
        Some(t) => t > now || (now - t).to_std().is_ok_and(|d| d >= interval),
    }
}

/// One line for the accounts a discovery named ("discovered 100000 API key accounts: key-0 …
/// key-99999"); the whole list at debug level.
fn log_names(what: &str, names: &[String]) {
    match names {
        [] => {}
        [one] => log::info!("discovered {what} account {one:?}"),
        [first, .., last] => {
            log::info!(
                "discovered {} {what} accounts: {first} … {last}",
                names.len()
            );
            log::debug!("discovered {what} accounts: {}", names.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_mark_holds_only_for_the_same_window() {
        let now = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let day = |s| crate::time::parse_day(s).unwrap();
        let mark = resume_mark(day("2026-10-01"), day("2026-11-01"));
        assert_eq!(
            resume_day(Some(&mark), day("2026-10-01"), now),
            Some(day("2026-11-01"))
        );
        assert_eq!(resume_day(Some(&mark), day("2026-10-02"), now), None);
        assert_eq!(
            resume_day(Some("2026-10-01 2026-12-01"), day("2026-10-01"), now),
            None
        );
        assert_eq!(resume_day(Some("garbage"), day("2026-10-01"), now), None);
        assert_eq!(resume_day(None, day("2026-10-01"), now), None);
    }
}

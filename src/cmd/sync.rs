//! `quota sync`, in its phases: discover keys (hourly), fetch usage with one grouped request
//! (and the cost report when due), store it and evaluate every account in one transaction,
//! then deliver notifications and write the exports.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Ctx, claude_code};
use crate::alert::Resolution;
use crate::api::{self, Client, analytics, usage::Fetched};
use crate::apply::{self, Changes, Pass, Scope};
use crate::cli::SyncArgs;
use crate::config::{Account, Selector, UsageSource, admin_key};
use crate::incremental::Changed;
use crate::quota::QuotaType;
use crate::records::CostDay;
use crate::store::usage::Staging;
use crate::store::{self, Store, accounts, keys, usage};
use crate::{evaluate, metrics, notify, output, time, window};

/// Kept back from the deadline for the textfile and the heartbeat.
const EXPORT_RESERVE: Duration = Duration::from_secs(2);
/// How often the list of API keys is read for discovery.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(3600);

pub fn run(ctx: &Ctx, args: &SyncArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut store = None;
    let result = sync(ctx, args, started, &mut store);
    if let Err(e) = &result {
        log::debug!("sync failed: {e:#}");
    }
    let deadline = started + ctx.config.api.deadline;
    if let Some(store) = store.as_mut() {
        // Pending notifications go out even when the fetch failed: an alert raised earlier
        // should not wait for the API to come back.
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(EXPORT_RESERVE);
        deliver(store, ctx, budget);
    }
    export(ctx, store.as_mut(), result.is_ok(), started, deadline);
    if let Some(kib) = metrics::peak_rss_kib() {
        log::info!("peak memory {:.1} MiB", kib as f64 / 1024.0);
    }
    result
}

fn sync(
    ctx: &Ctx,
    args: &SyncArgs,
    started: Instant,
    slot: &mut Option<Store>,
) -> Result<ExitCode> {
    let config = &ctx.config;
    let key = admin_key(config, &|k| std::env::var_os(k))?;
    log::debug!("admin key from {}", key.origin);
    for w in &config.warnings {
        log::warn!("{w}");
    }
    // The database first: a problem there should not cost an API request.
    let store = slot.insert(ctx.open_store()?);
    let mut client = Client::new(
        &config.api.base_url,
        key.key,
        config.api.timeout,
        config.api.deadline,
    );
    // Failures that do not stop the usage sync; they make the exit code 1 at the end.
    let mut problems: Vec<String> = Vec::new();

    if let Err(e) = discover(store, ctx, &mut client) {
        problems.push(format!("key discovery failed: {e:#}"));
    }
    let mut all = ctx.accounts(store)?;
    let developers = match claude_code::read(store, &mut client, ctx, args, &all.all()) {
        Ok(read) => read,
        Err(e) => {
            problems.push(format!("the Claude Code usage report failed: {e:#}"));
            None
        }
    };
    if let Some(read) = &developers {
        log_names("developer", &read.discovered);
        if !read.discovered.is_empty() {
            all = ctx.accounts(store)?;
        }
    }
    let accounts = all.select(&args.filter.accounts)?;
    let first_day = first_day(store, ctx, args, &accounts)?;
    let before = client.requests;
    let resume = match ctx.config.api.usage_source {
        UsageSource::Analytics => resume_day(store, first_day, ctx.now)?,
        UsageSource::Messages => None,
    };
    // The rows go to a staging table as they stream in; the store takes them in the one
    // transaction below.
    let (fetched, staged) = {
        let mut staging = store.staging()?;
        let fetched = fetch_usage(
            &mut staging,
            &mut client,
            ctx,
            args,
            &accounts,
            (first_day, resume),
        )?;
        (fetched, staging.finish()?)
    };
    warn_unreported(ctx, &fetched.unreported);
    let usage_requests = client.requests - before;
    let fetch_took = started.elapsed();
    let cost = match fetch_cost(store, ctx, args, &accounts, &mut client) {
        Ok(cost) => cost,
        Err(e) => {
            problems.push(format!("the cost report failed: {e:#}"));
            None
        }
    };
    let summary = Summary {
        accounts: accounts.len(),
        first_day,
        usage_requests,
        pages: fetched.pages,
        rows: fetched.rows,
        cost_rows: cost.as_ref().map(Vec::len),
        developers: developers.as_ref().map(|r| (r.days, r.actors)),
        changes: Changes::default(),
    };
    let steady = first_day >= ctx.now.date_naive() - chrono::Duration::days(1);
    let changes = store_and_evaluate(store, ctx, args, &accounts, (fetched, staged, steady), cost)?;
    log::info!(
        "usage fetched in {:.3}s, stored and evaluated in {:.3}s",
        fetch_took.as_secs_f64(),
        (started.elapsed() - fetch_took).as_secs_f64()
    );
    output::line(&Summary { changes, ..summary }.line(started.elapsed()))?;
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        // Usage was stored; what failed is said, and the exit code says "partly".
        Err(anyhow::anyhow!("{}", problems.join("; ")))
    }
}

/// One warning line when the read left out counts that some quota needs.
fn warn_unreported(ctx: &Ctx, unreported: &[&str]) {
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
        ctx.config.api.usage_source.as_str(),
        fields.join(", "),
        quotas.join(", "),
        if quotas.len() == 1 { "it" } else { "them" }
    );
}

/// The first day the usage request covers: the trailing window, back to the last sync after
/// a gap, or the whole period for new accounts and `--full`.
fn first_day(
    store: &mut Store,
    ctx: &Ctx,
    args: &SyncArgs,
    accounts: &[&Account],
) -> Result<NaiveDate> {
    let (marks, all) =
        store.read(|tx| Ok((accounts::last_synced(tx)?, apply::synced_all_at(tx)?)))?;
    Ok(window::first_day(
        accounts,
        |a| apply::synced_at(a, marks.get(&a.name), all),
        args.full,
        ctx.config.database.retention_days,
        ctx.now,
    ))
}

/// One grouped usage request (and its pages). `--account` with only key accounts narrows the
/// request itself.
fn fetch_usage(
    staging: &mut Staging<'_>,
    client: &mut Client,
    ctx: &Ctx,
    args: &SyncArgs,
    accounts: &[&Account],
    (first_day, resume): (NaiveDate, Option<NaiveDate>),
) -> Result<Fetched> {
    let narrowed = !args.filter.accounts.is_empty()
        && accounts
            .iter()
            .all(|a| matches!(a.selector, Selector::ApiKey(_)));
    let key_ids: Vec<&str> = if narrowed {
        accounts
            .iter()
            .filter_map(|a| a.selector.api_key_id())
            .collect()
    } else {
        // Every key is read: rows the store holds as they are need not be staged. (A
        // narrowed read is a few keys; holding the whole window's rows would cost more.)
        staging.skip_stored(
            ctx.config.api.usage_source.as_str(),
            resume.unwrap_or(first_day),
        );
        Vec::new()
    };
    match ctx.config.api.usage_source {
        UsageSource::Messages => {
            staging.pipelined(|sink| api::usage::fetch(client, first_day, &key_ids, sink))
        }
        UsageSource::Analytics => {
            fetch_analytics(staging, client, ctx, (first_day, resume), &key_ids)
        }
    }
}

fn endpoint(api: &crate::config::Api) -> analytics::Endpoint<'_> {
    analytics::Endpoint {
        usage_path: &api.analytics_path,
        cost_path: analytics::COST_PATH,
        bucket_param: &api.analytics_bucket_param,
        beta: &api.analytics_beta,
        page_size: api.analytics_page_size,
    }
}

/// The analytics source, in windows of at most 31 days, oldest first. Every window but the
/// last is stored as soon as it is read, with a mark of where the read got to: a run cut by
/// its deadline keeps those days and the next run carries on after them. The last window is
/// returned for the sync's own transaction, which also clears the mark.
fn fetch_analytics(
    staging: &mut Staging<'_>,
    client: &mut Client,
    ctx: &Ctx,
    (first_day, resume): (NaiveDate, Option<NaiveDate>),
    key_ids: &[&str],
) -> Result<Fetched> {
    let ep = endpoint(&ctx.config.api);
    if let Some(day) = resume {
        log::info!(
            "carrying on the analytics read from {first_day} at {day}, where the last run stopped"
        );
    }
    let windows = analytics::windows(resume.unwrap_or(first_day), ctx.now);
    let mut out = Fetched::default();
    let mut seen = analytics::Reported::default();
    for (i, w) in windows.iter().enumerate() {
        let read = staging.pipelined(|sink| analytics::read_usage(client, &ep, *w, key_ids, sink));
        let (fetched, reported) = read.map_err(|e| {
            match (i, resume) {
                (0, None) => e,
                _ => e.context(format!(
                    "the analytics read from {first_day} was cut short: the days before {} are stored and the next run carries on from there",
                    w.start.date_naive()
                )),
            }
        })?;
        seen.merge(reported);
        out.pages += fetched.pages;
        out.data_as_of = fetched.data_as_of.or(out.data_as_of.take());
        out.rows += fetched.rows;
        if i + 1 < windows.len() {
            let mark = format!("{first_day} {}", w.end_day());
            let n = staging.commit(UsageSource::Analytics.as_str(), ctx.now, |tx| {
                store::set_state(tx, store::USAGE_RESUME, &mark)
            })?;
            log::info!("analytics {w}: {n} rows stored");
        }
    }
    out.unreported = seen.missing();
    Ok(out)
}

/// Where an earlier analytics read of the same range stopped, if one did.
fn resume_day(
    store: &mut Store,
    first_day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>> {
    let mark = store.read(|tx| store::get_state(tx, store::USAGE_RESUME))?;
    let parsed = mark.as_deref().and_then(|m| {
        let (from, next) = m.split_once(' ')?;
        let day = |d: &str| time::parse_day(d).ok();
        Some((day(from)?, day(next)?))
    });
    Ok(parsed
        .filter(|(from, next)| *from == first_day && *next > first_day && *next <= now.date_naive())
        .map(|(_, next)| next))
}

/// Cost is daily data: read at most every `cost_interval_minutes`, and only when a workspace
/// or organization account has a cost limit. `None` when not due. With the analytics source
/// it comes from `/analytics/cost` in windows of at most 31 days; else from the cost report.
fn fetch_cost(
    store: &mut Store,
    ctx: &Ctx,
    args: &SyncArgs,
    accounts: &[&Account],
    client: &mut Client,
) -> Result<Option<Vec<CostDay>>> {
    let config = &ctx.config;
    let cost_accounts: Vec<&Account> = accounts
        .iter()
        .copied()
        .filter(|a| {
            a.limits.cost_usd.is_some()
                && !matches!(a.selector, Selector::ApiKey(_))
                && !a.selector.is_developer()
        })
        .collect();
    if cost_accounts.is_empty() {
        return Ok(None);
    }
    let last = last_time(store, store::COST_SYNCED)?;
    if !args.full && !due(last, config.api.cost_interval, ctx.now) {
        return Ok(None);
    }
    let from = window::cost_first_day(
        last.filter(|_| !args.full),
        &cost_accounts,
        config.database.retention_days,
        ctx.now,
    );
    match config.api.usage_source {
        UsageSource::Messages => api::cost::fetch(client, from).map(Some),
        UsageSource::Analytics => {
            let ep = endpoint(&config.api);
            let mut rows = Vec::new();
            for w in analytics::windows(from, ctx.now) {
                rows.extend(analytics::read_cost(client, &ep, w)?);
            }
            Ok(Some(rows))
        }
    }
}

/// Stores what was fetched and evaluates the accounts, in one transaction: all of it or none
/// of it. A `steady` read (yesterday and today) of an unfiltered sync is evaluated
/// incrementally: only the accounts whose usage, config or time changed (`apply::Pass`).
fn store_and_evaluate(
    store: &mut Store,
    ctx: &Ctx,
    args: &SyncArgs,
    accounts: &[&Account],
    (fetched, staged, steady): (Fetched, usage::Staged, bool),
    cost: Option<Vec<CostDay>>,
) -> Result<Changes> {
    let (config, now) = (&ctx.config, ctx.now);
    let source = config.api.usage_source;
    let scope = ctx.scope(&args.filter);
    let retention_start =
        now.date_naive() - chrono::Duration::days(i64::from(config.database.retention_days));
    // Developer accounts are as fresh as the last read of their report, not of usage.
    let names: Vec<&str> = accounts
        .iter()
        .filter(|a| !a.selector.is_developer())
        .map(|a| a.name.as_str())
        .collect();
    let incremental = steady && scope == Scope::All;
    let (evaluated, pruned) = store.write(|tx| {
        // Evaluation reads the period back from the store.
        let mut changed = Changed::default();
        let written = if incremental {
            usage::upsert_staged(
                tx,
                staged,
                source.as_str(),
                now,
                Some(&mut |k, w| changed.usage(k, w)),
            )?
        } else {
            usage::upsert_staged(tx, staged, source.as_str(), now, None)?
        };
        if let Some(as_of) = &fetched.data_as_of {
            store::set_state(tx, store::USAGE_AS_OF, as_of)?;
        }
        // The read is whole: no resume mark, and what it left out is what status explains.
        store::clear_state(tx, store::USAGE_RESUME)?;
        let unreported = fetched.unreported.join(",");
        if store::get_state(tx, store::USAGE_UNREPORTED)?.unwrap_or_default() != unreported {
            // What is measured changed for every account.
            changed = Changed::everything();
        }
        if fetched.unreported.is_empty() {
            store::clear_state(tx, store::USAGE_UNREPORTED)?;
        } else {
            store::set_state(tx, store::USAGE_UNREPORTED, &unreported)?;
        }
        if let Some(rows) = &cost {
            store::cost::upsert(tx, rows, now)?;
            store::set_state(tx, store::COST_SYNCED, &time::ts(now))?;
            changed.cost = true;
        }
        let pass = if incremental {
            Pass::Incremental(&changed)
        } else {
            Pass::Full
        };
        let evaluated =
            apply::evaluate_accounts(tx, accounts, scope, pass, source, &config.notify, now)?;
        if scope == Scope::Selected && (written > 0 || cost.is_some()) {
            // Rows of accounts this run did not evaluate may have changed.
            store::set_state(tx, store::EVALUATION_STALE, "1")?;
        }
        let never_synced: Vec<&str> = {
            let mut sorted = names.clone();
            sorted.sort_unstable();
            let unmarked = accounts::never_synced(tx)?;
            sorted.retain(|n| unmarked.binary_search_by(|u| u.as_str().cmp(n)).is_ok());
            sorted
        };
        match scope {
            // One fact for every account, and a mark on the accounts synced for the first
            // time (see `apply::synced_at`), instead of an UPDATE of every account.
            Scope::All => {
                accounts::mark_synced(tx, &never_synced, now)?;
                store::set_state(tx, store::SYNCED_ALL_AT, &time::ts(now))?;
            }
            Scope::Selected => accounts::mark_synced(tx, &names, now)?,
        }
        store::set_state(tx, store::LAST_SUCCESS, &time::ts(now))?;
        let pruned = usage::prune(tx, retention_start)?
            + store::cost::prune(tx, retention_start)?
            + store::developers::prune(tx, retention_start)?;
        if pruned > 0 {
            // Sums may have shrunk under accounts that were not evaluated.
            store::set_state(tx, store::EVALUATION_STALE, "1")?;
        }
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

/// What the summary line of a sync reports.
struct Summary {
    accounts: usize,
    first_day: NaiveDate,
    usage_requests: u32,
    pages: usize,
    rows: usize,
    cost_rows: Option<usize>,
    /// Days and actors of a Claude Code read.
    developers: Option<(usize, usize)>,
    changes: Changes,
}

impl Summary {
    fn line(&self, took: Duration) -> String {
        let c = self.changes;
        format!(
            "synced {} account{} from {}: {} usage request{} ({} page{}, {} rows){}{}; alerts: {} created, {} resolved, {} reopened; {:.2}s",
            self.accounts,
            output::plural(self.accounts),
            self.first_day,
            self.usage_requests,
            output::plural(self.usage_requests as usize),
            self.pages,
            output::plural(self.pages),
            self.rows,
            self.cost_rows
                .map_or_else(String::new, |n| format!("; cost report: {n} rows")),
            self.developers.map_or_else(String::new, |(d, a)| format!(
                "; Claude Code report: {d} day{}, {a} developer{}",
                output::plural(d),
                output::plural(a)
            )),
            c.created,
            c.resolved,
            c.reopened,
            took.as_secs_f64(),
        )
    }
}

/// The time stored under a `sync_state` key, if any.
fn last_time(store: &mut Store, key: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(store
        .read(|tx| store::get_state(tx, key))?
        .and_then(|t| time::parse(&t).ok()))
}

/// Whether `last` is older than `interval` (or missing, or in the future after a clock
/// change).
fn due(last: Option<DateTime<Utc>>, interval: Duration, now: DateTime<Utc>) -> bool {
    match last {
        None => true,
        Some(t) => t > now || (now - t).to_std().is_ok_and(|d| d >= interval),
    }
}

/// With discovery on and due (hourly), lists the active keys and records them; keys no
/// longer active stop being evaluated and their open alerts resolve as `account_removed`,
/// in one transaction. Returns how many accounts it added.
fn discover(store: &mut Store, ctx: &Ctx, client: &mut Client) -> Result<usize> {
    let now = ctx.now;
    if !ctx.config.discovers_keys()
        || !due(
            last_time(store, store::KEYS_LISTED)?,
            DISCOVERY_INTERVAL,
            now,
        )
    {
        return Ok(0);
    }
    // Each page of keys goes to a staging table as it comes; the store takes the listing in
    // one transaction once it is whole.
    store.scratch(|tx| keys::begin_listing(tx))?;
    let listed = api::keys::list_active(client, &mut |page| {
        store.scratch(|tx| keys::stage_page(tx, page))
    })?;
    log::debug!("listed {listed} active API keys");
    let reserved = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let channels = &ctx.config.notify;
    store.write(|tx| {
        let refresh = keys::refresh_staged(tx, &reserved, now)?;
        store::set_state(tx, store::KEYS_LISTED, &time::ts(now))?;
        log_names("API key", &refresh.added);
        for (i, name) in refresh.deactivated.iter().enumerate() {
            let n = apply::retire(tx, name, Resolution::AccountRemoved, channels, now)?;
            if i < MAX_DROPPED_LINES {
                log::warn!(
                    "API key account {name:?} is no longer active: it is not evaluated any more, and its {n} open alert(s) resolved as account_removed"
                );
            }
        }
        if let Some(more) = refresh.deactivated.len().checked_sub(MAX_DROPPED_LINES).filter(|m| *m > 0) {
            log::warn!("{more} more API key accounts are no longer active (their open alerts resolved as account_removed)");
        }
        Ok(refresh.added.len())
    })
}

/// Dropped keys are logged one line each up to this many, then as a count.
const MAX_DROPPED_LINES: usize = 20;

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

/// Sends the notifications that are due, within `budget`; logged, never fatal.
fn deliver(store: &mut Store, ctx: &Ctx, budget: Duration) {
    match notify::deliver(store, &ctx.config.notify, ctx.now, budget, None) {
        Ok(r) if r != notify::Report::default() => log::info!(
            "notifications: {} delivered, {} to retry, {} failed, {} deferred",
            r.delivered,
            r.retrying,
            r.failed,
            r.deferred
        ),
        Ok(_) => {}
        Err(e) => log::error!("notifications: {e:#}"),
    }
}

/// The textfile and the heartbeat, after every sync that got past the config, failed or not.
fn export(
    ctx: &Ctx,
    mut store: Option<&mut Store>,
    success: bool,
    started: Instant,
    deadline: Instant,
) {
    let m = &ctx.config.metrics;
    if let Some(path) = &m.textfile {
        let all = match store.as_deref_mut() {
            Some(s) => ctx.accounts(s).unwrap_or_else(|_| ctx.configured()),
            None => ctx.configured(),
        };
        let refs = all.all();
        let run = metrics::Run {
            success,
            duration: started.elapsed(),
        };
        let text = metrics::collect(store, &refs, ctx.config.api.usage_source, run, ctx.now);
        if let Err(e) = metrics::write_atomic(path, &text) {
            log::error!("{e:#}");
        }
    }
    if let Some(url) = &m.heartbeat_url {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        metrics::heartbeat(url, success, left.min(Duration::from_secs(5)));
    }
}

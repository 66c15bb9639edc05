//! `quota sync`: discover keys (hourly), pull usage with one grouped request (and the cost
//! report when due), store it, evaluate every account and apply alert changes in one
//! transaction, then deliver notifications and write the exports.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::alert::{AccountStatus, Resolution};
use crate::api::{self, Client};
use crate::cli::SyncArgs;
use crate::config::{Account, Selector, UsageSource, admin_key};
use crate::period::Period;
use crate::reconcile::Action;
use crate::store::{self, Store, accounts, alerts, keys, usage};
use crate::{evaluate, metrics, notify, output, window};

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
        match notify::deliver(store, &ctx.config.notify, ctx.now, budget) {
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
    export(ctx, store.as_mut(), result.is_ok(), started, deadline);
    if let Some(kib) = peak_rss_kib() {
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
    let now = ctx.now;
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

    if config.discovers_keys() && due(store, store::KEYS_LISTED, DISCOVERY_INTERVAL, now)? {
        match api::keys::list_active(&mut client) {
            Ok(listed) => discover(store, ctx, &listed)?,
            Err(e) => problems.push(format!("key discovery failed: {e:#}")),
        }
    }
    let all = ctx.accounts(store)?;
    let accounts = crate::config::select(&all, &args.filter.accounts)?;
    let states = store.read(|tx| accounts::states(tx))?;
    let first_day = window::first_day(
        &accounts,
        &states,
        args.full,
        config.database.retention_days,
        now,
    );

    // `--account` with only key accounts narrows the request itself.
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
        Vec::new()
    };

    let source = config.api.usage_source;
    let before = client.requests;
    let mut fetched = match source {
        UsageSource::Messages => api::usage::fetch(&mut client, first_day, &key_ids),
        UsageSource::Analytics => {
            let endpoint = api::analytics::Endpoint {
                path: &config.api.analytics_path,
                bucket_param: &config.api.analytics_bucket_param,
                beta: &config.api.analytics_beta,
            };
            api::analytics::fetch(&mut client, &endpoint, first_day, &key_ids)
        }
    }?;
    let usage_requests = client.requests - before;
    let fetch_took = started.elapsed();

    // Cost is daily data: read at most every cost_interval_minutes, and only when a
    // workspace or organization account has a cost limit.
    let cost_accounts: Vec<&Account> = accounts
        .iter()
        .copied()
        .filter(|a| a.limits.cost_usd.is_some() && !matches!(a.selector, Selector::ApiKey(_)))
        .collect();
    let cost = if !cost_accounts.is_empty()
        && (args.full || due(store, store::COST_SYNCED, config.api.cost_interval, now)?)
    {
        let last = store
            .read(|tx| store::get_state(tx, store::COST_SYNCED))?
            .and_then(|t| parse_time(&t));
        let from = window::cost_first_day(
            last.filter(|_| !args.full),
            &cost_accounts,
            config.database.retention_days,
            now,
        );
        match api::cost::fetch(&mut client, from) {
            Ok(rows) => Some(rows),
            Err(e) => {
                problems.push(format!("the cost report failed: {e:#}"));
                None
            }
        }
    } else {
        None
    };

    let retention_start =
        now.date_naive() - chrono::Duration::days(i64::from(config.database.retention_days));
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    let fetched_rows = fetched.rows.len();
    let mut rows = Some(std::mem::take(&mut fetched.rows));
    let (changes, pruned) = store.write(|tx| {
        // Stored, then freed: evaluation reads the period back from the store.
        usage::upsert(tx, &rows.take().unwrap_or_default(), source.as_str(), now)?;
        if let Some(as_of) = &fetched.data_as_of {
            store::set_state(tx, store::USAGE_AS_OF, as_of)?;
        }
        if let Some(rows) = &cost {
            store::cost::upsert(tx, rows, now)?;
            store::set_state(tx, store::COST_SYNCED, &store::ts(now))?;
        }
        let changes = evaluate::reconcile_accounts(tx, &accounts, source, &config.notify, now)?;
        accounts::mark_synced(tx, &names, now)?;
        store::set_state(tx, store::LAST_SUCCESS, &store::ts(now))?;
        let pruned = usage::prune(tx, retention_start)? + store::cost::prune(tx, retention_start)?;
        Ok((changes, pruned))
    })?;
    log::info!(
        "usage fetched in {:.3}s, stored and evaluated in {:.3}s",
        fetch_took.as_secs_f64(),
        (started.elapsed() - fetch_took).as_secs_f64()
    );
    if pruned > 0 {
        log::info!(
            "removed {pruned} rows older than {retention_start} ([database] retention_days)"
        );
    }
    output::line(&format!(
        "synced {} account{} from {first_day}: {usage_requests} usage request{} ({} page{}, {} rows){}; alerts: {} created, {} resolved, {} reopened; {:.2}s",
        accounts.len(),
        output::plural(accounts.len()),
        output::plural(usage_requests as usize),
        fetched.pages,
        output::plural(fetched.pages),
        fetched_rows,
        cost.as_ref().map_or_else(String::new, |rows| format!(
            "; cost report: {} rows",
            rows.len()
        )),
        changes.created,
        changes.resolved,
        changes.reopened,
        started.elapsed().as_secs_f64(),
    ))?;
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        // Usage was stored; what failed is said, and the exit code says "partly".
        Err(anyhow::anyhow!("{}", problems.join("; ")))
    }
}

/// Whether the `sync_state` time under `key` is older than `interval` (or missing, or in the
/// future after a clock change).
fn due(store: &mut Store, key: &str, interval: Duration, now: DateTime<Utc>) -> Result<bool> {
    let last = store
        .read(|tx| store::get_state(tx, key))?
        .and_then(|t| parse_time(&t));
    Ok(match last {
        None => true,
        Some(t) => t > now || (now - t).to_std().is_ok_and(|d| d >= interval),
    })
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Records the active keys; keys no longer active stop being evaluated and their open alerts
/// resolve as `recovered`, in one transaction.
fn discover(store: &mut Store, ctx: &Ctx, listed: &[keys::Listed]) -> Result<()> {
    let reserved = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let now = ctx.now;
    store.write(|tx| {
        let refresh = keys::refresh(tx, listed, &reserved, now)?;
        store::set_state(tx, store::KEYS_LISTED, &store::ts(now))?;
        for name in &refresh.added {
            log::info!("discovered API key account {name:?}");
        }
        for name in &refresh.deactivated {
            let filter = alerts::ListFilter { accounts: vec![name.clone()], ..Default::default() };
            let open = alerts::list(tx, &filter)?;
            let actions: Vec<Action> =
                open.iter().map(|a| Action::Resolve { id: a.id.clone(), resolution: Resolution::Recovered }).collect();
            let period = Period::containing(ctx.config.defaults.billing_day, now);
            alerts::apply(tx, name, period, &actions, &open, &ctx.config.notify, now)?;
            log::warn!(
                "API key account {name:?} is no longer active: it is not evaluated any more, and its {} open alert(s) resolved as recovered",
                open.len()
            );
        }
        Ok(())
    })
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
            Some(s) => ctx
                .accounts(s)
                .unwrap_or_else(|_| ctx.config.accounts.clone()),
            None => ctx.config.accounts.clone(),
        };
        let refs: Vec<&Account> = all.iter().collect();
        let text = render_metrics(ctx, store, &refs, success, started.elapsed());
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

fn render_metrics(
    ctx: &Ctx,
    store: Option<&mut Store>,
    accounts: &[&Account],
    success: bool,
    took: Duration,
) -> String {
    let read = store.map(|s| {
        s.read(|tx| {
            let last = store::get_state(tx, store::LAST_SUCCESS)?.and_then(|t| parse_time(&t));
            Ok((
                evaluate::Loaded::read(tx, accounts, ctx.now)?,
                accounts::states(tx)?,
                alerts::open_by_severity(tx)?,
                last,
            ))
        })
    });
    let (loaded, states, open, last) = match read {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            log::error!("metrics: cannot read the database: {e:#}");
            Default::default()
        }
        None => Default::default(),
    };
    let views = evaluate::views(
        accounts,
        &loaded.inputs(ctx.config.api.usage_source),
        ctx.now,
    );
    let status = |name: &str| states.get(name).map_or(AccountStatus::Active, |s| s.status);
    metrics::render(&metrics::Snapshot {
        views: &views,
        status: &status,
        open_alerts: &open,
        last_success: last,
        duration: took,
        success,
    })
}

/// The process's peak resident memory (Linux `VmHWM`), for the log and the benchmark.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

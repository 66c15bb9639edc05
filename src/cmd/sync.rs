//! `quota sync`: pull usage with one grouped request, store it, evaluate every account and
//! apply alert changes (all-or-nothing), then deliver notifications and write the exports.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::alert::AccountStatus;
use crate::api::{self, Client};
use crate::cli::SyncArgs;
use crate::config::{Account, Selector, UsageSource, admin_key};
use crate::error::bad_input;
use crate::store::{self, Store, accounts, alerts, usage};
use crate::{evaluate, metrics, notify, output, window};

/// Kept back from the deadline for the textfile and the heartbeat.
const EXPORT_RESERVE: Duration = Duration::from_secs(2);

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
    result
}

fn sync(
    ctx: &Ctx,
    args: &SyncArgs,
    started: Instant,
    slot: &mut Option<Store>,
) -> Result<ExitCode> {
    let config = &ctx.config;
    let accounts = config.select_accounts(&args.filter.accounts)?;
    if config.api.usage_source == UsageSource::Analytics {
        return Err(bad_input!(
            "[api] usage_source = \"analytics\" is not supported by this version of quota yet: use \"messages\""
        ));
    }
    let key = admin_key(config, &|k| std::env::var_os(k))?;
    log::debug!("admin key from {}", key.origin);
    for w in &config.warnings {
        log::warn!("{w}");
    }
    // The database first: a problem there should not cost an API request.
    let store = slot.insert(ctx.open_store()?);
    let states = store.read(|tx| accounts::states(tx))?;
    let first_day = window::first_day(
        &accounts,
        &states,
        args.full,
        config.database.retention_days,
        ctx.now,
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

    let mut client = Client::new(
        &config.api.base_url,
        key.key,
        config.api.timeout,
        config.api.deadline,
    );
    let fetched = api::usage::fetch(&mut client, first_day, &key_ids);
    let requests = client.requests;
    let fetched = fetched?;
    let fetch_took = started.elapsed();

    let retention_start =
        ctx.now.date_naive() - chrono::Duration::days(i64::from(config.database.retention_days));
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    let (changes, pruned) = store.write(|tx| {
        usage::upsert(tx, &fetched.rows, UsageSource::Messages.as_str(), ctx.now)?;
        let changes = evaluate::reconcile_accounts(
            tx,
            &accounts,
            config.api.usage_source,
            &config.notify,
            ctx.now,
        )?;
        accounts::mark_synced(tx, &names, ctx.now)?;
        store::set_state(tx, store::LAST_SUCCESS, &store::ts(ctx.now))?;
        let pruned = usage::prune(tx, retention_start)?;
        Ok((changes, pruned))
    })?;
    log::info!(
        "usage fetched in {:.3}s, stored and evaluated in {:.3}s",
        fetch_took.as_secs_f64(),
        (started.elapsed() - fetch_took).as_secs_f64()
    );
    if let Some(kib) = peak_rss_kib() {
        log::info!("peak memory {:.1} MiB", kib as f64 / 1024.0);
    }
    if pruned > 0 {
        log::info!(
            "removed {pruned} usage rows older than {retention_start} ([database] retention_days)"
        );
    }
    output::line(&format!(
        "synced {} account{} from {first_day}: {requests} request{} ({} page{}, {} rows); alerts: {} created, {} resolved, {} reopened; {:.2}s",
        accounts.len(),
        output::plural(accounts.len()),
        output::plural(requests as usize),
        fetched.pages,
        output::plural(fetched.pages),
        fetched.rows.len(),
        changes.created,
        changes.resolved,
        changes.reopened,
        started.elapsed().as_secs_f64(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The textfile and the heartbeat, after every sync that got past the config, failed or not.
fn export(
    ctx: &Ctx,
    store: Option<&mut Store>,
    success: bool,
    started: Instant,
    deadline: Instant,
) {
    let m = &ctx.config.metrics;
    if let Some(path) = &m.textfile {
        let all: Vec<&Account> = ctx.config.accounts.iter().collect();
        let text = render_metrics(ctx, store, &all, success, started.elapsed());
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
    let source = ctx.config.api.usage_source;
    let earliest = evaluate::earliest_start(accounts, ctx.now);
    let read = store.map(|s| {
        s.read(|tx| {
            let last = store::get_state(tx, store::LAST_SUCCESS)?
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
            Ok((
                usage::since(tx, earliest.date_naive())?,
                accounts::states(tx)?,
                alerts::open_by_severity(tx)?,
                last.map(|t| t.with_timezone(&Utc)),
            ))
        })
    });
    let (rows, states, open, last) = match read {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            log::error!("metrics: cannot read the database: {e:#}");
            Default::default()
        }
        None => Default::default(),
    };
    let views = evaluate::views(accounts, &rows, source, ctx.now);
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

//! `quota sync`: run the sync use case (`crate::sync`), print its summary line, then
//! deliver what is due and write the exports, whether the sync succeeded or not.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Ctx;
use crate::api::Client;
use crate::cli::SyncArgs;
use crate::config::admin_key;
use crate::store::Store;
use crate::sync::{self, Synced};
use crate::{metrics, output};

/// What the Admin API may take of the deadline: all but 15 s, or all but two fifths of a
/// shorter one. The rest is for delivering notifications and the exports, so that an alert
/// (`sync_failing` above all) goes out even when every request hangs until its timeout.
fn api_share(deadline: Duration) -> Duration {
    deadline - (deadline * 2 / 5).min(Duration::from_secs(15))
}

/// Kept back from the deadline for the textfile and the heartbeat: 2 s, or a fifth of a
/// shorter deadline.
fn export_reserve(deadline: Duration) -> Duration {
    (deadline / 5).min(Duration::from_secs(2))
}

pub(super) fn run(ctx: &Ctx, args: &SyncArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut store = None;
    let result = sync(ctx, args, &mut store).and_then(|synced| {
        output::line(&summary(&synced, started.elapsed()))?;
        if synced.problems.is_empty() {
            Ok(ExitCode::SUCCESS)
        } else {
            // Usage was stored; what failed is said, and the exit code says "partly".
            Err(anyhow::anyhow!("{}", synced.problems.join("; ")))
        }
    });
    if let Err(e) = &result {
        log::debug!("sync failed: {e:#}");
    }
    let deadline = started + ctx.config.api.deadline;
    if let Some(store) = store.as_mut() {
        // Pending notifications go out even when the fetch failed: an alert raised earlier
        // should not wait for the API to come back.
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(export_reserve(ctx.config.api.deadline));
        sync::deliver::due(store, &ctx.config, &ctx.run_id, ctx.now, budget);
    }
    export(ctx, store.as_mut(), result.is_ok(), started, deadline);
    if let Some(kib) = metrics::peak_rss_kib() {
        log::info!("peak memory {:.1} MiB", kib as f64 / 1024.0);
    }
    result
}

/// The admin key, the store (kept in `slot` for delivery and export), the client, the run.
fn sync(ctx: &Ctx, args: &SyncArgs, slot: &mut Option<Store>) -> Result<Synced> {
    let config = &ctx.config;
    // The database first: a problem there should not cost an API request, and a run that
    // cannot start (no admin key) is recorded as a failed read all the same.
    let store = slot.insert(ctx.open_store().inspect_err(|_| {
        config.warnings.iter().for_each(|w| log::warn!("{w}"));
    })?);
    sync::warn_once(store, &config.warnings);
    let key = admin_key(config, &|k| std::env::var_os(k))
        .inspect_err(|e| sync::health::failed_to_start(store, e, config, ctx.now))?;
    log::debug!("admin key from {}", key.origin);
    let mut client = Client::new(
        &config.api.base_url,
        key.key,
        config.api.timeout,
        api_share(config.api.deadline),
    );
    let req = sync::Request {
        accounts: &args.filter.accounts,
        full: args.full,
        holder: &ctx.run_id,
    };
    sync::run(store, &mut client, config, &req, ctx.now)
}

/// The summary line of a sync.
fn summary(s: &Synced, took: Duration) -> String {
    let c = s.changes;
    if let Some(by) = &s.read_by {
        return format!(
            "evaluated {} account{}: the Admin API was read this minute by {by}; alerts: {} created, {} resolved, {} reopened; {:.2}s",
            s.accounts,
            output::plural(s.accounts),
            c.created,
            c.resolved,
            c.reopened,
            took.as_secs_f64(),
        );
    }
    format!(
        "synced {} account{} from {}: {} usage request{} ({} page{}, {} rows){}{}; alerts: {} created, {} resolved, {} reopened; {:.2}s",
        s.accounts,
        output::plural(s.accounts),
        s.first_day,
        s.usage_requests,
        output::plural(s.usage_requests as usize),
        s.pages,
        output::plural(s.pages),
        s.rows,
        s.cost_rows
            .map_or_else(String::new, |n| format!("; cost report: {n} rows")),
        s.developers.map_or_else(String::new, |(d, a)| format!(
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
        let run = metrics::Run {
            success,
            duration: started.elapsed(),
        };
        let text = sync::export::textfile(store, &ctx.config, run, ctx.now);
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

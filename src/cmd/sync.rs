//! `quota sync`: pull usage with one grouped request, store it, evaluate every account and
//! apply alert changes, all-or-nothing.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use chrono::Duration;

use super::Ctx;
use crate::api::{self, Client};
use crate::cli::SyncArgs;
use crate::config::{Selector, UsageSource, admin_key};
use crate::error::bad_input;
use crate::store::{accounts, usage};
use crate::{evaluate, output, window};

pub fn run(ctx: &Ctx, args: &SyncArgs) -> Result<ExitCode> {
    let started = Instant::now();
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
    let mut store = ctx.open_store()?;
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
        ctx.now.date_naive() - Duration::days(i64::from(config.database.retention_days));
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

/// The process's peak resident memory (Linux `VmHWM`), for the log and the benchmark.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

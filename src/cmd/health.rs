//! `quota health`: whether quota can see. Each read's state, the notification backlog per
//! channel, and one verdict; exit 0 when healthy and 1 when not, for any external checker
//! (`quota health || page-someone`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::Ctx;
use crate::cli::HealthArgs;
use crate::health::{Health, describe};
use crate::output;
use crate::store::{self, outbox::Backlog};
use crate::table::{Column, Screen, Table};
use crate::time::short;
use crate::time::ts;

pub(super) fn run(ctx: &Ctx, args: &HealthArgs) -> Result<ExitCode> {
    let mut store = ctx.open_existing_store()?;
    let shared = store.shared();
    let (reads, backlog, lease) = store.read(|tx| {
        Ok((
            store::health::all(tx)?,
            store::outbox::backlog(tx)?,
            // Hosts that share the store: which run has the Admin API read, for which minute.
            if shared {
                store::lease::holder(tx, store::lease::FETCH)?
            } else {
                None
            },
        ))
    })?;
    let health = Health {
        reads: &reads,
        failing_after: ctx.config.failing_after,
        now: ctx.now,
    };
    // Deliveries not (yet) made, per channel, over every account.
    let mut channels: BTreeMap<&str, Backlog> = BTreeMap::new();
    for (c, b) in backlog.values().flatten() {
        let e = channels.entry(c.as_str()).or_default();
        e.pending += b.pending;
        e.failed += b.failed;
    }
    let lease = lease
        .as_ref()
        .map(|(holder, minute)| (holder.as_str(), *minute));
    if args.json {
        json_report(&health, &channels, lease)?;
    } else {
        text_report(&health, &channels, lease)?;
    }
    Ok(if health.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Which run has the Admin API read, for which minute (hosts sharing a store).
type Lease<'a> = Option<(&'a str, DateTime<Utc>)>;

/// `quota health --json`: every read, the backlog per channel, the lease.
fn json_report(h: &Health<'_>, channels: &BTreeMap<&str, Backlog>, lease: Lease<'_>) -> Result<()> {
    output::json(&json!({
        "healthy": h.healthy(),
        "data_age_seconds": h.data_age().map(|d| d.num_seconds()),
        "reads": h.reads.iter().map(|r| json!({
            "read": r.read,
            "last_success_at": r.last_success_at.map(ts),
            "last_attempt_at": ts(r.last_attempt_at),
            "failing_since": r.failing_since.map(ts),
            "failures": r.failures,
            "last_error": r.last_error,
        })).collect::<Vec<_>>(),
        "notifications": channels.iter().map(|(c, b)| {
            (c.to_string(), json!({"pending": b.pending, "failed": b.failed}))
        }).collect::<serde_json::Map<_, _>>(),
        "admin_api_read_by": lease.map(|(holder, minute)| json!({
            "run": holder,
            "minute": ts(minute),
        })),
    }))
}

/// The reads as a table (times short, as in `alerts list`, so that the last error has room
/// at 80 columns; the verdict under it gives them whole), then a line per channel with a
/// backlog, the lease, the verdict.
fn text_report(h: &Health<'_>, channels: &BTreeMap<&str, Backlog>, lease: Lease<'_>) -> Result<()> {
    let mut t = Table::new(vec![
        Column::name("READ"),
        Column::left("LAST SUCCESS"),
        Column::left("FAILING SINCE"),
        Column::right("FAILED RUNS"),
        Column::shrink("LAST ERROR"),
    ]);
    for r in h.reads {
        let failing = r.failures > 0;
        t.row(vec![
            describe(&r.read).into(),
            r.last_success_at
                .map_or_else(|| "never".to_string(), |t| short(t, h.now))
                .into(),
            r.failing_since
                .map_or_else(|| "-".to_string(), |t| short(t, h.now))
                .into(),
            r.failures.to_string().into(),
            if failing {
                r.last_error.clone().unwrap_or_default()
            } else {
                String::new()
            }
            .into(),
        ]);
    }
    let screen = Screen::detect();
    if !h.reads.is_empty() {
        output::text(&t.render(screen.width, screen.color))?;
    }
    for (c, b) in channels {
        output::line(&format!(
            "notifications to {c}: {} pending, {} failed",
            b.pending, b.failed
        ))?;
    }
    if let Some((holder, minute)) = lease {
        let line = format!(
            "Admin API read taken by {holder} for the minute of {}",
            crate::time::minute(minute)
        );
        output::line(&crate::table::wrap(&line, screen.width))?;
    }
    let verdict = match h.footer() {
        None => "healthy".to_string(),
        Some(why) => format!("not healthy: {why}"),
    };
    output::line(&crate::table::wrap(&verdict, screen.width))?;
    Ok(())
}

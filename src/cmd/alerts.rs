//! `quota alerts list` and `quota alerts resolve`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Ctx;
use crate::account::Channel;
use crate::alert::{Alert, AlertType, Resolution, Severity};
use crate::cli::{ListArgs, ResolveArgs, SeverityArg};
use crate::error::bad_input;
use crate::output;
use crate::store::alerts::{ListFilter, Resolve};
use crate::store::{self, Store};
use crate::table::{Cell, Color, Column, Screen, Table};
use crate::{apply, notify};

/// The shortest id prefix `resolve` accepts.
pub(super) const MIN_PREFIX: usize = 8;

pub(super) fn list(ctx: &Ctx, args: &ListArgs) -> Result<ExitCode> {
    // Unknown names are an error, but alerts of accounts since removed from the config still
    // list when no filter is given.
    let mut store = ctx.open_existing_store()?;
    // Names and globs, resolved to the accounts they select.
    let accounts = if args.filter.accounts.is_empty() {
        Vec::new()
    } else {
        crate::sync::Roster::load(&ctx.config, &mut store)?
            .select(&args.filter.accounts)?
            .iter()
            .map(|a| a.name.clone())
            .collect()
    };
    let filter = ListFilter {
        accounts,
        include_resolved: args.all,
        severity: args.severity.map(|s| match s {
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Critical => Severity::Critical,
        }),
    };
    let (alerts, reads, silences) = store.read(|tx| {
        Ok((
            store::alerts::list(tx, &filter)?,
            store::health::all(tx)?,
            store::silences::active(tx, ctx.now)?,
        ))
    })?;
    // Until when an open alert's deliveries are held back, if they are.
    let silenced = |a: &Alert| {
        a.is_open()
            .then(|| super::silences::silenced_until(&silences, &a.id, &a.account))
            .flatten()
    };
    if args.json {
        // The alert columns of SPEC §4, who resolved an alert by hand and until when an open
        // one is silenced (null otherwise). Webhooks carry the columns only.
        let rows = alerts.iter().map(|a| {
            let mut v = a.to_json();
            v["resolved_by"] = serde_json::json!(a.resolved_by);
            v["silenced_until"] = serde_json::json!(silenced(a).map(crate::time::ts));
            v
        });
        output::json(&Value::Array(rows.collect()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let screen = Screen::detect();
    if alerts.is_empty() {
        output::line(if args.all {
            "no alerts"
        } else {
            "no open alerts"
        })?;
    } else {
        let table = alerts_table(&alerts, args.all, args.wide, ctx.now, &silenced);
        output::text(&table.render(if args.wide { None } else { screen.width }, screen.color))?;
    }
    // No open alert means nothing while quota cannot see: say so under the list.
    let health = crate::health::Health {
        reads: &reads,
        failing_after: ctx.config.failing_after,
        now: ctx.now,
    };
    if let Some(line) = health.footer() {
        output::line(&crate::table::wrap(&line, screen.width))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A quota alert's percentage; `-` for a health alert, which has none.
fn percent(a: &Alert) -> String {
    if a.alert_type.is_health() {
        "-".to_string()
    } else {
        format!("{:.1}", a.percentage)
    }
}

/// The short id the tables show (alerts and silences): the commands take any unique prefix
/// of 8 or more.
pub(super) fn short_id(id: &str) -> &str {
    id.get(..MIN_PREFIX).unwrap_or(id)
}

/// The one alert whose id starts with `prefix`, or an error that says nothing was `done`
/// (`resolved`, `silenced`): the caller's transaction changes nothing then.
pub(super) fn one_alert(tx: &store::Tx<'_>, prefix: &str, done: &str) -> Result<Alert> {
    let mut matches = store::alerts::by_prefix(tx, prefix, 2)?;
    match matches.len() {
        0 => Err(anyhow!(
            "no alert has the id {prefix}: nothing was {done} (see quota alerts list --all)"
        )),
        1 => Ok(matches.remove(0)),
        _ => Err(anyhow!(
            "{prefix} matches several alerts: give more characters of the id; nothing was {done}"
        )),
    }
}

/// The alerts as a table. At the default width an `--all` listing shows one STATE column:
/// an open alert's severity, a resolved one's resolution (its time is in `--wide`), so that
/// it still fits 80 columns.
fn alerts_table(
    alerts: &[Alert],
    all: bool,
    wide: bool,
    now: DateTime<Utc>,
    silenced: &dyn Fn(&Alert) -> Option<DateTime<Utc>>,
) -> Table {
    let state = if all && !wide { "STATE" } else { "SEVERITY" };
    let mut columns = vec![Column::left("ID"), Column::left(state)];
    if wide {
        columns.extend([
            Column::left("ACCOUNT"),
            Column::left("TYPE"),
            Column::left("QUOTA"),
            Column::right("USED / LIMIT"),
            Column::right("%"),
            Column::left("CREATED"),
        ]);
        if all {
            columns.push(Column::left("RESOLVED"));
        }
        columns.push(Column::left("MESSAGE"));
    } else {
        columns.extend([
            Column::name("ACCOUNT"),
            Column::left("QUOTA"),
            Column::left("WHAT"),
            Column::right("%").optional(),
            Column::left("CREATED").optional(),
            Column::shrink("MESSAGE"),
        ]);
    }
    let mut t = Table::new(columns);
    for a in alerts {
        t.row(alert_row(a, all, wide, now, silenced(a).is_some()));
    }
    t
}

fn alert_row(a: &Alert, all: bool, wide: bool, now: DateTime<Utc>, silenced: bool) -> Vec<Cell> {
    let color = match a.severity {
        Severity::Critical => Color::Red,
        Severity::Warning => Color::Yellow,
    };
    // A silenced alert is listed all the same, marked: its notifications wait. The default
    // width has room for the mark only (a terminal still colours it by severity).
    let state = match a.resolution {
        Some(r) if all && !wide => r.to_string(),
        None if silenced && wide => format!("{} (silenced)", a.severity),
        None if silenced => "silenced".to_string(),
        _ => a.severity.to_string(),
    };
    let mut row: Vec<Cell> = vec![
        (if wide { a.id.as_str() } else { short_id(&a.id) }).into(),
        Cell::colored(state, a.is_open().then_some(color)),
        a.who().into(),
    ];
    if wide {
        row.push(a.alert_type.as_str().into());
        row.push(a.what_window().into());
        row.push(
            match a.quota_type {
                Some(q) => format!(
                    "{} / {}",
                    q.display(a.current_value),
                    q.display(a.limit_value)
                ),
                None => a.amount(),
            }
            .into(),
        );
        row.push(percent(a).into());
        row.push(crate::time::minute(a.created_at).into());
        if all {
            row.push(
                match (a.resolved_at, a.resolution) {
                    (Some(at), Some(r)) => {
                        let by = a.resolved_by.as_deref().map(|w| format!(" by {w}"));
                        format!("{r} {}{}", crate::time::minute(at), by.unwrap_or_default())
                    }
                    _ => "open".to_string(),
                }
                .into(),
            );
        }
        row.push(a.message.as_str().into());
    } else {
        row.push(a.what_window().into());
        row.push(what(a).into());
        row.push(percent(a).into());
        row.push(crate::time::short(a.created_at, now).into());
        row.push(detail(a).into());
    }
    row
}

/// What kind of alert, in a word or two: `80%`, `95%`, `exceeded`, `forecast`, `failing`.
fn what(a: &Alert) -> String {
    match a.alert_type {
        AlertType::ApproachingLimit => format!("{}%", a.threshold),
        AlertType::QuotaExceeded => "exceeded".into(),
        AlertType::ForecastExceeded => "forecast".into(),
        AlertType::BurnRate => "burn".into(),
        AlertType::SyncFailing | AlertType::DeliveryFailing => "failing".into(),
    }
}

/// The message without what the other columns say: `production: tokens has reached 80% of
/// its limit: 850 of 1,000 …` reads `850 of 1,000 …` in the table (notifications keep the
/// whole text, and `--wide` and `--json` show it).
fn detail(a: &Alert) -> &str {
    let prefix = format!("{}: {} ", a.account, a.what_window());
    match a.message.strip_prefix(prefix.as_str()) {
        // The pace in words is the whole point of a burn-rate alert.
        Some(rest) if a.alert_type == AlertType::BurnRate => rest,
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, d)| d),
        None => &a.message,
    }
}

pub(super) fn resolve(ctx: &Ctx, args: &ResolveArgs) -> Result<ExitCode> {
    let prefixes: Vec<String> = args
        .ids
        .iter()
        .map(|id| {
            let p = id.trim().to_ascii_lowercase();
            if p.len() < MIN_PREFIX || !p.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                return Err(bad_input!(
                    "{id:?} is not an alert id: give the UUID or at least its first {MIN_PREFIX} characters (see quota alerts list)"
                ));
            }
            Ok(p)
        })
        .collect::<Result<_>>()?;
    let comment = args
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let by = operator();
    let channels = if args.no_notify {
        &[][..]
    } else {
        &ctx.config.notify[..]
    };
    let how = Resolve {
        resolution: Resolution::Manual,
        comment,
        by: by.as_deref(),
    };
    let mut store = ctx.open_existing_store()?;
    // All ids are looked up and resolved in one transaction: a typo in one resolves none. The
    // resolved notices are enqueued in it too.
    let (report, resolved) = store.write(|tx| {
        let mut found = Vec::with_capacity(prefixes.len());
        for p in &prefixes {
            found.push(one_alert(tx, p, "resolved")?);
        }
        let mut lines = Vec::with_capacity(found.len());
        let mut resolved: Vec<String> = Vec::new();
        for a in found {
            let what = format!("{} {} {}%", a.who(), a.what_window(), a.threshold);
            if apply::resolve(tx, &a, how, channels, ctx.now)? {
                lines.push(format!("resolved {} ({what})", a.id));
                resolved.push(a.id.clone());
            } else if resolved.contains(&a.id) {
                // The same alert named twice.
            } else {
                let how = match (a.resolution, a.resolved_at) {
                    (Some(r), Some(at)) => format!("{r} at {}", crate::time::minute(at)),
                    _ => "earlier".to_string(),
                };
                lines.push(format!("{} was already resolved ({what}; {how})", a.id));
            }
        }
        Ok((lines, resolved))
    })?;
    for l in report {
        output::line(&l)?;
    }
    if !resolved.is_empty() && !channels.is_empty() {
        notify_now(&mut store, ctx, channels, &resolved)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How long `alerts resolve` spends sending its notices before leaving them to the next sync.
const NOTIFY_BUDGET: Duration = Duration::from_secs(5);

/// Sends the resolved notices at once; what does not go out waits for the next sync. The
/// resolve itself has succeeded either way.
fn notify_now(store: &mut Store, ctx: &Ctx, channels: &[Channel], ids: &[String]) -> Result<()> {
    match notify::deliver(
        store,
        channels,
        &ctx.run_id,
        ctx.now,
        NOTIFY_BUDGET,
        Some(ids),
    ) {
        Ok(r) if r.retrying + r.failed + r.deferred == 0 => {
            if r.delivered > 0 {
                output::line(&format!("resolved notice sent ({} delivered)", r.delivered))?;
            }
        }
        Ok(r) => output::line(&format!(
            "resolved notice: {} delivered, {} left for the next sync, {} failed (see quota status)",
            r.delivered,
            r.retrying + r.deferred,
            r.failed
        ))?,
        Err(e) => log::warn!("the resolved notice waits for the next sync: {e:#}"),
    }
    Ok(())
}

/// Who is resolving: the user behind `sudo`, else the login user.
pub(super) fn operator() -> Option<String> {
    ["SUDO_USER", "USER"]
        .into_iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

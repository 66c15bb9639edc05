//! `quota alerts list` and `quota alerts resolve`.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use serde_json::Value;

use super::Ctx;
use crate::alert::{Alert, Resolution, Severity};
use crate::cli::{ListArgs, ResolveArgs, SeverityArg};
use crate::error::bad_input;
use crate::output;
use crate::store::{self, alerts::ListFilter};

/// The shortest id prefix `resolve` accepts.
const MIN_PREFIX: usize = 8;

pub fn list(ctx: &Ctx, args: &ListArgs) -> Result<ExitCode> {
    // Unknown names are an error, but alerts of accounts since removed from the config still
    // list when no filter is given.
    let mut store = ctx.open_store()?;
    if !args.filter.accounts.is_empty() {
        crate::config::select(&ctx.accounts(&mut store)?, &args.filter.accounts)?;
    }
    let filter = ListFilter {
        accounts: args.filter.accounts.clone(),
        include_resolved: args.all,
        severity: args.severity.map(|s| match s {
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Critical => Severity::Critical,
        }),
    };
    let alerts = store.read(|tx| store::alerts::list(tx, &filter))?;
    if args.json {
        output::json(&Value::Array(alerts.iter().map(Alert::to_json).collect()))?;
        return Ok(ExitCode::SUCCESS);
    }
    if alerts.is_empty() {
        output::line(if args.all {
            "no alerts"
        } else {
            "no open alerts"
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header = vec![
        "ID",
        "ACCOUNT",
        "SEVERITY",
        "TYPE",
        "QUOTA",
        "USED / LIMIT",
        "%",
        "CREATED",
    ];
    if args.all {
        header.push("RESOLVED");
    }
    let mut t = output::table(&header);
    for a in &alerts {
        let q = a.quota_type;
        let mut row = vec![
            a.id.clone(),
            a.account.clone(),
            a.severity.to_string(),
            a.alert_type.to_string(),
            q.to_string(),
            format!(
                "{} / {}",
                q.display(a.current_value),
                q.display(a.limit_value)
            ),
            format!("{:.1}", a.percentage),
            output::time(a.created_at),
        ];
        if args.all {
            row.push(match (a.resolved_at, a.resolution) {
                (Some(at), Some(r)) => format!("{r} {}", output::time(at)),
                _ => "open".to_string(),
            });
        }
        t.add_row(row);
    }
    output::print_table(&t)?;
    Ok(ExitCode::SUCCESS)
}

pub fn resolve(ctx: &Ctx, args: &ResolveArgs) -> Result<ExitCode> {
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
    let mut store = ctx.open_store()?;
    // All ids are looked up and resolved in one transaction: a typo in one resolves none.
    let report = store.write(|tx| {
        let mut found = Vec::with_capacity(prefixes.len());
        for p in &prefixes {
            let mut matches = store::alerts::by_prefix(tx, p, 2)?;
            match matches.len() {
                0 => return Err(anyhow!("no alert has the id {p}: nothing was resolved (see quota alerts list --all)")),
                1 => found.push(matches.remove(0)),
                _ => return Err(anyhow!("{p} matches several alerts: give more characters of the id; nothing was resolved")),
            }
        }
        let mut lines = Vec::with_capacity(found.len());
        for a in found {
            let what = format!("{} {} {}%", a.account, a.quota_type, a.threshold);
            if store::alerts::resolve(tx, &a.id, Resolution::Manual, comment, ctx.now)? {
                lines.push(format!("resolved {} ({what})", a.id));
            } else if lines.iter().any(|l: &String| l.contains(&a.id)) {
                // The same alert named twice.
            } else {
                let how = match (a.resolution, a.resolved_at) {
                    (Some(r), Some(at)) => format!("{r} at {}", output::time(at)),
                    _ => "earlier".to_string(),
                };
                lines.push(format!("{} was already resolved ({what}; {how})", a.id));
            }
        }
        Ok(lines)
    })?;
    for l in report {
        output::line(&l)?;
    }
    Ok(ExitCode::SUCCESS)
}

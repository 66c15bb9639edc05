//! `config check`'s accounts: what each one watches and how.

use std::fmt::Write as _;

use anyhow::Result;

use super::Ctx;
use crate::account::Account;
use crate::config::Config;
use crate::evaluate::{Unmeasured, never_measured, reason};
use crate::period::Period;
use crate::quota::QuotaType;

/// Why a limit cannot be measured: by design, or because the last usage read found the
/// counts it needs in no row.
fn not_measured(a: &Account, q: QuotaType, c: &Config, unreported: &[String]) -> Option<String> {
    never_measured(a, q, c.api.usage_source)
        .or_else(|| {
            let why = reason(a, q, c.api.usage_source, unreported);
            matches!(why, Unmeasured::NotReported { .. }).then_some(why)
        })
        .map(|why| why.to_string())
}

/// The count fields the last usage read found in no row, from the database if there is one
/// (config check never creates it).
fn unreported(ctx: &Ctx) -> Vec<String> {
    state_list(ctx, crate::store::Fact::UsageUnreported)
}

/// A comma-separated fact of the store, if there is a store.
fn state_list(ctx: &Ctx, fact: crate::store::Fact) -> Vec<String> {
    let read = ctx.peek_store().and_then(|store| match store {
        Some(mut s) => s.read(|tx| crate::store::get_state(tx, fact)),
        None => Ok(None),
    });
    match read {
        Ok(v) => v
            .iter()
            .flat_map(|u| u.split(','))
            .filter(|u| !u.is_empty())
            .map(String::from)
            .collect(),
        Err(e) => {
            log::debug!("config check: cannot read the database: {e:#}");
            Vec::new()
        }
    }
}

/// Each account: its selector, model scope, limits (and which are not measured), period,
/// burn-rate rules and day and week windows.
pub(super) fn accounts(
    out: &mut String,
    c: &Config,
    ctx: &Ctx,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if c.accounts.is_empty() {
        writeln!(out, "accounts:     none configured")?;
        return Ok(());
    }
    writeln!(out, "accounts:")?;
    let unreported = &unreported(ctx);
    let seen = state_list(ctx, crate::store::Fact::ModelsSeen);
    for a in &c.accounts {
        let p = Period::containing(a.billing_day, ctx.now);
        writeln!(out, "  {}: {}", a.name, a.selector)?;
        if let Some(line) = model_line(a, &seen, warnings) {
            writeln!(out, "    {line}")?;
        }
        let listed = |limits: &crate::quota::Limits| -> Vec<String> {
            QuotaType::ALL
                .into_iter()
                .filter_map(|q| {
                    limits.get(q).map(|l| {
                        let note = match not_measured(a, q, c, unreported) {
                            Some(why) => format!(" (not measured: {why})"),
                            None => String::new(),
                        };
                        format!("{} {}{note}", q.limit_key(), q.display(l))
                    })
                })
                .collect()
        };
        let limits = listed(&a.limits);
        writeln!(
            out,
            "    limits: {}",
            if limits.is_empty() {
                "none (usage tracked, never alerted)".into()
            } else {
                limits.join(", ")
            }
        )?;
        writeln!(
            out,
            "    billing day {}: current period {} to {}; thresholds {}",
            a.billing_day,
            p.start_day(),
            p.end_day(),
            percents(&a.thresholds)
        )?;
        writeln!(out, "    burn rate: {}", burn_line(a))?;
        for w in a.windows.iter() {
            let span = w.window.containing(a.billing_day, ctx.now);
            writeln!(
                out,
                "    {}: {} (now {} to {}; thresholds {})",
                w.window.table(),
                listed(&w.limits).join(", "),
                span.start_day(),
                span.end_day(),
                percents(&w.thresholds)
            )?;
        }
    }
    Ok(())
}

/// "80%, 95%, 100%".
fn percents(thresholds: &[u32]) -> String {
    let listed: Vec<String> = thresholds.iter().map(|t| format!("{t}%")).collect();
    listed.join(", ")
}

/// What a scoped account's glob matches; a glob matching no model the last read saw is a
/// warning.
fn model_line(a: &Account, seen: &[String], warnings: &mut Vec<String>) -> Option<String> {
    let glob = a.model.as_ref()?;
    if a.selector.is_developer() {
        return Some(format!(
            "model {}: its share of the Claude Code report's model_breakdown",
            glob.as_str()
        ));
    }
    let matched: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|m| glob.matches(m))
        .collect();
    if matched.is_empty() {
        warnings.push(format!(
            "account {}: model = {:?} matches no model the last read saw ({}); check the glob (it matches the whole model id, * for any run of characters)",
            a.name,
            glob.as_str(),
            if seen.is_empty() { "none read yet".to_string() } else { seen.join(", ") }
        ));
        return Some(format!("model {}: no model seen matches", glob.as_str()));
    }
    Some(format!(
        "model {}: {} (seen in the last read)",
        glob.as_str(),
        matched.join(", ")
    ))
}

/// The account's burn-rate rules, or why there are none.
fn burn_line(a: &Account) -> String {
    if a.burn.is_empty() {
        return "off".to_string();
    }
    if a.selector.is_developer() {
        return "not evaluated for developer accounts (the report is daily)".to_string();
    }
    let rules: Vec<String> = a
        .burn
        .iter()
        .map(|r| {
            format!(
                "{}× over {} and {} ({})",
                r.factor().normalize(),
                crate::burn::lookback(r.long),
                crate::burn::lookback(r.short),
                r.severity
            )
        })
        .collect();
    rules.join(", ")
}

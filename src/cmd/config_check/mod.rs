//! `quota config check`: validate, then show what quota would use and where each came from.
//! No network.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::account::ChannelKind;
use crate::config::{Config, DeveloperDiscovery, Discovery, admin_key};
use crate::output;
use crate::secret::SecretSource;

mod accounts;

use accounts::accounts;

/// Where the packaged `quota-sync.service` loads the admin key from (`LoadCredential=`).
const UNIT_CREDENTIAL: &str = "/etc/quota/admin-key";

pub(super) fn run(
    ctx: &Ctx,
    env: &dyn Fn(&str) -> Option<OsString>,
    strict: bool,
) -> Result<ExitCode> {
    let c = &ctx.config;
    let mut out = String::new();
    let mut warnings = c.warnings.clone();
    where_from(&mut out, ctx, env, &mut warnings)?;
    let discovery = match c.discovery {
        Discovery::Auto => "auto (every active key when no [[accounts]] exist)",
        Discovery::Always => "always",
        Discovery::Never => "never (no key listing: configured key ids not checked)",
    };
    writeln!(out, "discovery:    {discovery}")?;
    developers(&mut out, ctx)?;
    accounts(&mut out, c, ctx, &mut warnings)?;
    warnings.extend(unlisted_ids(ctx));
    channels(&mut out, c, &mut warnings)?;
    metrics(&mut out, c)?;
    if warnings.is_empty() {
        writeln!(out, "warnings:     none")?;
    } else {
        writeln!(out, "warnings:")?;
        for w in &warnings {
            writeln!(out, "  - {w}")?;
        }
    }
    // Wrapped to the terminal, each line keeping its indent; whole lines when piped.
    let width = crate::table::Screen::detect().width;
    let wrapped: Vec<String> = out
        .trim_end()
        .lines()
        .map(|l| crate::table::wrap(l, width))
        .collect();
    output::line(&wrapped.join("\n"))?;
    if strict && !warnings.is_empty() {
        anyhow::bail!(
            "{} warning{} (--strict)",
            warnings.len(),
            crate::output::plural(warnings.len())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The configured ids that the last listings of keys and workspaces did not have, from the
/// database if there is one (config check never creates it).
fn unlisted_ids(ctx: &Ctx) -> Vec<String> {
    let read = ctx.peek_store().and_then(|store| match store {
        Some(mut s) => s.read(|tx| {
            let accounts: Vec<&_> = ctx.config.accounts.iter().collect();
            let found = crate::sync::unlisted_findings(tx, &accounts)?;
            Ok(found.into_iter().map(|(_, line)| line).collect())
        }),
        None => Ok(Vec::new()),
    });
    read.unwrap_or_else(|e| {
        log::debug!("config check: cannot read the database: {e:#}");
        Vec::new()
    })
}

/// Where the config, the database, the Admin API and the admin key come from.
fn where_from(
    out: &mut String,
    ctx: &Ctx,
    env: &dyn Fn(&str) -> Option<OsString>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let c = &ctx.config;
    match &c.file {
        Some(f) => writeln!(
            out,
            "config file:  {} ({})",
            f.path.display(),
            f.origin.phrase()
        )?,
        None => writeln!(
            out,
            "config file:  none found (looked at $XDG_CONFIG_HOME/quota/config.toml, ~/.config/quota/config.toml, /etc/quota/config.toml); defaults apply"
        )?,
    }
    let (db, origin) = match &c.database.postgres {
        Some(pg) => (ctx.store_shown(), pg.origin.phrase()),
        None => (ctx.store_shown(), c.database.path.origin.phrase()),
    };
    writeln!(
        out,
        "database:     {db} ({origin}); usage kept {} days",
        c.database.retention_days
    )?;
    writeln!(
        out,
        "admin API:    {} ({}); usage source {}; timeout {} per request, deadline {} per sync",
        c.api.base_url,
        c.api.base_url_origin.phrase(),
        c.api.usage_source.as_str(),
        crate::time::seconds(c.api.timeout),
        crate::time::seconds(c.api.deadline)
    )?;
    match admin_key(c, env) {
        Ok(k) => writeln!(
            out,
            "admin key:    from {} (ends {})",
            k.origin,
            k.key.hint()
        )?,
        // The packaged unit hands the key over as a systemd credential, which a shell never
        // sees: say where it will come from there, rather than "not found".
        Err(_) if env("CREDENTIALS_DIRECTORY").is_none() && Path::new(UNIT_CREDENTIAL).exists() => {
            writeln!(
                out,
                "admin key:    not in this shell; the quota-sync unit gets it from {UNIT_CREDENTIAL} (LoadCredential=anthropic-admin-key)"
            )?;
        }
        Err(e) => {
            writeln!(out, "admin key:    not found")?;
            warnings.push(format!("{e:#} (needed by quota sync)"));
        }
    }
    Ok(())
}

/// The textfile and the heartbeat (its URL is a secret: never shown).
fn metrics(out: &mut String, c: &Config) -> Result<()> {
    match (&c.metrics.textfile, &c.metrics.heartbeat_url) {
        (None, None) => writeln!(out, "metrics:      none")?,
        (t, h) => writeln!(
            out,
            "metrics:      textfile {}; heartbeat {}",
            t.as_ref()
                .map_or_else(|| "none".into(), |p| p.display().to_string()),
            if h.is_some() {
                "configured (URL hidden)"
            } else {
                "none"
            }
        )?,
    }
    Ok(())
}

/// The Claude Code report's interval, developer discovery, and the developer accounts it
/// has named (from the database, if there is one).
fn developers(out: &mut String, ctx: &Ctx) -> Result<()> {
    let c = &ctx.config;
    let configured = c
        .accounts
        .iter()
        .filter(|a| a.selector.is_developer())
        .count();
    let discovery = c.developer_discovery == DeveloperDiscovery::Always;
    if configured == 0 && !discovery {
        return Ok(());
    }
    writeln!(
        out,
        "claude code:  usage report read at most every {} min; {configured} configured developer account{}; developer discovery {}",
        c.api.claude_code_interval.as_secs() / 60,
        crate::output::plural(configured),
        if discovery { "always" } else { "never" }
    )?;
    if discovery && let Ok(Some(mut store)) = ctx.peek_store() {
        let known = store
            .read(crate::store::developers::actors)
            .unwrap_or_default();
        let names: Vec<String> = known
            .iter()
            .take(10)
            .map(|k| format!("{} ({})", k.account, k.actor))
            .collect();
        let more = known.len().saturating_sub(names.len());
        writeln!(
            out,
            "              {} discovered developer account{}{}{}{}",
            known.len(),
            crate::output::plural(known.len()),
            if names.is_empty() { "" } else { ": " },
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

fn channels(out: &mut String, c: &Config, warnings: &mut Vec<String>) -> Result<()> {
    if c.notify.is_empty() {
        writeln!(out, "notify:       none")?;
        return Ok(());
    }
    writeln!(out, "notify:")?;
    for ch in &c.notify {
        let secret = match &ch.kind {
            ChannelKind::Slack { url } | ChannelKind::Webhook { url } => Some(url),
            ChannelKind::PagerDuty { routing_key, .. } => Some(routing_key),
            ChannelKind::Email { .. } => None,
        };
        if let Some(source @ SecretSource::File(path)) = secret {
            if let Err(e) = source.read() {
                warnings.push(format!("channel {}: {e:#}", ch.name));
            } else if crate::secret::readable_by_others(path) {
                warnings.push(format!(
                    "channel {}: {} is readable by other users: chmod 600 it",
                    ch.name,
                    path.display()
                ));
            }
        }
        let target = match &ch.kind {
            ChannelKind::Slack { url } | ChannelKind::Webhook { url } => {
                format!("URL {}", url.describe())
            }
            ChannelKind::PagerDuty { routing_key, url } => format!(
                "routing key {}{}",
                routing_key.describe(),
                if url.is_some() {
                    "; custom Events API URL"
                } else {
                    ""
                }
            ),
            ChannelKind::Email { to, from, command } => {
                format!("to {to} from {from} via {}", command.join(" "))
            }
        };
        writeln!(
            out,
            "  {} ({}): {target}; min severity {}; resolved notices {}",
            ch.name,
            ch.kind.type_name(),
            ch.min_severity,
            if ch.send_resolved { "on" } else { "off" }
        )?;
        if let Some(globs) = &ch.accounts {
            let reached = c.accounts.iter().filter(|a| ch.takes(&a.name)).count();
            writeln!(
                out,
                "    accounts {}: {reached} configured account{}",
                globs.join(", "),
                crate::output::plural(reached)
            )?;
        }
    }
    // Every configured account should reach some channel.
    let unheard: Vec<&str> = c
        .accounts
        .iter()
        .filter(|a| !c.notify.iter().any(|ch| ch.takes(&a.name)))
        .map(|a| a.name.as_str())
        .collect();
    if !unheard.is_empty() {
        warnings.push(format!(
            "account{} {} reach{} no channel (see [[notify]] accounts)",
            crate::output::plural(unheard.len()),
            unheard.join(", "),
            if unheard.len() == 1 { "es" } else { "" }
        ));
    }
    Ok(())
}

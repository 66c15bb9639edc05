//! `quota alerts silence`, `silences` and `unsilence`: hold notifications back for a while.
//! A silenced alert is still recorded and listed; its deliveries wait until the silence
//! ends, and an alert still open then is delivered once.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, Utc};

use super::Ctx;
use super::alerts::{MIN_PREFIX, one_alert, operator, short_id};
use crate::cli::SilenceArgs;
use crate::error::bad_input;
use crate::output;
use crate::store::silences::{self, Silence, Target};
use crate::table::{Column, Screen, Table};

/// The longest silence: a forgotten one should not mute an account for ever.
const MAX_DAYS: i64 = 30;

pub(super) fn silence(ctx: &Ctx, args: &SilenceArgs) -> Result<ExitCode> {
    let length = duration(&args.duration)?;
    let mut store = ctx.open_existing_store()?;
    let of_accounts = if args.ids.is_empty() {
        // Names and globs must select something now; the globs themselves are kept, so an
        // account discovered later under them is silenced too.
        crate::sync::Roster::load(&ctx.config, &mut store)?.select(&args.accounts)?;
        Some(Target::Accounts(args.accounts.clone()))
    } else {
        None
    };
    let comment = args
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from);
    let by = operator();
    let ends_at = ctx.now + length;
    let made = store.write(|tx| {
        let targets: Vec<Target> = if let Some(t) = &of_accounts {
            vec![t.clone()]
        } else {
            let mut ids = Vec::new();
            for p in &args.ids {
                let p = p.trim().to_ascii_lowercase();
                if p.len() < MIN_PREFIX {
                    return Err(bad_input!(
                        "{p:?} is not an alert id: give the UUID or at least its first {MIN_PREFIX} characters"
                    ));
                }
                ids.push(Target::Alert(one_alert(tx, &p, "silenced")?.id));
            }
            ids
        };
        let mut made = Vec::new();
        for target in targets {
            let s = Silence {
                id: uuid::Uuid::new_v4().to_string(),
                target,
                starts_at: ctx.now,
                ends_at,
                comment: comment.clone(),
                created_by: by.clone(),
            };
            silences::insert(tx, &s)?;
            made.push(s);
        }
        Ok(made)
    })?;
    for s in made {
        output::line(&format!(
            "silenced {} until {} (silence {})",
            what(&s),
            crate::time::minute(s.ends_at),
            s.id
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(ctx: &Ctx) -> Result<ExitCode> {
    let mut store = ctx.open_existing_store()?;
    let active = store.read(|tx| silences::active(tx, ctx.now))?;
    if active.is_empty() {
        output::line("no silences in force")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(vec![
        Column::left("ID"),
        Column::name("SILENCES"),
        Column::left("UNTIL"),
        Column::left("BY"),
        Column::shrink("COMMENT"),
    ]);
    for s in &active {
        t.row(vec![
            short_id(&s.id).into(),
            what(s).into(),
            crate::time::minute(s.ends_at).into(),
            s.created_by.clone().unwrap_or_else(|| "-".into()).into(),
            s.comment.clone().unwrap_or_default().into(),
        ]);
    }
    let screen = Screen::detect();
    output::text(&t.render(screen.width, screen.color))?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn unsilence(ctx: &Ctx, id: &str) -> Result<ExitCode> {
    let p = id.trim().to_ascii_lowercase();
    if p.len() < MIN_PREFIX {
        return Err(bad_input!(
            "{id:?} is not a silence id: give at least its first {MIN_PREFIX} characters (see quota alerts silences)"
        ));
    }
    let mut store = ctx.open_existing_store()?;
    match store.write(|tx| silences::end(tx, &p, ctx.now))? {
        Some(id) => output::line(&format!(
            "silence {id} ended; what it held back goes out with the next sync"
        ))?,
        None => {
            return Err(anyhow!(
                "no silence in force has the id {p} (see quota alerts silences)"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a silence holds, for people.
fn what(s: &Silence) -> String {
    match &s.target {
        Target::Alert(id) => format!("alert {}", short_id(id)),
        Target::Accounts(globs) => format!("accounts {}", globs.join(", ")),
    }
}

/// `30m`, `2h`, `1h30m`, `1d`, `90s`: a positive length of at most `MAX_DAYS` days.
pub(super) fn duration(text: &str) -> Result<Duration> {
    let bad = || {
        bad_input!(
            "--for {text:?} is not a duration like 30m, 2h, 1h30m or 1d (at most {MAX_DAYS} days)"
        )
    };
    crate::time::duration(text)
        .filter(|d| *d <= Duration::days(MAX_DAYS))
        .ok_or_else(bad)
}

/// Whether an alert is silenced at `now`, and until when.
pub(super) fn silenced_until(
    active: &[Silence],
    alert_id: &str,
    account: &str,
) -> Option<DateTime<Utc>> {
    active
        .iter()
        .filter(|s| s.holds(alert_id, account))
        .map(|s| s.ends_at)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_and_bounded() {
        assert_eq!(duration("2h").unwrap(), Duration::hours(2));
        assert_eq!(duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(duration("1d").unwrap(), Duration::days(1));
        for bad in ["", "2", "h", "0m", "31d", "2 hours", "-1h"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }
}

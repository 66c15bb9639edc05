//! `status` as a table: a row per limited quota of each window.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{Shown, note, print_footer, shown};
use crate::alert::{AccountStatus, Severity, classify};
use crate::burn::Burn;
use crate::evaluate::{View, WindowView};
use crate::output;
use crate::period::{Period, Window, human_duration};
use crate::quota::{crossed, percentage};
use crate::reconcile::Reading;
use crate::table::{Cell, Color, Column, Table};

pub(super) fn print_table(s: &Shown<'_>, wide: bool) -> Result<()> {
    if s.views.is_empty() {
        output::line(
            "no accounts configured: add [[accounts]] to the config file (see quota config check)",
        )?;
        return s.health.as_deref().map_or(Ok(()), |h| note(s, h));
    }
    // The hourly burn where some quota has one (a fresh install has none yet: the notes
    // below say why), so that the usual table keeps within 120 columns.
    let burning = wide
        && s.burns
            .iter()
            .flatten()
            .flat_map(|(_, b)| b)
            .any(|b| b.long.is_ok());
    let columns = if wide {
        vec![
            Column::left("ACCOUNT"),
            Column::left("QUOTA"),
            Column::right("USED"),
            Column::right("LIMIT"),
            Column::right("%"),
            Column::right("PROJECTED"),
            Column::right("BURN 1H"),
            Column::left("PERIOD"),
            Column::left("STATUS"),
            Column::left("DATA AS OF"),
            Column::right("ALERTS"),
        ]
    } else {
        vec![
            Column::name("ACCOUNT"),
            Column::left("QUOTA"),
            Column::right("USED / LIMIT"),
            Column::right("%"),
            Column::left("RESETS IN").optional(),
            Column::left("STATUS"),
            Column::right("ALERTS").optional(),
        ]
    };
    let mut columns = columns;
    if wide && !burning {
        columns.remove(BURN_COLUMN);
    }
    let mut t = Table::new(columns);
    for (i, v) in s.views.iter().enumerate() {
        for w in v.all() {
            for r in w.readings.iter().filter(|r| shown(w.window, r)) {
                let burns = s.burns(i, w.window, r.quota_type);
                let mut row = table_row(s, v, &w, r, &burns, wide);
                if wide && !burning {
                    row.remove(BURN_COLUMN);
                }
                t.row(row);
            }
        }
    }
    let screen = s.screen;
    output::text(&t.render(if wide { None } else { screen.width }, screen.color))?;
    if wide {
        print_burn_notes(s)?;
    }
    print_footer(s)
}

/// Why burn rates are not evaluated, once per reason, with the accounts it holds for.
fn print_burn_notes(s: &Shown<'_>) -> Result<()> {
    let mut notes: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (v, burns) in s.views.iter().zip(&s.burns) {
        let why = burns
            .iter()
            .flat_map(|(_, b)| b)
            .find_map(|b| b.long.err().or(b.short.err()));
        if let Some(why) = why {
            notes
                .entry(why.to_string())
                .or_default()
                .push(&v.account.name);
        }
    }
    for (why, names) in notes {
        let who = match names.len() {
            0..=3 => names.join(", "),
            n => format!("{} and {} more", names[..3].join(", "), n - 3),
        };
        note(s, &format!("burn rate not evaluated ({who}): {why}"))?;
    }
    Ok(())
}

/// Yellow at a warning threshold, red at a critical one (or exhausted).
fn severity_color(w: &WindowView<'_>, r: &Reading) -> Option<Color> {
    let (used, limit) = r.used.zip(r.limit)?;
    let crossed = w
        .thresholds
        .iter()
        .rev()
        .find(|t| crossed(used, limit, **t))?;
    Some(match classify(*crossed).1 {
        Severity::Warning => Color::Yellow,
        Severity::Critical => Color::Red,
    })
}

fn table_row(
    s: &Shown<'_>,
    v: &View<'_>,
    w: &WindowView<'_>,
    r: &Reading,
    burns: &[&Burn],
    wide: bool,
) -> Vec<Cell> {
    let q = r.quota_type;
    let quota = match w.window {
        Window::Period => q.to_string(),
        window => format!("{q}/{window}"),
    };
    let color = severity_color(w, r);
    let pct = match r.used.zip(r.limit) {
        Some((u, l)) => format!("{:.1}", percentage(u, l)),
        None => "-".to_string(),
    };
    let status = s.status(v);
    let status = Cell::colored(
        status.as_str(),
        (status == AccountStatus::Exhausted).then_some(Color::Red),
    );
    let resets = human_duration(w.span.remaining(s.now));
    if !wide {
        let used = match (r.used, r.limit) {
            (None, _) => "not measured".to_string(),
            (Some(u), Some(l)) => format!("{} / {}", q.compact(u), q.compact(l)),
            (Some(u), None) => q.compact(u),
        };
        return vec![
            v.account.name.as_str().into(),
            quota.into(),
            used.into(),
            Cell::colored(pct, color),
            resets.into(),
            status,
            s.open(v).to_string().into(),
        ];
    }
    let projected = match r.forecast {
        Some(f) => match f.exhausts_at {
            Some(at) => format!(
                "{} (limit {})",
                q.display(f.projected),
                at.format("%m-%d %H:%M")
            ),
            None => q.display(f.projected),
        },
        None => "-".to_string(),
    };
    vec![
        v.account.name.as_str().into(),
        quota.into(),
        r.used
            .map_or_else(|| "not measured".to_string(), |u| q.display(u))
            .into(),
        r.limit
            .map_or_else(|| "none".to_string(), |l| q.display(l))
            .into(),
        Cell::colored(pct, color),
        projected.into(),
        hourly_burn(burns).into(),
        period(w.span).into(),
        status,
        s.synced(v)
            .map_or_else(|| "never".to_string(), |t| ago(s.now - t))
            .into(),
        s.open(v).to_string().into(),
    ]
}

/// Where `--wide` has BURN 1H.
const BURN_COLUMN: usize = 6;

/// The burn over the last hour (a rule's 1 h lookback, else its first rule's long one):
/// `17.3×`, or `-` where not evaluated or without rules.
fn hourly_burn(burns: &[&Burn]) -> String {
    let hourly = burns
        .iter()
        .find(|b| b.rule.long == chrono::Duration::hours(1))
        .or(burns.first());
    match hourly.map(|b| b.long) {
        Some(Ok(x)) => format!("{}×", x.round_dp(1)),
        _ => "-".to_string(),
    }
}

/// The window as `11-01 to 12-01`: what `--wide` needs to fit 120 columns, and with the
/// end it says when the window resets. No years: a current window is at most 31 days long
/// and contains today, so `12-01 to 01-01` can only be this December to January.
fn period(span: Period) -> String {
    format!(
        "{} to {}",
        span.start.format("%m-%d"),
        span.end.format("%m-%d")
    )
}

/// How long ago, for DATA AS OF: `3m ago`, `2h 5m ago`.
fn ago(d: chrono::Duration) -> String {
    format!("{} ago", human_duration(d))
}

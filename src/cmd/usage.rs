//! `quota usage`: what was used, day by day, read from the database with no network. It
//! answers "why is production at 96 %?".

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::account::Account;
use crate::apply;
use crate::cli::UsageArgs;
use crate::error::bad_input;
use crate::evaluate::{self, DayValues};
use crate::output;
use crate::period::Period;
use crate::quota::QuotaType;
use crate::table::{Cell, Column, Screen, Table};

pub(super) fn run(ctx: &Ctx, args: &UsageArgs) -> Result<ExitCode> {
    let since = day(args.since.as_deref(), "--since")?;
    let until = day(args.until.as_deref(), "--until")?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(bad_input!(
            "--since {s} is after --until {u}: give the earlier day first"
        ));
    }
    let today = ctx.now.date_naive();
    let mut store = ctx.open_existing_store()?;
    let all = crate::sync::Roster::load(&ctx.config, &mut store)?;
    let accounts = all.select(&args.filter.accounts)?;
    // Each account's own current period by default, up to today.
    let ranges: Vec<(&Account, NaiveDate, NaiveDate)> = accounts
        .iter()
        .map(|&a| {
            let period = Period::containing(a.billing_day, ctx.now);
            (
                a,
                since.unwrap_or(period.start_day()),
                until.unwrap_or(today),
            )
        })
        .collect();
    let first = ranges.iter().map(|r| r.1).min().unwrap_or(today);
    let last = ranges.iter().map(|r| r.2).max().unwrap_or(today);
    let loaded = store.read(|tx| apply::load_days(tx, &accounts, first, last))?;
    let rows = evaluate::by_day(&ranges, &loaded.inputs(ctx.config.api.usage_source));
    if args.json {
        output::json(&json_rows(&rows))?;
    } else if args.csv {
        output::text(&csv(&rows))?;
    } else {
        output::text(&table(&rows, Screen::detect()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn day(v: Option<&str>, flag: &str) -> Result<Option<NaiveDate>> {
    v.map(|d| {
        crate::time::parse_day(d.trim())
            .map_err(|_| bad_input!("{flag} {d:?} is not a day like 2026-11-28 (YYYY-MM-DD)"))
    })
    .transpose()
}

/// The columns of `usage --json` and `--csv` (SPEC §5), in quota-type order.
const FIELDS: [(&str, QuotaType); 5] = [
    ("tokens", QuotaType::Tokens),
    ("input_tokens", QuotaType::InputTokens),
    ("output_tokens", QuotaType::OutputTokens),
    ("requests", QuotaType::Requests),
    ("cost_usd", QuotaType::CostUsd),
];

fn get(d: &DayValues, q: QuotaType) -> Option<Decimal> {
    QuotaType::ALL
        .iter()
        .position(|x| *x == q)
        .and_then(|i| d.values[i])
}

#[derive(Serialize)]
struct DayJson<'a> {
    account: &'a str,
    day: String,
    tokens: Value,
    input_tokens: Value,
    output_tokens: Value,
    requests: Value,
    cost_usd: Value,
}

fn json_rows<'a>(rows: &'a [(&'a Account, Vec<DayValues>)]) -> Vec<DayJson<'a>> {
    let v = |d: &DayValues, q: QuotaType| get(d, q).map_or(Value::Null, |x| q.json_value(x));
    rows.iter()
        .flat_map(|(a, days)| {
            days.iter().map(|d| DayJson {
                account: &a.name,
                day: crate::time::day(d.day),
                tokens: v(d, QuotaType::Tokens),
                input_tokens: v(d, QuotaType::InputTokens),
                output_tokens: v(d, QuotaType::OutputTokens),
                requests: v(d, QuotaType::Requests),
                cost_usd: v(d, QuotaType::CostUsd),
            })
        })
        .collect()
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(rows: &[(&Account, Vec<DayValues>)]) -> String {
    let mut out = String::from("account,day");
    for (name, _) in FIELDS {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for (a, days) in rows {
        for d in days {
            let _ = write!(out, "{},{}", csv_field(&a.name), crate::time::day(d.day));
            for (_, q) in FIELDS {
                out.push(',');
                if let Some(v) = get(d, q) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Width of the bar column on a terminal.
const BAR: usize = 10;

fn table(rows: &[(&Account, Vec<DayValues>)], screen: Screen) -> String {
    let mut columns = vec![
        Column::shrink("ACCOUNT"),
        Column::left("DAY"),
        Column::right("TOKENS"),
        Column::right("INPUT"),
        Column::right("OUTPUT"),
        Column::right("REQUESTS"),
        Column::right("COST"),
    ];
    let bar = screen.width.is_some();
    if bar {
        columns.push(Column::left(""));
    }
    // The bar is scaled to the largest day shown.
    let largest = rows
        .iter()
        .flat_map(|(_, d)| d.iter().filter_map(|d| get(d, QuotaType::Tokens)))
        .max()
        .unwrap_or_default();
    let mut t = Table::new(columns);
    for (a, days) in rows {
        for d in days {
            let mut row: Vec<Cell> = vec![a.name.as_str().into(), crate::time::day(d.day).into()];
            for (_, q) in FIELDS {
                row.push(
                    get(d, q)
                        .map_or_else(|| "-".into(), |v| q.compact(v))
                        .into(),
                );
            }
            if bar {
                row.push(bar_of(get(d, QuotaType::Tokens), largest).into());
            }
            t.row(row);
        }
    }
    t.render(screen.width, screen.color)
}

/// A bar of up to `BAR` blocks for `v` out of `largest`; a thin mark for a small non-zero day.
fn bar_of(v: Option<Decimal>, largest: Decimal) -> String {
    let Some(v) = v.filter(|v| *v > Decimal::ZERO && largest > Decimal::ZERO) else {
        return String::new();
    };
    let blocks = (v * Decimal::from(BAR) / largest).round();
    let n = usize::try_from(blocks.mantissa()).unwrap_or(0).min(BAR);
    if n == 0 {
        "▏".into()
    } else {
        "█".repeat(n)
    }
}

//! `quota status`: one row per account and quota type.

use std::process::ExitCode;

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::account::Selector;
use crate::alert::{AccountStatus, Severity, classify};
use crate::apply;
use crate::burn::{self, Burn};
use crate::cli::StatusArgs;
use crate::config::UsageSource;
use crate::evaluate::{self, View, WindowView, reason};
use crate::output;
use crate::period::{Period, Window, human_duration};
use crate::quota::{QuotaType, crossed, percentage};
use crate::reconcile::Reading;
use crate::store::{self, accounts::AccountRow, outbox::Backlog};
use crate::table::{Cell, Color, Column, Screen, Table, wrap};
use crate::time::ts;

/// Everything `status` shows, read in one snapshot.
struct Shown<'a> {
    views: Vec<View<'a>>,
    /// Each view's burn rates, by window (`crate::burn`).
    burns: Vec<Vec<(Window, Vec<Burn>)>>,
    states: HashMap<String, AccountRow>,
    /// The last unfiltered sync (see `apply::synced_at`).
    synced_all: Option<DateTime<Utc>>,
    open: HashMap<String, usize>,
    backlog: BTreeMap<String, BTreeMap<String, Backlog>>,
    data_as_of: Option<String>,
    /// Count fields the last usage read found in no row.
    unreported: Vec<String>,
    source: UsageSource,
    now: DateTime<Utc>,
    /// The terminal, detected once.
    screen: Screen,
    /// Whether quota can see, when it cannot: one line under the table.
    health: Option<String>,
}

impl Shown<'_> {
    fn status(&self, v: &View<'_>) -> AccountStatus {
        self.states
            .get(&v.account.name)
            .map_or(AccountStatus::Active, |s| s.status)
    }

    fn synced(&self, v: &View<'_>) -> Option<DateTime<Utc>> {
        apply::synced_at(
            v.account,
            self.states
                .get(&v.account.name)
                .and_then(|s| s.last_synced_at),
            self.synced_all,
        )
    }

    /// Why a quota of `v` has no value.
    fn why(&self, v: &View<'_>, q: QuotaType) -> evaluate::Unmeasured {
        if self.synced(v).is_none() && !v.account.selector.is_developer() {
            return evaluate::Unmeasured::NotSynced;
        }
        reason(v.account, q, self.source, &self.unreported)
    }

    /// The burns of one quota of a view's window.
    fn burns(&self, i: usize, window: Window, q: QuotaType) -> Vec<&Burn> {
        self.burns[i]
            .iter()
            .filter(|(w, _)| *w == window)
            .flat_map(|(_, b)| b)
            .filter(|b| b.quota_type == q)
            .collect()
    }

    fn open(&self, v: &View<'_>) -> usize {
        self.open.get(&v.account.name).copied().unwrap_or(0)
    }
}

pub(super) fn run(ctx: &Ctx, args: &StatusArgs) -> Result<ExitCode> {
    let mut store = ctx.open_existing_store()?;
    let all = crate::sync::Roster::load(&ctx.config, &mut store)?;
    let accounts = all.select(&args.filter.accounts)?;
    let (loaded, (states, synced_all), open, backlog, (data_as_of, unreported), (reads, history)) =
        store.read(|tx| {
            Ok((
                apply::load(tx, &accounts, ctx.now)?,
                (store::accounts::states(tx)?, apply::synced_all_at(tx)?),
                store::alerts::open_counts(tx)?,
                store::outbox::backlog(tx)?,
                (
                    store::get_state(tx, store::Fact::UsageAsOf)?,
                    store::get_state(tx, store::Fact::UsageUnreported)?,
                ),
                (
                    store::health::all(tx)?,
                    apply::BurnHistory::load(tx, &accounts, None, ctx.now)?,
                ),
            ))
        })?;
    let health = crate::health::Health {
        reads: &reads,
        failing_after: ctx.config.failing_after,
        now: ctx.now,
    }
    .footer();
    let source = ctx.config.api.usage_source;
    let mut views = evaluate::views(&accounts, &loaded.inputs(source), ctx.now);
    // An account no sync has read shows nothing measured: its stored sums (none, or what
    // another account's read left) are not its usage yet.
    for v in &mut views {
        let own = states.get(&v.account.name).and_then(|s| s.last_synced_at);
        if apply::synced_at(v.account, own, synced_all).is_none()
            && !v.account.selector.is_developer()
        {
            let windows = v.windows.iter_mut().map(|w| &mut w.readings);
            for r in std::iter::once(&mut v.readings).chain(windows).flatten() {
                r.used = None;
                r.forecast = None;
            }
        }
    }
    let burns = views
        .iter()
        .map(|v| {
            v.all()
                .map(|w| (w.window, history.burns(v.account, &w, ctx.now)))
                .collect()
        })
        .collect();
    let shown = Shown {
        views,
        burns,
        states,
        synced_all,
        open,
        backlog,
        data_as_of,
        unreported: unreported
            .iter()
            .flat_map(|u| u.split(','))
            .map(String::from)
            .collect(),
        source,
        now: ctx.now,
        screen: Screen::detect(),
        health,
    };
    if args.json {
        print_json(&shown)?;
    } else {
        print_table(&shown, args.wide)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(s: &Shown<'_>) -> Result<()> {
    // Typed structs straight to the writer: building serde_json::Value trees for 10,000
    // accounts cost more than everything else `status` does.
    let items: Vec<AccountJson<'_>> = s
        .views
        .iter()
        .enumerate()
        .map(|(i, v)| AccountJson {
            account: &v.account.name,
            api_key_id: v.account.selector.api_key_id(),
            workspace_id: v.account.selector.workspace_label(),
            organization: matches!(v.account.selector, Selector::Organization),
            claude_code_user: match &v.account.selector {
                Selector::ClaudeCodeUser(e) => Some(e),
                _ => None,
            },
            claude_code_api_key: match &v.account.selector {
                Selector::ClaudeCodeApiKey(k) => Some(k),
                _ => None,
            },
            status: s.status(v).as_str(),
            period_start: ts(v.period.start),
            period_end: ts(v.period.end),
            resets_in_seconds: v.period.remaining(s.now).num_seconds(),
            last_synced_at: s.synced(v).map(ts),
            usage_source: s.source.as_str(),
            data_as_of: s.data_as_of.as_deref(),
            quotas: Quotas(
                v.readings
                    .iter()
                    .map(|r| {
                        let burns = s.burns(i, Window::Period, r.quota_type);
                        quota_json(r, &burns, || s.why(v, r.quota_type))
                    })
                    .collect(),
            ),
            windows: v
                .windows
                .iter()
                .map(|w| {
                    let quotas = w.readings.iter().map(|r| {
                        let burns = s.burns(i, w.window, r.quota_type);
                        quota_json(r, &burns, || s.why(v, r.quota_type))
                    });
                    (w.window.as_str(), Quotas(quotas.collect()))
                })
                .collect(),
            open_alerts: s.open(v),
            notifications: s.backlog.get(&v.account.name),
        })
        .collect();
    output::json(&items)
}

fn print_table(s: &Shown<'_>, wide: bool) -> Result<()> {
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

/// Tokens of the period always (usage is tracked even without a limit), other quotas and
/// day and week windows when limited.
fn shown(window: Window, r: &Reading) -> bool {
    (window == Window::Period && r.quota_type == QuotaType::Tokens) || r.limit.is_some()
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

/// Which actor each developer account is, and when their report was last read: its data
/// lags by about an hour, which an operator should see.
fn print_developers(s: &Shown<'_>) -> Result<()> {
    let developers: Vec<&View<'_>> = s
        .views
        .iter()
        .filter(|v| v.account.selector.is_developer())
        .collect();
    if developers.is_empty() {
        return Ok(());
    }
    let who: Vec<String> = developers
        .iter()
        .take(3)
        .map(|v| match &v.account.selector {
            Selector::ClaudeCodeApiKey(k) => format!("{} = API key {k}", v.account.name),
            other => format!(
                "{} = {}",
                v.account.name,
                other.actor().map_or("", |(_, a)| a)
            ),
        })
        .collect();
    let more = developers.len().saturating_sub(3);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let read = developers
        .iter()
        .filter_map(|v| s.synced(v))
        .max()
        .map_or_else(
            || "not read yet".to_string(),
            |t| format!("read {}", output::time(t)),
        );
    note(
        s,
        &format!(
            "developers: {}{more}; Claude Code usage {read} (the report lags about an hour)",
            who.join(", ")
        ),
    )
}

/// The source's watermark, the notification backlog per channel, and a warning per limit
/// that cannot be measured.
/// A note under the table, wrapped to the terminal between words.
fn note(s: &Shown<'_>, text: &str) -> Result<()> {
    output::line(&wrap(text, s.screen.width))
}

fn print_footer(s: &Shown<'_>) -> Result<()> {
    print_developers(s)?;
    if let Some(as_of) = &s.data_as_of {
        note(
            s,
            &format!(
                "usage data as of {as_of} (the {} source's own watermark)",
                s.source.as_str()
            ),
        )?;
    }
    // Deliveries not (yet) made, per channel, over all accounts shown.
    let mut per_channel: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for v in &s.views {
        for (c, b) in s.backlog.get(&v.account.name).into_iter().flatten() {
            let e = per_channel.entry(c.as_str()).or_default();
            e.0 += b.pending;
            e.1 += b.failed;
        }
    }
    for (c, (pending, failed)) in per_channel {
        note(
            s,
            &format!("notifications to {c}: {pending} pending, {failed} failed"),
        )?;
    }
    // Why each shown quota without a value is not measured, once per quota type and reason.
    let mut notes: BTreeMap<(QuotaType, String), Vec<&str>> = BTreeMap::new();
    for v in &s.views {
        for r in v
            .readings
            .iter()
            .filter(|r| shown(Window::Period, r) && r.used.is_none())
        {
            let why = s.why(v, r.quota_type);
            notes
                .entry((r.quota_type, why.to_string()))
                .or_default()
                .push(&v.account.name);
        }
    }
    for ((q, why), names) in notes {
        let who = match names.len() {
            0..=3 => names.join(", "),
            n => format!("{} and {} more", names[..3].join(", "), n - 3),
        };
        note(s, &format!("{q} not measured ({who}): {why}"))?;
    }
    if let Some(health) = &s.health {
        note(s, health)?;
    }
    Ok(())
}

/// One account in `status --json` (SPEC §5's fields, then extras).
#[derive(Serialize)]
struct AccountJson<'a> {
    account: &'a str,
    api_key_id: Option<&'a str>,
    workspace_id: Option<&'a str>,
    /// Developer accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_code_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_code_api_key: Option<&'a str>,
    organization: bool,
    status: &'static str,
    period_start: String,
    period_end: String,
    resets_in_seconds: i64,
    /// Data as of: the last successful sync.
    last_synced_at: Option<String>,
    usage_source: &'static str,
    /// The source's own watermark (analytics data lags by hours), else null.
    data_as_of: Option<&'a str>,
    quotas: Quotas,
    /// The day and week windows the account has limits for, each like `quotas`.
    windows: BTreeMap<&'static str, Quotas>,
    open_alerts: usize,
    #[serde(serialize_with = "backlog_json")]
    notifications: Option<&'a BTreeMap<String, Backlog>>,
}

#[derive(Serialize)]
struct QuotaJson {
    #[serde(skip)]
    name: &'static str,
    used: Value,
    limit: Value,
    percentage: Option<f64>,
    measured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    forecast: Option<ForecastJson>,
    /// Per lookback (`"1h"`, `"5m"`…), null where not evaluated; absent without rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_rate: Option<BTreeMap<String, Option<f64>>>,
    /// Why a lookback is not evaluated, when one is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_rate_reason: Option<String>,
}

#[derive(Serialize)]
struct ForecastJson {
    projected: Value,
    exhausts_at: Option<String>,
}

/// The quotas as a JSON object keyed by quota type, in the order of `QuotaType::ALL`.
struct Quotas(Vec<QuotaJson>);

impl Serialize for Quotas {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for q in &self.0 {
            map.serialize_entry(q.name, q)?;
        }
        map.end()
    }
}

fn backlog_json<S: serde::Serializer>(
    b: &Option<&BTreeMap<String, Backlog>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(None)?;
    for (channel, b) in b.iter().flat_map(|m| m.iter()) {
        map.serialize_entry(
            channel,
            &serde_json::json!({"pending": b.pending, "failed": b.failed}),
        )?;
    }
    map.end()
}

fn quota_json(
    r: &Reading,
    burns: &[&Burn],
    why: impl FnOnce() -> evaluate::Unmeasured,
) -> QuotaJson {
    use rust_decimal::prelude::ToPrimitive;
    let q = r.quota_type;
    let lookbacks = burns
        .iter()
        .flat_map(|b| [(b.rule.long, b.long), (b.rule.short, b.short)]);
    let burn_rate: BTreeMap<String, Option<f64>> = lookbacks
        .clone()
        .map(|(l, v)| (burn::lookback(l), v.ok().and_then(|d| d.to_f64())))
        .collect();
    let burn_rate_reason = lookbacks
        .filter_map(|(_, v)| v.err())
        .map(|e| e.to_string())
        .next();
    QuotaJson {
        name: q.as_str(),
        used: r.used.map_or(Value::Null, |u| q.json_value(u)),
        limit: r.limit.map_or(Value::Null, |l| q.json_value(l)),
        percentage: r.used.zip(r.limit).map(|(u, l)| percentage(u, l)),
        measured: r.used.is_some(),
        reason: r.used.is_none().then(|| why().to_string()),
        forecast: r.forecast.map(|f| ForecastJson {
            projected: q.json_value(f.projected.round_dp(2)),
            exhausts_at: f.exhausts_at.map(ts),
        }),
        burn_rate: (!burn_rate.is_empty()).then_some(burn_rate),
        burn_rate_reason,
    }
}

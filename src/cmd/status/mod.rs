//! `quota status`: one row per account and quota type.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::account::{Selector, UsageSource};
use crate::alert::AccountStatus;
use crate::apply;
use crate::burn::Burn;
use crate::cli::StatusArgs;
use crate::evaluate::{self, View, reason};
use crate::output;
use crate::period::Window;
use crate::quota::QuotaType;
use crate::reconcile::Reading;
use crate::store::{self, accounts::AccountRow, outbox::Backlog};
use crate::table::{Screen, wrap};

mod json;
mod table;

use json::print_json;
use table::print_table;

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
    /// The shown accounts whose id the last listing of keys or workspaces lacked, by name,
    /// with the line that says so (`sync::unlisted_findings`).
    unlisted: Vec<(String, String)>,
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
    let (
        loaded,
        (states, synced_all),
        open,
        backlog,
        (data_as_of, unreported),
        (reads, history, unlisted),
    ) = store.read(|tx| {
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
                crate::sync::unlisted_findings(tx, &accounts)?,
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
        unlisted,
    };
    if args.json {
        print_json(&shown)?;
    } else {
        print_table(&shown, args.wide)?;
    }
    Ok(ExitCode::SUCCESS)
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
            |t| format!("read {}", crate::time::minute(t)),
        );
    note(
        s,
        &format!(
            "developers: {}{more}; Claude Code usage {read} (the report lags about an hour)",
            who.join(", ")
        ),
    )
}

/// A configured id the organization does not list reads 0: never an "all clear".
fn print_unlisted(s: &Shown<'_>) -> Result<()> {
    for (_, line) in s.unlisted.iter().take(3) {
        note(s, line)?;
    }
    match s.unlisted.len().checked_sub(3).filter(|m| *m > 0) {
        Some(more) => note(
            s,
            &format!(
                "{more} more accounts' ids are not listed by the organization: see quota config check"
            ),
        ),
        None => Ok(()),
    }
}

/// A note under the table, wrapped to the terminal between words.
fn note(s: &Shown<'_>, text: &str) -> Result<()> {
    output::line(&wrap(text, s.screen.width))
}

/// The source's watermark, the notification backlog per channel, and a warning per limit
/// that cannot be measured.
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
    print_unlisted(s)?;
    if let Some(health) = &s.health {
        note(s, health)?;
    }
    Ok(())
}

/// Tokens of the period always (usage is tracked even without a limit), other quotas and
/// day and week windows when limited.
fn shown(window: Window, r: &Reading) -> bool {
    (window == Window::Period && r.quota_type == QuotaType::Tokens) || r.limit.is_some()
}

//! The use-case layer between the pure core and the store: read what evaluation needs,
//! decide with `evaluate` and `reconcile`, and apply the decision through the store's
//! primitives, with the notifications it causes, inside the caller's write transaction.
//! `sync` and `check` (and discovery) all apply decisions here.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::account::{Account, Channel, UsageSource};
use crate::alert::{AccountStatus, AlertType};
use crate::evaluate::{self};
use crate::incremental::{self, Changed};
use crate::reconcile::{Evaluation, reconcile};
use crate::store::accounts::AccountRow;
use crate::store::usage::Rows;
use crate::store::{self, Tx};
use crate::time;

/// What one application of actions changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Changes {
    pub created: usize,
    pub resolved: usize,
    pub reopened: usize,
}

impl Changes {
    pub(crate) fn add(&mut self, other: Changes) {
        self.created += other.created;
        self.resolved += other.resolved;
        self.reopened += other.reopened;
    }
}

mod actions;
mod burn;
mod load;

pub(crate) use burn::BurnHistory;

pub(crate) use actions::{Journal, apply_actions, resolve, retire, retire_removed};
use load::load_with;
pub(crate) use load::{load, load_days, record_accounts, synced_all_at, synced_at};

/// Which accounts a run evaluates: all of them (and then the open alerts of accounts that
/// exist no more are resolved), or the ones `--account` named (and nothing else is touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Selected,
}

/// A full pass runs at least this often: the safety net under incremental evaluation.
pub(crate) const FULL_PASS_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// How much of the account set an evaluation covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pass<'c> {
    /// Every account.
    Full,
    /// The accounts that `changed` (what this run wrote), their config or the time since the
    /// last evaluation may have changed (`incremental::dirty`). A full pass instead when the
    /// last one is over `FULL_PASS_EVERY` old, when the store cannot say when every account
    /// was last evaluated, when data changed without that evaluation (`evaluation_stale`),
    /// or when the clock went back.
    Incremental(&'c Changed),
}

/// What one evaluation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evaluated {
    pub changes: Changes,
    /// Accounts evaluated (the rest were shown unchanged).
    pub accounts: usize,
    pub full: bool,
}

/// Records the accounts, evaluates those `pass` asks for against stored usage and applies the
/// alert actions, all in the caller's transaction. With `Scope::All`, alerts of removed
/// accounts resolve as `account_removed`, and the store records that every account is
/// evaluated as of `now`. With `Scope::Selected`, every selected account is evaluated.
pub(crate) fn evaluate_accounts(
    tx: &Tx<'_>,
    accounts: &[&Account],
    scope: Scope,
    pass: Pass<'_>,
    source: UsageSource,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<Evaluated> {
    let fingerprints: Vec<i64> = accounts
        .iter()
        .map(|a| incremental::fingerprint(a, source))
        .collect();
    let roster = (scope == Scope::All).then(|| incremental::roster(accounts, &fingerprints));
    let left = store::get_state(tx, store::Fact::EvaluatedRoster)?;
    // Set again below only by an evaluation of every account (the invariant it stands for).
    store::clear_state(tx, store::Fact::EvaluatedRoster)?;
    let since = match (scope, pass) {
        (Scope::All, Pass::Incremental(changed)) => {
            incremental_since(tx, now)?.map(|s| (s, changed))
        }
        _ => None,
    };
    // The roster as the last evaluation left it, in an incremental pass: every account is
    // stored, with the fingerprint it has now, and no removed account has an open alert. The
    // account table is read only for the accounts evaluated.
    let as_left = since.is_some() && left.is_some() && left == roster;
    let mut states = if as_left {
        HashMap::new()
    } else {
        recorded_states(tx, accounts, source, now)?
    };
    let dirty: Vec<&Account> = match since {
        None => accounts.to_vec(),
        Some((since, changed)) => {
            let known = (!as_left).then_some(&states);
            dirty_accounts(tx, accounts, &fingerprints, known, changed, since, now)?
        }
    };
    if as_left && !dirty.is_empty() {
        let names: Vec<&str> = dirty.iter().map(|a| a.name.as_str()).collect();
        states = store::accounts::states_of(tx, &names)?;
    }
    let full = since.is_none();
    let mut journal = Journal::default();
    // Most accounts changed (a new day with forecasts on, a new period): read by key
    // spans, as a full pass does, not key by key.
    let dense = full || dirty.len() * 2 >= accounts.len();
    let run = (channels, source, now);
    let mut changes = evaluate_some(tx, &dirty, dense, &states, run, &mut journal)?;
    journal.finish();
    if scope == Scope::All {
        if !as_left {
            changes.resolved += forget_removed(tx, accounts, &states, channels, now)?;
        }
        mark_all_evaluated(tx, roster.as_deref(), full, now)?;
    }
    Ok(Evaluated {
        changes,
        accounts: dirty.len(),
        full,
    })
}

/// Records the accounts and returns every account's stored state.
fn recorded_states(
    tx: &Tx<'_>,
    accounts: &[&Account],
    source: UsageSource,
    now: DateTime<Utc>,
) -> Result<HashMap<String, AccountRow>> {
    let known = record_accounts(tx, accounts, source, now)?;
    if accounts.iter().all(|a| known.contains_key(&a.name)) {
        Ok(known)
    } else {
        store::accounts::states(tx)
    }
}

/// The accounts an incremental pass evaluates (`incremental::dirty`). `known` holds every
/// account's stored state; `None` when the roster is as the last evaluation left it, and so
/// every fingerprint is the one stored.
fn dirty_accounts<'a>(
    tx: &Tx<'_>,
    accounts: &[&'a Account],
    fingerprints: &[i64],
    known: Option<&HashMap<String, AccountRow>>,
    changed: &Changed,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<&'a Account>> {
    let mut changed = changed.clone();
    changed.developers |= store::get_state(tx, store::Fact::ClaudeCodePending)?.is_some();
    let due = store::accounts::due_for_recheck(tx, now)?;
    Ok(accounts
        .iter()
        .zip(fingerprints)
        .filter(|(a, f)| {
            let last = incremental::Last {
                fingerprint: match known {
                    None => Some(**f),
                    Some(states) => states.get(&a.name).and_then(|s| s.fingerprint),
                },
                recheck_due: due.binary_search(&a.name).is_ok(),
            };
            incremental::dirty(a, **f, last, &changed, since, now)
        })
        .map(|(a, _)| *a)
        .collect())
}

/// Accounts stored but no longer configured: what they were evaluated as is forgotten (one
/// that comes back is evaluated again: its usage may have changed while nothing evaluated
/// it), and their open alerts resolve as `account_removed`. Returns how many resolved.
fn forget_removed(
    tx: &Tx<'_>,
    accounts: &[&Account],
    states: &HashMap<String, AccountRow>,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Result<usize> {
    // Sorted names, not a hash set: a third of the memory for 100,000 accounts.
    let mut current: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    current.sort_unstable();
    let gone = |name: &str| current.binary_search(&name).is_err();
    for (name, _) in states
        .iter()
        .filter(|(n, s)| s.fingerprint.is_some() && gone(n))
    {
        store::accounts::clear_fingerprint(tx, name)?;
    }
    retire_removed(tx, &gone, channels, now)
}

/// Records that every account is evaluated as of `now` (with `roster`), and a full pass
/// when it was one; clears what asked for this evaluation.
fn mark_all_evaluated(
    tx: &Tx<'_>,
    roster: Option<&str>,
    full: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(roster) = roster {
        store::set_state(tx, store::Fact::EvaluatedRoster, roster)?;
    }
    store::set_time(tx, store::Fact::EvaluatedAt, now)?;
    if full {
        store::set_time(tx, store::Fact::FullPassAt, now)?;
    }
    store::clear_state(tx, store::Fact::EvaluationStale)?;
    store::clear_state(tx, store::Fact::ClaudeCodePending)
}

/// When every account was last evaluated, if an incremental pass may start from there.
fn incremental_since(tx: &Tx<'_>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let at = |key| -> Result<Option<DateTime<Utc>>> {
        Ok(store::get_state(tx, key)?.and_then(|v| time::parse(&v).ok()))
    };
    let (Some(evaluated), Some(full)) =
        (at(store::Fact::EvaluatedAt)?, at(store::Fact::FullPassAt)?)
    else {
        return Ok(None);
    };
    let stale = store::get_state(tx, store::Fact::EvaluationStale)?.is_some();
    let fresh = evaluated <= now && full <= now && now - full < FULL_PASS_EVERY;
    Ok((fresh && !stale).then_some(evaluated))
}

/// Accounts evaluated together: their usage sums, views and alerts are in memory at once,
/// so a sync's memory does not grow with the number of accounts.
const CHUNK: usize = 5_000;

/// Evaluates `accounts` in chunks and applies what changes. Key accounts go in order of
/// their key: a chunk of a `dense` pass (most accounts) reads its range of keys (one seek a
/// day), else its keys one by one; workspace and organization accounts read sums per
/// workspace.
fn evaluate_some(
    tx: &Tx<'_>,
    accounts: &[&Account],
    dense: bool,
    states: &HashMap<String, AccountRow>,
    run: (&[Channel], UsageSource, DateTime<Utc>),
    journal: &mut Journal,
) -> Result<Changes> {
    // The usage reads burn rates need are the same for every chunk: read once.
    let mut history = BurnHistory::reads_for(tx, accounts, run.2)?;
    let (mut keyed, mut others): (Vec<&Account>, Vec<&Account>) = accounts
        .iter()
        .partition(|a| a.selector.api_key_id().is_some());
    // In order of key, so that each chunk's span of keys is narrow (any order is correct).
    keyed.sort_unstable_by_key(|a| a.selector.api_key_id());
    // Workspace and organization accounts first: developer-only chunks read no usage.
    others.sort_by_key(|a| a.selector.is_developer());
    let mut changes = Changes::default();
    let chunks = keyed.chunks(CHUNK).map(|c| (c, true));
    for (chunk, by_key) in chunks.chain(others.chunks(CHUNK).map(|c| (c, false))) {
        let ids: Vec<&str> = chunk
            .iter()
            .filter_map(|a| a.selector.api_key_id())
            .collect();
        let rows = match (by_key, dense) {
            (true, true) => Rows::KeySpan(&ids),
            (true, false) => Rows::Keys(&ids),
            (false, _) => Rows::ByWorkspace,
        };
        let chunk_changes = evaluate_chunk(tx, chunk, rows, states, run, &mut history, journal)?;
        changes.add(chunk_changes);
    }
    Ok(changes)
}

/// Evaluates one chunk and applies what changes; records the fingerprint each account was
/// evaluated with.
fn evaluate_chunk(
    tx: &Tx<'_>,
    accounts: &[&Account],
    rows: Rows<'_>,
    states: &HashMap<String, AccountRow>,
    (channels, source, now): (&[Channel], UsageSource, DateTime<Utc>),
    history: &mut BurnHistory,
    journal: &mut Journal,
) -> Result<Changes> {
    let earliest = evaluate::earliest_start(accounts, now);
    let bounds = evaluate::segment_bounds(accounts, now);
    let loaded = load_with(tx, accounts, &bounds, earliest.date_naive(), rows)?;
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    let mut existing = store::alerts::for_reconcile(tx, earliest, Some(&names))?;
    history.series_of(tx, accounts, Some(&names))?;
    let mut changes = Changes::default();
    for view in evaluate::views(accounts, &loaded.inputs(source), now) {
        let name = view.account.name.as_str();
        let alerts = existing.remove(name).unwrap_or_default();
        let state = states.get(name);
        let status = state.map_or(AccountStatus::Active, |s| s.status);
        let windows: Vec<Evaluation<'_>> = view
            .all()
            .map(|w| Evaluation {
                account: name,
                window: w.window,
                period: w.span,
                thresholds: w.thresholds,
                forecast: view.account.forecast,
                burns: history.burns(view.account, &w, now),
                readings: w.readings,
            })
            .collect();
        let recorded = history.record(tx, view.account, &windows, now)?;
        let open_burn = alerts
            .iter()
            .any(|a| a.alert_type == AlertType::BurnRate && a.is_open());
        let recheck = windows
            .iter()
            .filter_map(|w| incremental::recheck_at(&w.readings, w.period, now))
            .chain(
                windows
                    .iter()
                    .filter_map(|w| history.next_change(view.account, w, recorded, open_burn, now)),
            )
            .min()
            .map(|t| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t));
        let actions = reconcile(&windows, &alerts, status);
        changes.add(apply_actions(
            tx, name, &actions, &alerts, channels, now, journal,
        )?);
        let fingerprint = incremental::fingerprint(view.account, source);
        if state.and_then(|s| s.fingerprint) != Some(fingerprint) {
            store::accounts::set_fingerprint(tx, name, fingerprint)?;
        }
        if state.and_then(|s| s.recheck_at) != recheck {
            store::accounts::set_recheck(tx, name, recheck)?;
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Selector;
    use crate::alert::Resolution;
    use crate::evaluate::tests::{account, row};
    use crate::quota::DayUsage;
    use crate::store::alerts::{self, Resolve};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Reading the store in summed segments gives exactly the views the raw rows give:
        /// every total, every forecast.
        #[test]
        fn segment_sums_give_the_same_views_as_raw_rows(
            rows in proptest::collection::vec((0usize..3, 0usize..2, 0i64..70, 0u64..1_000_000, 0u64..1_000, proptest::option::of(0u64..50)), 0..80),
            days in proptest::collection::vec(1u32..=31, 1..4),
            now_offset in 20i64..70,
        ) {
            let keys = [Some("apikey_a"), Some("apikey_b"), None];
            let workspaces = [Some("wrkspc_x"), None];
            let base = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<DayUsage> = rows.iter().filter_map(|&(k, w, d, i, o, req)| {
                let day = base + chrono::Duration::days(d);
                seen.insert((k, w, day)).then(|| DayUsage { requests: req, ..row(keys[k], workspaces[w], day, i, o) })
            }).collect();
            let (_dir, mut store) = store::Store::temporary();
            let now = base.and_hms_opt(15, 0, 0).unwrap().and_utc() + chrono::Duration::days(now_offset);
            store.write(|tx| store::usage::upsert(tx, &rows, "analytics", now)).unwrap();
            let mut accounts: Vec<Account> = Vec::new();
            for (n, bd) in days.iter().enumerate() {
                let mut k = account(&format!("k{n}"), Selector::ApiKey("apikey_a".into()), *bd);
                k.windows = windows(n % 4);
                accounts.push(k);
                accounts.push(account(&format!("w{n}"), Selector::Workspace(None), *bd));
                accounts.push(account(&format!("o{n}"), Selector::Organization, *bd));
            }
            let refs: Vec<&Account> = accounts.iter().collect();
            let loaded = store.read(|tx| load(tx, &refs, now)).unwrap();
            let raw = evaluate::views(&refs, &evaluate::Inputs { usage: &rows, developers: None, cost: None, source: UsageSource::Analytics, default_workspace: None, by_model: &[], cost_by_model: None, developers_by_model: &[] }, now);
            let summed = evaluate::views(&refs, &loaded.inputs(UsageSource::Analytics), now);
            let readings = |v: &evaluate::View<'_>| v.all().map(|w| (w.window, w.span, w.readings)).collect::<Vec<_>>();
            for (r, s) in raw.iter().zip(&summed) {
                prop_assert_eq!(readings(r), readings(s), "account {}", r.account.name);
            }
            // The narrower reads of a chunked evaluation: keys by list and by range for key
            // accounts, sums per workspace for the others.
            let bounds = evaluate::segment_bounds(&refs, now);
            let first = evaluate::earliest_start(&refs, now).date_naive();
            let (keyed, others): (Vec<&Account>, Vec<&Account>) =
                refs.iter().partition(|a| a.selector.api_key_id().is_some());
            for rows in [Rows::Keys(&["apikey_a"]), Rows::KeySpan(&["apikey_a"]), Rows::ByWorkspace] {
                let accounts = if matches!(rows, Rows::ByWorkspace) { &others } else { &keyed };
                let loaded = store.read(|tx| load_with(tx, accounts, &bounds, first, rows)).unwrap();
                let narrow = evaluate::views(accounts, &loaded.inputs(UsageSource::Analytics), now);
                for s in &narrow {
                    let r = raw.iter().find(|r| r.account.name == s.account.name).unwrap();
                    prop_assert_eq!(readings(r), readings(s), "account {} with {:?}", r.account.name, rows);
                }
            }
        }
    }

    /// No windows, a daily token limit, a weekly one, or both (of 5,000 and 20,000 tokens).
    fn windows(which: usize) -> crate::account::Windows {
        use crate::account::WindowRule;
        use crate::period::Window;
        let rule = |window, tokens| WindowRule {
            window,
            limits: crate::quota::Limits {
                tokens: Some(tokens),
                ..Default::default()
            },
            thresholds: vec![80, 100].into(),
        };
        let mut rules = Vec::new();
        if which & 1 == 1 {
            rules.push(rule(Window::Day, 5_000));
        }
        if which & 2 == 2 {
            rules.push(rule(Window::Week, 20_000));
        }
        rules.into()
    }

    /// One step of the incremental-vs-full property test.
    #[derive(Debug, Clone)]
    enum Step {
        /// A usage day written: key (2 has no account), workspace, days back, input tokens.
        Usage(usize, usize, i64, u64),
        /// One account's config changed: account, field, value.
        Config(usize, usize, usize),
        /// The clock moves on by `ADVANCE[i]` minutes.
        Clock(usize),
        /// An operator resolves the account's first open alert.
        Resolve(usize),
    }

    const ADVANCE: [i64; 9] = [1, 2, 5, 30, 61, 300, 1440, 4320, 14_400];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0usize..3, 0usize..2, 0i64..4, 0u64..6_000).prop_map(|(k, w, b, i)| Step::Usage(k, w, b, i)),
            2 => (0usize..5, 0usize..6, 0usize..4).prop_map(|(a, f, v)| Step::Config(a, f, v)),
            4 => (0usize..ADVANCE.len()).prop_map(Step::Clock),
            1 => (0usize..5).prop_map(Step::Resolve),
        ]
    }

    /// The accounts of the property test, with whether each is configured.
    fn universe() -> Vec<(Account, bool)> {
        let selectors = [
            Selector::ApiKey("apikey_0".into()),
            Selector::ApiKey("apikey_1".into()),
            Selector::Workspace(Some("wrkspc_x".into())),
            Selector::Workspace(None),
            Selector::Organization,
        ];
        selectors
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let mut a = account(&format!("a{i}"), s, 1);
                std::sync::Arc::make_mut(&mut a.limits).tokens = Some(20_000);
                a.windows = windows([1, 0, 3, 0, 2][i]);
                // A quick burn rule, so that minutes of the test fire and resolve it.
                a.burn = vec![
                    crate::burn::BurnRule {
                        long: chrono::Duration::minutes(10),
                        short: chrono::Duration::minutes(2),
                        factor_tenths: 30,
                        severity: crate::alert::Severity::Critical,
                    },
                    crate::burn::STANDARD[0],
                ]
                .into();
                (a, true)
            })
            .collect()
    }

    fn configure(a: &mut (Account, bool), field: usize, value: usize) {
        match field {
            0 => {
                std::sync::Arc::make_mut(&mut a.0.limits).tokens =
                    [None, Some(5_000), Some(20_000), Some(100_000)][value]
            }
            1 => a.0.billing_day = [1, 10, 28, 31][value],
            2 => {
                a.0.thresholds = [vec![80, 95, 100], vec![50, 100], vec![90], vec![100, 150]][value]
                    .clone()
                    .into()
            }
            3 => a.0.forecast = value.is_multiple_of(2),
            4 => a.0.windows = windows(value),
            _ => a.1 = value != 0,
        }
    }

    /// Alerts (all but their random ids) and account statuses, in a fixed order.
    fn snapshot(store: &mut store::Store) -> (Vec<String>, Vec<String>) {
        store
            .read(|tx| {
                let rows = |sql: &str| tx.dump(sql);
                Ok((
                    rows("SELECT account, type, severity, message, current_value, limit_value, percentage,
                                 quota_type, threshold, period_start, period_end, created_at, resolved_at,
                                 resolution, comment, window_kind
                          FROM alerts ORDER BY account, quota_type, window_kind, threshold, period_start")?,
                    rows("SELECT name, status, status_since FROM accounts ORDER BY name")?,
                ))
            })
            .unwrap()
    }

    /// One sync of `rows` at `now`: incrementally (what changed, with the hourly full pass
    /// held off so that every step after the first is incremental), or as a full pass.
    fn sync(
        store: &mut store::Store,
        rows: &[DayUsage],
        accounts: &[&Account],
        incremental: bool,
        now: DateTime<Utc>,
    ) -> Evaluated {
        let staged = {
            use crate::records::UsageSink;
            // As a sync of every key does: rows the store holds as they are, are not staged.
            let from = rows.iter().map(|r| r.day).min();
            let mut staging = store
                .staging(store::usage::UsageRead {
                    source: "messages",
                    from: from.unwrap_or_else(|| now.date_naive()),
                    every_key: from.is_some(),
                })
                .unwrap();
            staging.begin_page().unwrap();
            for r in rows {
                staging.add(r.clone()).unwrap();
            }
            staging.end_page().unwrap();
            staging.finish().unwrap()
        };
        store
            .write(|tx| {
                store::burn::record_read(tx, now)?;
                let mut changed = Changed::default();
                let evaluated = if incremental {
                    store::usage::upsert_staged(
                        tx,
                        staged,
                        "messages",
                        now,
                        Some(&mut |k, w| changed.usage(k, w)),
                    )?;
                    if store::get_state(tx, store::Fact::FullPassAt)?.is_some() {
                        store::set_time(tx, store::Fact::FullPassAt, now)?;
                    }
                    evaluate_accounts(
                        tx,
                        accounts,
                        Scope::All,
                        Pass::Incremental(&changed),
                        UsageSource::Messages,
                        &[],
                        now,
                    )?
                } else {
                    store::usage::upsert_staged(tx, staged, "messages", now, None)?;
                    evaluate_accounts(
                        tx,
                        accounts,
                        Scope::All,
                        Pass::Full,
                        UsageSource::Messages,
                        &[],
                        now,
                    )?
                };
                Ok(evaluated)
            })
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// After every step of usage, config, clock and operator changes, evaluating only the
        /// accounts that may have changed leaves exactly the alerts and statuses that
        /// evaluating every account does.
        #[test]
        fn incremental_evaluation_equals_a_full_pass(
            start_day in 0i64..60,
            steps in proptest::collection::vec(step(), 1..24),
        ) {
            let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let mut inc = store::Store::open(&dirs.0.path().join("q.db")).unwrap();
            let mut full = store::Store::open(&dirs.1.path().join("q.db")).unwrap();
            let mut now = crate::time::parse("2026-01-01T09:30:00Z").unwrap() + chrono::Duration::days(start_day);
            let mut universe = universe();
            let keys = ["apikey_0", "apikey_1", "apikey_2"];
            let workspaces = [Some("wrkspc_x"), None];
            for step in std::iter::once(Step::Clock(0)).chain(steps) {
                let mut rows = Vec::new();
                match step {
                    Step::Usage(k, w, back, input) => {
                        let day = now.date_naive() - chrono::Duration::days(back);
                        rows.push(row(Some(keys[k]), workspaces[w], day, input, 10));
                    }
                    Step::Config(a, f, v) => configure(&mut universe[a], f, v),
                    Step::Clock(i) => now += chrono::Duration::minutes(ADVANCE[i]),
                    Step::Resolve(a) => {
                        let name = format!("a{a}");
                        for s in [&mut inc, &mut full] {
                            s.write(|tx| {
                                let filter = alerts::ListFilter { accounts: vec![name.clone()], ..Default::default() };
                                // The same alert in both stores (ids are random): the lowest identity.
                                let open = alerts::list(tx, &filter)?;
                                if let Some(alert) = open.iter().min_by_key(|a| (a.what_window(), a.threshold, a.period_start)) {
                                    let how = Resolve { resolution: Resolution::Manual, comment: None, by: None };
                                    resolve(tx, alert, how, &[], now)?;
                                }
                                Ok(())
                            }).unwrap();
                        }
                    }
                }
                let accounts: Vec<&Account> = universe.iter().filter(|(_, on)| *on).map(|(a, _)| a).collect();
                let a = sync(&mut inc, &rows, &accounts, true, now);
                let b = sync(&mut full, &rows, &accounts, false, now);
                prop_assert_eq!(a.changes, b.changes, "after {:?} at {}", step, now);
                prop_assert_eq!(snapshot(&mut inc), snapshot(&mut full), "after {:?} at {}", step, now);
            }
        }
    }

    /// What the property test compares is not a full pass with itself: a steady sync
    /// evaluates the accounts whose usage changed, and those with an open forecast alert.
    #[test]
    fn an_incremental_pass_evaluates_only_what_changed() {
        let (_dir, mut store) = store::Store::temporary();
        let mut universe = universe();
        // Burn rates are evaluated again when their lookbacks pass a total (the property
        // test covers them); here only what changed counts.
        for (a, _) in &mut universe {
            a.burn = Vec::new().into();
        }
        let accounts: Vec<&Account> = universe.iter().map(|(a, _)| a).collect();
        let now = crate::time::parse("2026-03-20T09:30:00Z").unwrap();
        let first = sync(&mut store, &[], &accounts, true, now);
        assert_eq!((first.accounts, first.full), (5, true));
        let later = now + chrono::Duration::minutes(1);
        let unchanged = sync(&mut store, &[], &accounts, true, later);
        assert_eq!((unchanged.accounts, unchanged.full), (0, false));
        // apikey_1 in the Default Workspace: its key, that workspace and the organization.
        let r = row(Some("apikey_1"), None, later.date_naive(), 100, 1);
        let one = sync(
            &mut store,
            &[r],
            &accounts,
            true,
            later + chrono::Duration::minutes(1),
        );
        assert_eq!((one.accounts, one.full), (3, false));
    }

    /// Burn-rate rules on every account: after the first full pass stored a total for each,
    /// waiting re-evaluates none of them while their usage does not grow (their lookbacks
    /// passing those totals cannot make a rule fire); an account whose usage grows fast is
    /// evaluated again when its short lookback passes the growth.
    #[test]
    fn unchanged_usage_sets_no_burn_recheck() {
        let (_dir, mut store) = store::Store::temporary();
        let universe = universe();
        let accounts: Vec<&Account> = universe.iter().map(|(a, _)| a).collect();
        let now = crate::time::parse("2026-03-20T09:30:00Z").unwrap();
        let r = |input| row(Some("apikey_1"), None, now.date_naive(), input, 1);
        let first = sync(&mut store, &[r(100)], &accounts, true, now);
        assert_eq!((first.accounts, first.full), (5, true));
        for minutes in [2, 5, 11, 30] {
            let later = now + chrono::Duration::minutes(minutes);
            let quiet = sync(&mut store, &[], &accounts, true, later);
            assert_eq!(quiet.accounts, 0, "{minutes} minutes on");
        }
        // 5,000 more tokens in a minute: a burn far over the quick rule's 3 (key, Default
        // Workspace, organization), evaluated as it is read and again as its 2-minute
        // lookback passes the growth.
        let t = now + chrono::Duration::minutes(31);
        assert_eq!(
            sync(&mut store, &[r(5_100)], &accounts, true, t).accounts,
            3
        );
        let passing = sync(
            &mut store,
            &[],
            &accounts,
            true,
            t + chrono::Duration::minutes(2),
        );
        assert_eq!(passing.accounts, 3);
    }

    /// On the last day of a period, an open forecast alert recovers at a moment within the
    /// day, with no usage written and no day boundary: the incremental pass evaluates the
    /// account at the first sync after that moment, and not before.
    #[test]
    fn an_open_forecast_alert_recovers_within_the_day_as_a_full_pass_would() {
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut inc = store::Store::open(&dirs.0.path().join("q.db")).unwrap();
        let mut full = store::Store::open(&dirs.1.path().join("q.db")).unwrap();
        let mut a = account("a", Selector::ApiKey("apikey_0".into()), 1);
        std::sync::Arc::make_mut(&mut a.limits).tokens = Some(100_000);
        a.burn = Vec::new().into();
        let accounts = [&a];
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        // 85,000 used, 12,000 a day over the last 7 days.
        let mut rows = vec![row(Some("apikey_0"), None, day(1), 1_000, 0)];
        rows.extend((23..=29).map(|d| row(Some("apikey_0"), None, day(d), 12_000, 0)));
        let at = |s: &str| crate::time::parse(s).unwrap();
        let forecast_open = |s: &mut store::Store| {
            snapshot(s)
                .0
                .iter()
                .filter(|a| {
                    a.contains("forecast_exceeded") && a.ends_with("|Null|Null|Null|period")
                })
                .count()
        };
        let mut evaluated = Vec::new();
        for (now, rows) in [
            // 1.5 days left: 103,000 projected, the alert fires.
            ("2026-03-30T12:00:00Z", &rows[..]),
            // A new day: 10,285.7 a day over Mar 24-30, 95,071 projected: still open.
            ("2026-03-31T00:30:00Z", &[]),
            // Below 90,000 projected once less than 0.486 days are left: at 12:20:01.
            ("2026-03-31T12:00:00Z", &[]),
            ("2026-03-31T12:19:00Z", &[]),
            ("2026-03-31T12:21:00Z", &[]),
            ("2026-03-31T12:22:00Z", &[]),
        ] {
            let e = sync(&mut inc, rows, &accounts, true, at(now));
            sync(&mut full, rows, &accounts, false, at(now));
            assert_eq!(snapshot(&mut inc), snapshot(&mut full), "at {now}");
            evaluated.push((e.accounts, forecast_open(&mut inc)));
        }
        assert_eq!(
            evaluated,
            [(1, 1), (1, 1), (0, 1), (0, 1), (1, 0), (0, 0)],
            "(accounts evaluated, forecast alerts open) at each sync"
        );
    }
}

//! The reads of a sync: usage with one grouped request (and its pages), streamed into the
//! store's staging; the cost report when due.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::{Plan, Request};
use crate::account::{Account, ModelGlob, Selector, UsageSource};
use crate::api::{self, Client, analytics, usage::Fetched};
use crate::config::Config;
use crate::quota::DayUsage;
use crate::records::{CostDay, UsageSink};
use crate::store::usage::{Staged, Staging, UsageRead};
use crate::store::{self, Fact, Store};
use crate::window;

/// Reads the plan's window of usage into the store's staging. `--account` with only key
/// accounts narrows the request itself. Returns what the read saw, and the staged rows for
/// `record`'s transaction.
pub(super) fn usage(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    req: &Request<'_>,
    accounts: &[&Account],
    plan: Plan,
    now: DateTime<Utc>,
) -> Result<(Fetched, Staged, Option<Models>)> {
    let source = config.api.usage_source;
    // Grouped by model only while an account is scoped to models: one request either way.
    let globs: Vec<ModelGlob> = accounts.iter().filter_map(|a| a.model.clone()).collect();
    let mut by_model = (!globs.is_empty()).then(|| ByModel {
        globs,
        ..ByModel::default()
    });
    let narrowed = !req.accounts.is_empty()
        && accounts
            .iter()
            .all(|a| matches!(a.selector, Selector::ApiKey(_)));
    let key_ids: Vec<&str> = if narrowed {
        accounts
            .iter()
            .filter_map(|a| a.selector.api_key_id())
            .collect()
    } else {
        Vec::new()
    };
    let mut staging = store.staging(UsageRead {
        source: source.as_str(),
        from: plan.resume.unwrap_or(plan.first_day),
        every_key: !narrowed,
    })?;
    let fetched = match source {
        UsageSource::Messages => staging.ingest(|sink| {
            let grouped = by_model.is_some();
            let mut tee = Tee::new(sink, by_model.as_mut());
            api::usage::fetch(client, plan.first_day, &key_ids, grouped, &mut tee)
        })?,
        UsageSource::Analytics => analytics_usage(
            &mut staging,
            client,
            config,
            (plan, &key_ids),
            by_model.as_mut(),
            now,
        )?,
    };
    let models = by_model.map(|mut m| Models {
        from: m
            .stored_through
            .unwrap_or(plan.resume.unwrap_or(plan.first_day)),
        keys: key_ids.iter().map(|k| (*k).to_string()).collect(),
        rows: m.take(),
        seen: std::mem::take(&mut m.seen).into_iter().collect(),
    });
    Ok((fetched, staging.finish()?, models))
}

/// The per-model rows of a read's last stretch, for the sync's transaction: they replace
/// what the store has from `from` on (of `keys` only, when the read was narrowed to them).
pub(super) struct Models {
    pub from: NaiveDate,
    pub keys: Vec<String>,
    /// The rows of the models scoped accounts match.
    pub rows: Vec<(String, DayUsage)>,
    /// Every model the read saw.
    pub seen: Vec<String>,
}

/// The per-model rows of a read grouped by model, kept as its pages are: a page's rows
/// count once it was read whole, a restart drops them all. Rows split by a dimension not
/// grouped by are summed.
#[derive(Debug, Default)]
pub(crate) struct ByModel {
    /// Only the rows of models some scoped account matches are kept.
    globs: Vec<ModelGlob>,
    /// Every model the read saw (for `config check`).
    seen: BTreeSet<String>,
    kept: HashMap<(Option<String>, Option<String>, String, NaiveDate), DayUsage>,
    page: Vec<(String, DayUsage)>,
    /// The days of windows already stored (an analytics read commits as it goes).
    pub(crate) stored_through: Option<NaiveDate>,
}

impl ByModel {
    /// The rows kept so far, taken out.
    pub(crate) fn take(&mut self) -> Vec<(String, DayUsage)> {
        self.kept
            .drain()
            .map(|((_, _, model, _), row)| (model, row))
            .collect()
    }
}

/// A sink that hands rows on to the store's staging and keeps their per-model copies.
struct Tee<'a> {
    inner: &'a mut dyn UsageSink,
    models: Option<&'a mut ByModel>,
}

impl<'a> Tee<'a> {
    fn new(inner: &'a mut dyn UsageSink, models: Option<&'a mut ByModel>) -> Tee<'a> {
        Tee { inner, models }
    }
}

impl UsageSink for Tee<'_> {
    fn add(&mut self, row: DayUsage) -> Result<()> {
        self.inner.add(row)
    }

    fn add_model(&mut self, model: &str, row: &DayUsage) -> Result<()> {
        if let Some(m) = self.models.as_mut() {
            if !m.seen.contains(model) {
                m.seen.insert(model.to_string());
            }
            if m.globs.iter().any(|g| g.matches(model)) {
                m.page.push((model.to_string(), row.clone()));
            }
        }
        Ok(())
    }

    fn begin_page(&mut self) -> Result<()> {
        if let Some(m) = self.models.as_mut() {
            m.page.clear();
        }
        self.inner.begin_page()
    }

    fn end_page(&mut self) -> Result<()> {
        if let Some(m) = self.models.as_mut() {
            for (model, row) in std::mem::take(&mut m.page) {
                let key = (
                    row.api_key_id.clone(),
                    row.workspace_id.clone(),
                    model,
                    row.day,
                );
                match m.kept.entry(key) {
                    Entry::Occupied(mut e) => e.get_mut().absorb(&row),
                    Entry::Vacant(e) => {
                        e.insert(row);
                    }
                }
            }
        }
        self.inner.end_page()
    }

    fn restart(&mut self) -> Result<()> {
        if let Some(m) = self.models.as_mut() {
            m.page.clear();
            m.kept.clear();
        }
        self.inner.restart()
    }
}

fn endpoint(api: &crate::config::Api) -> analytics::Endpoint<'_> {
    analytics::Endpoint {
        usage_path: &api.analytics_path,
        cost_path: analytics::COST_PATH,
        bucket_param: &api.analytics_bucket_param,
        beta: &api.analytics_beta,
        page_size: api.analytics_page_size,
    }
}

/// The analytics source, in windows of at most 31 days, oldest first. Every window but the
/// last is stored as soon as it is read, with a mark of where the read got to: a run cut by
/// its deadline keeps those days and the next run carries on after them. The last window is
/// left staged for the sync's own transaction, which also clears the mark.
fn analytics_usage(
    staging: &mut Staging<'_>,
    client: &mut Client,
    config: &Config,
    (plan, key_ids): (Plan, &[&str]),
    mut by_model: Option<&mut ByModel>,
    now: DateTime<Utc>,
) -> Result<Fetched> {
    let ep = endpoint(&config.api);
    let first_day = plan.first_day;
    if let Some(day) = plan.resume {
        log::info!(
            "carrying on the analytics read from {first_day} at {day}, where the last run stopped"
        );
    }
    let windows = analytics::windows(plan.resume.unwrap_or(first_day), now);
    let mut out = Fetched::default();
    let mut seen = analytics::Reported::default();
    for (i, w) in windows.iter().enumerate() {
        let grouped = by_model.is_some();
        let read = staging.ingest(|sink| {
            let mut tee = Tee::new(sink, by_model.as_deref_mut());
            analytics::read_usage(client, &ep, *w, key_ids, grouped, &mut tee)
        });
        let (fetched, reported) = read.map_err(|e| match (i, plan.resume) {
            (0, None) => e,
            _ => e.context(format!(
                "the analytics read from {first_day} was cut short: the days before {} are stored and the next run carries on from there",
                w.start.date_naive()
            )),
        })?;
        seen.merge(reported);
        out.pages += fetched.pages;
        out.data_as_of = fetched.data_as_of.or(out.data_as_of.take());
        out.rows += fetched.rows;
        if i + 1 < windows.len() {
            let mark = super::resume_mark(first_day, w.end_day());
            // This window's per-model rows go with it: a run cut short loses none.
            let models = by_model.as_deref_mut().map(ByModel::take);
            let (from, to) = (w.start.date_naive(), w.end_day());
            let n = staging.commit(UsageSource::Analytics.as_str(), now, |tx| {
                if let Some(rows) = &models {
                    store::usage::models::replace(tx, (from, Some(to)), key_ids, rows, now)?;
                }
                store::set_state(tx, Fact::UsageResume, &mark)
            })?;
            if let Some(m) = by_model.as_deref_mut() {
                m.stored_through = Some(to);
            }
            log::info!("analytics {w}: {n} rows stored");
        }
    }
    out.unreported = seen.missing();
    Ok(out)
}

/// Cost is daily data: read at most every `cost_interval_minutes`, and only when an account
/// that reads cost (a workspace, the organization; an API key with the analytics source)
/// has a cost limit. `None` when not due. With the analytics source it comes from
/// `/analytics/cost` in windows of at most 31 days, per key while a key account needs it;
/// else from the cost report, per workspace.
pub(super) fn cost(
    store: &mut Store,
    client: &mut Client,
    config: &Config,
    req: &Request<'_>,
    accounts: &[&Account],
    now: DateTime<Utc>,
) -> Result<Option<Cost>> {
    let source = config.api.usage_source;
    // An account scoped to models has cost per model only from the analytics source.
    let cost_accounts: Vec<&Account> = accounts
        .iter()
        .copied()
        .filter(|a| a.limits.cost_usd.is_some() && a.selector.reads_cost(source))
        .filter(|a| a.model.is_none() || source == UsageSource::Analytics)
        .collect();
    let by_model = cost_accounts.iter().any(|a| a.model.is_some());
    let per_key = cost_accounts
        .iter()
        .any(|a| matches!(a.selector, crate::account::Selector::ApiKey(_)));
    if cost_accounts.is_empty() {
        return Ok(None);
    }
    let last = store.read(|tx| store::get_time(tx, Fact::CostSynced))?;
    if !req.full && !super::due(last, config.api.cost_interval, now) {
        return Ok(None);
    }
    let from = window::cost_first_day(
        last.filter(|_| !req.full),
        &cost_accounts,
        config.database.retention_days,
        now,
    );
    match config.api.usage_source {
        UsageSource::Messages => Ok(Some(Cost {
            rows: api::cost::fetch(client, from)?,
            by_model: None,
        })),
        UsageSource::Analytics => {
            let ep = endpoint(&config.api);
            let mut rows = Vec::new();
            let mut models = Vec::new();
            for w in analytics::windows(from, now) {
                let (sums, per_model) = analytics::read_cost(client, &ep, w, per_key, by_model)?;
                rows.extend(sums);
                models.extend(per_model);
            }
            Ok(Some(Cost {
                rows,
                by_model: by_model.then_some(models),
            }))
        }
    }
}

/// A cost read: its rows (a day's replace the day), and per model when grouped by model.
pub(super) struct Cost {
    pub rows: Vec<CostDay>,
    pub by_model: Option<Vec<(String, CostDay)>>,
}

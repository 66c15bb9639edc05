//! An account's rows, day by day: which rows are its own (by key, workspace, actor or
//! model), summed per UTC day, and the per-day values `quota usage` shows.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Inputs, value};
use crate::account::{Account, Selector, UsageRows};
use crate::period::Period;
use crate::quota::{DayUsage, QuotaType, Totals};
use crate::records::{ActorKind, CostDay, DeveloperDay};

/// Rows indexed by what selectors ask for, so each account sums only its own rows.
pub(super) struct Index<'r> {
    by_key: HashMap<&'r str, Vec<&'r DayUsage>>,
    /// The Default Workspace (null id) under "", which no real id is.
    by_workspace: HashMap<&'r str, Vec<&'r DayUsage>>,
    all: Vec<&'r DayUsage>,
    default_workspace: Option<&'r str>,
}

impl<'r> Index<'r> {
    pub(super) fn new(rows: &'r [DayUsage], default_workspace: Option<&'r str>) -> Index<'r> {
        let mut ix = Index {
            by_key: HashMap::new(),
            by_workspace: HashMap::new(),
            all: Vec::with_capacity(rows.len()),
            default_workspace,
        };
        for r in rows {
            if let Some(k) = r.api_key_id.as_deref() {
                ix.by_key.entry(k).or_default().push(r);
            }
            let ws = ix.workspace(r.workspace_id.as_deref());
            ix.by_workspace.entry(ws.unwrap_or("")).or_default().push(r);
            ix.all.push(r);
        }
        ix
    }

    /// A reported workspace id as quota keeps it: the Default Workspace's real id is `None`,
    /// as the legacy reports give it.
    fn workspace<'w>(&self, id: Option<&'w str>) -> Option<&'w str> {
        id.filter(|id| Some(*id) != self.default_workspace)
    }

    fn rows(&self, s: &Selector) -> &[&'r DayUsage] {
        let found = match s.usage_rows() {
            UsageRows::Key(id) => self.by_key.get(id),
            UsageRows::Workspace(ws) => self.by_workspace.get(ws),
            UsageRows::All => return &self.all,
            UsageRows::Report => None,
        };
        found.map_or(&[], Vec::as_slice)
    }
}

/// An account's totals per day in `range` (a period, or any span of whole days).
pub(super) fn daily(
    account: &Account,
    index: &Index<'_>,
    developers: &ByActor<'_>,
    inputs: &Inputs<'_>,
    range: Period,
) -> BTreeMap<NaiveDate, Totals> {
    match (account.selector.actor(), &account.model) {
        (Some(actor), Some(glob)) => {
            // Its models' share of the report's model_breakdown.
            let days = of_models(inputs.developers_by_model, glob);
            developer_days(&by_actor(&days), actor, range)
        }
        (Some(actor), None) => developer_days(developers, actor, range),
        (None, Some(glob)) => {
            // Its models' rows only, of usage and of cost.
            let rows = of_models(inputs.by_model, glob);
            let cost = inputs.cost_by_model.map(|c| of_models(c, glob));
            let index = Index::new(&rows, inputs.default_workspace);
            usage_days(&index, cost.as_deref(), account, range)
        }
        (None, None) => usage_days(index, inputs.cost, account, range),
    }
}

/// The rows of the models `glob` matches, of rows tagged with their model.
fn of_models<T: Clone>(rows: &[(String, T)], glob: &crate::account::ModelGlob) -> Vec<T> {
    rows.iter()
        .filter(|(m, _)| glob.matches(m))
        .map(|(_, r)| r.clone())
        .collect()
}

/// One UTC day of one account: each quota type's value in `QuotaType::ALL` order, `None`
/// where not measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DayValues {
    pub day: NaiveDate,
    pub values: [Option<Decimal>; 5],
}

/// Each account's values for every day from `first` to `last` (inclusive): what
/// `quota usage` shows. Days without rows count as zero where the quota is measured.
pub(crate) fn by_day<'a>(
    ranges: &[(&'a Account, NaiveDate, NaiveDate)],
    inputs: &Inputs<'_>,
) -> Vec<(&'a Account, Vec<DayValues>)> {
    let index = Index::new(inputs.usage, inputs.default_workspace);
    let developers = by_actor(inputs.developers.unwrap_or_default());
    let midnight = crate::time::start_of;
    ranges
        .iter()
        .map(|&(account, first, last)| {
            let range = Period {
                start: midnight(first),
                end: midnight(last + chrono::Duration::days(1)),
            };
            let days = daily(account, &index, &developers, inputs, range);
            let rows = first
                .iter_days()
                .take_while(|d| *d <= last)
                .map(|day| {
                    let mut t = days.get(&day).cloned().unwrap_or_else(Totals::empty);
                    t.cost_usd.get_or_insert(Decimal::ZERO);
                    DayValues {
                        day,
                        values: QuotaType::ALL.map(|q| value(account, inputs, &t, q)),
                    }
                })
                .collect();
            (account, rows)
        })
        .collect()
}

/// An account's usage and cost rows in `period`, as totals per day.
fn usage_days(
    index: &Index<'_>,
    cost: Option<&[CostDay]>,
    account: &Account,
    period: Period,
) -> BTreeMap<NaiveDate, Totals> {
    let mut daily: BTreeMap<NaiveDate, Totals> = BTreeMap::new();
    for r in index
        .rows(&account.selector)
        .iter()
        .filter(|r| period.contains_day(r.day))
    {
        daily.entry(r.day).or_insert_with(Totals::empty).add(r);
    }
    for c in cost.into_iter().flatten().filter(|c| {
        period.contains_day(c.day)
            && account.selector.owns_cost(
                c.api_key_id.as_deref(),
                index.workspace(c.workspace_id.as_deref()),
            )
    }) {
        let t = daily.entry(c.day).or_insert_with(Totals::empty);
        t.cost_usd = Some(t.cost_usd.unwrap_or_default() + c.cents / Decimal::ONE_HUNDRED);
    }
    daily
}

/// Developer days by actor.
pub(super) type ByActor<'r> = HashMap<(ActorKind, &'r str), Vec<&'r DeveloperDay>>;

pub(super) fn by_actor(days: &[DeveloperDay]) -> ByActor<'_> {
    let mut ix: ByActor<'_> = HashMap::new();
    for d in days {
        ix.entry((d.kind, d.actor.as_str())).or_default().push(d);
    }
    ix
}

/// A developer account's days in `period`, as totals with their cost.
fn developer_days(
    index: &ByActor<'_>,
    actor: (ActorKind, &str),
    period: Period,
) -> BTreeMap<NaiveDate, Totals> {
    let mut daily: BTreeMap<NaiveDate, Totals> = BTreeMap::new();
    for d in index
        .get(&actor)
        .into_iter()
        .flatten()
        .filter(|d| period.contains_day(d.day))
    {
        let t = daily.entry(d.day).or_insert_with(Totals::empty);
        t.add(&d.usage());
        t.cost_usd = Some(t.cost_usd.unwrap_or_default() + d.cents / Decimal::ONE_HUNDRED);
    }
    daily
}

//! Burn rates against the store: the stored series and reads an evaluation needs, and the
//! totals it records when they change.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::account::Account;
use crate::burn::{self, Burn, Snapshot};
use crate::evaluate::WindowView;
use crate::period::{Period, Window};
use crate::quota::QuotaType;
use crate::reconcile::Evaluation;
use crate::store::burn::Series;
use crate::store::{self, Tx};

/// The stored series of some accounts, and the usage reads.
#[derive(Debug, Default)]
pub(crate) struct BurnHistory {
    series: HashMap<String, Vec<Series>>,
    reads: Vec<DateTime<Utc>>,
    /// Consecutive reads further apart than the shortest short lookback.
    gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl BurnHistory {
    /// What evaluating `accounts` (by `names`, or all) needs; nothing when none has rules.
    pub(crate) fn load(
        tx: &Tx<'_>,
        accounts: &[&Account],
        names: Option<&[&str]>,
        now: DateTime<Utc>,
    ) -> Result<BurnHistory> {
        let mut history = BurnHistory::reads_for(tx, accounts, now)?;
        history.series_of(tx, accounts, names)?;
        Ok(history)
    }

    /// The usage reads and their gaps that the rules of `accounts` look back over, no series
    /// yet (`series_of`); nothing when none has rules.
    pub(crate) fn reads_for(
        tx: &Tx<'_>,
        accounts: &[&Account],
        now: DateTime<Utc>,
    ) -> Result<BurnHistory> {
        if accounts.iter().all(|a| a.burn.is_empty()) {
            return Ok(BurnHistory::default());
        }
        let reads = store::burn::reads(tx, now - burn::MAX_LOOKBACK * 2)?;
        let shortest = accounts
            .iter()
            .flat_map(|a| a.burn.iter().map(|r| r.short))
            .min()
            .unwrap_or(burn::MAX_LOOKBACK);
        let gaps = reads
            .windows(2)
            .filter(|p| p[1] - p[0] > shortest)
            .map(|p| (p[0], p[1]))
            .collect();
        Ok(BurnHistory {
            series: HashMap::new(),
            reads,
            gaps,
        })
    }

    /// The stored series of `accounts` (by `names`, or all), in place of the last ones.
    pub(crate) fn series_of(
        &mut self,
        tx: &Tx<'_>,
        accounts: &[&Account],
        names: Option<&[&str]>,
    ) -> Result<()> {
        self.series = if accounts.iter().all(|a| a.burn.is_empty()) {
            HashMap::new()
        } else {
            store::burn::history(tx, names)?
        };
        Ok(())
    }

    /// The stored totals of one quota of `account`'s window instance.
    fn points(&self, account: &str, window: Window, span: Period, q: QuotaType) -> &[Snapshot] {
        self.series
            .get(account)
            .into_iter()
            .flatten()
            .find(|s| s.window == window && s.quota_type == q && s.window_start == span.start)
            .map_or(&[], |s| s.points.as_slice())
    }

    /// The account's rules applied to one of its windows.
    pub(crate) fn burns(
        &self,
        account: &Account,
        w: &WindowView<'_>,
        now: DateTime<Utc>,
    ) -> Vec<Burn> {
        let snapshots = |q: QuotaType| self.points(&account.name, w.window, w.span, q).to_vec();
        burn::of_window(
            &account.burn,
            account.selector.is_developer(),
            w.window,
            w.span,
            &w.readings,
            &snapshots,
            &self.reads,
            now,
        )
    }

    /// When passing time alone could next change a burn of `account`'s window
    /// (`burn::next_change`), for the incremental evaluation's recheck; with `recorded`, a
    /// total was just stored for it, whose passing out of the short lookback counts too.
    /// A rule that cannot fire by time alone (`burn::may_fire`) needs no moment, unless a
    /// burn-rate alert of the account is open (`open`): it resolves as time passes.
    pub(crate) fn next_change(
        &self,
        account: &Account,
        w: &Evaluation<'_>,
        recorded: bool,
        open: bool,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        w.burns
            .iter()
            .filter_map(|b| {
                let points = self.points(&account.name, w.window, w.period, b.quota_type);
                let reading = w.readings.iter().find(|r| r.quota_type == b.quota_type)?;
                let (limit, used) = (reading.limit?, reading.used?);
                if !open && !burn::may_fire(&b.rule, w.period, limit, used, points, now) {
                    return None;
                }
                let passing = recorded.then(|| now + b.rule.short);
                burn::next_change(std::slice::from_ref(&b.rule), points, &self.gaps, now)
                    .into_iter()
                    .chain(passing)
                    .min()
            })
            .min()
    }

    /// Records the totals of `account`'s windows that its rules read and that changed since
    /// the last stored one; whether it recorded any.
    pub(crate) fn record(
        &self,
        tx: &Tx<'_>,
        account: &Account,
        windows: &[Evaluation<'_>],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut recorded = false;
        if account.burn.is_empty() || account.selector.is_developer() {
            return Ok(recorded);
        }
        let keep = burn::keep_for(&account.burn);
        for w in windows.iter().filter(|w| burn::applies(w.window)) {
            for r in w.readings.iter().filter(|r| r.limit.is_some()) {
                let Some(used) = r.used else { continue };
                let points = self.points(&account.name, w.window, w.period, r.quota_type);
                if points.last().is_some_and(|p| p.used == used) {
                    continue;
                }
                let mut points = points.to_vec();
                // A run at the same moment again replaces its own total.
                if points
                    .last()
                    .is_some_and(|p| p.at.timestamp() == now.timestamp())
                {
                    points.pop();
                }
                points.push(Snapshot { at: now, used });
                let series = Series {
                    window: w.window,
                    quota_type: r.quota_type,
                    window_start: w.period.start,
                    points: burn::thin(&points, now, keep),
                };
                store::burn::put(tx, &account.name, &series)?;
                recorded = true;
            }
        }
        Ok(recorded)
    }
}

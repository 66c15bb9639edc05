//! Burn rates against the store: the stored totals and reads an evaluation needs, and the
//! totals it records when they change.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::account::Account;
use crate::burn::{self, Burn, Snapshot};
use crate::evaluate::WindowView;
use crate::quota::QuotaType;
use crate::reconcile::Evaluation;
use crate::store::burn::Stored;
use crate::store::{self, Tx};

/// The stored totals of some accounts, and the usage reads.
#[derive(Debug, Default)]
pub(crate) struct BurnHistory {
    totals: HashMap<String, Vec<Stored>>,
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
            totals: store::burn::history(tx, names)?,
            reads,
            gaps,
        })
    }

    /// When passing time alone could next change a burn of `account`'s window
    /// (`burn::next_change`), for the incremental evaluation's recheck.
    pub(crate) fn next_change(
        &self,
        account: &Account,
        w: &Evaluation<'_>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if w.burns.is_empty() {
            return None;
        }
        let snapshots: Vec<Snapshot> = self
            .totals
            .get(&account.name)
            .into_iter()
            .flatten()
            .filter(|s| s.window == w.window && s.window_start == w.period.start)
            .map(|s| Snapshot {
                at: s.at,
                used: s.used,
            })
            .collect();
        burn::next_change(&account.burn, &snapshots, &self.gaps, now)
    }

    fn of<'s>(&'s self, account: &str, w: &WindowView<'_>) -> impl Iterator<Item = &'s Stored> {
        let (window, start) = (w.window, w.span.start);
        self.totals
            .get(account)
            .into_iter()
            .flatten()
            .filter(move |s| s.window == window && s.window_start == start)
    }

    /// The account's rules applied to one of its windows.
    pub(crate) fn burns(
        &self,
        account: &Account,
        w: &WindowView<'_>,
        now: DateTime<Utc>,
    ) -> Vec<Burn> {
        let snapshots = |q: QuotaType| -> Vec<Snapshot> {
            self.of(&account.name, w)
                .filter(|s| s.quota_type == q)
                .map(|s| Snapshot {
                    at: s.at,
                    used: s.used,
                })
                .collect()
        };
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
        for w in windows.iter().filter(|w| burn::applies(w.window)) {
            for r in w.readings.iter().filter(|r| r.limit.is_some()) {
                let Some(used) = r.used else { continue };
                let last = self
                    .totals
                    .get(&account.name)
                    .into_iter()
                    .flatten()
                    .rfind(|s| {
                        s.window == w.window
                            && s.window_start == w.period.start
                            && s.quota_type == r.quota_type
                    });
                if last.is_some_and(|s| s.used == used) {
                    continue;
                }
                let stored = Stored {
                    window: w.window,
                    window_start: w.period.start,
                    quota_type: r.quota_type,
                    at: now,
                    used,
                };
                store::burn::add(tx, &account.name, &stored)?;
                recorded = true;
            }
        }
        Ok(recorded)
    }
}

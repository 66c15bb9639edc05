//! What the textfile reports, read from the store after every sync (whether it succeeded
//! or not) and handed to `metrics::render`. A database that cannot be read gives the run's
//! own series only.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::Roster;
use crate::account::Account;
use crate::alert::{AccountStatus, Severity};
use crate::config::Config;
use crate::evaluate::Loaded;
use crate::metrics::{self, Run, Snapshot};
use crate::records::ReadHealth;
use crate::store::accounts::AccountRow;
use crate::store::outbox::Backlog;
use crate::store::{self, Fact, Store};
use crate::{apply, burn, evaluate};

/// The textfile's text for the run that ends now.
pub(crate) fn textfile(
    store: Option<&mut Store>,
    config: &Config,
    run: Run,
    now: DateTime<Utc>,
) -> String {
    let read = store.map(|s| {
        let roster = Roster::load(config, s)?;
        let accounts = roster.all();
        let configured: Vec<&Account> = config.accounts.iter().collect();
        let (loaded, states, open, last, (reads, backlog, history, unlisted)) = s.read(|tx| {
            Ok((
                apply::load(tx, &accounts, now)?,
                store::accounts::states(tx)?,
                store::alerts::open_by_severity(tx)?,
                store::get_time(tx, Fact::LastSuccess)?,
                (
                    store::health::all(tx)?,
                    store::outbox::backlog(tx)?,
                    apply::BurnHistory::load(tx, &accounts, None, now)?,
                    super::unlisted::checked(tx, &configured)?,
                ),
            ))
        })?;
        let rest = (reads, backlog, history, unlisted);
        anyhow::Ok((roster, loaded, states, open, last, rest))
    });
    let (roster, loaded, states, open, last, (reads, backlog, history, unlisted)) = match read {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            log::error!("metrics: cannot read the database: {e:#}");
            empty(config)
        }
        None => empty(config),
    };
    let accounts = roster.all();
    let views = evaluate::views(&accounts, &loaded.inputs(config.api.usage_source), now);
    let burn_rates = burn_samples(&views, &history, now);
    let status = |name: &str| states.get(name).map_or(AccountStatus::Active, |s| s.status);
    let health = crate::health::Health {
        reads: &reads,
        failing_after: config.failing_after,
        now,
    };
    let read_ok: Vec<(String, bool)> = reads
        .iter()
        .map(|r| (r.read.clone(), r.failures == 0))
        .collect();
    let mut per_channel: BTreeMap<String, (usize, usize)> = config
        .notify
        .iter()
        .map(|c| (c.name.clone(), (0, 0)))
        .collect();
    for (c, b) in backlog.values().flatten() {
        let e = per_channel.entry(c.clone()).or_default();
        e.0 += b.pending;
        e.1 += b.failed;
    }
    let channels: Vec<(String, usize, usize)> = per_channel
        .into_iter()
        .map(|(c, (p, f))| (c, p, f))
        .collect();
    metrics::render(&Snapshot {
        views: &views,
        status: &status,
        open_alerts: &open,
        last_success: last,
        duration: run.duration,
        success: run.success,
        data_age_seconds: health.data_age().map(|d| d.num_seconds()),
        reads: &read_ok,
        channels: &channels,
        burn_rates: &burn_rates,
        unlisted: &unlisted,
    })
}

/// Each evaluated lookback's burn; rules sharing a lookback give it once.
fn burn_samples(
    views: &[evaluate::View<'_>],
    history: &apply::BurnHistory,
    now: DateTime<Utc>,
) -> Vec<metrics::BurnSample> {
    let mut samples = Vec::new();
    for v in views {
        for w in v.all() {
            for b in history.burns(v.account, &w, now) {
                for (l, x) in [(b.rule.long, b.long), (b.rule.short, b.short)] {
                    if let Ok(x) = x {
                        let key = (
                            v.account.name.clone(),
                            b.quota_type,
                            w.window,
                            burn::lookback(l),
                        );
                        samples.push((key, x));
                    }
                }
            }
        }
    }
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples.dedup_by(|a, b| a.0 == b.0);
    samples
}

type Read<'c> = (
    Roster<'c>,
    Loaded,
    HashMap<String, AccountRow>,
    Vec<(Severity, usize)>,
    Option<DateTime<Utc>>,
    (
        Vec<ReadHealth>,
        BTreeMap<String, BTreeMap<String, Backlog>>,
        apply::BurnHistory,
        Vec<(String, bool)>,
    ),
);

/// What the textfile reports of a database it cannot read: the configured accounts only.
fn empty(config: &Config) -> Read<'_> {
    (
        Roster::configured(config),
        Loaded::default(),
        HashMap::new(),
        Vec::new(),
        None,
        (
            Vec::new(),
            BTreeMap::new(),
            apply::BurnHistory::default(),
            Vec::new(),
        ),
    )
}

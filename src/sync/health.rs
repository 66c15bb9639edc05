//! How each read of a run went, recorded after it whether it succeeded or not
//! (`store::health`): what `quota health`, the status footer and the textfile report.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertType, Event, Resolution, Severity};
use crate::config::Config;
use crate::health::describe;
use crate::store::{self, Store};
use crate::{apply, notify};

/// The usage read: a run that stops, stops on it (or on the store).
pub(crate) const USAGE: &str = crate::health::USAGE;
pub(crate) const COST: &str = "cost";
pub(crate) const CLAUDE_CODE: &str = "claude_code";
pub(crate) const DISCOVERY: &str = "discovery";

/// An error line is cut to this many characters.
const MAX_ERROR: usize = 400;

/// The reads a run attempted, each with its error line if it failed.
#[derive(Debug, Default)]
pub(crate) struct Reads(Vec<(String, Option<String>)>);

impl Reads {
    pub(crate) fn ok(&mut self, read: &str) {
        self.0.push((read.to_string(), None));
    }

    pub(crate) fn failed(&mut self, read: &str, e: &anyhow::Error) {
        let line = format!("{e:#}").replace('\n', " ");
        let line = match line.char_indices().nth(MAX_ERROR) {
            Some((i, _)) => format!("{}…", &line[..i]),
            None => line,
        };
        self.0.push((read.to_string(), Some(line)));
    }

    /// A side read (one whose failure does not stop the sync): `None` when it was not due
    /// or failed, in which case `problem` says so in `problems`.
    pub(crate) fn side<T>(
        &mut self,
        read: &str,
        result: Result<Option<T>>,
        problem: &str,
        problems: &mut Vec<String>,
    ) -> Option<T> {
        match result {
            Ok(Some(v)) => {
                self.ok(read);
                Some(v)
            }
            Ok(None) => None,
            Err(e) => {
                self.failed(read, &e);
                problems.push(format!("{problem}: {e:#}"));
                None
            }
        }
    }
}

/// Stores how each read went and, in the same transaction, what it means for the health
/// alerts: a read failing for `config.failing_after` raises one critical `sync_failing`
/// alert for its streak (the unique identity index keeps it to one); a read that works
/// again resolves its open one as `recovered`. Both are enqueued for the channels like any
/// alert, so they go out even while the Admin API is down.
pub(crate) fn record(
    store: &mut Store,
    reads: &Reads,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<()> {
    let after = chrono::Duration::from_std(config.failing_after).unwrap_or(chrono::Duration::MAX);
    store.write(|tx| {
        for (read, error) in &reads.0 {
            store::health::record(tx, read, error.as_deref(), now)?;
        }
        let states = store::health::all(tx)?;
        let open = store::alerts::list(
            tx,
            &store::alerts::ListFilter {
                accounts: vec![String::new()],
                ..Default::default()
            },
        )?;
        for (read, error) in &reads.0 {
            let mine = open.iter().filter(|a| {
                a.alert_type == AlertType::SyncFailing && a.read.as_deref() == Some(read)
            });
            match error {
                None => {
                    for a in mine {
                        let how = store::alerts::Resolve::auto(Resolution::Recovered);
                        if apply::resolve(tx, a, how, &config.notify, now)? {
                            log::warn!(
                                "alert {}: the {} works again (recovered)",
                                a.id,
                                describe(read)
                            );
                        }
                    }
                }
                Some(_) => {
                    let state = states.iter().find(|s| &s.read == read);
                    if let Some((since, state)) =
                        state.and_then(|s| s.failing_since.map(|t| (t, s)))
                        && now - since >= after
                    {
                        raise(tx, state, since, &config.notify, now)?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// The `sync_failing` alert of `state`'s streak, if it has none yet.
fn raise(
    tx: &store::Tx<'_>,
    state: &store::health::ReadHealth,
    since: DateTime<Utc>,
    channels: &[crate::account::Channel],
    now: DateTime<Utc>,
) -> Result<()> {
    let message = format!(
        "the {} has failed since {} ({} run{}): {}",
        describe(&state.read),
        crate::output::time(since),
        state.failures,
        if state.failures == 1 { "" } else { "s" },
        state.last_error.as_deref().unwrap_or("no error recorded")
    );
    let alert = Alert {
        id: uuid::Uuid::new_v4().to_string(),
        account: String::new(),
        alert_type: AlertType::SyncFailing,
        severity: Severity::Critical,
        message,
        current_value: state.failures.into(),
        limit_value: 0.into(),
        percentage: 0.0,
        quota_type: None,
        read: Some(state.read.clone()),
        threshold: 0,
        period_start: since,
        period_end: since,
        created_at: now,
        resolved_at: None,
        resolution: None,
        comment: None,
        resolved_by: None,
    };
    if store::alerts::insert(tx, &alert)? {
        log::error!("alert {}: {}", alert.id, alert.message);
        let to = notify::route(channels, Severity::Critical, Event::Firing);
        store::outbox::enqueue(tx, &alert.id, Event::Firing, &to, now)?;
    }
    Ok(())
}

/// Records the usage read as failed by a run that could not start (no admin key): a timer
/// that fails every minute on it is failing, not silent.
pub(crate) fn failed_to_start(
    store: &mut Store,
    e: &anyhow::Error,
    config: &Config,
    now: DateTime<Utc>,
) {
    let mut reads = Reads::default();
    reads.failed(USAGE, e);
    if let Err(e) = record(store, &reads, config, now) {
        log::error!("cannot record how this run's reads went: {e:#}");
    }
}

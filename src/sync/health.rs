//! How each read of a run went, recorded after it whether it succeeded or not
//! (`store::health`): what `quota health`, the status footer and the textfile report.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertType, Event, Resolution, Severity};
use crate::config::Config;
use crate::health::describe;
use crate::notify;
use crate::period::Window;
use crate::store::{self, Store};

/// The usage read: a run that stops, stops on it (or on the store).
pub(crate) const USAGE: &str = crate::health::USAGE;
pub(crate) const COST: &str = "cost";
pub(crate) const CLAUDE_CODE: &str = "claude_code";
pub(crate) const DISCOVERY: &str = "discovery";
pub(crate) const WORKSPACES: &str = "workspaces";
pub(crate) const KEY_CHECK: &str = crate::health::ADVISORY[0];
pub(crate) const WORKSPACE_CHECK: &str = crate::health::ADVISORY[1];

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

    /// An advisory read (`crate::health::ADVISORY`): recorded like any, but a failure is a
    /// warning, not a problem of the run. `None` when it was not due or failed.
    pub(crate) fn advisory<T>(&mut self, read: &str, result: Result<Option<T>>) -> Option<T> {
        self.settle(read, result).unwrap_or_else(|e| {
            log::warn!(
                "the {} failed (tried again on the next sync): {e:#}",
                describe(read)
            );
            None
        })
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
        self.settle(read, result).unwrap_or_else(|e| {
            problems.push(format!("{problem}: {e:#}"));
            None
        })
    }

    /// Records how a read that may not have been due went, and hands its error on.
    fn settle<T>(&mut self, read: &str, result: Result<Option<T>>) -> Result<Option<T>> {
        match result {
            Ok(Some(v)) => {
                self.ok(read);
                Ok(Some(v))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed(read, &e);
                Err(e)
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
        let open = open_health_alerts(tx)?;
        for (read, error) in &reads.0 {
            let mine = open.iter().filter(|a| {
                a.alert_type == AlertType::SyncFailing && a.read.as_deref() == Some(read)
            });
            match error {
                None => {
                    for a in mine {
                        recovered(tx, a, &config.notify, now)?;
                    }
                }
                Some(_) if crate::health::ADVISORY.contains(&read.as_str()) => {}
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

/// The health alert of `state`'s streak (`sync_failing`, or `delivery_failing` for a
/// channel, told through the other channels), if it has none yet. Returns its id when it
/// was raised now.
fn raise(
    tx: &store::Tx<'_>,
    state: &crate::records::ReadHealth,
    since: DateTime<Utc>,
    channels: &[crate::account::Channel],
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let message = format!(
        "the {} has failed since {} ({} run{}): {}",
        describe(&state.read),
        crate::time::minute(since),
        state.failures,
        if state.failures == 1 { "" } else { "s" },
        state.last_error.as_deref().unwrap_or("no error recorded")
    );
    let failing_channel = state.read.strip_prefix("delivery:");
    let alert = Alert {
        id: uuid::Uuid::new_v4().to_string(),
        account: String::new(),
        alert_type: if failing_channel.is_some() {
            AlertType::DeliveryFailing
        } else {
            AlertType::SyncFailing
        },
        severity: Severity::Critical,
        message,
        current_value: state.failures.into(),
        limit_value: 0.into(),
        percentage: 0.0,
        quota_type: None,
        read: Some(state.read.clone()),
        threshold: 0,
        window: Window::Period,
        period_start: since,
        period_end: since,
        created_at: now,
        resolved_at: None,
        resolution: None,
        comment: None,
        resolved_by: None,
    };
    if !store::alerts::insert(tx, &alert)? {
        return Ok(None);
    }
    log::error!("alert {}: {}", alert.id, alert.message);
    let to = route_around(channels, failing_channel, Event::Firing);
    store::outbox::enqueue(tx, &alert.id, Event::Firing, &to, now)?;
    Ok(Some(alert.id))
}

/// The channels a health alert goes to: every one that takes critical alerts, but the
/// failing channel itself.
fn route_around<'c>(
    channels: &'c [crate::account::Channel],
    failing: Option<&str>,
    event: Event,
) -> Vec<&'c str> {
    notify::route(channels, "", Severity::Critical, event)
        .into_iter()
        .filter(|c| Some(*c) != failing)
        .collect()
}

/// Resolves `alert` (a health alert whose read works again) and tells the channels.
fn recovered(
    tx: &store::Tx<'_>,
    alert: &Alert,
    channels: &[crate::account::Channel],
    now: DateTime<Utc>,
) -> Result<bool> {
    let how = store::alerts::Resolve::auto(Resolution::Recovered);
    if !store::alerts::resolve(tx, &alert.id, how, now)? {
        return Ok(false);
    }
    let failing = alert
        .read
        .as_deref()
        .and_then(|r| r.strip_prefix("delivery:"));
    let to = route_around(channels, failing, Event::Resolved);
    let to: Vec<&str> = to
        .into_iter()
        .filter(|c| channels.iter().any(|ch| ch.name == *c && ch.send_resolved))
        .collect();
    store::outbox::enqueue(tx, &alert.id, Event::Resolved, &to, now)?;
    log::warn!(
        "alert {}: the {} works again (recovered)",
        alert.id,
        describe(alert.read.as_deref().unwrap_or(""))
    );
    Ok(true)
}

/// After delivery: a channel failing for `config.failing_after` raises `delivery_failing`
/// through the other channels; one that works again resolves it. Returns the ids of the
/// alerts raised or resolved, to deliver now.
pub(crate) fn channels(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let after = chrono::Duration::from_std(config.failing_after).unwrap_or(chrono::Duration::MAX);
    store.write(|tx| {
        let states = store::health::all(tx)?;
        let open = open_health_alerts(tx)?;
        let mut touched = Vec::new();
        for state in states.iter().filter(|s| s.read.starts_with("delivery:")) {
            let mine: Vec<&Alert> = open
                .iter()
                .filter(|a| {
                    a.alert_type == AlertType::DeliveryFailing
                        && a.read.as_deref() == Some(state.read.as_str())
                })
                .collect();
            match state.failing_since {
                None => {
                    for a in mine {
                        if recovered(tx, a, &config.notify, now)? {
                            touched.push(a.id.clone());
                        }
                    }
                }
                Some(since) if now - since >= after => {
                    touched.extend(raise(tx, state, since, &config.notify, now)?);
                }
                Some(_) => {}
            }
        }
        Ok(touched)
    })
}

fn open_health_alerts(tx: &store::Tx<'_>) -> Result<Vec<Alert>> {
    store::alerts::list(
        tx,
        &store::alerts::ListFilter {
            accounts: vec![String::new()],
            ..Default::default()
        },
    )
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

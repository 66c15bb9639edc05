//! Delivering the outbox (SPEC §6): after each sync, pending deliveries that are due go out
//! through their channel. Each answer is recorded in its own transaction right after it
//! arrives: a crash in between leaves the row pending and it is sent again (at least once).
//! Failures are retried on later runs with backoff (or the endpoint's `retry-after`),
//! permanent refusals fail at once, and anything undelivered after 24 h is marked `failed`.

pub(crate) mod message;
pub(crate) mod send;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::account::{Channel, ChannelKind};
use crate::alert::{Alert, Event, Severity};
use crate::secret::{Secret, SecretSource};
use crate::store::Store;
use crate::store::outbox::{self, Delivery};
use send::Outcome;

/// Alerts per Slack message; more wait for the next message.
const SLACK_BATCH: usize = 20;
/// Slack allows about one message a second per webhook.
const SLACK_SPACING: Duration = Duration::from_millis(1100);
/// The longest one notification request may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long pending deliveries are retried before they are marked failed.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Report {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Left for the next run: the time budget ran out.
    pub deferred: usize,
    /// Held back by a silence until it ends.
    pub silenced: usize,
}

/// When to try again after `attempts` failures: 1, 2, 4 … minutes, at most an hour, and
/// never sooner than the endpoint asked.
pub(crate) fn next_attempt(
    now: DateTime<Utc>,
    attempts: u32,
    retry_after: Option<Duration>,
) -> DateTime<Utc> {
    let backoff = chrono::Duration::minutes(1i64 << attempts.saturating_sub(1).min(6))
        .min(chrono::Duration::hours(1));
    let asked = retry_after
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or_default();
    now + backoff.max(asked)
}

/// The health read of deliveries to `channel` (`store::health`).
pub(crate) fn delivery_read(channel: &str) -> String {
    format!("delivery:{channel}")
}

/// The names of the channels that hear of an alert event of this severity about `account`:
/// those whose `min_severity` it meets and whose `accounts` take it, and for a resolution
/// those with `send_resolved`.
pub(crate) fn route<'c>(
    channels: &'c [Channel],
    account: &str,
    severity: Severity,
    event: Event,
) -> Vec<&'c str> {
    channels
        .iter()
        .filter(|c| severity >= c.min_severity && (event == Event::Firing || c.send_resolved))
        .filter(|c| c.takes(account))
        .map(|c| c.name.as_str())
        .collect()
}

/// Sends what is due, within `budget`; with `only`, just the deliveries of those alerts (a
/// manual resolve sends its own notices at once and leaves the rest to the next sync).
/// `holder` names this run: it claims what it sends for as long as the run may last (its
/// `budget`, at least a second), checks the claim again just before each send, and gives
/// back what it did not send, so that runs of several hosts never send one notice twice
/// (`store::outbox::claim`); the claims of a run that died lapse with its budget (within
/// `deadline_secs`).
pub(crate) fn deliver(
    store: &mut Store,
    channels: &[Channel],
    holder: &str,
    now: DateTime<Utc>,
    budget: Duration,
    only: Option<&[String]>,
) -> Result<Report> {
    let report = deliver_claimed(store, channels, holder, now, budget, only);
    store.write(|tx| outbox::release(tx, holder))?;
    report
}

fn deliver_claimed(
    store: &mut Store,
    channels: &[Channel],
    holder: &str,
    now: DateTime<Utc>,
    budget: Duration,
    only: Option<&[String]>,
) -> Result<Report> {
    let deadline = Instant::now() + budget;
    let mut report = Report::default();
    let expired = store.write(|tx| outbox::expire(tx, now - GIVE_UP_AFTER))?;
    if expired > 0 {
        log::error!(
            "{expired} notification(s) undelivered for 24 h are marked failed (see quota status)"
        );
        report.failed += expired;
    }
    let lasts = chrono::Duration::from_std(budget.max(Duration::from_secs(1)))?;
    let due = store.write(|tx| outbox::claim(tx, holder, now + lasts, now, only))?;
    let due = hold_silenced(store, due, now, &mut report)?;
    if due.is_empty() {
        return Ok(report);
    }
    let mut by_channel: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
    for d in &due {
        by_channel.entry(d.channel.as_str()).or_default().push(d);
    }
    let agent = crate::http::agent();
    for (name, deliveries) in by_channel {
        let Some(channel) = channels.iter().find(|c| c.name == name) else {
            report.failed += fail_unconfigured(store, name, &deliveries)?;
            continue;
        };
        let batches = batches(channel, &deliveries);
        let mut last_slack: Option<Instant> = None;
        for (i, batch) in batches.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            let spacing = match (&channel.kind, last_slack) {
                (ChannelKind::Slack { .. }, Some(t)) => SLACK_SPACING.saturating_sub(t.elapsed()),
                _ => Duration::ZERO,
            };
            if left <= spacing + Duration::from_millis(200) {
                let rest: usize = batches[i..].iter().map(Vec::len).sum();
                log::info!(
                    "{rest} notification(s) to {name} wait for the next run (time budget used)"
                );
                report.deferred += rest;
                break;
            }
            std::thread::sleep(spacing);
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            if !store.write(|tx| outbox::still_claimed(tx, &ids, holder))? {
                log::warn!(
                    "{} notification(s) to {name} were taken over by another run: not sent from here",
                    batch.len()
                );
                continue;
            }
            let notes: Vec<_> = batch.iter().map(|d| (&d.alert, d.event)).collect();
            let outcome = send(
                &agent,
                channel,
                &notes,
                now,
                (left - spacing).min(SEND_TIMEOUT),
            );
            last_slack = Some(Instant::now());
            record(store, name, batch, &outcome, holder, now, &mut report)?;
        }
    }
    Ok(report)
}

/// Deliveries to a channel no longer in the config are marked failed: how many.
fn fail_unconfigured(store: &mut Store, name: &str, deliveries: &[&Delivery]) -> Result<usize> {
    let why = format!("channel {name:?} is no longer configured");
    store.write(|tx| {
        deliveries
            .iter()
            .try_for_each(|d| outbox::mark_failed(tx, d.id, &why))
    })?;
    log::error!(
        "{} notification(s) for {why}: marked failed",
        deliveries.len()
    );
    Ok(deliveries.len())
}

/// What one request carries: up to `SLACK_BATCH` notices to Slack, one to the others.
fn batches<'d>(channel: &Channel, deliveries: &[&'d Delivery]) -> Vec<Vec<&'d Delivery>> {
    match channel.kind {
        ChannelKind::Slack { .. } => deliveries.chunks(SLACK_BATCH).map(<[_]>::to_vec).collect(),
        _ => deliveries.iter().map(|d| vec![*d]).collect(),
    }
}

/// Holds back what a silence covers, until it ends; after a silence, drops a firing notice
/// whose alert resolved meanwhile, and the resolved notice of a firing so dropped (nothing
/// was said, so nothing is taken back). Returns the deliveries to send now.
fn hold_silenced(
    store: &mut Store,
    due: Vec<Delivery>,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Result<Vec<Delivery>> {
    if due.is_empty() {
        return Ok(due);
    }
    store.write(|tx| {
        let silences = crate::store::silences::active(tx, now)?;
        let mut send = Vec::with_capacity(due.len());
        for d in due {
            let holding = silences
                .iter()
                .filter(|s| s.holds(&d.alert.id, &d.alert.account))
                .max_by_key(|s| s.ends_at);
            if let Some(s) = holding {
                outbox::hold(tx, d.id, &s.id, s.ends_at)?;
                report.silenced += 1;
                continue;
            }
            if d.held && d.event == Event::Firing && !d.alert.is_open() {
                outbox::drop_held(tx, d.id, "the alert resolved while silenced")?;
                continue;
            }
            if d.event == Event::Resolved && outbox::firing_dropped(tx, &d.alert.id, &d.channel)? {
                outbox::drop_held(tx, d.id, "its firing notice was never sent (silenced)")?;
                continue;
            }
            send.push(d);
        }
        Ok(send)
    })
}

/// Sends one message about `notes` through `channel`: a Slack message covers them all, the
/// other channels take the first. What it answered, with every secret redacted. Delivery
/// and `quota notify test` both send through here.
pub(crate) fn send(
    agent: &ureq::Agent,
    channel: &Channel,
    notes: &[(&Alert, Event)],
    now: DateTime<Utc>,
    timeout: Duration,
) -> Outcome {
    let Some(&(alert, event)) = notes.first() else {
        return Outcome::Delivered("nothing to send".into());
    };
    let secret = |source: &SecretSource| {
        source.read().map_err(|e| Outcome::Retry {
            error: format!("{e:#}"),
            after: None,
        })
    };
    let sent = match &channel.kind {
        ChannelKind::Slack { url } => secret(url)
            .map(|url| send::post_json(agent, &url, &message::slack(notes, now), None, timeout)),
        ChannelKind::Webhook { url } => secret(url).map(|url| {
            let idempotency = format!("{}:{}", alert.id, event.as_str());
            let body = message::webhook(alert, event);
            send::post_json(agent, &url, &body, Some(&idempotency), timeout)
        }),
        ChannelKind::PagerDuty { routing_key, url } => secret(routing_key).map(|key| {
            let body = message::pagerduty(alert, event, key.expose(), now);
            let target = Secret::new(url.as_deref().unwrap_or(message::PAGERDUTY_URL));
            match send::post_json(agent, &target, &body, None, timeout) {
                Outcome::Retry { error, after } => Outcome::Retry {
                    error: send::redact(&error, &key),
                    after,
                },
                Outcome::Failed(e) => Outcome::Failed(send::redact(&e, &key)),
                delivered => delivered,
            }
        }),
        ChannelKind::Email { to, from, command } => Ok(send::mail(
            command,
            &message::email(alert, event, to, from, now),
            timeout,
        )),
    };
    sent.unwrap_or_else(|e| e)
}

/// Records how a send went, while this run still holds the claims: a run that paused
/// mid-send, and whose deliveries another run took over, leaves them to that run.
fn record(
    store: &mut Store,
    channel: &str,
    batch: &[&Delivery],
    outcome: &Outcome,
    holder: &str,
    now: DateTime<Utc>,
    report: &mut Report,
) -> Result<()> {
    let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
    store.write(|tx| {
        if !outbox::still_claimed(tx, &ids, holder)? {
            log::warn!(
                "{} notification(s) to {channel} were taken over by another run while this one sent them",
                ids.len()
            );
            return Ok(());
        }
        for d in batch {
            match outcome {
                Outcome::Delivered(_) => outbox::mark_delivered(tx, d.id, now)?,
                Outcome::Retry { error, after } => {
                    outbox::mark_retry(tx, d.id, next_attempt(now, d.attempts + 1, *after), error)?
                }
                Outcome::Failed(error) => outbox::mark_failed(tx, d.id, error)?,
            }
        }
        // How the channel is doing, for `quota health` and `delivery_failing`.
        let error = match outcome {
            Outcome::Delivered(_) => None,
            Outcome::Retry { error, .. } | Outcome::Failed(error) => Some(error.as_str()),
        };
        crate::store::health::record(tx, &delivery_read(channel), error, now)
    })?;
    let n = batch.len();
    match outcome {
        Outcome::Delivered(s) => {
            log::info!("notified {channel} of {n} alert update(s): {s}");
            report.delivered += n;
        }
        Outcome::Retry { error, .. } => {
            log::warn!("notification to {channel} failed ({error}); it will be retried");
            report.retrying += n;
        }
        Outcome::Failed(error) => {
            log::error!("notification to {channel} refused for good ({error}); marked failed");
            report.failed += n;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour_and_honours_retry_after() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mins = |a, r| (next_attempt(now, a, r) - now).num_minutes();
        assert_eq!(
            [mins(1, None), mins(2, None), mins(3, None), mins(9, None)],
            [1, 2, 4, 60]
        );
        assert_eq!(mins(1, Some(Duration::from_secs(600))), 10);
    }
}

//! The notification outbox: rows written with the alert change that caused them, read back
//! after the commit, and marked one by one as the endpoints answer. A crash between sending
//! and marking leaves the row pending, so it is sent again: at least once, never lost.

use super::Tx;
use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::alerts::{COLUMNS, from_row_at};
use super::sql::{Val, vals};
use crate::alert::{Alert, Event};

/// One outbox row per named channel for this alert event, in the caller's transaction (the
/// one that changed the alert).
pub(crate) fn enqueue(
    tx: &Tx<'_>,
    alert_id: &str,
    event: Event,
    channels: &[&str],
    now: DateTime<Utc>,
) -> Result<()> {
    for channel in channels {
        tx.exec(
            "INSERT INTO outbox (alert_id, channel, event, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            &vals![alert_id, *channel, event.as_str(), now],
        )?;
    }
    Ok(())
}

/// One pending delivery and the alert it is about.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub id: i64,
    pub channel: String,
    pub event: Event,
    pub attempts: u32,
    /// A silence held it back (and may still).
    pub held: bool,
    pub alert: Alert,
}

/// Claims the pending deliveries that are due and that no other run holds (or whose
/// claim lapsed), oldest first, for `holder` until `until`; of the alerts `only`, or all.
/// Rows another transaction has locked are skipped, not waited for (PostgreSQL).
pub(crate) fn claim(
    tx: &Tx<'_>,
    holder: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    only: Option<&[String]>,
) -> Result<Vec<Delivery>> {
    let mut args = vec![Val::from(holder), Val::from(until), Val::from(now)];
    let only = match only {
        Some(ids) => {
            args.push(Val::Texts(ids.to_vec()));
            format!("AND {}", tx.in_list("alert_id", 4))
        }
        None => String::new(),
    };
    tx.exec(
        &format!(
            "UPDATE outbox SET claimed_by = ?1, claimed_until = ?2 WHERE id IN (
                 SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?3
                 AND (claimed_until IS NULL OR claimed_until <= ?3) {only}
                 ORDER BY id{})",
            tx.skip_locked()
        ),
        &args,
    )?;
    claimed(tx, holder)
}

/// The pending deliveries `holder` has claimed, oldest first.
fn claimed(tx: &Tx<'_>, holder: &str) -> Result<Vec<Delivery>> {
    let cols: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("a.{}", c.trim()))
        .collect();
    tx.rows(
        &format!(
            "SELECT o.id, o.channel, o.event, o.attempts, o.last_error LIKE 'held by silence %', {} FROM outbox o JOIN alerts a ON a.id = o.alert_id
             WHERE o.state = 'pending' AND o.claimed_by = ?1 ORDER BY o.id",
            cols.join(", ")
        ),
        &vals![holder],
        |r| {
            Ok(Delivery {
                id: r.int(0)?,
                channel: r.text(1)?,
                event: Event::parse(&r.text(2)?).unwrap_or(Event::Firing),
                attempts: u32::try_from(r.int(3)?).unwrap_or(u32::MAX),
                held: r.opt_bool(4)?.unwrap_or(false),
                alert: from_row_at(&r, 5)?,
            })
        },
    )
}

/// Whether `holder` still holds every one of the deliveries `ids` (no other run took them
/// over after its claim lapsed), checked just before they are sent.
pub(crate) fn still_claimed(tx: &Tx<'_>, ids: &[i64], holder: &str) -> Result<bool> {
    let mut ours = 0;
    for id in ids {
        let held = tx.first(
            "SELECT 1 FROM outbox WHERE id = ?1 AND claimed_by = ?2 AND state = 'pending'",
            &vals![*id, holder],
            |_| Ok(()),
        )?;
        ours += usize::from(held.is_some());
    }
    Ok(ours == ids.len())
}

/// Gives back what `holder` claimed and did not send (a time budget used up): the next run
/// need not wait for the claims to lapse.
pub(crate) fn release(tx: &Tx<'_>, holder: &str) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
         WHERE claimed_by = ?1 AND state = 'pending'",
        &vals![holder],
    )?;
    Ok(())
}

/// Holds a delivery back until `until` (a silence's end), without counting an attempt.
pub(crate) fn hold(tx: &Tx<'_>, id: i64, silence: &str, until: DateTime<Utc>) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
        &vals![id, until, format!("{HELD}{silence}")],
    )?;
    Ok(())
}

/// The `last_error` of a delivery a silence holds (or held), before the silence's id.
const HELD: &str = "held by silence ";

/// Gives a delivery up without sending it, saying why: a firing notice whose alert resolved
/// while silenced, or the resolved notice of a firing never sent.
pub(crate) fn drop_held(tx: &Tx<'_>, id: i64, why: &str) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET state = 'dropped', last_error = ?2 WHERE id = ?1",
        &vals![id, why],
    )?;
    Ok(())
}

/// Whether the firing notice of `alert_id` to `channel` was dropped (never sent).
pub(crate) fn firing_dropped(tx: &Tx<'_>, alert_id: &str, channel: &str) -> Result<bool> {
    let n = tx.first(
        "SELECT count(*) FROM outbox WHERE alert_id = ?1 AND channel = ?2 AND event = 'firing' AND state = 'dropped'",
        &vals![alert_id, channel],
        |r| r.int(0),
    )?;
    Ok(n.unwrap_or(0) > 0)
}

pub(crate) fn mark_delivered(tx: &Tx<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
        &vals![id, now],
    )?;
    Ok(())
}

pub(crate) fn mark_retry(tx: &Tx<'_>, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3,
             claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
        &vals![id, next, error],
    )?;
    Ok(())
}

pub(crate) fn mark_failed(tx: &Tx<'_>, id: i64, error: &str) -> Result<()> {
    tx.exec(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        &vals![id, error],
    )?;
    Ok(())
}

/// Gives up on deliveries pending since before `cutoff`. Returns how many.
pub(crate) fn expire(tx: &Tx<'_>, cutoff: DateTime<Utc>) -> Result<usize> {
    tx.exec(
        "UPDATE outbox SET state = 'failed',
             last_error = 'undelivered for 24 h' || coalesce(': ' || last_error, '')
         WHERE state = 'pending' AND created_at < ?1",
        &vals![cutoff],
    )
}

/// Pending and failed deliveries per channel.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backlog {
    pub pending: usize,
    pub failed: usize,
}

/// Backlog per account, then per channel.
pub(crate) fn backlog(tx: &Tx<'_>) -> Result<BTreeMap<String, BTreeMap<String, Backlog>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Backlog>> = BTreeMap::new();
    tx.each(
        "SELECT a.account, o.channel, o.state, count(*) FROM outbox o JOIN alerts a ON a.id = o.alert_id
         WHERE o.state IN ('pending', 'failed') GROUP BY 1, 2, 3",
        &[],
        |r| {
            let b = out.entry(r.text(0)?).or_default().entry(r.text(1)?).or_default();
            if r.text(2)? == "pending" {
                b.pending = r.count(3)?;
            } else {
                b.failed = r.count(3)?;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

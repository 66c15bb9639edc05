//! Claude Code usage per developer and day, and the actors discovery has named.

use super::Tx;
use std::collections::HashSet;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use super::keys::slug;
use crate::records::{ActorKind, DeveloperDay};
use crate::time::{day, ts};

/// Replaces the stored rows of each of `days` (read whole) with `rows`: re-reading a day
/// replaces it, so late data corrects itself and nothing is counted twice.
pub(crate) fn replace_days(
    tx: &Tx<'_>,
    days: &[NaiveDate],
    rows: &[DeveloperDay],
    now: DateTime<Utc>,
) -> Result<()> {
    let conn = tx.conn();
    let mut clear = conn.prepare_cached("DELETE FROM developer_daily WHERE day = ?1")?;
    for d in days {
        clear.execute([day(*d)])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO developer_daily (day, actor_type, actor, input_tokens, output_tokens,
             cache_read_tokens, cache_creation_tokens, cost_cents, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (day, actor_type, actor) DO UPDATE SET
             input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
             cache_read_tokens = excluded.cache_read_tokens,
             cache_creation_tokens = excluded.cache_creation_tokens,
             cost_cents = excluded.cost_cents, fetched_at = excluded.fetched_at",
    )?;
    let now = ts(now);
    for r in rows {
        insert
            .execute(params![
                day(r.day),
                r.kind.as_str(),
                r.actor,
                r.input,
                r.output,
                r.cache_read,
                r.cache_creation,
                r.cents.to_string(),
                now,
            ])
            .with_context(|| format!("cannot store Claude Code usage for {}", r.day))?;
    }
    Ok(())
}

/// Every stored developer day from `first_day` on.
pub(crate) fn since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<DeveloperDay>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT actor_type, actor, day, input_tokens, output_tokens, cache_read_tokens,
                cache_creation_tokens, cost_cents
         FROM developer_daily WHERE day >= ?1",
    )?;
    let rows = stmt.query_map([day(first_day)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            [r.get::<_, u64>(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
            r.get::<_, String>(7)?,
        ))
    })?;
    rows.map(|row| {
        let (kind, actor, d, [input, output, cache_read, cache_creation], cents) = row?;
        Ok(DeveloperDay {
            kind: ActorKind::parse(&kind)
                .with_context(|| format!("bad actor_type {kind:?} in developer_daily"))?,
            actor,
            day: crate::time::parse_day(&d)
                .with_context(|| format!("bad day {d:?} in developer_daily"))?,
            input,
            output,
            cache_read,
            cache_creation,
            cents: cents
                .parse()
                .with_context(|| format!("bad cost {cents:?} in developer_daily"))?,
        })
    })
    .collect()
}

pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    let conn = tx.conn();
    super::prune_days(conn, "developer_daily", before)
}

/// A discovered actor and the account named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownActor {
    pub kind: ActorKind,
    pub actor: String,
    pub account: String,
}

pub(crate) fn actors(tx: &Tx<'_>) -> Result<Vec<KnownActor>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT actor_type, actor, account FROM developer_actors ORDER BY account",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (kind, actor, account) = row?;
        Ok(KnownActor {
            kind: ActorKind::parse(&kind)
                .with_context(|| format!("bad actor_type {kind:?} in developer_actors"))?,
            actor,
            account,
        })
    })
    .collect()
}

/// Records the actors seen. A new one gets an account name no other account has: a slug of
/// the e-mail's local part or of the key name, with `-2`, `-3`… on a clash. Returns the
/// names given.
pub(crate) fn refresh_actors(
    tx: &Tx<'_>,
    seen: &[(ActorKind, &str)],
    reserved: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let conn = tx.conn();
    let mut taken: HashSet<String> = reserved.clone();
    for sql in [
        "SELECT account FROM developer_actors",
        "SELECT account FROM api_keys",
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
            taken.insert(name?);
        }
    }
    let now = ts(now);
    let mut added = Vec::new();
    for (kind, actor) in seen {
        let updated = conn
            .prepare_cached(
                "UPDATE developer_actors SET last_seen_at = ?3 WHERE actor_type = ?1 AND actor = ?2",
            )?
            .execute(params![kind.as_str(), actor, now])?;
        if updated > 0 {
            continue;
        }
        let base = match kind {
            ActorKind::User => slug(actor.split('@').next().unwrap_or(actor)),
            ActorKind::ApiKey => slug(actor),
        };
        let name = std::iter::once(base.clone())
            .chain((2..).map(|n| format!("{base}-{n}")))
            .find(|c| !taken.contains(c))
            .expect("an unused name");
        taken.insert(name.clone());
        conn.prepare_cached(
            "INSERT INTO developer_actors (actor_type, actor, account, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![kind.as_str(), actor, name, now])?;
        added.push(name);
    }
    Ok(added)
}

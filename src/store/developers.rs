//! Claude Code usage per developer and day, and the actors discovery has named.

use super::Tx;
use std::collections::HashSet;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};

use super::keys::slug;
use super::sql::vals;
use crate::records::{ActorKind, DeveloperDay};

/// Replaces the stored rows of each of `days` (read whole) with `rows`: re-reading a day
/// replaces it, so late data corrects itself and nothing is counted twice.
pub(crate) fn replace_days(
    tx: &Tx<'_>,
    days: &[NaiveDate],
    rows: &[DeveloperDay],
    now: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<(Option<&str>, &DeveloperDay)> = rows.iter().map(|r| (None, r)).collect();
    replace_in(tx, "developer_daily", days, &rows, now)
}

/// The same per model (`(model, day)`), for developer accounts scoped to models.
pub(crate) fn replace_model_days(
    tx: &Tx<'_>,
    days: &[NaiveDate],
    rows: &[(String, DeveloperDay)],
    now: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<(Option<&str>, &DeveloperDay)> =
        rows.iter().map(|(m, r)| (Some(m.as_str()), r)).collect();
    replace_in(tx, "developer_models", days, &rows, now)
}

/// `table`'s rows of `days` become `rows` (with their model where the table has one).
fn replace_in(
    tx: &Tx<'_>,
    table: &str,
    days: &[NaiveDate],
    rows: &[(Option<&str>, &DeveloperDay)],
    now: DateTime<Utc>,
) -> Result<()> {
    for d in days {
        tx.exec(&format!("DELETE FROM {table} WHERE day = ?1"), &vals![*d])?;
    }
    let count = |v: u64| i64::try_from(v).context("a count above 2^63");
    for (model, r) in rows {
        let (model_column, model_value) = match model {
            Some(_) => (", model", ", ?10"),
            None => ("", ""),
        };
        let mut args = vals![
            r.day,
            r.kind.as_str(),
            &r.actor,
            count(r.input)?,
            count(r.output)?,
            count(r.cache_read)?,
            count(r.cache_creation)?,
            r.cents,
            now,
        ]
        .to_vec();
        args.extend(model.map(super::sql::Val::from));
        tx.exec(
            &format!(
                "INSERT INTO {table} (day, actor_type, actor, input_tokens, output_tokens,
                     cache_read_tokens, cache_creation_tokens, cost_cents, fetched_at{model_column})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9{model_value})"
            ),
            &args,
        )
        .with_context(|| format!("cannot store Claude Code usage for {}", r.day))?;
    }
    Ok(())
}

/// Every stored developer day per model from `first_day` on: `(model, day)`.
pub(crate) fn models_since(
    tx: &Tx<'_>,
    first_day: NaiveDate,
) -> Result<Vec<(String, DeveloperDay)>> {
    tx.rows(
        "SELECT actor_type, actor, day, input_tokens, output_tokens, cache_read_tokens,
                cache_creation_tokens, cost_cents, model
         FROM developer_models WHERE day >= ?1",
        &vals![first_day],
        |r| Ok((r.text(8)?, developer_day(&r)?)),
    )
}

/// Every stored developer day from `first_day` on.
pub(crate) fn since(tx: &Tx<'_>, first_day: NaiveDate) -> Result<Vec<DeveloperDay>> {
    tx.rows(
        "SELECT actor_type, actor, day, input_tokens, output_tokens, cache_read_tokens,
                cache_creation_tokens, cost_cents
         FROM developer_daily WHERE day >= ?1",
        &vals![first_day],
        |r| developer_day(&r),
    )
}

/// A developer day from the first 8 columns of `r`.
fn developer_day(r: &super::sql::Row<'_>) -> Result<DeveloperDay> {
    let kind = r.text(0)?;
    let count = |i: usize| -> Result<u64> { Ok(u64::try_from(r.int(i)?)?) };
    Ok(DeveloperDay {
        kind: ActorKind::parse(&kind)
            .with_context(|| format!("bad actor_type {kind:?} in developer_daily"))?,
        actor: r.text(1)?,
        day: r.day(2)?,
        input: count(3)?,
        output: count(4)?,
        cache_read: count(5)?,
        cache_creation: count(6)?,
        cents: r.money(7)?,
    })
}

pub(crate) fn prune(tx: &Tx<'_>, before: NaiveDate) -> Result<usize> {
    Ok(super::prune_days(tx, "developer_daily", before)?
        + super::prune_days(tx, "developer_models", before)?)
}

/// A discovered actor and the account named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownActor {
    pub kind: ActorKind,
    pub actor: String,
    pub account: String,
}

pub(crate) fn actors(tx: &Tx<'_>) -> Result<Vec<KnownActor>> {
    tx.rows(
        "SELECT actor_type, actor, account FROM developer_actors ORDER BY account",
        &[],
        |r| {
            let kind = r.text(0)?;
            Ok(KnownActor {
                kind: ActorKind::parse(&kind)
                    .with_context(|| format!("bad actor_type {kind:?} in developer_actors"))?,
                actor: r.text(1)?,
                account: r.text(2)?,
            })
        },
    )
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
    let mut taken: HashSet<String> = reserved.clone();
    for sql in [
        "SELECT account FROM developer_actors",
        "SELECT account FROM api_keys",
    ] {
        tx.each(sql, &[], |r| {
            taken.insert(r.text(0)?);
            Ok(())
        })?;
    }
    let mut added = Vec::new();
    for (kind, actor) in seen {
        let updated = tx.exec(
            "UPDATE developer_actors SET last_seen_at = ?3 WHERE actor_type = ?1 AND actor = ?2",
            &vals![kind.as_str(), *actor, now],
        )?;
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
        tx.exec(
            "INSERT INTO developer_actors (actor_type, actor, account, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            &vals![kind.as_str(), *actor, &name, now],
        )?;
        added.push(name);
    }
    Ok(added)
}

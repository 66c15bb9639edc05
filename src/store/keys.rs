//! Discovered API keys: each active key is an account named by a stable slug of its name.

use super::Tx;
use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::records::ListedKey;
use crate::time::ts;

/// An active key as the store knows it: its id and the account named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub id: String,
    pub account: String,
}

pub(crate) fn active(tx: &Tx<'_>) -> Result<Vec<Known>> {
    let conn = tx.conn();
    let mut stmt =
        conn.prepare_cached("SELECT id, account FROM api_keys WHERE active = 1 ORDER BY account")?;
    let rows = stmt.query_map([], |r| {
        Ok(Known {
            id: r.get(0)?,
            account: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What a refresh changed: accounts that appeared and accounts whose key is no longer active.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Refresh {
    pub added: Vec<String>,
    pub deactivated: Vec<String>,
}

/// The keys of a listing in progress, a page at a time, in a temporary table (the
/// connection's own temp database: no lock on the store, and no list in memory).
/// `refresh_staged` then records them in the caller's transaction.
pub(crate) fn stage_page(tx: &Tx<'_>, keys: &[ListedKey]) -> Result<()> {
    let conn = tx.conn();
    conn.execute_batch(STAGING)?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO temp.keys_listed (id, name, workspace_id) VALUES (?1, ?2, ?3)",
    )?;
    for k in keys {
        stmt.execute(params![
            k.id,
            k.name,
            k.workspace_id.as_deref().unwrap_or("")
        ])?;
    }
    Ok(())
}

/// Empties the staging table for a new listing.
pub(crate) fn begin_listing(tx: &Tx<'_>) -> Result<()> {
    let conn = tx.conn();
    conn.execute_batch(STAGING)?;
    conn.execute("DELETE FROM temp.keys_listed", [])?;
    Ok(())
}

const STAGING: &str = "CREATE TEMP TABLE IF NOT EXISTS keys_listed (
    id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, workspace_id TEXT NOT NULL)";

/// Records the currently active keys (all of them staged, see `stage_page`), in the caller's
/// transaction. New keys get a slug no other key or `reserved` (configured) account has;
/// keys not listed stop being active.
pub(crate) fn refresh_staged(
    tx: &Tx<'_>,
    reserved: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Refresh> {
    let conn = tx.conn();
    conn.execute_batch(STAGING)?;
    let now = ts(now);
    let mut out = Refresh::default();
    conn.prepare_cached(
        "UPDATE api_keys SET name = s.name, workspace_id = s.workspace_id, active = 1, last_seen_at = ?1
         FROM temp.keys_listed AS s WHERE api_keys.id = s.id",
    )?
    .execute([&now])?;
    let new: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT s.id, s.name, s.workspace_id FROM temp.keys_listed AS s
             WHERE NOT EXISTS (SELECT 1 FROM api_keys AS k WHERE k.id = s.id) ORDER BY s.rowid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut exists = conn.prepare_cached("SELECT 1 FROM api_keys WHERE account = ?1")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO api_keys (id, name, account, workspace_id, active, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
    )?;
    for (id, name, ws) in new {
        let taken = |a: &str| -> Result<bool> { Ok(reserved.contains(a) || exists.exists([a])?) };
        let account = unique_slug(&name, &id, taken)?;
        insert.execute(params![id, name, account, ws, now])?;
        out.added.push(account);
    }
    out.deactivated = conn
        .prepare_cached(
            "UPDATE api_keys SET active = 0
             WHERE active = 1 AND id NOT IN (SELECT id FROM temp.keys_listed) RETURNING account",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    out.deactivated.sort();
    conn.execute("DELETE FROM temp.keys_listed", [])?;
    Ok(out)
}

/// A lowercase ASCII slug of a key's name: "Prod – EU #2" → "prod-eu-2".
pub(crate) fn slug(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s: String = s.trim_matches('-').chars().take(48).collect();
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "key".to_string() } else { s }
}

/// The slug, made unique with the key id's tail (then a counter) if another has it.
fn unique_slug(
    name: &str,
    id: &str,
    mut taken: impl FnMut(&str) -> Result<bool>,
) -> Result<String> {
    let base = slug(name);
    if !taken(&base)? {
        return Ok(base);
    }
    let tail: String = id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_ascii_lowercase();
    let with_tail = format!("{base}-{tail}");
    if !taken(&with_tail)? {
        return Ok(with_tail);
    }
    for n in 2.. {
        let candidate = format!("{with_tail}-{n}");
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("an unused name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_unique() {
        assert_eq!(slug("Prod – EU #2"), "prod-eu-2");
        assert_eq!(slug("  batch_jobs  "), "batch-jobs");
        assert_eq!(slug("日本"), "key");
        let taken: HashSet<String> = ["prod".to_string(), "prod-abc123".to_string()].into();
        assert_eq!(
            unique_slug("Prod", "apikey_01XYZABC", |a| Ok(taken.contains(a))).unwrap(),
            "prod-xyzabc"
        );
        assert_eq!(
            unique_slug("Prod", "apikey_00ABC123", |a| Ok(taken.contains(a))).unwrap(),
            "prod-abc123-2"
        );
    }
}

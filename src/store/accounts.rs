//! Accounts as the store knows them: status (`active`/`exhausted`) and the last successful
//! sync ("data as of").

use super::Tx;
use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::parse_ts;
use crate::alert::AccountStatus;
use crate::time::ts;

/// An account as the store records it: its name and its selector, as text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountRecord<'a> {
    pub name: &'a str,
    pub selector: &'a str,
}

#[derive(Debug, Clone)]
pub(crate) struct AccountRow {
    pub selector: String,
    pub status: AccountStatus,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// What the account was last evaluated as (an opaque fingerprint); `None`: never.
    pub fingerprint: Option<i64>,
    /// When passing time alone could next change its decision (`incremental::recheck_at`).
    pub recheck_at: Option<DateTime<Utc>>,
}

/// Records configured accounts (new ones start `active`); existing rows keep their state.
/// Accounts already stored with the same selector (`known`) are not written again.
pub(crate) fn upsert(
    tx: &Tx<'_>,
    accounts: &[AccountRecord<'_>],
    known: &HashMap<String, AccountRow>,
    now: DateTime<Utc>,
) -> Result<()> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO accounts (name, selector, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET selector = excluded.selector
         WHERE selector IS NOT excluded.selector",
    )?;
    let now = ts(now);
    for a in accounts {
        if known.get(a.name).is_none_or(|k| k.selector != a.selector) {
            stmt.execute(params![a.name, a.selector, now])?;
        }
    }
    Ok(())
}

pub(crate) fn states(tx: &Tx<'_>) -> Result<HashMap<String, AccountRow>> {
    let conn = tx.conn();
    read_states(conn, "", [])
}

/// `states` of the accounts `names` only (those stored).
pub(crate) fn states_of(tx: &Tx<'_>, names: &[&str]) -> Result<HashMap<String, AccountRow>> {
    let conn = tx.conn();
    read_states(
        conn,
        "WHERE name IN (SELECT value FROM json_each(?1))",
        [serde_json::to_string(names)?],
    )
}

fn read_states(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<HashMap<String, AccountRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT name, status, last_synced_at, selector, fingerprint, recheck_at FROM accounts {filter}"
    ))?;
    let rows = stmt.query_map(args, |r| {
        let status: String = r.get(1)?;
        let synced: Option<String> = r.get(2)?;
        let recheck: Option<String> = r.get(5)?;
        Ok((
            r.get::<_, String>(0)?,
            AccountRow {
                selector: r.get(3)?,
                status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Active),
                last_synced_at: synced.as_deref().map(parse_ts).transpose()?,
                fingerprint: r.get(4)?,
                recheck_at: recheck.as_deref().map(parse_ts).transpose()?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_status(
    tx: &Tx<'_>,
    name: &str,
    status: AccountStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached("UPDATE accounts SET status = ?2, status_since = ?3 WHERE name = ?1")?
        .execute(params![name, status.as_str(), ts(now)])?;
    Ok(())
}

/// Each account's own last-synced mark, where it has one.
pub(crate) fn last_synced(tx: &Tx<'_>) -> Result<LastSynced> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(
        "SELECT name, last_synced_at FROM accounts WHERE last_synced_at IS NOT NULL
         ORDER BY name COLLATE BINARY",
    )?;
    let mut rows = stmt.query([])?;
    let mut marks = Vec::new();
    // Accounts synced together share a mark: each distinct text is parsed once.
    let mut last: Option<(String, DateTime<Utc>)> = None;
    while let Some(r) = rows.next()? {
        let text = r.get_ref(1)?.as_str()?;
        let at = match &last {
            Some((t, at)) if t == text => *at,
            _ => {
                let at = parse_ts(text)?;
                last = Some((text.to_owned(), at));
                at
            }
        };
        marks.push((r.get(0)?, at));
    }
    Ok(LastSynced {
        marks,
        next: std::cell::Cell::new(0),
    })
}

/// Accounts' own last-synced marks, in order of name (bytes, as `str` orders them): no map
/// to build for the 100,000 accounts a sync looks up before every fetch.
pub(crate) struct LastSynced {
    marks: Vec<(String, DateTime<Utc>)>,
    /// Where the mark after the last one found is: discovered accounts come in name order
    /// too (`keys::active`), so most lookups are one comparison, not a binary search.
    next: std::cell::Cell<usize>,
}

impl LastSynced {
    pub(crate) fn get(&self, name: &str) -> Option<DateTime<Utc>> {
        let next = self.next.get();
        let i = match self.marks.get(next) {
            Some((n, _)) if n == name => next,
            _ => self
                .marks
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
                .ok()?,
        };
        self.next.set(i + 1);
        Some(self.marks[i].1)
    }
}

/// Records what an account was evaluated as.
pub(crate) fn set_fingerprint(tx: &Tx<'_>, name: &str, fingerprint: i64) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached("UPDATE accounts SET fingerprint = ?2 WHERE name = ?1")?
        .execute(params![name, fingerprint])?;
    Ok(())
}

/// Records when passing time alone could next change an account's decision (`None`: no such
/// moment pending).
pub(crate) fn set_recheck(tx: &Tx<'_>, name: &str, at: Option<DateTime<Utc>>) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached("UPDATE accounts SET recheck_at = ?2 WHERE name = ?1")?
        .execute(params![name, at.map(ts)])?;
    Ok(())
}

/// Answered by the index `accounts_recheck`, which holds only the accounts with a moment.
pub(super) const DUE_FOR_RECHECK: &str = "SELECT name FROM accounts WHERE recheck_at <= ?1";
/// Answered by the index `accounts_never_synced`, empty in a steady state.
pub(super) const NEVER_SYNCED: &str =
    "SELECT name FROM accounts WHERE last_synced_at IS NULL ORDER BY name";

/// The accounts whose recheck moment has come by `now`, in order of name.
pub(crate) fn due_for_recheck(tx: &Tx<'_>, now: DateTime<Utc>) -> Result<Vec<String>> {
    let conn = tx.conn();
    // Sorted here: with an ORDER BY, SQLite walks every account by name instead of the few
    // in `accounts_recheck`.
    let mut stmt = conn.prepare_cached(DUE_FOR_RECHECK)?;
    let rows = stmt.query_map([ts(now)], |r| r.get(0))?;
    let mut names: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
    names.sort_unstable();
    Ok(names)
}

/// Forgets what an account was evaluated as: its next evaluation is unconditional.
pub(crate) fn clear_fingerprint(tx: &Tx<'_>, name: &str) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached("UPDATE accounts SET fingerprint = NULL WHERE name = ?1")?
        .execute([name])?;
    Ok(())
}

/// The accounts never marked synced, by name.
pub(crate) fn never_synced(tx: &Tx<'_>) -> Result<Vec<String>> {
    let conn = tx.conn();
    let mut stmt = conn.prepare_cached(NEVER_SYNCED)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records that these accounts' data is current as of `as_of` (one statement, however many).
pub(crate) fn mark_synced(tx: &Tx<'_>, names: &[&str], as_of: DateTime<Utc>) -> Result<()> {
    let conn = tx.conn();
    conn.prepare_cached(
        "UPDATE accounts SET last_synced_at = ?2 WHERE name IN (SELECT value FROM json_each(?1))",
    )?
    .execute(params![serde_json::to_string(names)?, ts(as_of)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups in name order, out of it, and of names without a mark all find what a
    /// binary search would.
    #[test]
    fn last_synced_finds_marks_in_any_order() {
        let at = |s: &str| crate::time::parse(s).unwrap();
        let marks = LastSynced {
            marks: ["a", "b", "c", "e"]
                .iter()
                .enumerate()
                .map(|(i, n)| ((*n).to_string(), at(&format!("2026-11-2{i}T00:00:00Z"))))
                .collect(),
            next: std::cell::Cell::new(0),
        };
        let looked = |names: &[&str]| -> Vec<Option<String>> {
            names
                .iter()
                .map(|n| marks.get(n).map(|t| t.to_rfc3339()[..10].to_string()))
                .collect()
        };
        let day = |d: &str| Some(d.to_string());
        assert_eq!(
            looked(&["a", "b", "c", "d", "e", "f"]),
            [
                day("2026-11-20"),
                day("2026-11-21"),
                day("2026-11-22"),
                None,
                day("2026-11-23"),
                None
            ]
        );
        assert_eq!(
            looked(&["e", "a", "a", "c", "b", "zz", "b"]),
            [
                day("2026-11-23"),
                day("2026-11-20"),
                day("2026-11-20"),
                day("2026-11-22"),
                day("2026-11-21"),
                None,
                day("2026-11-21")
            ]
        );
    }
}

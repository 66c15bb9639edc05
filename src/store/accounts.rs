//! Accounts as the store knows them: status (`active`/`exhausted`) and the last successful
//! sync ("data as of").

use super::Tx;
use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::sql::{Row, Val, vals};
use crate::alert::AccountStatus;

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

/// Accounts written per statement by `upsert`.
const UPSERT_BATCH: usize = 500;

/// Records configured accounts (new ones start `active`); existing rows keep their state.
/// Accounts already stored with the same selector (`known`) are not written again.
pub(crate) fn upsert(
    tx: &Tx<'_>,
    accounts: &[AccountRecord<'_>],
    known: &HashMap<String, AccountRow>,
    now: DateTime<Utc>,
) -> Result<()> {
    let todo: Vec<&AccountRecord<'_>> = accounts
        .iter()
        .filter(|a| known.get(a.name).is_none_or(|k| k.selector != a.selector))
        .collect();
    // Many rows a statement: a first sync of 100,000 discovered keys is 200 statements, not
    // 100,000 round trips to a database server.
    for chunk in todo.chunks(UPSERT_BATCH) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let args: Vec<Val> = chunk
            .iter()
            .flat_map(|a| [Val::from(a.name), Val::from(a.selector), Val::from(now)])
            .collect();
        tx.exec(
            &format!(
                "INSERT INTO accounts (name, selector, created_at) VALUES {}
                 ON CONFLICT (name) DO UPDATE SET selector = excluded.selector
                 WHERE accounts.selector IS DISTINCT FROM excluded.selector",
                rows.join(", ")
            ),
            &args,
        )?;
    }
    Ok(())
}

pub(crate) fn states(tx: &Tx<'_>) -> Result<HashMap<String, AccountRow>> {
    read_states(tx, "", &[])
}

/// `states` of the accounts `names` only (those stored).
pub(crate) fn states_of(tx: &Tx<'_>, names: &[&str]) -> Result<HashMap<String, AccountRow>> {
    read_states(
        tx,
        &format!("WHERE {}", tx.in_list("name", 1)),
        &[texts(names)],
    )
}

/// A list of names as one parameter, for `Tx::list`.
fn texts(names: &[&str]) -> Val {
    Val::Texts(names.iter().map(|n| (*n).to_owned()).collect())
}

fn read_states(tx: &Tx<'_>, filter: &str, args: &[Val]) -> Result<HashMap<String, AccountRow>> {
    let mut out = HashMap::new();
    tx.each(
        &format!(
            "SELECT name, status, last_synced_at, selector, fingerprint, recheck_at FROM accounts {filter}"
        ),
        args,
        |r: Row<'_>| {
            let status = r.text(1)?;
            out.insert(
                r.text(0)?,
                AccountRow {
                    selector: r.text(3)?,
                    status: AccountStatus::parse(&status).unwrap_or(AccountStatus::Active),
                    last_synced_at: r.opt_time(2)?,
                    fingerprint: r.opt_int(4)?,
                    recheck_at: r.opt_time(5)?,
                },
            );
            Ok(())
        },
    )?;
    Ok(out)
}

pub(crate) fn set_status(
    tx: &Tx<'_>,
    name: &str,
    status: AccountStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "UPDATE accounts SET status = ?2, status_since = ?3 WHERE name = ?1",
        &vals![name, status.as_str(), now],
    )?;
    Ok(())
}

/// Each account's own last-synced mark, where it has one.
pub(crate) fn last_synced(tx: &Tx<'_>) -> Result<LastSynced> {
    // Names sort bytewise in both stores (SQLite's default, PostgreSQL's COLLATE "C").
    let marks = tx.rows(
        "SELECT name, last_synced_at FROM accounts WHERE last_synced_at IS NOT NULL ORDER BY name",
        &[],
        |r| Ok((r.text(0)?, r.time(1)?)),
    )?;
    Ok(LastSynced(marks))
}

/// Accounts' own last-synced marks, in order of name (bytes, as `str` orders them): a
/// sorted list, not a map, for the 100,000 accounts a sync looks up before every fetch.
pub(crate) struct LastSynced(Vec<(String, DateTime<Utc>)>);

impl LastSynced {
    pub(crate) fn get(&self, name: &str) -> Option<DateTime<Utc>> {
        let i = self
            .0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        Some(self.0[i].1)
    }
}

/// Records what an account was evaluated as.
pub(crate) fn set_fingerprint(tx: &Tx<'_>, name: &str, fingerprint: i64) -> Result<()> {
    tx.exec(
        "UPDATE accounts SET fingerprint = ?2 WHERE name = ?1",
        &vals![name, fingerprint],
    )?;
    Ok(())
}

/// Records when passing time alone could next change an account's decision (`None`: no such
/// moment pending).
pub(crate) fn set_recheck(tx: &Tx<'_>, name: &str, at: Option<DateTime<Utc>>) -> Result<()> {
    tx.exec(
        "UPDATE accounts SET recheck_at = ?2 WHERE name = ?1",
        &vals![name, at],
    )?;
    Ok(())
}

/// Answered by the index `accounts_recheck`, which holds only the accounts with a moment.
pub(super) const DUE_FOR_RECHECK: &str = "SELECT name FROM accounts WHERE recheck_at <= ?1";
/// Answered by the index `accounts_never_synced`, empty in a steady state.
pub(super) const NEVER_SYNCED: &str =
    "SELECT name FROM accounts WHERE last_synced_at IS NULL ORDER BY name";

/// The accounts whose recheck moment has come by `now`, in order of name.
pub(crate) fn due_for_recheck(tx: &Tx<'_>, now: DateTime<Utc>) -> Result<Vec<String>> {
    // Sorted here: with an ORDER BY, SQLite walks every account by name instead of the few
    // in `accounts_recheck`.
    let mut names = tx.rows(DUE_FOR_RECHECK, &vals![now], |r| r.text(0))?;
    names.sort_unstable();
    Ok(names)
}

/// Forgets what an account was evaluated as: its next evaluation is unconditional.
pub(crate) fn clear_fingerprint(tx: &Tx<'_>, name: &str) -> Result<()> {
    tx.exec(
        "UPDATE accounts SET fingerprint = NULL WHERE name = ?1",
        &vals![name],
    )?;
    Ok(())
}

/// The accounts never marked synced, by name.
pub(crate) fn never_synced(tx: &Tx<'_>) -> Result<Vec<String>> {
    tx.rows(NEVER_SYNCED, &[], |r| r.text(0))
}

/// Records that these accounts' data is current as of `as_of` (one statement, however many).
pub(crate) fn mark_synced(tx: &Tx<'_>, names: &[&str], as_of: DateTime<Utc>) -> Result<()> {
    tx.exec(
        &format!(
            "UPDATE accounts SET last_synced_at = ?2 WHERE {}",
            tx.in_list("name", 1)
        ),
        &[texts(names), Val::from(as_of)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups in name order, out of it, and of names without a mark.
    #[test]
    fn last_synced_finds_marks_in_any_order() {
        let at = |s: &str| crate::time::parse(s).unwrap();
        let marks = LastSynced(
            ["a", "b", "c", "e"]
                .iter()
                .enumerate()
                .map(|(i, n)| ((*n).to_string(), at(&format!("2026-11-2{i}T00:00:00Z"))))
                .collect(),
        );
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

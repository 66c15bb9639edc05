//! Discovered API keys: each active key is an account named by a stable slug of its name.

use super::Tx;
use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::sql::{Val, vals};
use crate::records::ListedKey;

/// An active key as the store knows it: its id and the account named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub id: String,
    pub account: String,
}

pub(crate) fn active(tx: &Tx<'_>) -> Result<Vec<Known>> {
    tx.rows(
        "SELECT id, account FROM api_keys WHERE active = TRUE ORDER BY account",
        &[],
        |r| {
            Ok(Known {
                id: r.text(0)?,
                account: r.text(1)?,
            })
        },
    )
}

/// What a refresh changed: accounts that appeared and accounts whose key is no longer active.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Refresh {
    pub added: Vec<String>,
    pub deactivated: Vec<String>,
}

/// The keys of a listing in progress, a page at a time, in a temporary table (the
/// connection's own: no lock on the store, and no list in memory). `refresh_staged` then
/// records them in the caller's transaction.
pub(crate) fn stage_page(tx: &Tx<'_>, keys: &[ListedKey]) -> Result<()> {
    staging(tx)?;
    if tx.is_pg() {
        // One statement a page, not a round trip a key. A key listed twice in a page is
        // staged once (one statement cannot update a row twice): where it was first listed,
        // as it was last, like the loop below.
        let mut first: std::collections::HashMap<&str, usize> = Default::default();
        let mut page: Vec<&ListedKey> = Vec::with_capacity(keys.len());
        for k in keys {
            match first.get(k.id.as_str()) {
                Some(&i) => page[i] = k,
                None => {
                    first.insert(&k.id, page.len());
                    page.push(k);
                }
            }
        }
        let col =
            |f: fn(&ListedKey) -> &str| Val::Texts(page.iter().map(|k| f(k).to_owned()).collect());
        tx.exec(
            "INSERT INTO keys_listed (id, name, workspace_id)
             SELECT * FROM unnest(?1::text[], ?2::text[], ?3::text[])
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, workspace_id = excluded.workspace_id",
            &[
                col(|k| &k.id),
                col(|k| &k.name),
                col(|k| k.workspace_id.as_deref().unwrap_or("")),
            ],
        )?;
        return Ok(());
    }
    for k in keys {
        tx.exec(
            "INSERT INTO keys_listed (id, name, workspace_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, workspace_id = excluded.workspace_id",
            &vals![&k.id, &k.name, k.workspace_id.as_deref().unwrap_or("")],
        )?;
    }
    Ok(())
}

/// Of `ids`, those the listing in progress does not have in `column` (`id` or `name`).
pub(crate) fn unlisted(tx: &Tx<'_>, column: &str, ids: &[&str]) -> Result<Vec<String>> {
    debug_assert!(column == "id" || column == "name");
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    staging(tx)?;
    let ids_val = Val::Texts(ids.iter().map(|i| (*i).to_owned()).collect());
    let sql = format!(
        "SELECT DISTINCT {column} FROM keys_listed WHERE {}",
        tx.in_list(column, 1)
    );
    let listed: HashSet<String> = tx
        .rows(&sql, &[ids_val], |r| r.text(0))?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .filter(|id| !listed.contains(**id))
        .map(|id| (*id).to_owned())
        .collect())
}

/// Empties the staging table for a new listing.
pub(crate) fn begin_listing(tx: &Tx<'_>) -> Result<()> {
    staging(tx)?;
    tx.exec("DELETE FROM keys_listed", &[])?;
    Ok(())
}

/// The staging table of a listing, in the order keys were listed.
fn staging(tx: &Tx<'_>) -> Result<()> {
    tx.batch(if tx.is_pg() {
        "CREATE TEMP TABLE IF NOT EXISTS keys_listed (seq bigserial PRIMARY KEY,
             id text COLLATE \"C\" NOT NULL UNIQUE, name text NOT NULL, workspace_id text NOT NULL)"
    } else {
        "CREATE TEMP TABLE IF NOT EXISTS keys_listed (seq INTEGER PRIMARY KEY,
             id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, workspace_id TEXT NOT NULL)"
    })
}

/// Records the currently active keys (all of them staged, see `stage_page`), in the caller's
/// transaction. New keys get a slug no other key or `reserved` (configured) account has;
/// keys not listed stop being active.
pub(crate) fn refresh_staged(
    tx: &Tx<'_>,
    reserved: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Refresh> {
    staging(tx)?;
    let mut out = Refresh::default();
    tx.exec(
        "UPDATE api_keys SET name = s.name, workspace_id = s.workspace_id, active = TRUE, last_seen_at = ?1
         FROM keys_listed AS s WHERE api_keys.id = s.id",
        &vals![now],
    )?;
    let new = tx.rows(
        "SELECT s.id, s.name, s.workspace_id FROM keys_listed AS s
         WHERE NOT EXISTS (SELECT 1 FROM api_keys AS k WHERE k.id = s.id) ORDER BY s.seq",
        &[],
        |r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)),
    )?;
    for (id, name, ws) in new {
        let taken = |a: &str| -> Result<bool> {
            Ok(reserved.contains(a)
                || tx
                    .first(
                        "SELECT 1 FROM api_keys WHERE account = ?1",
                        &vals![a],
                        |_| Ok(()),
                    )?
                    .is_some())
        };
        let account = unique_slug(&name, &id, taken)?;
        tx.exec(
            "INSERT INTO api_keys (id, name, account, workspace_id, active, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, TRUE, ?5, ?5)",
            &vals![&id, &name, &account, &ws, now],
        )?;
        out.added.push(account);
    }
    out.deactivated = tx.rows(
        "UPDATE api_keys SET active = FALSE
         WHERE active = TRUE AND id NOT IN (SELECT id FROM keys_listed) RETURNING account",
        &[],
        |r| r.text(0),
    )?;
    out.deactivated.sort();
    tx.exec("DELETE FROM keys_listed", &[])?;
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

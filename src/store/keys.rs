//! Discovered API keys: each active key is an account named by a stable slug of its name.

use std::collections::HashSet;

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::records::ListedKey;
use crate::time::ts;

/// An active key as the store knows it: its id and the account named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: String,
    pub account: String,
}

pub fn active(conn: &Connection) -> Result<Vec<Known>> {
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
pub struct Refresh {
    pub added: Vec<String>,
    pub deactivated: Vec<String>,
}

/// Records the currently active keys. New keys get a slug no other key or configured account
/// has; keys missing from `listed` stop being active.
pub fn refresh(
    conn: &Connection,
    listed: &[ListedKey],
    reserved: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Refresh> {
    let mut taken: HashSet<String> = reserved.clone();
    {
        let mut stmt = conn.prepare_cached("SELECT account FROM api_keys")?;
        for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
            taken.insert(name?);
        }
    }
    let mut out = Refresh::default();
    let listed_ids: HashSet<&str> = listed.iter().map(|k| k.id.as_str()).collect();
    for k in listed {
        let ws = k.workspace_id.as_deref().unwrap_or("");
        let updated = conn
            .prepare_cached("UPDATE api_keys SET name = ?2, workspace_id = ?3, active = 1, last_seen_at = ?4 WHERE id = ?1")?
            .execute(params![k.id, k.name, ws, ts(now)])?;
        if updated == 0 {
            let account = unique_slug(&k.name, &k.id, &taken);
            taken.insert(account.clone());
            conn.prepare_cached(
                "INSERT INTO api_keys (id, name, account, workspace_id, active, first_seen_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
            )?
            .execute(params![k.id, k.name, account, ws, ts(now)])?;
            out.added.push(account);
        }
    }
    let mut stmt = conn.prepare_cached("SELECT id, account FROM api_keys WHERE active = 1")?;
    let gone: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|(id, _): &(String, String)| !listed_ids.contains(id.as_str()))
        .collect();
    for (id, account) in gone {
        conn.prepare_cached("UPDATE api_keys SET active = 0 WHERE id = ?1")?
            .execute([&id])?;
        out.deactivated.push(account);
    }
    Ok(out)
}

/// A lowercase ASCII slug of a key's name: "Prod – EU #2" → "prod-eu-2".
pub fn slug(name: &str) -> String {
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
fn unique_slug(name: &str, id: &str, taken: &HashSet<String>) -> String {
    let base = slug(name);
    if !taken.contains(&base) {
        return base;
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
    if !taken.contains(&with_tail) {
        return with_tail;
    }
    (2..)
        .map(|n| format!("{with_tail}-{n}"))
        .find(|c| !taken.contains(c))
        .expect("an unused name")
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
            unique_slug("Prod", "apikey_01XYZABC", &taken),
            "prod-xyzabc"
        );
        assert_eq!(
            unique_slug("Prod", "apikey_00ABC123", &taken),
            "prod-abc123-2"
        );
    }
}

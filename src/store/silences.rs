//! Silences: held notifications, by alert or by account globs, until they end.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Tx;
use super::sql::vals;

/// What a silence holds back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One alert, by id (quota's own health alerts only this way).
    Alert(String),
    /// Every account alert of the accounts these names or globs select.
    Accounts(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Silence {
    pub id: String,
    pub target: Target,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: Option<String>,
    pub created_by: Option<String>,
}

impl Silence {
    /// Whether it holds back the notifications of an alert of `account` with this id.
    pub(crate) fn holds(&self, alert_id: &str, account: &str) -> bool {
        match &self.target {
            Target::Alert(id) => id == alert_id,
            // Health alerts belong to no account: a silence of accounts never hides them.
            Target::Accounts(globs) => {
                !account.is_empty()
                    && globs
                        .iter()
                        .any(|g| crate::account::matches_glob(g, account))
            }
        }
    }
}

pub(crate) fn insert(tx: &Tx<'_>, s: &Silence) -> Result<()> {
    let (alert, accounts) = match &s.target {
        Target::Alert(id) => (Some(id.clone()), None),
        Target::Accounts(globs) => (None, Some(serde_json::to_string(globs)?)),
    };
    tx.exec(
        "INSERT INTO silences (id, alert_id, accounts, starts_at, ends_at, comment, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &vals![
            &s.id,
            alert,
            accounts,
            s.starts_at,
            s.ends_at,
            s.comment.as_deref(),
            s.created_by.as_deref()
        ],
    )?;
    Ok(())
}

/// The silences in force at `now`, soonest to end first.
pub(crate) fn active(tx: &Tx<'_>, now: DateTime<Utc>) -> Result<Vec<Silence>> {
    tx.rows(
        "SELECT id, alert_id, accounts, starts_at, ends_at, comment, created_by FROM silences
         WHERE ended_at IS NULL AND starts_at <= ?1 AND ends_at > ?1 ORDER BY ends_at, id",
        &vals![now],
        |r| {
            let target = match (r.opt_text(1)?, r.opt_text(2)?) {
                (Some(id), _) => Target::Alert(id),
                (None, Some(json)) => Target::Accounts(serde_json::from_str(&json)?),
                (None, None) => Target::Accounts(Vec::new()),
            };
            Ok(Silence {
                id: r.text(0)?,
                target,
                starts_at: r.time(3)?,
                ends_at: r.time(4)?,
                comment: r.opt_text(5)?,
                created_by: r.opt_text(6)?,
            })
        },
    )
}

/// Ends the silence whose id starts with `prefix` now, and releases what it held: the
/// deliveries waiting for its end are due at once. Its id, or `None` when no silence in
/// force has that prefix; an error when several have.
pub(crate) fn end(tx: &Tx<'_>, prefix: &str, now: DateTime<Utc>) -> Result<Option<String>> {
    let found = tx.rows(
        "SELECT id, ends_at FROM silences WHERE ended_at IS NULL AND ends_at > ?2
         AND id >= ?1 AND id < ?1 || 'g' LIMIT 2",
        &vals![prefix, now],
        |r| Ok((r.text(0)?, r.time(1)?)),
    )?;
    let (id, ends_at) = match found.as_slice() {
        [] => return Ok(None),
        [one] => one.clone(),
        _ => anyhow::bail!("{prefix} matches several silences: give more characters of the id"),
    };
    tx.exec(
        "UPDATE silences SET ended_at = ?2 WHERE id = ?1",
        &vals![&id, now],
    )?;
    tx.exec(
        "UPDATE outbox SET next_attempt_at = ?2 WHERE state = 'pending' AND next_attempt_at = ?1",
        &vals![ends_at, now],
    )?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account globs never hold quota's own health alerts (account ""); an id does.
    #[test]
    fn what_a_silence_holds() {
        let at = crate::time::parse("2026-11-20T12:00:00Z").unwrap();
        let silence = |target| Silence {
            id: "s".into(),
            target,
            starts_at: at,
            ends_at: at,
            comment: None,
            created_by: None,
        };
        let all = silence(Target::Accounts(vec!["*".into()]));
        assert!(all.holds("a1", "production"));
        assert!(
            !all.holds("a2", ""),
            "sync_failing is not hidden by an account glob"
        );
        let one = silence(Target::Alert("a2".into()));
        assert!(one.holds("a2", "") && !one.holds("a1", "production"));
    }
}

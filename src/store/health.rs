//! `read_health`: how each read of a sync went, so that a monitor that cannot see says so.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Tx;
use super::sql::vals;
use crate::records::ReadHealth;

/// Records an attempt of `read` at `now`: a success ends any streak; a failure starts or
/// extends one, with its error line.
pub(crate) fn record(
    tx: &Tx<'_>,
    read: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let sql = match error {
        None => {
            "INSERT INTO read_health (read, last_success_at, last_attempt_at) VALUES (?1, ?2, ?2)
             ON CONFLICT (read) DO UPDATE SET last_success_at = ?2, last_attempt_at = ?2,
                 failing_since = NULL, failures = 0"
        }
        Some(_) => {
            "INSERT INTO read_health (read, last_attempt_at, failing_since, failures, last_error)
                 VALUES (?1, ?2, ?2, 1, ?3)
             ON CONFLICT (read) DO UPDATE SET last_attempt_at = ?2,
                 failing_since = coalesce(read_health.failing_since, ?2),
                 failures = read_health.failures + 1,
                 last_error = ?3"
        }
    };
    match error {
        None => tx.exec(sql, &vals![read, now])?,
        Some(e) => tx.exec(sql, &vals![read, now, e])?,
    };
    Ok(())
}

/// Every read's state, in order of read.
pub(crate) fn all(tx: &Tx<'_>) -> Result<Vec<ReadHealth>> {
    tx.rows(
        "SELECT read, last_success_at, last_attempt_at, failing_since, failures, last_error
         FROM read_health ORDER BY read",
        &[],
        |r| {
            Ok(ReadHealth {
                read: r.text(0)?,
                last_success_at: r.opt_time(1)?,
                last_attempt_at: r.time(2)?,
                failing_since: r.opt_time(3)?,
                failures: u64::try_from(r.int(4)?)?,
                last_error: r.opt_text(5)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_begins_grows_and_ends_with_a_success() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let at = |s: &str| crate::time::parse(s).unwrap();
        store
            .write(|tx| {
                record(tx, "usage", None, at("2026-11-20T12:00:00Z"))?;
                record(tx, "usage", Some("401"), at("2026-11-20T12:01:00Z"))?;
                record(tx, "usage", Some("500"), at("2026-11-20T12:02:00Z"))
            })
            .unwrap();
        let h = store.read(all).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].failures, 2);
        assert_eq!(h[0].failing_since, Some(at("2026-11-20T12:01:00Z")));
        assert_eq!(h[0].last_success_at, Some(at("2026-11-20T12:00:00Z")));
        assert_eq!(h[0].last_error.as_deref(), Some("500"));
        store
            .write(|tx| record(tx, "usage", None, at("2026-11-20T12:03:00Z")))
            .unwrap();
        let h = store.read(all).unwrap();
        assert_eq!((h[0].failures, h[0].failing_since), (0, None));
        assert_eq!(h[0].last_success_at, Some(at("2026-11-20T12:03:00Z")));
    }
}

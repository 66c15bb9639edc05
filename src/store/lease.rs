//! Leases: which run reads the Admin API for a minute, when hosts share one store. Taken
//! and checked in write transactions, which every writer takes in turn (the store's write
//! lock), so two runs never both hold one.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Tx;
use super::sql::vals;

/// The lease of the Admin API fetch.
pub(crate) const FETCH: &str = "fetch";

/// Takes lease `name` for `slot` (a minute) when no other host holds that slot or a later
/// one: the fencing token, or `None` when another host has this minute. `holder` is
/// `host:pid`; a host may take its own minute again (a second run of the same host, which
/// shares the minute's token).
pub(crate) fn take(
    tx: &Tx<'_>,
    name: &str,
    holder: &str,
    slot: DateTime<Utc>,
) -> Result<Option<i64>> {
    let held = tx.first(
        "SELECT token, slot, holder FROM leases WHERE name = ?1",
        &vals![name],
        |r| Ok((r.int(0)?, r.time(1)?, r.text(2)?)),
    )?;
    let host = |h: &str| h.rsplit_once(':').map_or(h, |(host, _)| host).to_owned();
    let token = match held {
        None => 1,
        Some((token, taken, by)) => {
            if taken > slot || (taken == slot && host(&by) != host(holder)) {
                return Ok(None);
            }
            if taken == slot {
                // The host's own minute: its runs share the token (its runs in parallel
                // all record; only another host's later minute fences them off).
                return Ok(Some(token));
            }
            token + 1
        }
    };
    tx.exec(
        "INSERT INTO leases (name, holder, token, slot) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token,
             slot = excluded.slot",
        &vals![name, holder, token, slot],
    )?;
    Ok(Some(token))
}

/// Whether `token` is still lease `name`'s (no run took a later minute since).
pub(crate) fn holds(tx: &Tx<'_>, name: &str, token: i64) -> Result<bool> {
    let now = tx.first(
        "SELECT token FROM leases WHERE name = ?1",
        &vals![name],
        |r| r.int(0),
    )?;
    Ok(now == Some(token))
}

/// Who holds lease `name`, and for which minute.
pub(crate) fn holder(tx: &Tx<'_>, name: &str) -> Result<Option<(String, DateTime<Utc>)>> {
    tx.first(
        "SELECT holder, slot FROM leases WHERE name = ?1",
        &vals![name],
        |r| Ok((r.text(0)?, r.time(1)?)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_a_minute_and_a_token_that_fences_the_last() {
        let (_dir, mut store) = crate::store::Store::temporary();
        let at = |s: &str| crate::time::parse(s).unwrap();
        let minute = at("2026-11-20T12:00:00Z");
        let a = store.write(|tx| take(tx, FETCH, "a:1", minute)).unwrap();
        assert_eq!(a, Some(1));
        let b = store.write(|tx| take(tx, FETCH, "b:2", minute)).unwrap();
        assert_eq!(b, None, "this minute is host a's");
        let a2 = store.write(|tx| take(tx, FETCH, "a:3", minute)).unwrap();
        assert_eq!(a2, Some(1), "host a may read again in its minute");
        let b = store
            .write(|tx| take(tx, FETCH, "b:2", at("2026-11-20T12:01:00Z")))
            .unwrap();
        assert_eq!(b, Some(2));
        assert!(
            !store.read(|tx| holds(tx, FETCH, 1)).unwrap(),
            "a is fenced off"
        );
        assert!(store.read(|tx| holds(tx, FETCH, 2)).unwrap());
        let late = store.write(|tx| take(tx, FETCH, "a:1", minute)).unwrap();
        assert_eq!(late, None, "an earlier minute is never taken again");
        assert_eq!(
            store.read(|tx| holder(tx, FETCH)).unwrap(),
            Some(("b:2".into(), at("2026-11-20T12:01:00Z")))
        );
    }
}

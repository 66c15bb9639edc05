//! The store, SQLite (one host, the default) or PostgreSQL (hosts that share it): opening it
//! safely, migrations, and the queries of each concern. SQL lives here and in
//! `migrations/`, nowhere else, written once for both backends (`sql`: values in, typed rows
//! out; the few spellings that differ come from `Tx`). The store is domain-free: it speaks in plain
//! records (rows in, rows out) and decides nothing; it imports neither the reconciliation
//! core nor the config. Which alerts to raise, which channels hear of them and what a
//! reading means are decided above it.
//!
//! # The surface
//!
//! Both backends answer all of this; callers never learn which one they have but through
//! `Store::shared` (several hosts may write: take the fetch lease):
//!
//! - **`Store`**: `open(path)` / `open_pg(target)` (create, migrate, refuse a newer
//!   schema), `write(f)` (one
//!   serialisable write transaction, all or nothing, that waits its turn under contention),
//!   `read(f)` (one consistent snapshot), `scratch(f)` (staging tables private to the
//!   process, written without a lock on the store). Everything below takes the
//!   transaction, `Tx`.
//! - **state** (`get_state`, `set_state`, `clear_state`): small named facts
//!   (`Fact`: when each read last ran, where a cut-short read resumes, what the last
//!   evaluation covered) as text.
//! - **`usage`**: `staging(read)` for a read (its source, first day, and whether it reads
//!   every key: rows the store holds as they are need not be staged), filled by
//!   `ingest(fetch)` (rows in batches, a failed page taken back); `commit` stores a part
//!   of a long read, `finish()` hands the rest to `upsert_staged(staged, source, now,
//!   changed)` in the caller's transaction: per (key, workspace, day), replacing, never
//!   adding, and telling `changed` which (key, workspace) it wrote; `segment_sums(bounds,
//!   rows)` sums per (key, workspace) (or per workspace) between ascending bounds, for all
//!   keys, a list or a range of them; `prune(before)`.
//! - **`cost`**: `upsert(rows, now)` per (workspace, day); `since(day)`; `prune(before)`.
//! - **`accounts`**: `upsert(records, known, now)`, `states()`, `states_of(names)`,
//!   `last_synced()`, `set_status(name, status, now)`, `mark_synced(names, as_of)`,
//!   `never_synced()`, `set_fingerprint(name, value)` and `clear_fingerprint(name)` (an
//!   opaque number: what the account was evaluated as), `set_recheck(name, at)` and
//!   `due_for_recheck(now)`.
//! - **`alerts`**: `insert(alert)` (false on a duplicate identity: a unique index over NOT NULL
//!   columns, not code, guarantees one alert per identity), `reopen(id, firing)`,
//!   `resolve(id, resolution, comment, now)` (false when not open), `for_reconcile(earliest,
//!   only)`, `list(filter)`, `by_prefix(prefix, limit)`, `open_counts()`,
//!   `open_by_severity()`, `accounts_with_open()`.
//! - **`outbox`**: `enqueue(alert id, event, channels, now)` in the transaction that changed
//!   the alert; `due(now)`, `mark_delivered`, `mark_retry`, `mark_failed`, `expire(cutoff)`,
//!   `backlog()`.
//! - **`keys`**: `begin_listing()` and `stage_page(keys)` (staging), `refresh_staged(reserved
//!   names, now)` (stable unique slugs; keys not listed deactivated), `active()`.
//! - **`developers`**: `replace_days(days, rows, now)` (a day read whole replaces that day),
//!   `since(day)`, `prune(before)`; `refresh_actors(seen, reserved, now)` (stable unique
//!   names), `actors()`.
//! - **`lease`**: `take(name, holder, minute)` (the minute's Admin API read, with a fencing
//!   token), `holds(name, token)`, `holder(name)`.
//! - **`outbox` claims**: `claim(holder, until, now, only)` (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), `still_claimed(ids, holder)`, `release(holder)`.
//! - **`copy_to(file)`**: a consistent online copy into a new SQLite file, checked against
//!   the store before it takes the target's name; **`copy_into(store)`**: every table into
//!   an empty store of either backend, checked by counts and sums before it commits
//!   (`quota db copy`).
//!
//! Records are the plain structs of `alert`, `quota::DayUsage`, `records` and the ones
//! defined here. SQLite keeps timestamps as UTC RFC 3339 text (`time::ts`), days as
//! `YYYY-MM-DD` and money as decimal text; PostgreSQL as `timestamptz`, `date` and `numeric`.
//! Null API ids are stored as `''` so identities stay NOT NULL. Ids and names sort bytewise
//! in both (PostgreSQL's columns are `COLLATE "C"`).
//!
//! Writers take turns. On SQLite every writing transaction is `BEGIN IMMEDIATE`: a deferred
//! read-then-write transaction fails with "database is locked" under contention whatever the
//! busy timeout, an immediate one waits its turn. WAL lets readers run beside the writer;
//! `synchronous=FULL` because a commit a minute costs nothing and a power cut must not undo a
//! recorded notification. On PostgreSQL every writing transaction first takes one
//! transaction-scoped advisory lock (`pg`), so the runs of every host decide one after
//! another; reads are `REPEATABLE READ` snapshots.

/// A schema's migrations in order, one file a version: `(name, SQL)`, from
/// `migrations/<dir>`. Append-only: never edit, reorder or remove an entry once released.
macro_rules! migrations {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../migrations/", $dir, $name, ".sql")))),+]
    };
}

pub(crate) mod accounts;
pub(crate) mod alerts;
mod backup;
pub(crate) mod burn;
mod copy;
pub(crate) mod cost;
pub(crate) mod developers;
pub(crate) mod health;
pub(crate) mod keys;
pub(crate) mod lease;
mod open;
pub(crate) mod outbox;
mod pg;
pub(crate) mod silences;
mod sql;
mod state;
pub(crate) mod usage;

use open::{create_private, explain_open_error, migrate, wal};
pub(crate) use pg::PgTarget;
use sql::{PgStatements, vals};
pub(crate) use state::{Fact, clear_state, get_state, get_time, set_state, set_time};

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// A transaction of the store: every function of its surface takes one, and no caller sees
/// what it is made of (a SQLite or a PostgreSQL transaction).
pub(crate) struct Tx<'c>(TxInner<'c>);

enum TxInner<'c> {
    Lite(Transaction<'c>),
    Pg {
        tx: RefCell<postgres::Transaction<'c>>,
        statements: RefCell<&'c mut PgStatements>,
    },
}

impl Tx<'_> {
    /// The SQLite connection, for what only the file store does (staging, its indexes).
    pub(super) fn lite(&self) -> Option<&Connection> {
        match &self.0 {
            TxInner::Lite(t) => Some(t),
            TxInner::Pg { .. } => None,
        }
    }

    /// Every row of `sql`, its columns joined by `|` (text as it is, the rest as debug):
    /// for tests that compare whole tables (SQLite).
    #[cfg(test)]
    pub(crate) fn dump(&self, sql: &str) -> Result<Vec<String>> {
        let conn = self.lite().context("dump reads SQLite")?;
        let mut stmt = conn.prepare(sql)?;
        let n = stmt.column_count();
        let rows = stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        v => format!("{v:?}"),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(|v| v.join("|"))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// How long a writer waits for another to finish. Sync transactions last milliseconds; this
/// only has to outlast a burst of parallel runs.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Store {
    db: Db,
}

enum Db {
    Lite { conn: Connection, path: PathBuf },
    Pg(Box<pg::Session>),
}

impl Store {
    /// Opens (creating if needed) the database, owner-only, and brings its schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Store> {
        Self::open_inner(path).map_err(|e| explain_open_error(path, e))
    }

    fn open_inner(path: &Path) -> Result<Store> {
        create_private(path)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        wal(&conn)?;
        // Foreign keys are off while migrating: a migration may rebuild a referenced table
        // (SQLite's documented way to change a constraint); it checks them before committing.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")?;
        migrate(&mut conn, path)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        Ok(Store {
            db: Db::Lite {
                conn,
                path: path.to_path_buf(),
            },
        })
    }

    /// Connects to a PostgreSQL store and brings its schema up to date.
    pub(crate) fn open_pg(target: &PgTarget) -> Result<Store> {
        let session = pg::Session::open(target, true)?
            .context("a PostgreSQL store that was just created is missing")?;
        Ok(Store {
            db: Db::Pg(Box::new(session)),
        })
    }

    /// The PostgreSQL store, if its database holds one already (nothing is created).
    pub(crate) fn open_existing_pg(target: &PgTarget) -> Result<Option<Store>> {
        Ok(pg::Session::open(target, false)?.map(|s| Store {
            db: Db::Pg(Box::new(s)),
        }))
    }

    /// An empty store in a temporary directory, kept while the directory lives (tests).
    #[cfg(test)]
    pub(crate) fn temporary() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("q.db")).unwrap();
        (dir, store)
    }

    /// Whether several hosts may share this store (PostgreSQL): runs then take the fetch
    /// lease (`lease`) before they read the Admin API.
    pub(crate) fn shared(&self) -> bool {
        matches!(self.db, Db::Pg(_))
    }

    /// Where the store is, for messages (a PostgreSQL URL without its password).
    pub(crate) fn shown(&self) -> String {
        match &self.db {
            Db::Lite { path, .. } => path.display().to_string(),
            Db::Pg(s) => s.shown.clone(),
        }
    }

    /// The SQLite connection and file, for what only the file store does.
    fn lite(&mut self) -> Option<(&mut Connection, &Path)> {
        match &mut self.db {
            Db::Lite { conn, path } => Some((conn, path)),
            Db::Pg(_) => None,
        }
    }

    /// Runs `f` in one write transaction: all of it commits, or none of it. Writers take
    /// turns (SQLite's `BEGIN IMMEDIATE`; on PostgreSQL, one transaction-scoped advisory lock
    /// that every writer of every host takes first).
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &mut self.db {
            Db::Lite { conn, path } => {
                Self::write_lite(conn, path, f).map_err(|e| open::explain_write_error(path, e))
            }
            Db::Pg(s) => s.write(f),
        }
    }

    fn write_lite<T>(
        conn: &mut Connection,
        path: &Path,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("cannot start a write transaction on {}", path.display()))?;
        let tx = Tx(TxInner::Lite(tx));
        let value = f(&tx)?;
        let TxInner::Lite(tx) = tx.0 else {
            bail!("a SQLite transaction changed backend")
        };
        tx.commit()
            .with_context(|| format!("cannot commit to {}", path.display()))?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so every query sees the same snapshot.
    pub(crate) fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &mut self.db {
            Db::Lite { conn, .. } => Self::deferred(conn, f, false),
            Db::Pg(s) => s.read(f),
        }
    }

    /// A transaction for the connection's temporary tables (staging): committed, and since
    /// it writes only temporary tables it takes no lock on the store. `f` must write
    /// nothing else.
    pub(crate) fn scratch<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &mut self.db {
            Db::Lite { conn, .. } => Self::deferred(conn, f, true),
            Db::Pg(s) => s.scratch(f),
        }
    }

    fn deferred<T>(
        conn: &mut Connection,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
        commit: bool,
    ) -> Result<T> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let tx = Tx(TxInner::Lite(tx));
        let value = f(&tx)?;
        let TxInner::Lite(tx) = tx.0 else {
            bail!("a SQLite transaction changed backend")
        };
        if commit {
            tx.commit()?;
        } else {
            tx.finish()?;
        }
        Ok(value)
    }
}

/// Deletes the rows of a per-day table older than `before` (retention). Returns how many.
fn prune_days(tx: &Tx<'_>, table: &str, before: NaiveDate) -> Result<usize> {
    tx.exec(
        &format!("DELETE FROM {table} WHERE day < ?1"),
        &vals![before],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An incremental pass of 100,000 accounts must not scan them to find the few it needs.
    #[test]
    fn what_every_sync_asks_is_answered_by_an_index() {
        let (_dir, mut store) = Store::temporary();
        let of_some = store
            .read(|tx| Ok(alerts::reconcile_sql(tx, true)))
            .unwrap();
        let Db::Lite { conn, .. } = &store.db else {
            unreachable!()
        };
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Parameters left unbound: the plan does not depend on their values.
            let mut rows = stmt.raw_query();
            let mut steps = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                steps.push(r.get::<_, String>(3).unwrap());
            }
            steps.join("; ")
        };
        let p = plan(accounts::DUE_FOR_RECHECK);
        assert!(
            p.contains("SEARCH accounts USING INDEX accounts_recheck"),
            "{p}"
        );
        let p = plan(accounts::NEVER_SYNCED);
        assert!(p.contains("USING INDEX accounts_never_synced"), "{p}");
        let p = plan(&of_some);
        assert!(
            p.contains("SEARCH alerts USING INDEX alerts_identity (account=?)"),
            "{p}"
        );
    }

    #[test]
    fn migrates_once_and_refuses_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/quota.db");
        drop(Store::open(&path).unwrap());
        drop(Store::open(&path).unwrap());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(
            err.contains("newer quota") && err.contains("upgrade quota"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quota.db");
        std::fs::write(
            &path,
            "this is not a database, it is a text file of some length ......",
        )
        .unwrap();
        let err = format!("{:#}", Store::open(&path).err().unwrap());
        assert!(err.contains("not a quota database"), "{err}");
    }
}

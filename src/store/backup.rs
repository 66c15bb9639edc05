//! A consistent online copy of the store into a new SQLite file (`quota db copy --to FILE`).
//!
//! A PostgreSQL store is copied table by table from one snapshot (`copy`). A SQLite store
//! is copied by SQLite's `VACUUM INTO`, made while a second connection holds the write lock:
//! readers go on, a sync that wants to write waits (up to the busy timeout), so the copy and
//! the check after it see the same committed state. The file is written beside the target
//! as `<target>.partial` (owner-only), checked table by table against the source (row
//! counts, then every row both ways) and only then renamed into place: a failed or killed
//! copy leaves no target, and its leftover `.partial` is replaced by the next run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, TransactionBehavior};

use super::open::create_private;
use super::{BUSY_TIMEOUT, Store};

/// What a copy holds, checked against the source.
#[derive(Debug)]
pub(crate) struct Copied {
    /// The schema version (the number of migrations applied).
    pub schema: usize,
    /// Each table and its row count, by name.
    pub tables: Vec<(String, u64)>,
}

impl Store {
    /// Copies the store into `target`, a path that must not exist (the caller says so to the
    /// user; this refuses it too, and never writes over a file).
    pub(crate) fn copy_to(&mut self, target: &Path) -> Result<Copied> {
        if target.exists() {
            bail!("{} already exists", target.display());
        }
        let partial = partial_path(target);
        match std::fs::remove_file(&partial) {
            Ok(()) => log::info!("removed {} left by an earlier copy", partial.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", partial.display()));
            }
        }
        create_private(&partial)?;
        let copied = if self.lite().is_some() {
            self.copy_checked(&partial)
        } else {
            self.copy_from_pg(&partial)
        };
        let copied = copied.and_then(|c| {
            durable_rename(&partial, target)?;
            Ok(c)
        });
        if copied.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        copied
    }

    /// A PostgreSQL store into a new SQLite file: table by table in one snapshot of the
    /// source, checked by counts and sums.
    fn copy_from_pg(&mut self, partial: &Path) -> Result<Copied> {
        let mut file = Store::open(partial)?;
        let copied = self.copy_into(&mut file)?;
        Ok(Copied {
            schema: super::open::MIGRATIONS.len(),
            tables: copied.tables,
        })
    }

    fn copy_checked(&mut self, partial: &Path) -> Result<Copied> {
        let text = partial
            .to_str()
            .context("the target path is not valid UTF-8; choose another name")?;
        let Some((conn, path)) = self.lite() else {
            bail!("a SQLite copy of a SQLite store")
        };
        // Writers wait while the copy is made and checked; readers do not.
        let mut guard = Connection::open(path)?;
        guard.busy_timeout(BUSY_TIMEOUT)?;
        let lock = guard
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("cannot hold the store still for the copy (a sync kept it busy); try again")?;
        conn.execute("VACUUM INTO ?1", [text])
            .with_context(|| format!("cannot write the copy {}", partial.display()))?;
        conn.execute("ATTACH DATABASE ?1 AS copy", [text])?;
        let checked = compare(conn);
        conn.execute_batch("DETACH DATABASE copy")?;
        lock.rollback()?;
        checked
    }
}

/// The copy, table by table, against the source: same schema version, an intact file, the
/// same tables with the same rows.
fn compare(conn: &Connection) -> Result<Copied> {
    let version = |db: &str| -> Result<usize> {
        Ok(conn.query_row(&format!("PRAGMA {db}.user_version"), [], |r| r.get(0))?)
    };
    let schema = version("main")?;
    if version("copy")? != schema {
        bail!("the copy's schema version differs from the store's");
    }
    let integrity: String = conn.query_row("PRAGMA copy.integrity_check(1)", [], |r| r.get(0))?;
    if integrity != "ok" {
        bail!("the copy failed SQLite's integrity check: {integrity}");
    }
    let names = |db: &str| -> Result<Vec<String>> {
        let sql = format!(
            "SELECT name FROM {db}.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let tables = names("main")?;
    if names("copy")? != tables {
        bail!("the copy's tables differ from the store's");
    }
    let mut counted = Vec::with_capacity(tables.len());
    for table in tables {
        let count = |db: &str| -> Result<u64> {
            Ok(
                conn.query_row(&format!("SELECT count(*) FROM {db}.\"{table}\""), [], |r| {
                    r.get(0)
                })?,
            )
        };
        let rows = count("main")?;
        if count("copy")? != rows {
            bail!("the copy's table {table} has a different number of rows");
        }
        let differing: u64 = conn.query_row(
            &format!(
                "SELECT (SELECT count(*) FROM (SELECT * FROM main.\"{table}\" EXCEPT SELECT * FROM copy.\"{table}\"))
                      + (SELECT count(*) FROM (SELECT * FROM copy.\"{table}\" EXCEPT SELECT * FROM main.\"{table}\"))"
            ),
            [],
            |r| r.get(0),
        )?;
        if differing > 0 {
            bail!("the copy's table {table} differs from the store's in {differing} rows");
        }
        counted.push((table, rows));
    }
    Ok(Copied {
        schema,
        tables: counted,
    })
}

fn partial_path(target: &Path) -> PathBuf {
    let mut name = OsString::from(target.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// Renames `from` over `to` once its bytes are on disk, then makes the rename itself durable.
fn durable_rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::File::open(from)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush {}", from.display()))?;
    // `rename` would replace a file made meanwhile; a hard link fails instead.
    std::fs::hard_link(from, to).with_context(|| format!("cannot create {}", to.display()))?;
    std::fs::remove_file(from).with_context(|| format!("cannot remove {}", from.display()))?;
    let dir = to.parent().filter(|d| !d.as_os_str().is_empty());
    std::fs::File::open(dir.unwrap_or(Path::new(".")))
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot flush the folder of {}", to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_every_row_and_a_second_copy_to_the_same_name_is_refused() {
        let (dir, mut store) = Store::temporary();
        store
            .write(|tx| {
                super::super::set_state(tx, super::super::Fact::LastSuccess, "2026-12-01T00:00:00Z")
            })
            .unwrap();
        let target = dir.path().join("sub/backup.db");
        let copied = store.copy_to(&target).unwrap();
        assert!(copied.schema > 0);
        assert!(copied.tables.contains(&("sync_state".to_string(), 1)));
        assert!(!partial_path(&target).exists());
        let mut copy = Store::open(&target).unwrap();
        let got = copy
            .read(|tx| super::super::get_state(tx, super::super::Fact::LastSuccess))
            .unwrap();
        assert_eq!(got.as_deref(), Some("2026-12-01T00:00:00Z"));
        let before = std::fs::read(&target).unwrap();
        assert!(store.copy_to(&target).is_err());
        assert_eq!(
            std::fs::read(&target).unwrap(),
            before,
            "the target is untouched"
        );
    }

    #[test]
    fn a_partial_file_left_by_a_killed_copy_is_replaced() {
        let (dir, mut store) = Store::temporary();
        let target = dir.path().join("backup.db");
        std::fs::write(partial_path(&target), b"half a copy").unwrap();
        store.copy_to(&target).unwrap();
        assert!(!partial_path(&target).exists());
        Store::open(&target).unwrap();
    }
}

//! Opening the SQLite file safely: created owner-only, WAL mode, migrations applied once
//! (a newer schema refused), and open errors an operator can act on.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::BUSY_TIMEOUT;

/// The schema, one file per version; `PRAGMA user_version` is the number applied.
pub(super) const MIGRATIONS: &[(&str, &str)] = migrations![
    "":
    "0001_initial",
    "0002_discovery_and_cost",
    "0003_usage_by_day",
    "0004_unreported_counts",
    "0005_claude_code",
    "0006_account_removed",
    "0007_evaluated_as",
    "0008_recheck_at",
    "0009_sync_indexes",
    "0010_read_health",
    "0011_health_alerts",
    "0012_silences",
    "0013_leases",
    "0014_cost_per_key",
    "0015_alert_windows",
    "0016_burn_rate",
    "0017_usage_models",
];

/// Creates the folder (0700) and the file (0600) if missing. Existing ones keep their mode:
/// an operator may have made the folder group-readable on purpose.
pub(super) fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create or reach {}", path.display())),
    }
}

/// Puts the file in WAL mode (which it keeps). The switch takes a lock that SQLite does not
/// wait for (the busy handler is not called): of processes opening a new file at once, one
/// in a few dozen found it taken. They try again until the busy timeout.
pub(super) fn wal(conn: &Connection) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => bail!(
                "SQLite refused WAL mode (got {mode:?}); is the database on a network file system?"
            ),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == ErrorCode::DatabaseBusy && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = MIGRATIONS.len();
    let check = |version: usize| -> Result<()> {
        if version > known {
            bail!(
                "the database {} was written by a newer quota (schema version {version}, this quota knows {known}): upgrade quota, or point --db at another file",
                path.display()
            );
        }
        Ok(())
    };
    let version = user_version(conn)?;
    check(version)?;
    if version == known {
        return Ok(());
    }
    // Exclusive, and the version re-read inside: of ten processes starting at once on a new
    // file, the first applies each migration and the others find nothing left to do.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let version = user_version(&tx)?;
    check(version)?;
    for (name, sql) in &MIGRATIONS[version..] {
        tx.execute_batch(sql)
            .with_context(|| format!("migration {name} failed"))?;
        log::info!("applied migration {name} to {}", path.display());
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        bail!("a migration left {broken} broken references; nothing was changed");
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<usize> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, usize>(0))?)
}

/// The SQLite error code in `err`'s chain, if any.
fn sqlite_code(err: &anyhow::Error) -> Option<rusqlite::ffi::Error> {
    err.chain()
        .find_map(|e| match e.downcast_ref::<rusqlite::Error>() {
            Some(rusqlite::Error::SqliteFailure(f, _)) => Some(*f),
            _ => None,
        })
}

/// Turns the SQLite failures a write can meet into one line that names the file and the fix
/// (the raw error says the same thing twice and no fix). Anything else passes unchanged.
pub(super) fn explain_write_error(path: &Path, err: anyhow::Error) -> anyhow::Error {
    let dir = folder(path);
    let file = path.display();
    match sqlite_code(&err).map(|f| f.code) {
        Some(ErrorCode::DiskFull) => anyhow::anyhow!(
            "the disk holding {dir} is full: nothing from this run was stored; free some space and quota catches up on the next run"
        ),
        Some(ErrorCode::ReadOnly) => anyhow::anyhow!(
            "the database {file} is read-only for this user: nothing from this run was stored; quota needs write access to the file and its folder {dir} (run it as the database's owner, e.g. sudo -u quota quota …)"
        ),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => anyhow::anyhow!(
            "the database {file} stayed locked for {}s (another quota run, or a backup holding a lock): nothing from this run was stored; the next run tries again",
            BUSY_TIMEOUT.as_secs()
        ),
        _ => err,
    }
}

/// The folder holding `path`, for messages.
fn folder(path: &Path) -> String {
    path.parent()
        .map_or_else(|| ".".into(), |d| d.display().to_string())
}

/// Turns SQLite's terse open errors into what an operator can act on.
pub(super) fn explain_open_error(path: &Path, err: anyhow::Error) -> anyhow::Error {
    if path.is_dir() {
        return anyhow::anyhow!(
            "{} is a folder, not a database file: point --db (or [database] path) at a file, e.g. {}",
            path.display(),
            path.join("quota.db").display()
        );
    }
    let failure = sqlite_code(&err);
    let code = failure.map(|f| f.code);
    let denied = err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
    });
    // A full disk shows up at open as SQLITE_FULL, or as IOERR_SHMSIZE when the WAL index
    // (the -shm file) cannot grow.
    let full = failure.is_some_and(|f| {
        f.code == ErrorCode::DiskFull || f.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE
    });
    let dir = folder(path);
    if full {
        return anyhow::anyhow!(
            "the disk holding {dir} is full (cannot open {}): nothing from this run was stored; free some space and quota catches up on the next run",
            path.display()
        );
    }
    let needs_write = denied
        || matches!(
            code,
            Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied)
        );
    if needs_write {
        // SQLite's own message once, without rusqlite's repetition of it.
        let cause = err
            .chain()
            .find_map(|e| match e.downcast_ref::<rusqlite::Error>() {
                Some(rusqlite::Error::SqliteFailure(_, Some(m))) => Some(m.clone()),
                _ => e.downcast_ref::<std::io::Error>().map(ToString::to_string),
            })
            .unwrap_or_else(|| format!("{err:#}"));
        anyhow::anyhow!(
            "cannot open the database {} ({cause}): quota needs write access to the file and its folder {dir} even to read (SQLite WAL mode): run it as the database's owner (e.g. sudo -u quota quota …) or give your group write access",
            path.display()
        )
    } else if matches!(code, Some(ErrorCode::NotADatabase)) {
        anyhow::anyhow!(
            "{} is not a quota database (not SQLite): point --db at another file",
            path.display()
        )
    } else {
        err.context(format!("cannot open the database {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each SQLite failure a write can meet becomes one line naming the file and the fix.
    #[test]
    fn write_errors_say_what_to_do() {
        let path = Path::new("/var/lib/quota/quota.db");
        let failure = |code: i32| {
            anyhow::Error::new(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                Some("raw".into()),
            ))
            .context("cannot commit")
        };
        let line = |code| explain_write_error(path, failure(code)).to_string();
        assert!(
            line(rusqlite::ffi::SQLITE_READONLY)
                .starts_with("the database /var/lib/quota/quota.db is read-only for this user")
        );
        assert!(line(rusqlite::ffi::SQLITE_BUSY).contains("stayed locked for 30s"));
        assert!(
            line(rusqlite::ffi::SQLITE_FULL).starts_with("the disk holding /var/lib/quota is full")
        );
        assert_eq!(line(rusqlite::ffi::SQLITE_CONSTRAINT), "cannot commit");
    }
}

//! `quota db copy --to FILE|URL`: a consistent copy of the database while syncs go on, into
//! a new SQLite file (a backup, or a move to another disk; restoring is putting the file at
//! the database's path with the timer stopped) or into an empty PostgreSQL database (the
//! move to a pair of hosts). README, "Backup and restore" and "Running on two hosts".

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::error::bad_input;
use crate::output;
use crate::store::{PgTarget, Store};

pub(super) fn copy(ctx: &Ctx, to: &Path) -> Result<ExitCode> {
    if let Some(url) = to.to_str().filter(|t| t.contains("://")) {
        return to_postgres(ctx, url);
    }
    if to.exists() || to.is_symlink() {
        return Err(bad_input!(
            "{} already exists: db copy writes only a new file (remove it or choose another name)",
            to.display()
        ));
    }
    let mut store = ctx.open_existing_store()?;
    let copied = store.copy_to(to)?;
    for (table, rows) in &copied.tables {
        log::info!("{table}: {rows} rows, each the same in the copy");
    }
    let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
    output::line(&format!(
        "copied {} to {} (schema {}): {rows} row{} in {} tables, each checked against the database",
        store.shown(),
        to.display(),
        copied.schema,
        output::plural(usize::try_from(rows).unwrap_or(usize::MAX)),
        copied.tables.len(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The store into an empty PostgreSQL database, in one transaction of the target: checked
/// by counts and sums before it commits, so a failed copy leaves the target empty and can
/// run again.
fn to_postgres(ctx: &Ctx, url: &str) -> Result<ExitCode> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(bad_input!(
            "--to takes a file path or a postgres:// URL; {} is neither",
            url.split("://").next().unwrap_or_default()
        ));
    }
    let target = PgTarget::new(url, None, ctx.pgpass.as_deref())?;
    let mut source = ctx.open_existing_store()?;
    let mut into = Store::open_pg(&target)?;
    let copied = source.copy_into(&mut into)?;
    for (table, rows) in &copied.tables {
        log::info!("{table}: {rows} rows, the same count and sums in the copy");
    }
    let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
    output::line(&format!(
        "copied {} to {}: {rows} row{} in {} tables, counts and sums checked",
        source.shown(),
        target.shown,
        output::plural(usize::try_from(rows).unwrap_or(usize::MAX)),
        copied.tables.len(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

//! `quota db copy --to FILE`: a consistent copy of the database while syncs go on (a backup,
//! or a move to another disk). Restoring is putting the file at the database's path with
//! the timer stopped (README, "Backup and restore").

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::error::bad_input;
use crate::output;

pub(super) fn copy(ctx: &Ctx, to: &Path) -> Result<ExitCode> {
    if to.to_str().is_some_and(|t| t.contains("://")) {
        return Err(bad_input!(
            "--to takes a file path: this quota stores in SQLite only, so it copies into a new SQLite file"
        ));
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
        ctx.config.database.path.path.display(),
        to.display(),
        copied.schema,
        output::plural(usize::try_from(rows).unwrap_or(usize::MAX)),
        copied.tables.len(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

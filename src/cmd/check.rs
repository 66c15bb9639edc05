//! `quota check`: evaluate stored usage only, no network.

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::apply;
use crate::cli::AccountFilter;
use crate::output;

pub(super) fn run(ctx: &Ctx, args: &AccountFilter) -> Result<ExitCode> {
    let config = &ctx.config;
    let mut store = ctx.open_store()?;
    let all = crate::sync::Roster::load(&ctx.config, &mut store)?;
    let accounts = all.select(&args.accounts)?;
    for w in &config.warnings {
        log::warn!("{w}");
    }
    let evaluated = store.write(|tx| {
        apply::evaluate_accounts(
            tx,
            &accounts,
            if args.accounts.is_empty() {
                apply::Scope::All
            } else {
                apply::Scope::Selected
            },
            apply::Pass::Full,
            config.api.usage_source,
            &config.notify,
            ctx.now,
        )
    })?;
    let changes = evaluated.changes;
    output::line(&format!(
        "checked {} account{}: {} alert{} created, {} resolved, {} reopened",
        accounts.len(),
        output::plural(accounts.len()),
        changes.created,
        output::plural(changes.created),
        changes.resolved,
        changes.reopened,
    ))?;
    Ok(ExitCode::SUCCESS)
}

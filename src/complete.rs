//! What the shell completions offer beyond the command line's own words: the account names
//! (configured and discovered) and the ids of open alerts, read from the config and the
//! database quota would use (`$QUOTA_CONFIG`, `$QUOTA_DB` or `$QUOTA_DATABASE_URL`, the
//! usual places). Asked while completing (`COMPLETE=bash quota …`, see `main.rs`); anything
//! unreadable offers nothing.

use clap_complete::engine::CompletionCandidate;

use crate::config::{Config, Located, Origin, Overrides};
use crate::store::Store;

/// The config as a command would load it: `$QUOTA_CONFIG` and `$QUOTA_DB` (which clap
/// reads for a command, not here), else the usual places.
fn config() -> Option<Config> {
    let located = |var: &'static str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(|v| Located {
                path: v.into(),
                origin: Origin::Env(var),
            })
    };
    let overrides = Overrides {
        config: located("QUOTA_CONFIG"),
        db: located("QUOTA_DB"),
    };
    Config::load(&overrides, &|k| std::env::var_os(k)).ok()
}

/// The config and the database, when there is one (never created here).
fn open() -> Option<(Config, Store)> {
    let ctx = crate::cmd::Ctx {
        config: config()?,
        now: crate::cmd::now(&|k| std::env::var_os(k)).ok()?,
        pgpass: crate::cmd::pgpass(&|k| std::env::var_os(k)),
        run_id: String::new(),
    };
    let store = ctx.peek_store().ok()??;
    Some((ctx.config, store))
}

/// Every account name: `--account`.
pub(crate) fn accounts() -> Vec<CompletionCandidate> {
    let names: Vec<String> = match open() {
        Some((config, mut store)) => crate::sync::Roster::load(&config, &mut store)
            .map(|r| r.all().iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default(),
        None => config()
            .map(|c| c.accounts.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default(),
    };
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The open alerts' short ids, each with what it is about: `alerts resolve`, `silence`.
pub(crate) fn alert_ids() -> Vec<CompletionCandidate> {
    let Some((_, mut store)) = open() else {
        return Vec::new();
    };
    let open = store
        .read(|tx| crate::store::alerts::list(tx, &crate::store::alerts::ListFilter::default()))
        .unwrap_or_default();
    open.iter()
        .map(|a| {
            let short = a.id.get(..8).unwrap_or(&a.id).to_string();
            let help = format!("{} {} {}", a.who(), a.what(), a.alert_type);
            CompletionCandidate::new(short).help(Some(help.into()))
        })
        .collect()
}

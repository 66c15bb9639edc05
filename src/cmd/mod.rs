//! The command layer: the only place that reads the clock and the environment. Each
//! subcommand lives in its own file and gets a `Ctx`.

mod alerts;
mod check;
mod config_check;
mod db;
mod health;
mod notify;
mod silences;
mod status;
mod sync;
mod usage;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::cli::{AlertsCommand, Cli, Command, ConfigCommand, DbCommand, NotifyCommand};
use crate::config::{Config, Located, Origin, Overrides};
use crate::error::bad_input;
use crate::store::Store;

/// What every subcommand needs: the validated config and the time.
pub(crate) struct Ctx {
    pub config: Config,
    pub now: DateTime<Utc>,
    /// libpq's password file: `$PGPASSFILE`, else `~/.pgpass`.
    pub pgpass: Option<std::path::PathBuf>,
    /// This run among the runs of every host that shares the store: `host:pid`, for the
    /// fetch lease and delivery claims (and shown in `quota health`).
    pub run_id: String,
}

impl Ctx {
    /// The store, created (and migrated) if new: for the commands that write (`sync`,
    /// `check`).
    pub(crate) fn open_store(&self) -> Result<Store> {
        match self.pg_target()? {
            Some(target) => Store::open_pg(&target),
            None => Store::open(&self.config.database.path.path),
        }
    }

    /// The store if there is one already, never created (`config check`, completions).
    pub(crate) fn peek_store(&self) -> Result<Option<Store>> {
        match self.pg_target()? {
            Some(target) => Store::open_existing_pg(&target),
            None if self.config.database.path.path.exists() => {
                Store::open(&self.config.database.path.path).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Where the store is, for messages: the file, or the PostgreSQL URL without its
    /// password.
    pub(crate) fn store_shown(&self) -> String {
        match self.pg_target() {
            Ok(Some(target)) => target.shown,
            Ok(None) => self.config.database.path.path.display().to_string(),
            Err(_) => "the PostgreSQL store ([database] url)".to_string(),
        }
    }

    /// The PostgreSQL store the config names, if any.
    pub(crate) fn pg_target(&self) -> Result<Option<crate::store::PgTarget>> {
        let Some(pg) = &self.config.database.postgres else {
            return Ok(None);
        };
        Ok(Some(crate::store::PgTarget::new(
            pg.url.expose(),
            pg.password_file.as_deref(),
            self.pgpass.as_deref(),
        )?))
    }

    /// The store of a command that only reads (or resolves what a sync raised): a missing
    /// file is an error, never an empty database that would answer "all clear".
    pub(crate) fn open_existing_store(&self) -> Result<Store> {
        if self.config.database.postgres.is_some() {
            return self.open_store();
        }
        let path = &self.config.database.path.path;
        // Only a file that is surely not there: one this user cannot reach (a folder it may
        // not enter) is left to the open, whose error says what to do about it.
        if matches!(path.try_exists(), Ok(false)) {
            anyhow::bail!(
                "no database at {}: has quota sync run? (see --db)",
                path.display()
            );
        }
        Store::open(path)
    }
}

pub(crate) fn run(cli: Cli, matches: &ArgMatches) -> Result<ExitCode> {
    let env = |k: &str| std::env::var_os(k);
    let overrides = Overrides {
        config: located(
            matches,
            "config",
            cli.config.clone(),
            "--config",
            "QUOTA_CONFIG",
        ),
        db: located(matches, "db", cli.db.clone(), "--db", "QUOTA_DB"),
    };
    let config = Config::load(&overrides, &env)?;
    let ctx = Ctx {
        config,
        now: now(&env)?,
        pgpass: pgpass(&env),
        run_id: run_id(&env),
    };
    match cli.command {
        Command::Sync(args) => sync::run(&ctx, &args),
        Command::Check(args) => check::run(&ctx, &args),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Usage(args) => usage::run(&ctx, &args),
        Command::Health(args) => health::run(&ctx, &args),
        Command::Alerts(AlertsCommand::List(args)) => alerts::list(&ctx, &args),
        Command::Alerts(AlertsCommand::Resolve(args)) => alerts::resolve(&ctx, &args),
        Command::Alerts(AlertsCommand::Silence(args)) => silences::silence(&ctx, &args),
        Command::Alerts(AlertsCommand::Silences) => silences::list(&ctx),
        Command::Alerts(AlertsCommand::Unsilence { id }) => silences::unsilence(&ctx, &id),
        Command::Config(ConfigCommand::Check(args)) => config_check::run(&ctx, &env, args.strict),
        Command::Notify(NotifyCommand::Test { channel }) => notify::test(&ctx, channel.as_deref()),
        Command::Db(DbCommand::Copy { to }) => db::copy(&ctx, &to),
    }
}

fn located(
    m: &ArgMatches,
    id: &str,
    path: Option<std::path::PathBuf>,
    flag: &'static str,
    var: &'static str,
) -> Option<Located> {
    let origin = match m.value_source(id) {
        Some(ValueSource::EnvVariable) => Origin::Env(var),
        _ => Origin::Flag(flag),
    };
    path.filter(|p| !p.as_os_str().is_empty())
        .map(|path| Located { path, origin })
}

/// `host:pid`: the kernel's host name (or `$QUOTA_HOST`, which names a "host" when two run on
/// one machine, as in tests), then this process.
pub(crate) fn run_id(env: &dyn Fn(&str) -> Option<OsString>) -> String {
    let host = env("QUOTA_HOST")
        .map(|h| h.to_string_lossy().into_owned())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default();
    format!("{}:{}", host.trim(), std::process::id())
}

/// libpq's password file: `$PGPASSFILE`, else `~/.pgpass`.
pub(crate) fn pgpass(env: &dyn Fn(&str) -> Option<OsString>) -> Option<std::path::PathBuf> {
    env("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| env("HOME").map(|h| std::path::PathBuf::from(h).join(".pgpass")))
}

/// The current time, or `$QUOTA_NOW` (RFC 3339) for tests, replays and backfills.
pub(crate) fn now(env: &dyn Fn(&str) -> Option<OsString>) -> Result<DateTime<Utc>> {
    match env("QUOTA_NOW").filter(|v| !v.is_empty()) {
        Some(v) => {
            let v = v.to_string_lossy();
            crate::time::parse(&v).map_err(|e| {
                bad_input!(
                    "$QUOTA_NOW {v:?} is not an RFC 3339 time like 2026-11-28T12:00:00Z: {e}"
                )
            })
        }
        None => Ok(Utc::now()),
    }
}

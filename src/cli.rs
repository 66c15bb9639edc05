//! The command line, and nothing else: every `///` here is help text, and `build`-time
//! tools (man page, completions) read these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

/// Watch how much of its quota every Claude API key or workspace has used, and alert before
/// one runs out.
#[derive(Debug, Parser)]
#[command(
    name = "quota",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Configuration file [default: $XDG_CONFIG_HOME/quota/config.toml, then /etc/quota/config.toml]
    #[arg(long, global = true, env = "QUOTA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// SQLite database file (overrides [database] path; as --db, a PostgreSQL url too)
    #[arg(long, global = true, env = "QUOTA_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull usage from the Admin API, evaluate every account, raise and resolve alerts
    Sync(SyncArgs),
    /// Evaluate stored usage only (no network): raise and resolve alerts
    Check(AccountFilter),
    /// One row per account and quota type: used, limit, period, status
    Status(StatusArgs),
    /// What was used, day by day, from the database (no network)
    Usage(UsageArgs),
    /// List, resolve or silence alerts
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Whether quota can see: each read's state and the notification backlog; exit 1 when
    /// a read is failing or the data is old
    Health(HealthArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Notification channels
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// The database: copy it (a backup)
    #[command(subcommand)]
    Db(DbCommand),
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database, while syncs go on, into a new SQLite file (a backup, or a move to
    /// another disk) or into an empty PostgreSQL database (a move to a pair of hosts),
    /// checked before it is kept
    Copy {
        /// The new file (it must not exist; restore by putting it at the database's path),
        /// or postgres://user@host/database (empty; the password from ~/.pgpass or
        /// $PGPASSFILE)
        #[arg(long, value_name = "FILE|URL")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test message through each channel and show what each endpoint answered
    Test {
        /// Only this channel (its `name`, or its type when unnamed)
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AccountFilter {
    /// Only this account (repeatable); a glob such as 'prod-*' selects every account it fits
    #[arg(long = "account", value_name = "NAME", add = ArgValueCandidates::new(crate::complete::accounts))]
    pub accounts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    #[command(flatten)]
    pub filter: AccountFilter,

    /// First day to show [default: the start of each account's current billing period]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<String>,

    /// Last day to show [default: today, UTC]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub until: Option<String>,

    /// Print one JSON array instead of a table
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print CSV (the JSON field names as the header) instead of a table
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub filter: AccountFilter,

    /// Re-read every day of the current billing periods, not only the trailing window
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub filter: AccountFilter,

    /// Add the exact numbers, the projection, the period and "data as of"; never shorten names
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,

    /// Print one JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Open alerts, most severe and newest first
    List(ListArgs),
    /// Resolve alerts by id (full UUID or a unique prefix of at least 8 characters)
    Resolve(ResolveArgs),
    /// Hold back the notifications of alerts for a while (still recorded and listed)
    Silence(SilenceArgs),
    /// The silences in force
    Silences,
    /// End a silence now; what it held back is delivered by the next sync
    Unsilence {
        /// The silence's id (or a unique prefix of at least 8 characters)
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct SilenceArgs {
    /// Alert ids or unique prefixes (at least 8 characters); or use --account
    #[arg(
        value_name = "ID",
        required_unless_present = "accounts",
        conflicts_with = "accounts",
        add = ArgValueCandidates::new(crate::complete::alert_ids)
    )]
    pub ids: Vec<String>,

    /// Every alert of these accounts (names or globs such as 'prod-*'; never quota's own
    /// health alerts, which only their id silences)
    #[arg(long = "account", value_name = "NAME", add = ArgValueCandidates::new(crate::complete::accounts))]
    pub accounts: Vec<String>,

    /// How long: 30m, 2h, 1h30m, 1d (at most 30 days)
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,

    /// Why; shown by `quota alerts silences`
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: AccountFilter,

    /// Include resolved alerts
    #[arg(long)]
    pub all: bool,

    /// Only alerts of this severity
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,

    /// Add the full id, type, exact numbers and times; never shorten names or messages
    #[arg(long, conflicts_with = "json")]
    pub wide: bool,

    /// Print one JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Warning,
    Critical,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Alert ids or unique prefixes (at least 8 characters)
    #[arg(required = true, value_name = "ID", add = ArgValueCandidates::new(crate::complete::alert_ids))]
    pub ids: Vec<String>,

    /// Why it was resolved; kept with the alert and sent with the resolved notice
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,

    /// Do not send a resolved notice to the channels that heard the alert
    #[arg(long)]
    pub no_notify: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and show resolved paths and where each came from (no network)
    Check(ConfigCheckArgs),
}

#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    /// Exit 1 when there is any warning (for CI and deploy scripts)
    #[arg(long)]
    pub strict: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

//! quota's modules as a library. The `quota` binary (`main.rs`) is the product; every module
//! is private to the crate, so rustc sees dead code. The small facade below is what the
//! binary, the fuzz targets, the benchmark and the generated-files test reach.

/// An enum of names: `as_str`, `parse`, `ALL` (in declaration order), `Display` and
/// `Deserialize` (an unknown name lists the known ones), from one list of variants.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub(crate) const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub(crate) fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, &[$($text),+]))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) mod account;
pub(crate) mod alert;
pub(crate) mod api;
pub(crate) mod apply;
pub(crate) mod burn;
pub(crate) mod cli;
pub(crate) mod cmd;
pub(crate) mod complete;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod evaluate;
pub(crate) mod health;
pub(crate) mod http;
pub(crate) mod incremental;
pub(crate) mod metrics;
pub(crate) mod notify;
pub(crate) mod output;
pub(crate) mod period;
pub(crate) mod quota;
pub(crate) mod reconcile;
pub(crate) mod records;
pub(crate) mod secret;
pub(crate) mod store;
pub(crate) mod sync;
pub(crate) mod table;
pub(crate) mod time;
pub(crate) mod window;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The command line (clap derive): for `main.rs`, and for generating the man page and the
/// shell completions.
pub use cli::Cli;
/// One day of one key's usage in one workspace, as the readers produce and the store keeps it.
pub use quota::DayUsage;

/// Runs a parsed command line: the exit code, or the error `main` prints as one line.
pub fn run(cli: Cli, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    cmd::run(cli, matches)
}

/// The documented exit code for an error: 2 for bad input, 1 for anything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    error::exit_code(err)
}

/// Parsers as a sync runs them, for the fuzz targets.
pub mod fuzz {
    use crate::DayUsage;

    /// One usage report page: its rows, or the error a sync would report.
    pub fn usage_page(body: &[u8]) -> anyhow::Result<Vec<DayUsage>> {
        crate::api::usage::parse_page(body)
    }

    /// One analytics page: its rows, or the error a sync would report.
    pub fn analytics_page(path: &str, body: &[u8]) -> anyhow::Result<Vec<DayUsage>> {
        crate::api::analytics::parse_page(path, body)
    }

    /// One cost report page: the days' cents, or the error a sync would report.
    pub fn cost_page(body: &[u8]) -> anyhow::Result<usize> {
        crate::api::cost::parse_page(body).map(|days| days.len())
    }

    /// A config file's text, parsed and validated.
    pub fn config(text: &str, label: &str) -> anyhow::Result<()> {
        crate::config::Config::parse(text, label).map(drop)
    }
}

/// Upserts `rows` into the database at `path`, or the PostgreSQL database at `url` (created
/// and migrated if new) in one transaction through the store, as a sync does; returns how
/// long the transaction took. For the benchmark's floor and for tests that seed usage
/// without an API.
pub fn store_usage(
    path: &Path,
    url: Option<&str>,
    rows: &[DayUsage],
    now: DateTime<Utc>,
) -> anyhow::Result<Duration> {
    let mut store = match url {
        Some(url) => store::Store::open_pg(&store::PgTarget::new(url, None, None)?)?,
        None => store::Store::open(path)?,
    };
    let started = Instant::now();
    store.write(|tx| store::usage::upsert(tx, rows, "messages", now))?;
    Ok(started.elapsed())
}

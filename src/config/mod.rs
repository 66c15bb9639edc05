//! Configuration (SPEC §3): find the file, parse it into raw structs, then validate into the
//! types the rest of quota uses. Every error names the file and the key and exits with 2;
//! nothing is written before the config is valid. Paths remember where they came from, for
//! `quota config check`.

mod locate;
mod raw;
mod validate;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::account::{Account, BurnRules, Channel, Selector, Thresholds, UsageSource, Windows};
use crate::error::bad_input;
use crate::quota::Limits;
use crate::secret::Secret;

pub(crate) use locate::admin_key;

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Flag(&'static str),
    Env(&'static str),
    ConfigFile,
    Default,
}

impl Origin {
    /// "from --db", "from $QUOTA_DB", "default": for `config check`.
    pub(crate) fn phrase(&self) -> String {
        match self {
            Origin::Default => "default".to_string(),
            other => format!("from {other}"),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(var) => write!(f, "${var}"),
            Origin::ConfigFile => f.write_str("config file"),
            Origin::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub path: PathBuf,
    pub origin: Origin,
}

/// What the command line says about files, with where each value came from.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    pub config: Option<Located>,
    pub db: Option<Located>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The file read, or `None` when there is none (every default applies).
    pub file: Option<Located>,
    pub api: Api,
    pub database: Database,
    pub discovery: Discovery,
    /// Whether every actor of the Claude Code report becomes a developer account.
    pub developer_discovery: DeveloperDiscovery,
    /// What discovered accounts get (and configured ones inherit).
    pub defaults: Defaults,
    /// What discovered developer accounts get (`[claude_code_defaults]`).
    pub claude_code_defaults: Defaults,
    pub accounts: Vec<Account>,
    pub notify: Vec<Channel>,
    pub metrics: Metrics,
    /// How long a read may fail before `health` says so and a `sync_failing` alert is
    /// raised (`[health] failing_after_minutes`).
    pub failing_after: Duration,
    /// Problems that do not stop quota but that an operator should hear about.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub admin_key_file: Option<PathBuf>,
    pub base_url: String,
    pub base_url_origin: Origin,
    pub timeout: Duration,
    pub deadline: Duration,
    pub usage_source: UsageSource,
    /// The analytics beta's path, bucket parameter and beta header (ADMIN_API.md §3: not
    /// fully published, so configurable).
    pub analytics_path: String,
    pub analytics_bucket_param: String,
    pub analytics_beta: String,
    /// Rows per analytics page (`limit`), 1–1000.
    pub analytics_page_size: u32,
    /// The cost report is daily data: poll it at most this often.
    pub cost_interval: Duration,
    /// The Claude Code report lags by about an hour: read it at most this often.
    pub claude_code_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Defaults {
    pub billing_day: u32,
    pub thresholds: Thresholds,
    pub limits: Arc<Limits>,
    /// `limits` less a cost limit: what a discovered key account gets.
    pub key_limits: Arc<Limits>,
    pub forecast: bool,
    /// Day and week limits, and `key_windows` for discovered keys (less cost, as `key_limits`).
    pub windows: Windows,
    pub key_windows: Windows,
    /// The window tables as written, which accounts with their own merge over.
    pub windows_written: Vec<validate::WrittenWindow>,
    pub burn: BurnRules,
}

impl Defaults {
    /// The account of a discovered key: the defaults, less a cost limit (the cost report
    /// cannot split cost by key).
    pub(crate) fn account_for_key(&self, name: String, api_key_id: String) -> Account {
        Account {
            name,
            selector: Selector::ApiKey(api_key_id),
            limits: Arc::clone(&self.key_limits),
            billing_day: self.billing_day,
            thresholds: self.thresholds.clone(),
            forecast: self.forecast,
            windows: Arc::clone(&self.key_windows),
            burn: Arc::clone(&self.burn),
            model: None,
        }
    }

    /// The account of a discovered Claude Code actor: the defaults, whole (a developer's cost
    /// is per actor).
    pub(crate) fn account_for_actor(&self, name: &str, selector: Selector) -> Account {
        Account {
            name: name.to_string(),
            selector,
            limits: Arc::clone(&self.limits),
            billing_day: self.billing_day,
            thresholds: self.thresholds.clone(),
            forecast: self.forecast,
            windows: Arc::clone(&self.windows),
            burn: Arc::clone(&self.burn),
            model: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Database {
    /// The SQLite file (unused while `postgres` is set).
    pub path: Located,
    /// The PostgreSQL store, when a URL names one.
    pub postgres: Option<Postgres>,
    pub retention_days: u32,
}

/// A PostgreSQL store: `[database] url` or `$QUOTA_DATABASE_URL` (which wins), and where its
/// password is kept when the URL has none.
#[derive(Debug, Clone)]
pub(crate) struct Postgres {
    pub url: Secret,
    pub origin: Origin,
    pub password_file: Option<PathBuf>,
}

/// `[discovery] claude_code_users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeveloperDiscovery {
    #[default]
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Discovery {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    pub textfile: Option<PathBuf>,
    pub heartbeat_url: Option<Secret>,
}

impl Config {
    /// Finds, reads and validates the configuration. `env` reads environment variables (the
    /// command layer passes `std::env::var_os`; tests pass a map).
    pub(crate) fn load(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<Config> {
        let file = locate::config_file(overrides, env)?;
        let (raw, label) = match &file {
            Some(located) => (raw_from_file(located)?, located.path.display().to_string()),
            None => (raw::RawConfig::default(), "(no config file)".to_string()),
        };
        let mut config = validate::validate(raw, &label, file, env)?;
        config.database.path = locate::database_path(overrides, &config, env)?;
        config.database.postgres = locate::postgres(overrides, &config, env);
        Ok(config)
    }

    /// Parses and validates config text with no environment (fuzzing, tests). `label` names
    /// the file in errors.
    pub(crate) fn parse(text: &str, label: &str) -> Result<Config> {
        let raw = raw_from_text(text, label)?;
        validate::validate(raw, label, None, &|_| None)
    }

    /// Whether API keys are discovered: `always`, or `auto` with no `[[accounts]]`.
    pub(crate) fn discovers_keys(&self) -> bool {
        match self.discovery {
            Discovery::Always => true,
            Discovery::Auto => self.accounts.is_empty(),
            Discovery::Never => false,
        }
    }

    /// Whether quota lists the keys at all: not with `never`, which also turns off the
    /// check of configured `api_key_id`s and `claude_code_api_key`s against the list.
    pub(crate) fn lists_keys(&self) -> bool {
        self.discovery != Discovery::Never
    }
}

fn raw_from_file(located: &Located) -> Result<raw::RawConfig> {
    let path = &located.path;
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input!("cannot read config file {}: {e}", path.display()))?;
    raw_from_text(&text, &path.display().to_string())
}

fn raw_from_text(text: &str, path: &str) -> Result<raw::RawConfig> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().replace('\n', " ");
        match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                // The key, not the line: a value on it may be a secret URL.
                match key_at(text, line) {
                    Some(key) => bad_input!("{path}:{line}:{column}: {key}: {message}"),
                    None => bad_input!("{path}:{line}:{column}: {message}"),
                }
            }
            None => bad_input!("{path}: {message}"),
        }
    })
}

/// The dotted key set on line `line` (1-based), with its table: `api.usage_source`.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line - 1)?.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let before = &lines[..line - 1];
    let header = before
        .iter()
        .map(|l| l.trim())
        .rfind(|l| l.starts_with('['));
    let table = header.map(|h| {
        let name = h.trim_matches(|c| c == '[' || c == ']').trim();
        if h.starts_with("[[") {
            // An array of tables: which element, counted like the validation errors.
            let n = before.iter().filter(|l| l.trim() == h).count();
            format!("{name}[{}]", n - 1)
        } else {
            name.to_string()
        }
    });
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

#[cfg(test)]
mod tests;

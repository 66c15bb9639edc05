//! The config file as written (SPEC §3), before validation. Every table denies unknown keys so
//! a typo is an error, not a silently ignored setting.

use std::path::PathBuf;

use serde::Deserialize;

use super::{DeveloperDiscovery, Discovery};
use crate::account::UsageSource;
use crate::alert::Severity;

string_enum!(
    /// A `[[notify]]` channel's `type`.
    ChannelType {
        Slack => "slack",
        Webhook => "webhook",
        PagerDuty => "pagerduty",
        Email => "email",
    }
);

impl ChannelType {
    /// The keys a channel of this type may have besides the common ones.
    fn keys(self) -> &'static [&'static str] {
        match self {
            ChannelType::Slack | ChannelType::Webhook => &["url", "url_file"],
            ChannelType::PagerDuty => &["routing_key", "routing_key_file", "url"],
            ChannelType::Email => &["to", "from", "command"],
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub discovery: RawDiscovery,
    /// What discovered developer accounts get: the keys of `[defaults]`.
    #[serde(default)]
    pub claude_code_defaults: RawDefaults,
    #[serde(default)]
    pub accounts: Vec<RawAccount>,
    #[serde(default)]
    pub notify: Vec<RawNotify>,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub health: RawHealth,
}

/// `[health]`: when a failing read becomes an alert.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    pub failing_after_minutes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub admin_key_file: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Seconds, whole or not (`0.5`): tests and fast-failing setups want less than one.
    pub timeout_secs: Option<f64>,
    pub deadline_secs: Option<f64>,
    pub usage_source: Option<UsageSource>,
    pub analytics_path: Option<String>,
    pub analytics_bucket_param: Option<String>,
    pub analytics_beta: Option<String>,
    pub analytics_page_size: Option<i64>,
    pub cost_interval_minutes: Option<i64>,
    pub claude_code_interval_minutes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub path: Option<PathBuf>,
    pub url: Option<String>,
    pub password_file: Option<PathBuf>,
    pub retention_days: Option<i64>,
}

/// The limit keys, shared by `[defaults]` and `[[accounts]]`.
#[derive(Debug, Default, Clone)]
pub(super) struct RawLimits {
    pub token_limit: Option<i64>,
    pub input_token_limit: Option<i64>,
    pub output_token_limit: Option<i64>,
    pub request_limit: Option<i64>,
    /// A string ("2500.00") or an integer; a float would not be exact and is refused.
    pub cost_limit_usd: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub billing_day: Option<i64>,
    pub thresholds: Option<Vec<i64>>,
    pub forecast: Option<bool>,
    pub token_limit: Option<i64>,
    pub input_token_limit: Option<i64>,
    pub output_token_limit: Option<i64>,
    pub request_limit: Option<i64>,
    pub cost_limit_usd: Option<toml::Value>,
    pub daily: Option<RawWindow>,
    pub weekly: Option<RawWindow>,
    pub burn_rate: Option<RawBurn>,
}

/// `burn_rate = false | true`, or the rules: `[[defaults.burn_rate]]` tables.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawBurn {
    Switch(bool),
    Rules(Vec<RawBurnRule>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBurnRule {
    pub long: String,
    pub short: String,
    pub factor: f64,
    pub severity: Option<Severity>,
}

/// `[accounts.daily]`, `[accounts.weekly]` (and in `[defaults]`): limits per UTC day or ISO
/// week beside the period's, with their own thresholds if set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub thresholds: Option<Vec<i64>>,
    pub token_limit: Option<i64>,
    pub input_token_limit: Option<i64>,
    pub output_token_limit: Option<i64>,
    pub request_limit: Option<i64>,
    pub cost_limit_usd: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiscovery {
    pub api_keys: Option<Discovery>,
    pub claude_code_users: Option<DeveloperDiscovery>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub name: Option<String>,
    pub api_key_id: Option<String>,
    pub workspace_id: Option<String>,
    pub organization: Option<bool>,
    pub claude_code_user: Option<String>,
    pub claude_code_api_key: Option<String>,
    /// Only this model's usage: a glob on the model id (`*` only).
    pub model: Option<String>,
    pub forecast: Option<bool>,
    pub billing_day: Option<i64>,
    pub thresholds: Option<Vec<i64>>,
    pub token_limit: Option<i64>,
    pub input_token_limit: Option<i64>,
    pub output_token_limit: Option<i64>,
    pub request_limit: Option<i64>,
    pub cost_limit_usd: Option<toml::Value>,
    pub daily: Option<RawWindow>,
    pub weekly: Option<RawWindow>,
    pub burn_rate: Option<RawBurn>,
    /// Free-form labels (`{ team = "payments" }`), for routing: `[[notify]] labels`.
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

// `[defaults]` and `[[accounts]]` share the limit keys. serde cannot both deny unknown keys
// and flatten a shared struct, so each lists the fields; they are gathered here once.
macro_rules! limits_of {
    ($($t:ty),+) => {$(
        impl $t {
            pub(crate) fn limits(&self) -> RawLimits {
                RawLimits {
                    token_limit: self.token_limit,
                    input_token_limit: self.input_token_limit,
                    output_token_limit: self.output_token_limit,
                    request_limit: self.request_limit,
                    cost_limit_usd: self.cost_limit_usd.clone(),
                }
            }
        }
    )+};
}

limits_of!(RawDefaults, RawAccount, RawWindow);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    #[serde(rename = "type")]
    pub kind: Option<ChannelType>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub url_file: Option<PathBuf>,
    pub routing_key: Option<String>,
    pub routing_key_file: Option<PathBuf>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub command: Option<Vec<String>>,
    pub min_severity: Option<Severity>,
    pub send_resolved: Option<bool>,
    /// Only these accounts' alerts (names or globs); every account's when absent.
    pub accounts: Option<Vec<String>>,
    /// Only the alerts of configured accounts with these labels (`labels.team = "…"`).
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

impl RawNotify {
    /// The first type-specific key set that does not belong to this channel's type.
    pub(super) fn foreign_key(&self, kind: ChannelType) -> Option<&'static str> {
        let present = [
            ("url", self.url.is_some()),
            ("url_file", self.url_file.is_some()),
            ("routing_key", self.routing_key.is_some()),
            ("routing_key_file", self.routing_key_file.is_some()),
            ("to", self.to.is_some()),
            ("from", self.from.is_some()),
            ("command", self.command.is_some()),
        ];
        present
            .into_iter()
            .find(|(k, p)| *p && !kind.keys().contains(k))
            .map(|(k, _)| k)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub textfile: Option<PathBuf>,
    pub heartbeat_url: Option<String>,
}

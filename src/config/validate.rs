//! Raw config → validated config. Each check names the file and the key.

use std::collections::HashSet;
use std::ffi::OsString;
use std::time::Duration;

use anyhow::Result;
use rust_decimal::Decimal;

use super::raw::{RawAccount, RawConfig, RawLimits, RawNotify};
use super::{
    Account, Api, Channel, ChannelKind, Config, DEFAULT_BASE_URL, Database, Defaults, Discovery,
    Located, Metrics, Origin, Selector, UsageSource,
};
use crate::alert::Severity;
use crate::error::bad_input;
use crate::quota::Limits;
use crate::secret::{Secret, SecretSource};

const DEFAULT_THRESHOLDS: [u32; 3] = [80, 95, 100];

pub fn validate(
    raw: RawConfig,
    file: &str,
    located: Option<Located>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Config> {
    let err = |key: &str, problem: String| bad_input!("{file}: {key}: {problem}");
    let mut warnings = Vec::new();

    let api = {
        let a = &raw.api;
        let (base_url, base_url_origin) = match env("QUOTA_API_URL") {
            Some(v) => (
                v.to_string_lossy().into_owned(),
                Origin::Env("QUOTA_API_URL"),
            ),
            None => match &a.base_url {
                Some(u) => (u.clone(), Origin::ConfigFile),
                None => (DEFAULT_BASE_URL.to_string(), Origin::Default),
            },
        };
        let base_url = base_url.trim_end_matches('/').to_string();
        check_base_url(&base_url).map_err(|p| match base_url_origin {
            Origin::Env(var) => bad_input!("${var}: {p}"),
            _ => err("api.base_url", p),
        })?;
        let usage_source = match a.usage_source.as_deref() {
            None | Some("messages") => UsageSource::Messages,
            Some("analytics") => UsageSource::Analytics,
            Some(other) => {
                return Err(err(
                    "api.usage_source",
                    format!("{other:?} is not a usage source (use \"messages\" or \"analytics\")"),
                ));
            }
        };
        let non_empty = |v: &Option<String>, key: &str, default: &str| -> Result<String> {
            match v.as_deref().map(str::trim) {
                None => Ok(default.to_string()),
                Some("") => Err(err(key, "must not be empty".into())),
                Some(s) => Ok(s.to_string()),
            }
        };
        let analytics_path = non_empty(
            &a.analytics_path,
            "api.analytics_path",
            "/v1/organizations/analytics/usage",
        )?;
        if !analytics_path.starts_with('/') {
            return Err(err(
                "api.analytics_path",
                format!("{analytics_path:?} must start with /"),
            ));
        }
        Api {
            analytics_path,
            analytics_bucket_param: non_empty(
                &a.analytics_bucket_param,
                "api.analytics_bucket_param",
                "time_bucket_width",
            )?,
            analytics_beta: non_empty(
                &a.analytics_beta,
                "api.analytics_beta",
                "analytics-usage-cost-2026-08-24",
            )?,
            cost_interval: Duration::from_secs(
                60 * in_range(a.cost_interval_minutes, 15, 1, 1440)
                    .map_err(|p| err("api.cost_interval_minutes", p))?,
            ),
            admin_key_file: a.admin_key_file.clone(),
            base_url,
            base_url_origin,
            timeout: Duration::from_secs(
                in_range(a.timeout_secs, 20, 1, 600).map_err(|p| err("api.timeout_secs", p))?,
            ),
            deadline: Duration::from_secs(
                in_range(a.deadline_secs, 50, 1, 3600).map_err(|p| err("api.deadline_secs", p))?,
            ),
            usage_source,
        }
    };

    let retention_days = in_range(raw.database.retention_days, 400, 1, 36_500)
        .map_err(|p| err("database.retention_days", p))? as u32;
    let database = Database {
        // Resolved after validation, once the whole config is known.
        path: Located {
            path: raw.database.path.clone().unwrap_or_default(),
            origin: Origin::ConfigFile,
        },
        retention_days,
    };

    let discovery = match raw.discovery.api_keys.as_deref() {
        None | Some("auto") => Discovery::Auto,
        Some("always") => Discovery::Always,
        Some("never") => Discovery::Never,
        Some(other) => {
            return Err(err(
                "discovery.api_keys",
                format!("{other:?} is not one of \"auto\", \"always\", \"never\""),
            ));
        }
    };

    let d = &raw.defaults;
    let default_day = billing_day(d.billing_day).map_err(|p| err("defaults.billing_day", p))?;
    let default_thresholds = match &d.thresholds {
        Some(t) => thresholds(t, &mut warnings, &|| "defaults.thresholds".to_string())
            .map_err(|p| err("defaults.thresholds", p))?,
        None => DEFAULT_THRESHOLDS.to_vec(),
    };
    let default_limits = limits(&d.limits(), &|| "defaults".to_string(), &err)?;

    let mut accounts = Vec::with_capacity(raw.accounts.len());
    let mut names = HashSet::new();
    for (i, a) in raw.accounts.iter().enumerate() {
        // The key path for messages, built only when there is something to say.
        let at = || match &a.name {
            Some(n) => format!("accounts[{i}] ({n:?})"),
            None => format!("accounts[{i}]"),
        };
        let name = match a.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() && !n.chars().any(char::is_control) => n.to_string(),
            _ => {
                return Err(err(
                    &format!("{}.name", at()),
                    "every account needs a non-empty name".into(),
                ));
            }
        };
        if !names.insert(name.clone()) {
            return Err(err(
                &format!("{}.name", at()),
                format!("duplicate account name {name:?}"),
            ));
        }
        let selector = selector(a).map_err(|p| err(&at(), p))?;
        let own = limits(&a.limits(), &at, &err)?;
        if own.cost_usd.is_some() && matches!(selector, Selector::ApiKey(_)) {
            return Err(err(
                &format!("{}.cost_limit_usd", at()),
                "the cost report cannot split cost by API key; put cost limits on a workspace_id or organization account".into(),
            ));
        }
        let inherited = Limits {
            tokens: own.tokens.or(default_limits.tokens),
            input_tokens: own.input_tokens.or(default_limits.input_tokens),
            output_tokens: own.output_tokens.or(default_limits.output_tokens),
            requests: own.requests.or(default_limits.requests),
            // A default cost limit cannot apply to key accounts (see above).
            cost_usd: own.cost_usd.or(match selector {
                Selector::ApiKey(_) => None,
                _ => default_limits.cost_usd,
            }),
        };
        let key = || format!("{}.thresholds", at());
        accounts.push(Account {
            name,
            selector,
            limits: inherited,
            billing_day: match a.billing_day {
                Some(_) => billing_day(a.billing_day)
                    .map_err(|p| err(&format!("{}.billing_day", at()), p))?,
                None => default_day,
            },
            thresholds: match &a.thresholds {
                Some(t) => thresholds(t, &mut warnings, &key).map_err(|p| err(&key(), p))?,
                None => default_thresholds.clone(),
            },
        });
    }

    if !api.usage_source.measures_requests() {
        for a in accounts.iter().filter(|a| a.limits.requests.is_some()) {
            warnings.push(format!(
                "account {:?}: request_limit is not measured: the \"messages\" usage source has no request counts (set [api] usage_source = \"analytics\")",
                a.name
            ));
        }
    }

    let notify = channels(&raw.notify, &err)?;
    let metrics = Metrics {
        textfile: raw.metrics.textfile.clone(),
        heartbeat_url: match &raw.metrics.heartbeat_url {
            Some(u) => {
                check_url(u).map_err(|p| err("metrics.heartbeat_url", p))?;
                Some(Secret::new(u.clone()))
            }
            None => None,
        },
    };

    if let Some(path) = &api.admin_key_file
        && crate::secret::readable_by_others(path)
    {
        warnings.push(format!(
            "admin key file {} is readable by other users: chmod 600 it",
            path.display()
        ));
    }

    let defaults = Defaults {
        billing_day: default_day,
        thresholds: default_thresholds,
        limits: default_limits,
    };
    Ok(Config {
        file: located,
        api,
        database,
        discovery,
        defaults,
        accounts,
        notify,
        metrics,
        warnings,
    })
}

fn in_range(v: Option<i64>, default: u64, min: i64, max: i64) -> Result<u64, String> {
    match v {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => Ok(v as u64),
        Some(v) => Err(format!("{v} is outside {min}–{max}")),
    }
}

fn billing_day(v: Option<i64>) -> Result<u32, String> {
    in_range(v, 1, 1, 31)
        .map(|d| d as u32)
        .map_err(|_| format!("{} is not a day of the month (1–31)", v.unwrap_or_default()))
}

fn thresholds(
    values: &[i64],
    warnings: &mut Vec<String>,
    key: &dyn Fn() -> String,
) -> Result<Vec<u32>, String> {
    if values.is_empty() {
        return Err("needs at least one threshold (percent, 1–1000)".into());
    }
    if let Some(bad) = values.iter().find(|v| !(1..=1000).contains(*v)) {
        return Err(format!("{bad} is outside 1–1000 (percent of the limit)"));
    }
    let mut sorted: Vec<u32> = values.iter().map(|&v| v as u32).collect();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != values.len() || sorted.iter().zip(values).any(|(a, &b)| i64::from(*a) != b) {
        warnings.push(format!(
            "{}: {values:?} is not in ascending order without repeats; using {sorted:?}",
            key()
        ));
    }
    Ok(sorted)
}

fn limits(
    raw: &RawLimits,
    at: &dyn Fn() -> String,
    err: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Limits> {
    let positive = |v: Option<i64>, key: &str| -> Result<Option<u64>> {
        match v {
            None => Ok(None),
            Some(n) if n > 0 => Ok(Some(n as u64)),
            Some(n) => Err(err(
                &format!("{}.{key}", at()),
                format!("must be greater than 0, got {n}"),
            )),
        }
    };
    let cost = match &raw.cost_limit_usd {
        None => None,
        Some(v) => {
            let key = format!("{}.cost_limit_usd", at());
            let d = match v {
                toml::Value::String(s) => s.trim().parse::<Decimal>().map_err(|_| {
                    err(
                        &key,
                        format!("{s:?} is not a decimal amount of dollars like \"2500.00\""),
                    )
                })?,
                toml::Value::Integer(i) => Decimal::from(*i),
                toml::Value::Float(f) => {
                    return Err(err(
                        &key,
                        format!("write the amount as a string (\"{f}\") so it stays exact"),
                    ));
                }
                other => {
                    return Err(err(
                        &key,
                        format!(
                            "expected dollars as a string like \"2500.00\", got {}",
                            other.type_str()
                        ),
                    ));
                }
            };
            if d <= Decimal::ZERO {
                return Err(err(&key, format!("must be greater than 0, got {d}")));
            }
            Some(d)
        }
    };
    Ok(Limits {
        tokens: positive(raw.token_limit, "token_limit")?,
        input_tokens: positive(raw.input_token_limit, "input_token_limit")?,
        output_tokens: positive(raw.output_token_limit, "output_token_limit")?,
        requests: positive(raw.request_limit, "request_limit")?,
        cost_usd: cost,
    })
}

fn selector(a: &RawAccount) -> Result<Selector, String> {
    let org = a.organization == Some(true);
    let given = usize::from(a.api_key_id.is_some())
        + usize::from(a.workspace_id.is_some())
        + usize::from(org);
    if given != 1 {
        let what = if given == 0 {
            "no selector"
        } else {
            "more than one selector"
        };
        return Err(format!(
            "has {what}: set exactly one of api_key_id = \"apikey_…\", workspace_id = \"wrkspc_…\" (or \"default\"), organization = true"
        ));
    }
    if let Some(id) = &a.api_key_id {
        if !id.starts_with("apikey_")
            || id.len() <= "apikey_".len()
            || id.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "api_key_id {id:?} is not an API key id (they look like \"apikey_01Rj2N8SVvo6BePZj99NhmiT\")"
            ));
        }
        return Ok(Selector::ApiKey(id.clone()));
    }
    if let Some(ws) = &a.workspace_id {
        if ws == "default" {
            return Ok(Selector::Workspace(None));
        }
        if !ws.starts_with("wrkspc_")
            || ws.len() <= "wrkspc_".len()
            || ws.chars().any(char::is_whitespace)
        {
            return Err(format!(
                "workspace_id {ws:?} is not a workspace id (\"wrkspc_…\", or \"default\" for the Default Workspace)"
            ));
        }
        return Ok(Selector::Workspace(Some(ws.clone())));
    }
    Ok(Selector::Organization)
}

fn channels(
    raw: &[RawNotify],
    err: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Vec<Channel>> {
    let mut out: Vec<Channel> = Vec::with_capacity(raw.len());
    for (i, n) in raw.iter().enumerate() {
        let at = format!("notify[{i}]");
        let kind_name = n.kind.as_deref().ok_or_else(|| {
            err(
                &format!("{at}.type"),
                "missing (slack, webhook, pagerduty or email)".into(),
            )
        })?;
        // Keys that do not belong to this type are errors, like unknown keys.
        let allowed: &[&str] = match kind_name {
            "slack" | "webhook" => &["url", "url_file"],
            "pagerduty" => &["routing_key", "routing_key_file", "url"],
            "email" => &["to", "from", "command"],
            other => {
                return Err(err(
                    &format!("{at}.type"),
                    format!("{other:?} is not one of slack, webhook, pagerduty, email"),
                ));
            }
        };
        let present = [
            ("url", n.url.is_some()),
            ("url_file", n.url_file.is_some()),
            ("routing_key", n.routing_key.is_some()),
            ("routing_key_file", n.routing_key_file.is_some()),
            ("to", n.to.is_some()),
            ("from", n.from.is_some()),
            ("command", n.command.is_some()),
        ];
        if let Some((key, _)) = present.iter().find(|(k, p)| *p && !allowed.contains(k)) {
            return Err(err(
                &format!("{at}.{key}"),
                format!("is not a key of a {kind_name} channel"),
            ));
        }
        let secret = |inline: &Option<String>,
                      file: &Option<std::path::PathBuf>,
                      key: &str,
                      url: bool|
         -> Result<SecretSource> {
            match (inline, file) {
                (Some(v), None) => {
                    if url {
                        check_url(v).map_err(|p| err(&format!("{at}.{key}"), p))?;
                    }
                    Ok(SecretSource::Inline(Secret::new(v.clone())))
                }
                (None, Some(p)) => Ok(SecretSource::File(p.clone())),
                (Some(_), Some(_)) => Err(err(&at, format!("set {key} or {key}_file, not both"))),
                (None, None) => Err(err(
                    &at,
                    format!("a {kind_name} channel needs {key} or {key}_file"),
                )),
            }
        };
        let kind = match kind_name {
            "slack" => ChannelKind::Slack {
                url: secret(&n.url, &n.url_file, "url", true)?,
            },
            "webhook" => ChannelKind::Webhook {
                url: secret(&n.url, &n.url_file, "url", true)?,
            },
            "pagerduty" => {
                if let Some(u) = &n.url {
                    check_url(u).map_err(|p| err(&format!("{at}.url"), p))?;
                }
                ChannelKind::PagerDuty {
                    routing_key: secret(&n.routing_key, &n.routing_key_file, "routing_key", false)?,
                    url: n.url.clone(),
                }
            }
            _ => {
                let to = n.to.clone().filter(|s| s.contains('@')).ok_or_else(|| {
                    err(
                        &format!("{at}.to"),
                        "an email channel needs to = \"ops@example.com\"".into(),
                    )
                })?;
                let from = n.from.clone().filter(|s| s.contains('@')).ok_or_else(|| {
                    err(
                        &format!("{at}.from"),
                        "an email channel needs from = \"quota@example.com\"".into(),
                    )
                })?;
                let command = n
                    .command
                    .clone()
                    .unwrap_or_else(|| vec!["/usr/sbin/sendmail".into(), "-t".into()]);
                if command.is_empty() || command[0].is_empty() {
                    return Err(err(
                        &format!("{at}.command"),
                        "needs a program to run (argv array)".into(),
                    ));
                }
                ChannelKind::Email { to, from, command }
            }
        };
        let min_severity = match n.min_severity.as_deref() {
            None => Severity::Warning,
            Some(s) => Severity::parse(s).ok_or_else(|| {
                err(
                    &format!("{at}.min_severity"),
                    format!("{s:?} is not warning or critical"),
                )
            })?,
        };
        let name = match &n.name {
            Some(name) if !name.trim().is_empty() => name.trim().to_string(),
            Some(_) => return Err(err(&format!("{at}.name"), "must not be empty".into())),
            None => {
                let same = out
                    .iter()
                    .filter(|c| c.kind.type_name() == kind_name)
                    .count();
                if same == 0 {
                    kind_name.to_string()
                } else {
                    format!("{kind_name}-{}", same + 1)
                }
            }
        };
        if out.iter().any(|c| c.name == name) {
            return Err(err(
                &format!("{at}.name"),
                format!("duplicate channel name {name:?}"),
            ));
        }
        out.push(Channel {
            name,
            kind,
            min_severity,
            send_resolved: n.send_resolved.unwrap_or(true),
        });
    }
    Ok(out)
}

/// The admin key may only travel over https, or plain http to a loopback address (tests).
fn check_base_url(url: &str) -> Result<(), String> {
    check_url(url)?;
    if url.starts_with("https://") {
        return Ok(());
    }
    let host = url["http://".len()..]
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{url:?} is plain http to a non-loopback host; the admin key is only sent over https (or http to 127.0.0.1 for tests)"
        ))
    }
}

/// A URL quota will send to; the value is a secret, so it is never echoed.
fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err("is not an http(s) URL".into()),
    }
}

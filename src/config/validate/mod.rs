//! Raw config → validated config. Each check names the file and the key.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::raw::{ChannelType, RawApi, RawConfig, RawNotify};
use super::{
    Api, Config, DEFAULT_BASE_URL, Database, Discovery, Located, Metrics, Origin, Postgres,
    UsageSource,
};
use crate::account::{Channel, ChannelKind};
use crate::alert::Severity;
use crate::error::bad_input;
use crate::secret::{Secret, SecretSource};

mod accounts;

pub(super) use accounts::WrittenWindow;
use accounts::{accounts, defaults_of};

/// Makes the one-line error for a key of the file.
type Err<'a> = &'a dyn Fn(&str, String) -> anyhow::Error;

pub(super) fn validate(
    raw: RawConfig,
    file: &str,
    located: Option<Located>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Config> {
    let err = |key: &str, problem: String| bad_input!("{file}: {key}: {problem}");
    let mut warnings = Vec::new();
    let api = api(&raw.api, env, &err)?;
    let database = Database {
        // Resolved after validation, once the whole config is known.
        path: Located {
            path: raw.database.path.clone().unwrap_or_default(),
            origin: Origin::ConfigFile,
        },
        postgres: raw.database.url.clone().map(|url| Postgres {
            url: Secret::new(url),
            origin: Origin::ConfigFile,
            password_file: raw.database.password_file.clone(),
        }),
        retention_days: in_range(raw.database.retention_days, 400, 1, 36_500)
            .map_err(|p| err("database.retention_days", p))?,
    };
    if raw.database.path.is_some() && raw.database.url.is_some() {
        return Err(err(
            "database",
            "path (a SQLite file) and url (PostgreSQL) name two stores: keep one".into(),
        ));
    }
    if raw.database.password_file.is_some() && raw.database.url.is_none() {
        return Err(err(
            "database.password_file",
            "is the PostgreSQL password: set url too, or remove it".into(),
        ));
    }
    let source = api.usage_source;
    let defaults = defaults_of(&raw.defaults, "defaults", source, &mut warnings, &err)?;
    let developer_defaults = defaults_of(
        &raw.claude_code_defaults,
        "claude_code_defaults",
        source,
        &mut warnings,
        &err,
    )?;
    let accounts = accounts(
        &raw.accounts,
        [&defaults, &developer_defaults],
        source,
        &mut warnings,
        &err,
    )?;
    for a in accounts
        .iter()
        .filter(|a| a.selector.is_developer() && a.limits.requests.is_some())
    {
        warnings.push(format!(
            "account {:?}: request_limit is not measured: the Claude Code usage report has no request counts",
            a.name
        ));
    }
    if !api.usage_source.measures_requests() {
        for a in accounts
            .iter()
            .filter(|a| a.limits.requests.is_some() && !a.selector.is_developer())
        {
            warnings.push(format!(
                "account {:?}: request_limit is not measured: the \"messages\" usage source has no request counts (set [api] usage_source = \"analytics\")",
                a.name
            ));
        }
    }
    let mut notify = raw
        .notify
        .iter()
        .enumerate()
        .try_fold(Vec::new(), |mut out, (i, n)| {
            let c = channel(i, n, &out, &err)?;
            out.push(c);
            Ok::<_, anyhow::Error>(out)
        })?;
    route_by_labels(&mut notify, &raw, &mut warnings);
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
    Ok(Config {
        file: located,
        api,
        database,
        discovery: raw.discovery.api_keys.unwrap_or(Discovery::Auto),
        developer_discovery: raw.discovery.claude_code_users.unwrap_or_default(),
        defaults,
        claude_code_defaults: developer_defaults,
        accounts,
        notify,
        metrics,
        failing_after: Duration::from_secs(
            60 * in_range::<u64>(raw.health.failing_after_minutes, 15, 1, 1440)
                .map_err(|p| err("health.failing_after_minutes", p))?,
        ),
        warnings,
    })
}

fn api(a: &RawApi, env: &dyn Fn(&str) -> Option<OsString>, err: Err<'_>) -> Result<Api> {
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
        crate::api::analytics::USAGE_PATH,
    )?;
    if !analytics_path.starts_with('/') {
        return Err(err(
            "api.analytics_path",
            format!("{analytics_path:?} must start with /"),
        ));
    }
    let minutes = |v, default, key| -> Result<Duration> {
        let m: u64 = in_range(v, default, 1, 1440).map_err(|p| err(key, p))?;
        Ok(Duration::from_secs(60 * m))
    };
    // Fractions allowed, down to a tenth of a second.
    let seconds = |v: Option<f64>, default: u64, max: u64, key| -> Result<Duration> {
        let Some(v) = v else {
            return Ok(Duration::from_secs(default));
        };
        if !(0.1..=max as f64).contains(&v) {
            return Err(err(key, format!("{v} is outside 0.1–{max} (seconds)")));
        }
        Ok(Duration::from_secs_f64(v))
    };
    Ok(Api {
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
        analytics_page_size: in_range(a.analytics_page_size, 1000, 1, 1000)
            .map_err(|p| err("api.analytics_page_size", p))?,
        cost_interval: minutes(a.cost_interval_minutes, 15, "api.cost_interval_minutes")?,
        claude_code_interval: minutes(
            a.claude_code_interval_minutes,
            15,
            "api.claude_code_interval_minutes",
        )?,
        admin_key_file: a.admin_key_file.clone(),
        base_url,
        base_url_origin,
        timeout: seconds(a.timeout_secs, 20, 600, "api.timeout_secs")?,
        deadline: seconds(a.deadline_secs, 50, 3600, "api.deadline_secs")?,
        usage_source: a.usage_source.unwrap_or(UsageSource::Messages),
    })
}

/// `v` if it lies in `min..=max`, else what is wrong with it; `default` when not set.
fn in_range<T: TryFrom<i64>>(v: Option<i64>, default: T, min: i64, max: i64) -> Result<T, String> {
    match v {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => {
            T::try_from(v).map_err(|_| format!("{v} is outside {min}–{max}"))
        }
        Some(v) => Err(format!("{v} is outside {min}–{max}")),
    }
}

/// The `i`th `[[notify]]` channel; `earlier` are the channels before it (names are unique).
/// A channel's `labels` select the configured accounts that carry every one of them (and
/// fit its `accounts` globs, when it has both): they become the names the channel takes.
/// Discovered accounts have no labels, so a label route never takes them.
fn route_by_labels(channels: &mut [Channel], raw: &RawConfig, warnings: &mut Vec<String>) {
    for (c, n) in channels.iter_mut().zip(&raw.notify) {
        let Some(wanted) = n.labels.as_ref().filter(|l| !l.is_empty()) else {
            continue;
        };
        let names: Vec<String> = raw
            .accounts
            .iter()
            .filter(|a| {
                wanted.iter().all(|(k, v)| {
                    a.labels
                        .as_ref()
                        .and_then(|l| l.get(k))
                        .is_some_and(|have| have == v)
                })
            })
            .filter_map(|a| a.name.clone())
            .filter(|name| c.takes(name))
            .collect();
        if names.is_empty() {
            warnings.push(format!(
                "channel {}: its labels select no configured account",
                c.name
            ));
        }
        c.accounts = Some(names);
    }
}

fn channel(i: usize, n: &RawNotify, earlier: &[Channel], err: Err<'_>) -> Result<Channel> {
    let at = format!("notify[{i}]");
    let kind = n.kind.ok_or_else(|| {
        err(
            &format!("{at}.type"),
            "missing (slack, webhook, pagerduty or email)".into(),
        )
    })?;
    // Keys that do not belong to this type are errors, like unknown keys.
    if let Some(key) = n.foreign_key(kind) {
        return Err(err(
            &format!("{at}.{key}"),
            format!("is not a key of a {} channel", kind.as_str()),
        ));
    }
    let name = match &n.name {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        Some(_) => return Err(err(&format!("{at}.name"), "must not be empty".into())),
        None => {
            let same = earlier
                .iter()
                .filter(|c| c.kind.type_name() == kind.as_str())
                .count();
            if same == 0 {
                kind.as_str().to_string()
            } else {
                format!("{}-{}", kind.as_str(), same + 1)
            }
        }
    };
    if earlier.iter().any(|c| c.name == name) {
        return Err(err(
            &format!("{at}.name"),
            format!("duplicate channel name {name:?}"),
        ));
    }
    Ok(Channel {
        name,
        kind: channel_kind(&at, kind, n, err)?,
        min_severity: n.min_severity.unwrap_or(Severity::Warning),
        send_resolved: n.send_resolved.unwrap_or(true),
        accounts: match &n.accounts {
            Some(globs) if globs.is_empty() || globs.iter().any(|g| g.trim().is_empty()) => {
                return Err(err(
                    &format!("{at}.accounts"),
                    "names no account: give names or globs such as \"prod-*\", or leave it out for every account".into(),
                ));
            }
            other => other.clone(),
        },
    })
}

fn channel_kind(at: &str, kind: ChannelType, n: &RawNotify, err: Err<'_>) -> Result<ChannelKind> {
    let secret = |inline: &Option<String>, file: &Option<PathBuf>, key: &str, url: bool| match (
        inline, file,
    ) {
        (Some(v), None) => {
            if url {
                check_url(v).map_err(|p| err(&format!("{at}.{key}"), p))?;
            }
            Ok(SecretSource::Inline(Secret::new(v.clone())))
        }
        (None, Some(p)) => Ok(SecretSource::File(p.clone())),
        (Some(_), Some(_)) => Err(err(at, format!("set {key} or {key}_file, not both"))),
        (None, None) => Err(err(
            at,
            format!("a {} channel needs {key} or {key}_file", kind.as_str()),
        )),
    };
    Ok(match kind {
        ChannelType::Slack => ChannelKind::Slack {
            url: secret(&n.url, &n.url_file, "url", true)?,
        },
        ChannelType::Webhook => ChannelKind::Webhook {
            url: secret(&n.url, &n.url_file, "url", true)?,
        },
        ChannelType::PagerDuty => {
            if let Some(u) = &n.url {
                check_url(u).map_err(|p| err(&format!("{at}.url"), p))?;
            }
            ChannelKind::PagerDuty {
                routing_key: secret(&n.routing_key, &n.routing_key_file, "routing_key", false)?,
                url: n.url.clone(),
            }
        }
        ChannelType::Email => email(at, n, err)?,
    })
}

fn email(at: &str, n: &RawNotify, err: Err<'_>) -> Result<ChannelKind> {
    let address = |v: &Option<String>, key: &str, example: &str| {
        v.clone().filter(|s| s.contains('@')).ok_or_else(|| {
            err(
                &format!("{at}.{key}"),
                format!("an email channel needs {key} = \"{example}\""),
            )
        })
    };
    let to = address(&n.to, "to", "ops@example.com")?;
    let from = address(&n.from, "from", "quota@example.com")?;
    let command = n
        .command
        .clone()
        .unwrap_or_else(|| vec!["/usr/sbin/sendmail".into(), "-t".into()]);
    if command.first().is_none_or(String::is_empty) {
        return Err(err(
            &format!("{at}.command"),
            "needs a program to run (argv array)".into(),
        ));
    }
    Ok(ChannelKind::Email { to, from, command })
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

//! Raw config → validated config. Each check names the file and the key.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::Result;

use super::raw::{RawApi, RawConfig, RawDatabase, RawMetrics};
use super::{
    Api, Config, DEFAULT_BASE_URL, Database, Discovery, Located, Metrics, Origin, Postgres,
};
use crate::account::{Account, UsageSource};
use crate::error::bad_input;
use crate::secret::Secret;

mod accounts;
mod channels;
mod shapes;

use accounts::{accounts, defaults_of};
use channels::channels;
pub(super) use shapes::WrittenWindow;

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
    let database = database(&raw.database, &err)?;
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
    unmeasured_request_limits(&accounts, source, &mut warnings);
    let notify = channels(&raw, &mut warnings, &err)?;
    let metrics = metrics(&raw.metrics, &err)?;
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

/// `[database]`: a SQLite file or a PostgreSQL URL, never both.
fn database(raw: &RawDatabase, err: Err<'_>) -> Result<Database> {
    if raw.path.is_some() && raw.url.is_some() {
        return Err(err(
            "database",
            "path (a SQLite file) and url (PostgreSQL) name two stores: keep one".into(),
        ));
    }
    if raw.password_file.is_some() && raw.url.is_none() {
        return Err(err(
            "database.password_file",
            "is the PostgreSQL password: set url too, or remove it".into(),
        ));
    }
    Ok(Database {
        // Resolved after validation, once the whole config is known.
        path: Located {
            path: raw.path.clone().unwrap_or_default(),
            origin: Origin::ConfigFile,
        },
        postgres: raw.url.clone().map(|url| Postgres {
            url: Secret::new(url),
            origin: Origin::ConfigFile,
            password_file: raw.password_file.clone(),
        }),
        retention_days: in_range(raw.retention_days, 400, 1, 36_500)
            .map_err(|p| err("database.retention_days", p))?,
    })
}

/// A request limit that nothing measures is a warning: developers' reports have no request
/// counts, and neither has the messages source.
fn unmeasured_request_limits(
    accounts: &[Account],
    source: UsageSource,
    warnings: &mut Vec<String>,
) {
    for a in accounts.iter().filter(|a| a.limits.requests.is_some()) {
        if a.selector.is_developer() {
            warnings.push(format!(
                "account {:?}: request_limit is not measured: the Claude Code usage report has no request counts",
                a.name
            ));
        } else if !source.measures_requests() {
            warnings.push(format!(
                "account {:?}: request_limit is not measured: the \"messages\" usage source has no request counts (set [api] usage_source = \"analytics\")",
                a.name
            ));
        }
    }
}

fn metrics(raw: &RawMetrics, err: Err<'_>) -> Result<Metrics> {
    let heartbeat_url = match &raw.heartbeat_url {
        Some(u) => {
            check_url(u).map_err(|p| err("metrics.heartbeat_url", p))?;
            Some(Secret::new(u.clone()))
        }
        None => None,
    };
    Ok(Metrics {
        textfile: raw.textfile.clone(),
        heartbeat_url,
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
pub(super) fn check_url(url: &str) -> Result<(), String> {
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

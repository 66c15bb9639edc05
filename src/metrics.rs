//! Exports at the end of every sync (SPEC §6): the node_exporter textfile, rendered from a
//! `Snapshot` the sync made and written atomically, and the heartbeat ping. Neither may
//! fail a sync: problems are logged. Nothing here reads the store.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::alert::{AccountStatus, Severity};
use crate::evaluate::View;
use crate::period::Window;
use crate::quota::QuotaType;
use crate::reconcile::Reading;
use crate::secret::Secret;

/// How the run that writes the textfile went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub success: bool,
    pub duration: Duration,
}

/// The process's peak resident memory (Linux `VmHWM`), for the log and the benchmark.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the textfile reports.
pub(crate) struct Snapshot<'a> {
    pub views: &'a [View<'a>],
    pub status: &'a dyn Fn(&str) -> AccountStatus,
    pub open_alerts: &'a [(Severity, usize)],
    pub last_success: Option<DateTime<Utc>>,
    pub duration: Duration,
    pub success: bool,
    /// Seconds since the last successful usage read.
    pub data_age_seconds: Option<i64>,
    /// Each read and whether its last attempt succeeded.
    pub reads: &'a [(String, bool)],
    /// Per channel: notifications pending and failed.
    pub channels: &'a [(String, usize, usize)],
    /// Burn rates: (account, quota type, window, lookback) and the burn.
    pub burn_rates: &'a [BurnSample],
    /// Configured accounts whose id a listing checked, and whether it was missing.
    pub unlisted: &'a [(String, bool)],
}

/// One `quota_burn_rate` sample.
pub(crate) type BurnSample = ((String, QuotaType, Window, String), rust_decimal::Decimal);

/// The textfile collector format, with HELP and TYPE for every metric.
pub(crate) fn render(s: &Snapshot<'_>) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    render_accounts(s, &mut family);
    family(
        "quota_alerts_open",
        "Open alerts by severity.",
        s.open_alerts
            .iter()
            .map(|(sev, n)| (labels(&[("severity", sev.as_str())]), n.to_string()))
            .collect(),
    );
    if let Some(t) = s.last_success {
        family(
            "quota_last_success_timestamp_seconds",
            "When the last successful sync finished (Unix time).",
            vec![(String::new(), t.timestamp().to_string())],
        );
    }
    family(
        "quota_sync_duration_seconds",
        "How long the last sync took.",
        vec![(String::new(), format!("{:.3}", s.duration.as_secs_f64()))],
    );
    family(
        "quota_sync_success",
        "1 if the last sync succeeded, else 0.",
        vec![(String::new(), u8::from(s.success).to_string())],
    );
    render_health(s, &mut family);
    out
}

/// The per-account families: usage, limits and their ratio, burn rates, and whether each
/// account is exhausted or its configured id unlisted.
fn render_accounts(s: &Snapshot<'_>, family: &mut Family<'_>) {
    family(
        "quota_usage",
        "Usage in the current billing period, UTC day or ISO week (tokens, requests or USD).",
        per_quota(s, &|r| r.used.map(|u| u.to_string())),
    );
    family(
        "quota_limit",
        "The configured limit for the billing period, UTC day or ISO week.",
        per_quota(s, &|r| r.limit.map(|l| l.to_string())),
    );
    family(
        "quota_usage_ratio",
        "Usage divided by the limit (1 = the limit is reached).",
        per_quota(s, &|r| match (r.used, r.limit) {
            (Some(u), Some(l)) if !l.is_zero() => u
                .checked_div(l)
                .map(|x| x.round_dp(6).normalize().to_string()),
            _ => None,
        }),
    );
    family(
        "quota_burn_rate",
        "Usage in the lookback over what the window allows in that time (1 = on pace to use the limit exactly).",
        burn_samples(s),
    );
    family(
        "quota_account_exhausted",
        "1 while any quota of the account has reached its limit.",
        s.views
            .iter()
            .map(|v| {
                let exhausted = (s.status)(&v.account.name) == AccountStatus::Exhausted;
                (
                    labels(&[("account", &v.account.name)]),
                    u8::from(exhausted).to_string(),
                )
            })
            .collect(),
    );
    family(
        "quota_account_unlisted",
        "1 while the account's configured api_key_id, claude_code_api_key or workspace_id is missing from the organization's list (its usage reads 0).",
        s.unlisted
            .iter()
            .map(|(account, missing)| {
                (
                    labels(&[("account", account)]),
                    u8::from(*missing).to_string(),
                )
            })
            .collect(),
    );
}

/// Every quota of the period and a day or week window's quotas that it limits, labelled,
/// with `f`'s value where it has one.
fn per_quota(s: &Snapshot<'_>, f: &dyn Fn(&Reading) -> Option<String>) -> Vec<(String, String)> {
    let mut samples = Vec::new();
    for v in s.views {
        for w in v.all() {
            let shown = |r: &&Reading| w.window == Window::Period || r.limit.is_some();
            for r in w.readings.iter().filter(shown) {
                if let Some(value) = f(r) {
                    let labels = labels(&[
                        ("account", &v.account.name),
                        ("quota_type", r.quota_type.as_str()),
                        ("window", w.window.as_str()),
                    ]);
                    samples.push((labels, value));
                }
            }
        }
    }
    samples
}

fn burn_samples(s: &Snapshot<'_>) -> Vec<(String, String)> {
    s.burn_rates
        .iter()
        .map(|((account, q, w, lookback), x)| {
            let labels = labels(&[
                ("account", account),
                ("quota_type", q.as_str()),
                ("window", w.as_str()),
                ("lookback", lookback),
            ]);
            (labels, x.normalize().to_string())
        })
        .collect()
}

/// Writes one metric family: its name, help and samples (labels, value).
type Family<'f> = dyn FnMut(&str, &str, Vec<(String, String)>) + 'f;

/// The families that say whether quota can see: data age, each read, each channel.
fn render_health(s: &Snapshot<'_>, family: &mut Family<'_>) {
    if let Some(age) = s.data_age_seconds {
        family(
            "quota_data_age_seconds",
            "Seconds since the last successful usage read: what every quota above is as of.",
            vec![(String::new(), age.to_string())],
        );
    }
    family(
        "quota_read_success",
        "1 if the read's last attempt succeeded, else 0 (usage, cost, claude_code, discovery, workspaces, key_check, workspace_check).",
        s.reads
            .iter()
            .map(|(read, ok)| (labels(&[("read", read)]), u8::from(*ok).to_string()))
            .collect(),
    );
    family(
        "quota_notifications_pending",
        "Notifications waiting to be delivered, per channel.",
        s.channels
            .iter()
            .map(|(c, pending, _)| (labels(&[("channel", c)]), pending.to_string()))
            .collect(),
    );
    family(
        "quota_notifications_failed_total",
        "Notifications given up on (delivery failed for good), per channel.",
        s.channels
            .iter()
            .map(|(c, _, failed)| (labels(&[("channel", c)]), failed.to_string()))
            .collect(),
    );
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so
/// node_exporter never reads half a file.
pub(crate) fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("the textfile path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.context(format!(
            "cannot write the metrics textfile {}",
            path.display()
        ))
    })
}

/// Pings the heartbeat URL, or `URL/fail` after a failed sync (the healthchecks.io
/// convention). Logged, never fatal.
pub(crate) fn heartbeat(url: &Secret, success: bool, timeout: Duration) {
    let target = if success {
        url.expose().to_string()
    } else {
        format!("{}/fail", url.expose().trim_end_matches('/'))
    };
    match crate::http::ping(&target, url, timeout) {
        Ok(status) => log::debug!("heartbeat sent (HTTP {status})"),
        Err(e) => log::warn!("heartbeat failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            labels(&[("account", "a\"b\\c\nd")]),
            r#"{account="a\"b\\c\nd"}"#
        );
    }
}

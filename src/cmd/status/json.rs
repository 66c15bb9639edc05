//! `status --json`: typed structs written straight out.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::Shown;
use crate::account::Selector;
use crate::burn::{self, Burn};
use crate::evaluate;
use crate::output;
use crate::period::Window;
use crate::quota::percentage;
use crate::reconcile::Reading;
use crate::store::outbox::Backlog;
use crate::time::ts;

pub(super) fn print_json(s: &Shown<'_>) -> Result<()> {
    // Typed structs straight to the writer: building serde_json::Value trees for 10,000
    // accounts cost more than everything else `status` does.
    let items: Vec<AccountJson<'_>> = s
        .views
        .iter()
        .enumerate()
        .map(|(i, v)| AccountJson {
            account: &v.account.name,
            api_key_id: v.account.selector.api_key_id(),
            workspace_id: v.account.selector.workspace_label(),
            organization: matches!(v.account.selector, Selector::Organization),
            claude_code_user: match &v.account.selector {
                Selector::ClaudeCodeUser(e) => Some(e),
                _ => None,
            },
            claude_code_api_key: match &v.account.selector {
                Selector::ClaudeCodeApiKey(k) => Some(k),
                _ => None,
            },
            status: s.status(v).as_str(),
            period_start: ts(v.period.start),
            period_end: ts(v.period.end),
            resets_in_seconds: v.period.remaining(s.now).num_seconds(),
            last_synced_at: s.synced(v).map(ts),
            usage_source: s.source.as_str(),
            data_as_of: s.data_as_of.as_deref(),
            quotas: Quotas(
                v.readings
                    .iter()
                    .map(|r| {
                        let burns = s.burns(i, Window::Period, r.quota_type);
                        quota_json(r, &burns, || s.why(v, r.quota_type))
                    })
                    .collect(),
            ),
            windows: v
                .windows
                .iter()
                .map(|w| {
                    let quotas = w.readings.iter().map(|r| {
                        let burns = s.burns(i, w.window, r.quota_type);
                        quota_json(r, &burns, || s.why(v, r.quota_type))
                    });
                    (w.window.as_str(), Quotas(quotas.collect()))
                })
                .collect(),
            open_alerts: s.open(v),
            notifications: s.backlog.get(&v.account.name),
            unlisted: s
                .unlisted
                .iter()
                .find(|(name, _)| *name == v.account.name)
                .map(|(_, line)| line.as_str()),
        })
        .collect();
    output::json(&items)
}

/// One account in `status --json` (SPEC §5's fields, then extras).
#[derive(Serialize)]
struct AccountJson<'a> {
    account: &'a str,
    api_key_id: Option<&'a str>,
    workspace_id: Option<&'a str>,
    /// Developer accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_code_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claude_code_api_key: Option<&'a str>,
    organization: bool,
    status: &'static str,
    period_start: String,
    period_end: String,
    resets_in_seconds: i64,
    /// Data as of: the last successful sync.
    last_synced_at: Option<String>,
    usage_source: &'static str,
    /// The source's own watermark (analytics data lags by hours), else null.
    data_as_of: Option<&'a str>,
    quotas: Quotas,
    /// The day and week windows the account has limits for, each like `quotas`.
    windows: BTreeMap<&'static str, Quotas>,
    open_alerts: usize,
    #[serde(serialize_with = "backlog_json")]
    notifications: Option<&'a BTreeMap<String, Backlog>>,
    /// Only when the organization's last listing lacked the account's key or workspace id:
    /// why its usage reads 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    unlisted: Option<&'a str>,
}

#[derive(Serialize)]
struct QuotaJson {
    #[serde(skip)]
    name: &'static str,
    used: Value,
    limit: Value,
    percentage: Option<f64>,
    measured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    forecast: Option<ForecastJson>,
    /// Per lookback (`"1h"`, `"5m"`…), null where not evaluated; absent without rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_rate: Option<BTreeMap<String, Option<f64>>>,
    /// Why a lookback is not evaluated, when one is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    burn_rate_reason: Option<String>,
}

#[derive(Serialize)]
struct ForecastJson {
    projected: Value,
    exhausts_at: Option<String>,
}

/// The quotas as a JSON object keyed by quota type, in the order of `QuotaType::ALL`.
struct Quotas(Vec<QuotaJson>);

impl Serialize for Quotas {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for q in &self.0 {
            map.serialize_entry(q.name, q)?;
        }
        map.end()
    }
}

fn backlog_json<S: serde::Serializer>(
    b: &Option<&BTreeMap<String, Backlog>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(None)?;
    for (channel, b) in b.iter().flat_map(|m| m.iter()) {
        map.serialize_entry(
            channel,
            &serde_json::json!({"pending": b.pending, "failed": b.failed}),
        )?;
    }
    map.end()
}

fn quota_json(
    r: &Reading,
    burns: &[&Burn],
    why: impl FnOnce() -> evaluate::Unmeasured,
) -> QuotaJson {
    use rust_decimal::prelude::ToPrimitive;
    let q = r.quota_type;
    let lookbacks = burns
        .iter()
        .flat_map(|b| [(b.rule.long, b.long), (b.rule.short, b.short)]);
    let burn_rate: BTreeMap<String, Option<f64>> = lookbacks
        .clone()
        .map(|(l, v)| (burn::lookback(l), v.ok().and_then(|d| d.to_f64())))
        .collect();
    let burn_rate_reason = lookbacks
        .filter_map(|(_, v)| v.err())
        .map(|e| e.to_string())
        .next();
    QuotaJson {
        name: q.as_str(),
        used: r.used.map_or(Value::Null, |u| q.json_value(u)),
        limit: r.limit.map_or(Value::Null, |l| q.json_value(l)),
        percentage: r.used.zip(r.limit).map(|(u, l)| percentage(u, l)),
        measured: r.used.is_some(),
        reason: r.used.is_none().then(|| why().to_string()),
        forecast: r.forecast.map(|f| ForecastJson {
            projected: q.json_value(f.projected.round_dp(2)),
            exhausts_at: f.exhausts_at.map(ts),
        }),
        burn_rate: (!burn_rate.is_empty()).then_some(burn_rate),
        burn_rate_reason,
    }
}

//! The alert model of SPEC §4: types, severities, resolutions, and how a threshold maps to
//! an alert.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::period::{Period, Window};
use crate::quota::QuotaType;

string_enum!(
    /// Ordered: `Warning < Critical`.
    Severity { Warning => "warning", Critical => "critical" }
);
string_enum!(AlertType {
    ApproachingLimit => "approaching_limit",
    QuotaExceeded => "quota_exceeded",
    ForecastExceeded => "forecast_exceeded",
    BurnRate => "burn_rate",
    SyncFailing => "sync_failing",
    DeliveryFailing => "delivery_failing",
});

impl AlertType {
    /// About quota itself (a read that keeps failing), not about an account's quota: it
    /// belongs to no account and has no quota type.
    pub(crate) fn is_health(self) -> bool {
        matches!(self, AlertType::SyncFailing | AlertType::DeliveryFailing)
    }
}
string_enum!(Resolution {
    Manual => "manual",
    Superseded => "superseded",
    Recovered => "recovered",
    PeriodEnded => "period_ended",
    Rollover => "rollover",
    AccountRemoved => "account_removed",
});
string_enum!(AccountStatus { Active => "active", Exhausted => "exhausted" });
string_enum!(
    /// What a notification tells about an alert.
    Event { Firing => "firing", Resolved => "resolved" }
);

/// The seed's table: ≥ 100 % is `quota_exceeded`, ≥ 95 % critical, the rest a warning.
pub(crate) fn classify(threshold: u32) -> (AlertType, Severity) {
    match threshold {
        100.. => (AlertType::QuotaExceeded, Severity::Critical),
        95.. => (AlertType::ApproachingLimit, Severity::Critical),
        _ => (AlertType::ApproachingLimit, Severity::Warning),
    }
}

/// The fields of an alert that is about to be created or reopened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Firing {
    pub alert_type: AlertType,
    pub severity: Severity,
    pub message: String,
    pub current_value: Decimal,
    pub limit_value: Decimal,
    pub percentage: f64,
    pub quota_type: QuotaType,
    pub threshold: u32,
    /// The window and its instance the alert is about.
    pub window: Window,
    pub span: Period,
}

/// One alert row with the columns of SPEC §4. A health alert (`AlertType::is_health`)
/// belongs to no account (`account` is `""`, JSON null), has no quota type, and names its
/// read instead; its `current_value` is the failed runs of its streak, `period_start` the
/// streak's start, which is its identity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alert {
    pub id: String,
    pub account: String,
    pub alert_type: AlertType,
    pub severity: Severity,
    pub message: String,
    pub current_value: Decimal,
    pub limit_value: Decimal,
    pub percentage: f64,
    /// `None` for a health alert.
    pub quota_type: Option<QuotaType>,
    /// The read a health alert is about (`usage`, `cost`, …); `None` otherwise.
    pub read: Option<String>,
    pub threshold: u32,
    /// The window whose instance `period_start`–`period_end` is (health alerts: `Period`).
    pub window: Window,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<Resolution>,
    pub comment: Option<String>,
    /// Who resolved it by hand, when someone did (not a contract column: not in the JSON).
    pub resolved_by: Option<String>,
}

impl Alert {
    /// A new, open alert of `account` in the firing's window instance.
    pub(crate) fn new(id: String, account: &str, f: &Firing, created_at: DateTime<Utc>) -> Alert {
        Alert {
            id,
            account: account.to_string(),
            alert_type: f.alert_type,
            severity: f.severity,
            message: f.message.clone(),
            current_value: f.current_value,
            limit_value: f.limit_value,
            percentage: f.percentage,
            quota_type: Some(f.quota_type),
            read: None,
            threshold: f.threshold,
            window: f.window,
            period_start: f.span.start,
            period_end: f.span.end,
            created_at,
            resolved_at: None,
            resolution: None,
            comment: None,
            resolved_by: None,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// `what`, with the window where it is not the period: `tokens/day`.
    pub(crate) fn what_window(&self) -> String {
        match self.window {
            Window::Period => self.what().to_string(),
            w => format!("{}/{w}", self.what()),
        }
    }

    /// What it is about, in a word: its quota type, or a health alert's read.
    pub(crate) fn what(&self) -> &str {
        match (&self.quota_type, &self.read) {
            (Some(q), _) => q.as_str(),
            (None, Some(read)) => read,
            (None, None) => "",
        }
    }

    /// Who it is about: the account, or `quota` itself for a health alert.
    pub(crate) fn who(&self) -> &str {
        if self.account.is_empty() {
            "quota"
        } else {
            &self.account
        }
    }

    /// Its numbers for people: `960 / 1,000 (96%)`, or a health alert's failed runs.
    pub(crate) fn amount(&self) -> String {
        match self.quota_type {
            Some(q) => format!(
                "{} / {} ({}%)",
                q.display(self.current_value),
                q.display(self.limit_value),
                self.percentage
            ),
            None => format!("{} failed runs", self.current_value.normalize()),
        }
    }

    /// The alert as JSON: exactly the columns of SPEC §4 (`alerts list --json`, webhooks).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let ts = crate::time::ts;
        let value = |v: Decimal| match self.quota_type {
            Some(q) => q.json_value(v),
            None => serde_json::json!(v.normalize().to_string().parse::<u64>().ok()),
        };
        serde_json::json!({
            "id": self.id,
            "account": (!self.account.is_empty()).then_some(&self.account),
            "type": self.alert_type.as_str(),
            "severity": self.severity.as_str(),
            "message": self.message,
            "current_value": value(self.current_value),
            "limit_value": value(self.limit_value),
            "percentage": self.percentage,
            "quota_type": self.quota_type.map(QuotaType::as_str),
            "threshold": self.threshold,
            "window": self.window.as_str(),
            "period_start": ts(self.period_start),
            "period_end": ts(self.period_end),
            "created_at": ts(self.created_at),
            "resolved_at": self.resolved_at.map(ts),
            "resolution": self.resolution.map(|r| r.as_str()),
            "comment": self.comment,
        })
    }
}

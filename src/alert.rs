//! The alert model of SPEC §4: types, severities, resolutions, and how a threshold maps to
//! an alert.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::period::Period;
use crate::quota::QuotaType;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum $name { $($variant),+ }

        impl $name {
            pub(crate) fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub(crate) fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| serde::de::Error::unknown_variant(&s, &[$($text),+]))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Ordered: `Warning < Critical`.
    Severity { Warning => "warning", Critical => "critical" }
);
string_enum!(AlertType {
    ApproachingLimit => "approaching_limit",
    QuotaExceeded => "quota_exceeded",
    ForecastExceeded => "forecast_exceeded",
});
string_enum!(Resolution {
    Manual => "manual",
    Superseded => "superseded",
    Recovered => "recovered",
    PeriodEnded => "period_ended",
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
}

/// One alert row with the columns of SPEC §4.
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
    pub quota_type: QuotaType,
    pub threshold: u32,
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
    /// A new, open alert of `account` in `period`.
    pub(crate) fn new(
        id: String,
        account: &str,
        f: &Firing,
        period: Period,
        created_at: DateTime<Utc>,
    ) -> Alert {
        Alert {
            id,
            account: account.to_string(),
            alert_type: f.alert_type,
            severity: f.severity,
            message: f.message.clone(),
            current_value: f.current_value,
            limit_value: f.limit_value,
            percentage: f.percentage,
            quota_type: f.quota_type,
            threshold: f.threshold,
            period_start: period.start,
            period_end: period.end,
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

    /// The alert as JSON: exactly the columns of SPEC §4 (`alerts list --json`, webhooks).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let ts = crate::time::ts;
        serde_json::json!({
            "id": self.id,
            "account": self.account,
            "type": self.alert_type.as_str(),
            "severity": self.severity.as_str(),
            "message": self.message,
            "current_value": self.quota_type.json_value(self.current_value),
            "limit_value": self.quota_type.json_value(self.limit_value),
            "percentage": self.percentage,
            "quota_type": self.quota_type.as_str(),
            "threshold": self.threshold,
            "period_start": ts(self.period_start),
            "period_end": ts(self.period_end),
            "created_at": ts(self.created_at),
            "resolved_at": self.resolved_at.map(ts),
            "resolution": self.resolution.map(|r| r.as_str()),
            "comment": self.comment,
        })
    }
}

//! The alert model of SPEC §4: types, severities, resolutions, and how a threshold maps to
//! an alert.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::quota::QuotaType;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
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
});
string_enum!(AccountStatus { Active => "active", Exhausted => "exhausted" });

/// The seed's table: ≥ 100 % is `quota_exceeded`, ≥ 95 % critical, the rest a warning.
pub fn classify(threshold: u32) -> (AlertType, Severity) {
    match threshold {
        100.. => (AlertType::QuotaExceeded, Severity::Critical),
        95.. => (AlertType::ApproachingLimit, Severity::Critical),
        _ => (AlertType::ApproachingLimit, Severity::Warning),
    }
}

/// One alert row with the columns of SPEC §4.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
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
}

impl Alert {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
}

//! Plain records that cross layers: what the API readers produce and the store keeps. They
//! carry data only; deciding what it means is the core's work.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One day of USD cost of a workspace, from a cost report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostDay {
    /// `None` is the Default Workspace.
    pub workspace_id: Option<String>,
    pub day: NaiveDate,
    /// Cents, exact.
    pub cents: Decimal,
}

/// An active API key as the api_keys endpoint lists it (discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub id: String,
    pub name: String,
    pub workspace_id: Option<String>,
}

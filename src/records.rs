//! Plain records that cross layers: what the API readers produce and the store keeps. They
//! carry data only; deciding what it means is the core's work.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::quota::DayUsage;

/// One day of USD cost of a workspace, or of one API key in it, from a cost report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostDay {
    /// The key, where the report was grouped by key (the analytics source); `None`: the
    /// workspace's cost, not per key.
    pub api_key_id: Option<String>,
    /// `None` is the Default Workspace.
    pub workspace_id: Option<String>,
    pub day: NaiveDate,
    /// Cents, exact.
    pub cents: Decimal,
}

/// An active API key as the api_keys endpoint lists it (discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedKey {
    pub id: String,
    pub name: String,
    pub workspace_id: Option<String>,
}

string_enum!(
    /// Who a Claude Code record is about: a user (by e-mail, kept lowercase) or an API
    /// actor (by its key name).
    ActorKind { User => "user", ApiKey => "api_key" }
);

/// One actor's Claude Code usage on one UTC day, summed over terminals, local/remote and
/// models (ADMIN_API.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeveloperDay {
    pub kind: ActorKind,
    /// The e-mail address (lowercase) or the key name.
    pub actor: String,
    pub day: NaiveDate,
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
    /// The report's estimated cost, cents, exact.
    pub cents: Decimal,
}

impl DeveloperDay {
    /// The day as usage rows count it: `input_tokens` = input + cache read + cache creation,
    /// `tokens` adds output.
    pub(crate) fn usage(&self) -> DayUsage {
        DayUsage::split(
            self.day,
            self.input,
            (self.cache_creation, 0),
            self.cache_read,
            self.output,
        )
    }
}

/// Where a usage reader puts rows as it parses them, so that a fetch of any size holds a
/// batch in memory, not the whole fetch. Rows of one (key, workspace, day) split by another
/// dimension may arrive separately: the sink sums them. A page's rows count only once the
/// page was read whole.
pub(crate) trait UsageSink {
    fn add(&mut self, row: DayUsage) -> anyhow::Result<()>;
    /// The same row again, with the model it is of, when the read groups by model (some
    /// account is scoped to models). A sink that keeps totals only ignores it.
    fn add_model(&mut self, _model: &str, _row: &DayUsage) -> anyhow::Result<()> {
        Ok(())
    }
    /// A page begins, or begins again after a failed attempt: what that attempt added goes.
    fn begin_page(&mut self) -> anyhow::Result<()>;
    /// The page was read whole: its rows stay.
    fn end_page(&mut self) -> anyhow::Result<()>;
    /// The read starts over from its first page (an expired cursor): everything it added
    /// since it began goes.
    fn restart(&mut self) -> anyhow::Result<()>;
}

/// How one read of quota's has been going, as the store keeps it (`store::health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadHealth {
    /// `usage`, `cost`, `claude_code`, `discovery` or `delivery:<channel>`.
    pub read: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_attempt_at: DateTime<Utc>,
    /// When the current failure streak began; `None` while the read succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    /// Runs in a row that failed.
    pub failures: u64,
    /// The last error line of the streak (kept after a success, for the record).
    pub last_error: Option<String>,
}

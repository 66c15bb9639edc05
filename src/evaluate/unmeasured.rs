//! Why a quota has no value: a typed reason callers branch on, and its sentence for people.

use crate::account::{Account, UsageSource};
use crate::quota::QuotaType;

/// Why a quota has no value, for `status`, `config check` and the sync log: callers branch
/// on the variant, people read its `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmeasured {
    /// The "messages" source has no request counts.
    NoRequestCounts,
    /// No cost report has been read yet.
    NoCostYet,
    /// An API key's cost, which only the analytics source reads.
    KeyCostNeedsAnalytics,
    /// The Claude Code report has no request counts.
    DeveloperRequests,
    /// The Claude Code report has not been read yet.
    DeveloperNotRead,
    /// The source's last read found these count fields in no row (`total_tokens` too, for
    /// a token quota).
    NotReported {
        source: UsageSource,
        missing: Vec<&'static str>,
        nor_total: bool,
    },
    /// Some days in the period lack this count.
    SomeDays,
    /// No sync has read the account's usage yet: its stored sums mean nothing so far.
    NotSynced,
    /// Cost of an account scoped to models: only the analytics source reads it per model.
    ModelCost,
}

impl std::fmt::Display for Unmeasured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmeasured::NoRequestCounts => f.write_str(
                "the \"messages\" usage source has no request counts (set [api] usage_source = \"analytics\")",
            ),
            Unmeasured::NoCostYet => f.write_str(
                "no cost report has been read yet (cost is read for accounts with a cost_limit_usd: workspaces, the organization, and API keys with the analytics source)",
            ),
            Unmeasured::KeyCostNeedsAnalytics => f.write_str(
                "the \"messages\" usage source reads cost per workspace only (set [api] usage_source = \"analytics\" for cost per API key)",
            ),
            Unmeasured::DeveloperRequests => {
                f.write_str("the Claude Code usage report has no request counts")
            }
            Unmeasured::DeveloperNotRead => {
                f.write_str("the Claude Code usage report has not been read yet")
            }
            Unmeasured::NotReported {
                source,
                missing,
                nor_total,
            } => write!(
                f,
                "the {} source reported no {}{} in its last read",
                source.as_str(),
                missing.join(", "),
                if *nor_total { " (nor total_tokens)" } else { "" }
            ),
            Unmeasured::SomeDays => f.write_str("some days in the period lack this count"),
            Unmeasured::NotSynced => f.write_str("not synced yet (run quota sync)"),
            Unmeasured::ModelCost => f.write_str(
                "the \"messages\" usage source reads cost per workspace, not per model (set [api] usage_source = \"analytics\" for cost per model)",
            ),
        }
    }
}

/// Why a quota has no value. `unreported` are the count fields the last usage read found in
/// no row (`store::Fact::UsageUnreported`).
pub(crate) fn unmeasured_reason(
    q: QuotaType,
    source: UsageSource,
    unreported: &[String],
) -> Unmeasured {
    const SPLIT: [&str; 5] = [
        "uncached_input_tokens",
        "cache_creation.ephemeral_5m_input_tokens",
        "cache_creation.ephemeral_1h_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    ];
    let needs: &[&'static str] = match q {
        QuotaType::Requests if !source.measures_requests() => return Unmeasured::NoRequestCounts,
        QuotaType::CostUsd => return Unmeasured::NoCostYet,
        QuotaType::Tokens if !unreported.iter().any(|f| f == "total_tokens") => &[],
        QuotaType::Tokens => &SPLIT,
        QuotaType::InputTokens => &SPLIT[..4],
        QuotaType::OutputTokens => &SPLIT[4..],
        QuotaType::Requests => &["requests"],
    };
    let missing: Vec<&'static str> = needs
        .iter()
        .copied()
        .filter(|f| unreported.iter().any(|u| u == f))
        .collect();
    if missing.is_empty() {
        return Unmeasured::SomeDays;
    }
    Unmeasured::NotReported {
        source,
        missing,
        nor_total: q == QuotaType::Tokens,
    }
}

/// The quotas a read that found `unreported` fields in no row cannot measure.
pub(crate) fn unmeasurable(unreported: &[String]) -> Vec<QuotaType> {
    [
        QuotaType::Tokens,
        QuotaType::InputTokens,
        QuotaType::OutputTokens,
        QuotaType::Requests,
    ]
    .into_iter()
    .filter(|q| {
        matches!(
            unmeasured_reason(*q, UsageSource::Analytics, unreported),
            Unmeasured::NotReported { .. }
        )
    })
    .collect()
}

/// Why a quota of a developer account has no value.
pub(crate) fn developer_reason(q: QuotaType) -> Unmeasured {
    match q {
        QuotaType::Requests => Unmeasured::DeveloperRequests,
        _ => Unmeasured::DeveloperNotRead,
    }
}

/// Why a quota of `account` has no value (see `unmeasured_reason`).
pub(crate) fn reason(
    account: &Account,
    q: QuotaType,
    source: UsageSource,
    unreported: &[String],
) -> Unmeasured {
    if account.selector.is_developer() {
        developer_reason(q)
    } else if q == QuotaType::CostUsd && account.model.is_some() && source != UsageSource::Analytics
    {
        Unmeasured::ModelCost
    } else if q == QuotaType::CostUsd && !account.selector.reads_cost(source) {
        Unmeasured::KeyCostNeedsAnalytics
    } else {
        unmeasured_reason(q, source, unreported)
    }
}

/// A quota that is not measured by design, whatever the data: for `config check`.
pub(crate) fn never_measured(
    account: &Account,
    q: QuotaType,
    source: UsageSource,
) -> Option<Unmeasured> {
    if q == QuotaType::CostUsd && account.model.is_some() && !account.selector.is_developer() {
        return (source != UsageSource::Analytics).then_some(Unmeasured::ModelCost);
    }
    if q == QuotaType::CostUsd && !account.selector.is_developer() {
        return (!account.selector.reads_cost(source)).then_some(Unmeasured::KeyCostNeedsAnalytics);
    }
    if q != QuotaType::Requests {
        return None;
    }
    if account.selector.is_developer() {
        return Some(developer_reason(q));
    }
    (!source.measures_requests()).then(|| unmeasured_reason(q, source, &[]))
}

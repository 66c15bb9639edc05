//! The domain every layer speaks: accounts (which usage rows are theirs, their limits and
//! thresholds) and the channels alerts go to. The config validates into these; nothing
//! here reads a file, the store or the API.

use std::fmt;
use std::sync::Arc;

use anyhow::Result;

use crate::alert::Severity;
use crate::error::bad_input;
use crate::period::{Period, Window};
use crate::quota::Limits;
use crate::records::ActorKind;
use crate::secret::SecretSource;

string_enum!(
    /// Where usage is read from (`[api] usage_source`).
    UsageSource {
        /// `usage_report/messages`: stable, tokens only.
        Messages => "messages",
        /// The analytics beta: tokens and request counts.
        Analytics => "analytics",
    }
);

impl UsageSource {
    pub(crate) fn measures_requests(self) -> bool {
        self == UsageSource::Analytics
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Account {
    pub name: String,
    pub selector: Selector,
    /// Shared with the defaults by the accounts that take theirs.
    pub limits: Arc<Limits>,
    pub billing_day: u32,
    /// Ascending, without duplicates.
    pub thresholds: Thresholds,
    /// Whether `forecast_exceeded` warnings are raised.
    pub forecast: bool,
    /// Limits per UTC day and ISO week beside the period's, where set (most accounts have
    /// none: an empty list shared with the defaults).
    pub windows: Windows,
    /// Burn-rate rules (`crate::burn`); empty: switched off.
    pub burn: BurnRules,
    /// Only the usage of these models (`model = "claude-opus-4*"`); `None`: every model.
    pub model: Option<ModelGlob>,
}

/// A glob on a model id where `*` matches any run of characters (and nothing else is
/// special), as in `claude-opus-4*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ModelGlob(Arc<str>);

impl ModelGlob {
    pub(crate) fn new(pattern: &str) -> ModelGlob {
        ModelGlob(pattern.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn matches(&self, model: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = model.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(i) => rest = &rest[i + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

/// Shared, as thresholds are.
pub(crate) type BurnRules = Arc<[crate::burn::BurnRule]>;

/// The limits of one window beside the period (`[accounts.daily]`, `[accounts.weekly]`),
/// with its own alert ladder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WindowRule {
    pub window: Window,
    pub limits: Limits,
    pub thresholds: Thresholds,
}

/// An account's day and week rules, in that order, each at most once.
pub(crate) type Windows = Arc<[WindowRule]>;

impl Account {
    /// Each window the account has limits for, the period first: the window, its instance
    /// containing `now`, its limits and its thresholds.
    pub(crate) fn each_window(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> impl Iterator<Item = (Window, Period, &Limits, &[u32])> {
        let period = Period::containing(self.billing_day, now);
        std::iter::once((Window::Period, period, &*self.limits, &*self.thresholds)).chain(
            self.windows.iter().map(move |w| {
                let span = w.window.containing(self.billing_day, now);
                (w.window, span, &w.limits, &*w.thresholds)
            }),
        )
    }
}

/// Alert thresholds in percent, ascending and without duplicates. Shared, not copied: the
/// accounts that take the defaults' (every discovered one) point at one list.
pub(crate) type Thresholds = Arc<[u32]>;

/// Which usage rows belong to an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Selector {
    ApiKey(String),
    /// `None` is the Default Workspace, whose id the API reports as null.
    Workspace(Option<String>),
    Organization,
    /// A Claude Code user actor, by e-mail address (kept lowercase: compared
    /// case-insensitively).
    ClaudeCodeUser(String),
    /// A Claude Code API actor, by its key name.
    ClaudeCodeApiKey(String),
}

impl Selector {
    pub(crate) fn api_key_id(&self) -> Option<&str> {
        match self {
            Selector::ApiKey(id) => Some(id),
            _ => None,
        }
    }

    /// Whether usage comes from the Claude Code report (a developer account).
    pub(crate) fn is_developer(&self) -> bool {
        matches!(
            self,
            Selector::ClaudeCodeUser(_) | Selector::ClaudeCodeApiKey(_)
        )
    }

    /// The Claude Code actor of a developer account.
    pub(crate) fn actor(&self) -> Option<(ActorKind, &str)> {
        match self {
            Selector::ClaudeCodeUser(e) => Some((ActorKind::User, e)),
            Selector::ClaudeCodeApiKey(k) => Some((ActorKind::ApiKey, k)),
            _ => None,
        }
    }

    /// The workspace as configured: an id, `"default"`, or `None` for other selectors.
    pub(crate) fn workspace_label(&self) -> Option<&str> {
        match self {
            Selector::Workspace(Some(id)) => Some(id),
            Selector::Workspace(None) => Some("default"),
            _ => None,
        }
    }
}

/// Which usage rows are an account's (`Selector::usage_rows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageRows<'a> {
    /// The rows of one API key, in any workspace.
    Key(&'a str),
    /// The rows of one workspace; `""` is the Default Workspace (a null id).
    Workspace(&'a str),
    /// Every row of the organization.
    All,
    /// None: a developer account's usage is the Claude Code report's.
    Report,
}

impl Selector {
    /// Which usage rows belong to the account: the one place that says it.
    pub(crate) fn usage_rows(&self) -> UsageRows<'_> {
        match self {
            Selector::ApiKey(id) => UsageRows::Key(id),
            Selector::Workspace(ws) => UsageRows::Workspace(ws.as_deref().unwrap_or("")),
            Selector::Organization => UsageRows::All,
            Selector::ClaudeCodeUser(_) | Selector::ClaudeCodeApiKey(_) => UsageRows::Report,
        }
    }

    /// Whether the account's cost comes from the cost reads: workspaces and the organization;
    /// a key only with the analytics source (the legacy cost report has no key); a
    /// developer's comes from the Claude Code report.
    pub(crate) fn reads_cost(&self, source: UsageSource) -> bool {
        match self {
            Selector::Workspace(_) | Selector::Organization => true,
            // Only the analytics cost endpoint groups cost by key.
            Selector::ApiKey(_) => source == UsageSource::Analytics,
            _ => false,
        }
    }

    /// Whether a cost row of key `api_key_id` (`None`: not per key) in workspace
    /// `workspace_id` is the account's.
    pub(crate) fn owns_cost(&self, api_key_id: Option<&str>, workspace_id: Option<&str>) -> bool {
        match self {
            Selector::ApiKey(id) => api_key_id == Some(id.as_str()),
            Selector::Workspace(ws) => ws.as_deref() == workspace_id,
            Selector::Organization => true,
            _ => false,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::ApiKey(id) => write!(f, "api_key_id = {id}"),
            Selector::Workspace(Some(id)) => write!(f, "workspace_id = {id}"),
            Selector::Workspace(None) => f.write_str("workspace_id = default (Default Workspace)"),
            Selector::Organization => f.write_str("organization"),
            Selector::ClaudeCodeUser(e) => write!(f, "claude_code_user = {e}"),
            Selector::ClaudeCodeApiKey(k) => write!(f, "claude_code_api_key = {k}"),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub min_severity: Severity,
    pub send_resolved: bool,
    /// The accounts whose alerts it takes (names or globs, `[[notify]] accounts`); every
    /// account's when `None`.
    pub accounts: Option<Vec<String>>,
}

impl Channel {
    /// Whether alerts of `account` go to this channel. Health alerts (`""`: quota itself)
    /// go to every channel.
    pub(crate) fn takes(&self, account: &str) -> bool {
        account.is_empty()
            || self
                .accounts
                .as_ref()
                .is_none_or(|globs| globs.iter().any(|g| matches_glob(g, account)))
    }
}

#[derive(Debug, Clone)]
pub(crate) enum ChannelKind {
    Slack {
        url: SecretSource,
    },
    Webhook {
        url: SecretSource,
    },
    PagerDuty {
        routing_key: SecretSource,
        url: Option<String>,
    },
    Email {
        to: String,
        from: String,
        command: Vec<String>,
    },
}

impl ChannelKind {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::PagerDuty { .. } => "pagerduty",
            ChannelKind::Email { .. } => "email",
        }
    }
}

/// The accounts that `--account` names, or all of them when it names none. A name with `*`
/// (any run of characters) or `?` (one character) is a glob: `'prod-*'`. An exact name that
/// is unknown, or a glob that matches no account, is bad input. Each account is selected
/// once, in the order first named.
pub(crate) fn select<'a>(accounts: &[&'a Account], names: &[String]) -> Result<Vec<&'a Account>> {
    if names.is_empty() {
        return Ok(accounts.to_vec());
    }
    let mut out: Vec<&'a Account> = Vec::new();
    for n in names {
        let glob = n.contains(['*', '?']);
        let found: Vec<&'a Account> = accounts
            .iter()
            .copied()
            .filter(|a| {
                if glob {
                    matches_glob(n, &a.name)
                } else {
                    &a.name == n
                }
            })
            .collect();
        if found.is_empty() {
            let mut known: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).take(20).collect();
            if accounts.len() > known.len() {
                known.push("…");
            }
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            let what = if glob { "matches" } else { "named" };
            return Err(bad_input!("no account {what} {n:?} (accounts: {known})"));
        }
        for a in found {
            if !out.iter().any(|o| std::ptr::eq(*o, a)) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Whether `name` matches `glob`: `*` is any run of characters, `?` any one, the rest
/// itself.
pub(crate) fn matches_glob(glob: &str, name: &str) -> bool {
    let (g, n): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    // The classic two-pointer match with one backtrack point (the last `*`).
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ni));
                gi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                gi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    gi = sg + 1;
                    ni = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_single_characters() {
        for (glob, name, yes) in [
            ("prod-*", "prod-eu", true),
            ("prod-*", "prod-", true),
            ("prod-*", "staging", false),
            ("*-eu", "prod-eu", true),
            ("p?od", "prod", true),
            ("p?od", "pod", false),
            ("*", "", true),
            ("a*b*c", "aXbYbc", true),
            ("a*b*c", "aXbY", false),
            ("exact", "exact", true),
        ] {
            assert_eq!(matches_glob(glob, name), yes, "{glob} ~ {name}");
        }
    }

    #[test]
    fn model_globs_match_whole_ids_with_star_for_any_run() {
        let g = |p: &str, m: &str| super::ModelGlob::new(p).matches(m);
        assert!(g("claude-opus-4*", "claude-opus-4-1-20250805"));
        assert!(g("claude-opus-4*", "claude-opus-4"));
        assert!(!g("claude-opus-4*", "claude-sonnet-4"));
        assert!(g("*sonnet*", "claude-sonnet-4-20250514"));
        assert!(g("claude-*-4*", "claude-opus-4-1"));
        assert!(!g("claude-*-4", "claude-opus-4-1"));
        assert!(g("claude-haiku-3", "claude-haiku-3"));
        assert!(!g("claude-haiku-3", "claude-haiku-35"));
        assert!(g("*", "anything"));
        assert!(!g("a*b*c", "acb"));
    }
}

//! Whether quota can see: the reads' stored states (`store::health`) judged at `now`. Pure:
//! what `quota health`, the footer of `status` and `alerts list`, and the textfile say.
//!
//! Healthy means: the usage read has succeeded, no read is failing now, and the last
//! successful usage read is no older than `failing_after` (`[health]
//! failing_after_minutes`; a stopped timer fails nothing, but its data grows old). The
//! checks of configured ids (`ADVISORY`) are shown and exported like any read, but their
//! failing makes nothing unhealthy: no usage depends on them.

use chrono::{DateTime, Utc};

use crate::period::human_duration;
use crate::records::ReadHealth;

/// The read that every run makes.
pub(crate) const USAGE: &str = "usage";

/// The listings that only check configured ids (`sync::unlisted`), when no other read
/// needs them: a failure is logged and shown, and tried again the next run.
pub(crate) const ADVISORY: [&str; 2] = ["key_check", "workspace_check"];

/// The reads' states at `now`.
pub(crate) struct Health<'a> {
    pub reads: &'a [ReadHealth],
    pub failing_after: std::time::Duration,
    pub now: DateTime<Utc>,
}

impl Health<'_> {
    pub(crate) fn usage(&self) -> Option<&ReadHealth> {
        self.reads.iter().find(|r| r.read == USAGE)
    }

    /// How old the newest usage data is (since the last successful usage read).
    pub(crate) fn data_age(&self) -> Option<chrono::Duration> {
        self.usage()
            .and_then(|u| u.last_success_at)
            .map(|t| self.now - t)
    }

    /// The last successful usage read is older than `failing_after`, or there is none.
    pub(crate) fn stale(&self) -> bool {
        let limit = chrono::Duration::from_std(self.failing_after).unwrap_or(chrono::Duration::MAX);
        self.data_age().is_none_or(|age| age > limit)
    }

    /// The failing reads that make quota unhealthy (not the advisory checks).
    pub(crate) fn failing(&self) -> impl Iterator<Item = &ReadHealth> {
        self.reads
            .iter()
            .filter(|r| r.failures > 0 && !ADVISORY.contains(&r.read.as_str()))
    }

    pub(crate) fn healthy(&self) -> bool {
        !self.stale() && self.failing().next().is_none()
    }

    /// One line for the foot of `status` and `alerts list`, when quota cannot fully see.
    pub(crate) fn footer(&self) -> Option<String> {
        if self.healthy() {
            return None;
        }
        let mut parts = Vec::new();
        match self.usage().and_then(|u| u.last_success_at) {
            Some(t) => parts.push(format!(
                "last successful sync {} ({} ago)",
                crate::time::minute(t),
                human_duration(self.now - t)
            )),
            None => parts.push("no successful sync yet".to_string()),
        }
        for r in self.failing() {
            let what = if r.read == USAGE {
                String::new()
            } else {
                format!("{} ", describe(&r.read))
            };
            parts.push(format!(
                "{what}{} run{} since {} failed: {}",
                r.failures,
                if r.failures == 1 { "" } else { "s" },
                r.failing_since
                    .map_or_else(String::new, crate::time::minute),
                r.last_error.as_deref().unwrap_or("no error recorded")
            ));
        }
        if self.failing().next().is_none() {
            parts.push("no run since: is the quota-sync timer running? (quota health)".into());
        }
        Some(parts.join("; "))
    }
}

/// A read's name as people say it.
pub(crate) fn describe(read: &str) -> String {
    match read {
        USAGE => "usage read".into(),
        "cost" => "cost report".into(),
        "claude_code" => "Claude Code report".into(),
        "discovery" => "API key listing".into(),
        "workspaces" => "workspace listing".into(),
        "key_check" => "configured key check".into(),
        "workspace_check" => "configured workspace check".into(),
        other => match other.strip_prefix("delivery:") {
            Some(channel) => format!("delivery to {channel}"),
            None => other.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse(s).unwrap()
    }

    fn read(name: &str, success: Option<&str>, failing: Option<(&str, u64, &str)>) -> ReadHealth {
        ReadHealth {
            read: name.into(),
            last_success_at: success.map(at),
            last_attempt_at: at("2026-11-20T15:00:00Z"),
            failing_since: failing.map(|f| at(f.0)),
            failures: failing.map_or(0, |f| f.1),
            last_error: failing.map(|f| f.2.to_string()),
        }
    }

    #[test]
    fn a_failure_streak_or_old_data_is_unhealthy_and_says_so() {
        let h = |reads: &[ReadHealth], now: &str| -> (bool, Option<String>) {
            let h = Health {
                reads,
                failing_after: std::time::Duration::from_secs(900),
                now: at(now),
            };
            (h.healthy(), h.footer())
        };
        let ok = [read("usage", Some("2026-11-20T15:00:00Z"), None)];
        assert_eq!(h(&ok, "2026-11-20T15:01:00Z"), (true, None));
        let (healthy, footer) = h(&ok, "2026-11-20T18:00:00Z");
        assert!(!healthy);
        assert_eq!(
            footer.unwrap(),
            "last successful sync 2026-11-20 15:00 UTC (3h 0m ago); no run since: is the quota-sync timer running? (quota health)"
        );
        let failing = [read(
            "usage",
            Some("2026-11-20T12:00:00Z"),
            Some((
                "2026-11-20T12:01:00Z",
                180,
                "GET /v1/organizations/usage_report/messages: 401",
            )),
        )];
        let (healthy, footer) = h(&failing, "2026-11-20T15:00:00Z");
        assert!(!healthy);
        assert_eq!(
            footer.unwrap(),
            "last successful sync 2026-11-20 12:00 UTC (3h 0m ago); 180 runs since 2026-11-20 12:01 UTC failed: GET /v1/organizations/usage_report/messages: 401"
        );
        let side = [
            read("usage", Some("2026-11-20T15:00:00Z"), None),
            read("cost", None, Some(("2026-11-20T14:00:00Z", 1, "500"))),
        ];
        let (healthy, footer) = h(&side, "2026-11-20T15:00:00Z");
        assert!(!healthy);
        assert!(
            footer
                .unwrap()
                .ends_with("; cost report 1 run since 2026-11-20 14:00 UTC failed: 500")
        );
        assert!(!h(&[], "2026-11-20T15:00:00Z").0, "never synced");
        let advisory = [
            read("usage", Some("2026-11-20T15:00:00Z"), None),
            read(
                "key_check",
                None,
                Some(("2026-11-20T12:00:00Z", 180, "500")),
            ),
        ];
        assert_eq!(h(&advisory, "2026-11-20T15:00:00Z"), (true, None));
    }
}

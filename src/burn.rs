//! Burn rates (SPEC §4 `burn_rate`), as pure logic: how fast a quota is being used over a
//! lookback, against the pace its window allows, from the window totals each sync keeps.
//!
//! burn(L) = usage in the last L ÷ (limit × L ÷ window length). The usage in the last L is
//! the total now less the total at `now − L`: the latest snapshot at or before that moment
//! (a snapshot is written when a total changes, so the latest one holds until the next).
//! Snapshots belong to one window instance: a rollover starts over. A lookback is not
//! evaluated without a snapshot that old in this instance (a fresh install, a new window),
//! nor when no usage read happened within the short lookback before `now − L` (a gap in
//! syncs would otherwise read as a spike: the growth of hours counted in one lookback).
//!
//! Rules are evaluated on the billing period and the ISO week. A UTC day is skipped: a 6 h
//! lookback is a quarter of it, and its own 80/95/100 % ladder already fires within the hour
//! a runaway loop would need to trip a 1 h rule (14.4× a day's pace is 60 % of the day in an
//! hour). Developer accounts are skipped too: the Claude Code report is daily and lags about
//! an hour, so growth between syncs says nothing about the last five minutes.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::alert::Severity;
use crate::period::{Period, Window};
use crate::quota::QuotaType;

/// One multi-window rule: both lookbacks at or over `factor` fire it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BurnRule {
    pub long: Duration,
    pub short: Duration,
    /// In tenths: 14.4 is 144 (the identity of the rule's alerts, and exact).
    pub factor_tenths: u32,
    pub severity: Severity,
}

/// The SRE workbook's two rules for a 30-day budget.
pub(crate) const STANDARD: [BurnRule; 2] = [
    BurnRule {
        long: Duration::hours(1),
        short: Duration::minutes(5),
        factor_tenths: 144,
        severity: Severity::Critical,
    },
    BurnRule {
        long: Duration::hours(6),
        short: Duration::minutes(30),
        factor_tenths: 60,
        severity: Severity::Warning,
    },
];

/// The longest lookback a rule may have: snapshots are kept this long.
pub(crate) const MAX_LOOKBACK: Duration = Duration::hours(24);

/// Burn-rate alerts keep their rule in `threshold`, above every configured threshold
/// (1–1000) and the forecast's 0: this plus the factor in tenths.
pub(crate) const THRESHOLD_BASE: u32 = 10_000;

impl BurnRule {
    pub(crate) fn factor(&self) -> Decimal {
        Decimal::new(i64::from(self.factor_tenths), 1)
    }

    /// The `threshold` of this rule's alerts.
    pub(crate) fn threshold(&self) -> u32 {
        THRESHOLD_BASE + self.factor_tenths
    }
}

/// A lookback as people write it: `1h`, `5m`, `1h30m`.
pub(crate) fn lookback(d: Duration) -> String {
    let (h, m) = (d.num_hours(), d.num_minutes() % 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

/// Why a burn rate is not evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotEvaluated {
    /// A developer account: the report is daily and lags.
    Developer,
    /// No snapshot of this window instance is that old yet.
    TooNew,
    /// No usage read within the short lookback before the lookback's start.
    Gap,
    /// Usage is not measured.
    Unmeasured,
}

impl fmt::Display for NotEvaluated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotEvaluated::Developer => {
                "not evaluated for developers: the Claude Code report is daily and lags about an hour"
            }
            NotEvaluated::TooNew => {
                "no totals that old yet in this window (a fresh install or a new window)"
            }
            NotEvaluated::Gap => "syncs stopped for a while: waiting for a lookback without a gap",
            NotEvaluated::Unmeasured => "usage not measured",
        })
    }
}

/// A window's total of one quota at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub at: DateTime<Utc>,
    pub used: Decimal,
}

/// One rule applied to one quota of one window instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Burn {
    pub quota_type: QuotaType,
    pub rule: BurnRule,
    pub long: Result<Decimal, NotEvaluated>,
    pub short: Result<Decimal, NotEvaluated>,
    /// The usage in the long lookback, for the pace in words.
    pub long_usage: Option<Decimal>,
}

impl Burn {
    /// Both lookbacks at or over the factor.
    pub(crate) fn firing(&self) -> bool {
        let f = self.rule.factor();
        matches!((self.long, self.short), (Ok(l), Ok(s)) if l >= f && s >= f)
    }

    /// When the limit is reached at the long lookback's pace, from `used` at `now`.
    pub(crate) fn limit_in(&self, used: Decimal, limit: Decimal) -> Option<Duration> {
        let usage = self.long_usage.filter(|u| *u > Decimal::ZERO)?;
        let left = (limit - used).max(Decimal::ZERO);
        let secs = (left * Decimal::from(self.rule.long.num_seconds()) / usage).trunc();
        Some(Duration::seconds(i64::try_from(secs).ok()?))
    }
}

/// What the burn of one quota in one window is computed from.
pub(crate) struct Inputs<'a> {
    pub span: Period,
    pub limit: Decimal,
    pub used: Option<Decimal>,
    /// This instance's snapshots, ascending.
    pub snapshots: &'a [Snapshot],
    /// Usage reads, ascending.
    pub reads: &'a [DateTime<Utc>],
}

/// The rules of an account applied to each limited quota of one window instance: the
/// instance's stored totals of a quota come from `snapshots`.
#[allow(clippy::too_many_arguments)] // one window of one account, and its history
pub(crate) fn of_window(
    rules: &[BurnRule],
    developer: bool,
    window: Window,
    span: Period,
    readings: &[crate::reconcile::Reading],
    snapshots: &dyn Fn(QuotaType) -> Vec<Snapshot>,
    reads: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<Burn> {
    if rules.is_empty() || !applies(window) {
        return Vec::new();
    }
    readings
        .iter()
        .filter_map(|r| {
            let limit = r.limit?;
            let snapshots = snapshots(r.quota_type);
            let i = Inputs {
                span,
                limit,
                used: r.used,
                snapshots: &snapshots,
                reads,
            };
            Some(assess(r.quota_type, rules, developer, &i, now))
        })
        .flatten()
        .collect()
}

/// The next moment after `now` at which passing time alone could change a burn of `rules`
/// over this window instance's `snapshots`: a lookback's start passing a stored total (the
/// total at that start then changes; the first one makes the lookback evaluable), or passing
/// the first read after a gap longer than a rule's short lookback (`gaps`: consecutive reads
/// further apart than the shortest short lookback). Between such moments every burn stays as
/// it is. A gap opening needs no moment: a lookback it makes unevaluable changes no alert.
pub(crate) fn next_change(
    rules: &[BurnRule],
    snapshots: &[Snapshot],
    gaps: &[(DateTime<Utc>, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    rules
        .iter()
        .flat_map(|r| {
            let after_gaps = gaps
                .iter()
                .filter(move |(prev, next)| *next - *prev > r.short)
                .map(|(_, next)| *next);
            [r.long, r.short].into_iter().flat_map(move |l| {
                snapshots
                    .iter()
                    .map(|s| s.at)
                    .chain(after_gaps.clone())
                    .map(move |t| t + l)
            })
        })
        .filter(|t| *t > now)
        .min()
}

/// Whether passing time alone could make `rule` fire over this window instance's stored
/// `snapshots` (ascending) with usage staying at `used`: from now on, the short lookback
/// starts at or after the total it starts at now, so its burn can be no more than the growth
/// from the lowest of those totals to `used`, over what the lookback allows. An account
/// whose usage has not grown that much needs no recheck for the rule. (The lowest, not the
/// first, so that a total corrected downwards is covered; rounded as a burn is, so the bound
/// is never below the burn it bounds.)
pub(crate) fn may_fire(
    rule: &BurnRule,
    span: Period,
    limit: Decimal,
    used: Decimal,
    snapshots: &[Snapshot],
    now: DateTime<Utc>,
) -> bool {
    let from = snapshots
        .iter()
        .rposition(|s| s.at <= now - rule.short)
        .unwrap_or(0);
    let lowest = snapshots[from..]
        .iter()
        .map(|s| s.used)
        .fold(used, Decimal::min);
    let window = Decimal::from((span.end - span.start).num_seconds());
    let allowed = limit * Decimal::from(rule.short.num_seconds()) / window;
    allowed <= Decimal::ZERO || ((used - lowest) / allowed).round_dp(2) >= rule.factor()
}

/// What a stored series keeps of `points` (ascending) at `now`: every total of the last 35
/// minutes (the short lookbacks, to the minute), the oldest of each 2 minutes up to 70 minutes
/// old and of each 10 minutes beyond (a long lookback may so reach up to one such step
/// further back: at most 2 minutes in an hour, 10 in six), and nothing older than `keep` but
/// the newest before it (which holds until the next). A busy key keeps about 80 totals, not
/// one a minute. A function of `(points, now)` only: a full and an incremental evaluation
/// that write the same totals keep the same ones.
pub(crate) fn thin(points: &[Snapshot], now: DateTime<Utc>, keep: Duration) -> Vec<Snapshot> {
    // The newest total older than `keep` holds at the start of the oldest lookback.
    let older = points.iter().rposition(|p| now - p.at > keep);
    let mut kept: Vec<Snapshot> = older.map(|i| vec![points[i]]).unwrap_or_default();
    let mut last_slot: Option<(i64, i64)> = None;
    for p in &points[older.map_or(0, |i| i + 1)..] {
        let age = now - p.at;
        let step = if age < Duration::minutes(35) {
            kept.push(*p);
            continue;
        } else if age < Duration::minutes(70) {
            120
        } else {
            600
        };
        // The oldest of each step: a lookback starting on it is exact.
        let slot = (step, p.at.timestamp().div_euclid(step));
        if last_slot != Some(slot) {
            kept.push(*p);
            last_slot = Some(slot);
        }
    }
    kept
}

/// How long an account's series must reach back for its rules: the longest lookback and
/// its gap allowance, and a thinning step.
pub(crate) fn keep_for(rules: &[BurnRule]) -> Duration {
    rules
        .iter()
        .map(|r| r.long + r.short + Duration::minutes(10))
        .max()
        .unwrap_or_else(Duration::zero)
}

/// Whether rules apply to `window` (see the module doc).
pub(crate) fn applies(window: Window) -> bool {
    window != Window::Day
}

/// `rules` applied to one quota of one window instance at `now`.
pub(crate) fn assess(
    q: QuotaType,
    rules: &[BurnRule],
    developer: bool,
    i: &Inputs<'_>,
    now: DateTime<Utc>,
) -> Vec<Burn> {
    rules
        .iter()
        .map(|&rule| {
            let over = |l: Duration| -> Result<(Decimal, Decimal), NotEvaluated> {
                if developer {
                    return Err(NotEvaluated::Developer);
                }
                let used = i.used.ok_or(NotEvaluated::Unmeasured)?;
                let usage = usage_over(i, used, l, rule.short, now)?;
                let window = Decimal::from((i.span.end - i.span.start).num_seconds());
                let allowed = i.limit * Decimal::from(l.num_seconds()) / window;
                Ok((usage / allowed, usage))
            };
            let long = over(rule.long);
            Burn {
                quota_type: q,
                rule,
                long: long.map(|(b, _)| b.round_dp(2)),
                short: over(rule.short).map(|(b, _)| b.round_dp(2)),
                long_usage: long.ok().map(|(_, u)| u),
            }
        })
        .collect()
}

/// The growth of the total over the last `l`: what it is now less what it was at `now − l`.
fn usage_over(
    i: &Inputs<'_>,
    used: Decimal,
    l: Duration,
    gap: Duration,
    now: DateTime<Utc>,
) -> Result<Decimal, NotEvaluated> {
    let from = now - l;
    let then = i
        .snapshots
        .iter()
        .rev()
        .find(|s| s.at <= from)
        .ok_or(NotEvaluated::TooNew)?;
    // No read that old: what was stored came from elsewhere (a copy, a check).
    let read = i
        .reads
        .iter()
        .rev()
        .find(|r| **r <= from)
        .ok_or(NotEvaluated::TooNew)?;
    if from - *read > gap {
        return Err(NotEvaluated::Gap);
    }
    Ok((used - then.used).max(Decimal::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse(s).unwrap()
    }

    /// 1,000,000 tokens over a 30-day period, reads every minute from 10:00, the total
    /// growing by `per_minute` tokens a minute.
    fn steady(per_minute: u64, until: &str) -> (Vec<Snapshot>, Vec<DateTime<Utc>>, Decimal) {
        let (start, end) = (at("2026-11-01T10:00:00Z"), at(until));
        let mut snapshots = Vec::new();
        let mut reads = Vec::new();
        let mut t = start;
        let mut used = Decimal::ZERO;
        while t <= end {
            reads.push(t);
            snapshots.push(Snapshot { at: t, used });
            used += Decimal::from(per_minute);
            t += Duration::minutes(1);
        }
        (snapshots, reads, used - Decimal::from(per_minute))
    }

    fn period() -> Period {
        Period {
            start: at("2026-11-01T00:00:00Z"),
            end: at("2026-12-01T00:00:00Z"),
        }
    }

    fn burns(
        snapshots: &[Snapshot],
        reads: &[DateTime<Utc>],
        used: Decimal,
        now: &str,
    ) -> Vec<Burn> {
        let i = Inputs {
            span: period(),
            limit: Decimal::from(1_000_000),
            used: Some(used),
            snapshots,
            reads,
        };
        assess(QuotaType::Tokens, &STANDARD, false, &i, at(now))
    }

    #[test]
    fn the_issue_example_is_a_burn_of_17_3() {
        // 24,000 tokens in the last hour of a 30-day period with 1,000,000: 17.28.
        let (s, r, used) = steady(400, "2026-11-01T13:00:00Z");
        let b = burns(&s, &r, used, "2026-11-01T13:00:00Z");
        assert_eq!(b[0].long, Ok(Decimal::new(1728, 2)));
        assert_eq!(b[0].short, Ok(Decimal::new(1728, 2)));
        assert!(b[0].firing());
        // The slow rule's 6 h reach back before the first total: not evaluated yet.
        assert_eq!(b[1].long, Err(NotEvaluated::TooNew));
        assert!(!b[1].firing());
        // At this pace: 1,000,000 − 72,000 left at 24,000 an hour is 38 h 40 m.
        let left = b[0].limit_in(used, Decimal::from(1_000_000)).unwrap();
        assert_eq!(left, Duration::minutes(38 * 60 + 40));
    }

    #[test]
    fn only_recent_growth_can_make_a_rule_fire_with_time_alone() {
        let fast = &STANDARD[0]; // 14.4 over 1 h and 5 min: 1,667 tokens in 5 minutes
        let may = |s: &[Snapshot], used: u64, now: &str| {
            may_fire(
                fast,
                period(),
                Decimal::from(1_000_000),
                Decimal::from(used),
                s,
                at(now),
            )
        };
        // A first total, unchanged since: nothing can come of waiting.
        let first = [Snapshot {
            at: at("2026-11-01T10:00:00Z"),
            used: Decimal::from(5_000),
        }];
        assert!(!may(&first, 5_000, "2026-11-01T10:01:00Z"));
        // Three hours at 100 a minute: 500 in any 5 minutes, under the factor.
        let (s, _, used) = steady(100, "2026-11-01T13:00:00Z");
        let used = u64::try_from(used).unwrap();
        assert!(!may(&s, used, "2026-11-01T13:00:00Z"));
        // At 400 a minute: 2,000 in 5 minutes.
        let (s, _, used) = steady(400, "2026-11-01T13:00:00Z");
        assert!(may(
            &s,
            u64::try_from(used).unwrap(),
            "2026-11-01T13:00:00Z"
        ));
        // A total corrected downwards a minute ago counts from its lower value.
        let corrected = [
            first[0],
            Snapshot {
                at: at("2026-11-01T10:04:00Z"),
                used: Decimal::from(3_000),
            },
        ];
        assert!(may(&corrected, 5_000, "2026-11-01T10:05:00Z"));
    }

    #[test]
    fn a_steady_pace_of_4_fires_nothing() {
        let (s, r, used) = steady(100, "2026-11-01T16:00:00Z");
        let b = burns(&s, &r, used, "2026-11-01T16:00:00Z");
        assert_eq!(b[0].long, Ok(Decimal::new(432, 2)));
        assert!(!b[0].firing() && !b[1].firing());
    }

    #[test]
    fn too_new_and_gaps_are_not_evaluated() {
        let (s, r, used) = steady(400, "2026-11-01T10:30:00Z");
        let b = burns(&s, &r, used, "2026-11-01T10:30:00Z");
        assert_eq!(b[0].long, Err(NotEvaluated::TooNew));
        assert!(b[0].short.is_ok());
        // Syncs stopped from 11:00 to 14:00: the hour before 14:00 has no read near its
        // start, so the three hours' growth is not read as one hour's.
        let (mut s, mut r, _) = steady(100, "2026-11-01T11:00:00Z");
        s.push(Snapshot {
            at: at("2026-11-01T14:00:00Z"),
            used: Decimal::from(24_100),
        });
        r.push(at("2026-11-01T14:00:00Z"));
        let b = burns(&s, &r, Decimal::from(24_100), "2026-11-01T14:00:00Z");
        assert_eq!(
            (b[0].long, b[0].short),
            (Err(NotEvaluated::Gap), Err(NotEvaluated::Gap))
        );
        assert!(!b[0].firing());
    }

    #[test]
    fn thinning_keeps_minutes_near_now_and_steps_further_back() {
        let (s, _, _) = steady(100, "2026-11-01T17:00:00Z");
        let now = at("2026-11-01T17:00:00Z");
        let keep = Duration::hours(6) + Duration::minutes(40);
        let kept = thin(&s, now, keep);
        // 35 minutes whole, two-minute steps to 70, ten-minute steps back to 6h40m, and the
        // newest before that.
        assert!(kept.len() < 100, "{}", kept.len());
        assert!(kept.windows(2).all(|w| w[0].at < w[1].at));
        let ages: Vec<i64> = kept.iter().map(|p| (now - p.at).num_minutes()).collect();
        assert!(
            ages.iter()
                .rev()
                .take(35)
                .eq((0..35).collect::<Vec<i64>>().iter())
        );
        assert!(ages.iter().all(|a| *a <= 400 + 10));
        // The same points thinned again at the same moment: nothing changes.
        assert_eq!(thin(&kept, now, keep), kept);
        // Burns from the thinned series stay within a step of the exact ones.
        let reads: Vec<DateTime<Utc>> = s.iter().map(|p| p.at).collect();
        let used = s.last().unwrap().used;
        let exact = burns(&s, &reads, used, "2026-11-01T17:00:00Z");
        let thinned = burns(&kept, &reads, used, "2026-11-01T17:00:00Z");
        assert_eq!(exact[0].long, thinned[0].long);
        assert_eq!(exact[1].long, thinned[1].long);
    }

    #[test]
    fn lookbacks_read_as_people_write_them() {
        assert_eq!(lookback(Duration::minutes(5)), "5m");
        assert_eq!(lookback(Duration::hours(6)), "6h");
        assert_eq!(lookback(Duration::minutes(90)), "1h30m");
    }
}

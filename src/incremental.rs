//! Incremental evaluation, as pure decisions: which accounts a sync must evaluate because
//! something that decides their alerts or status may have changed since the last evaluation
//! that covered every account. Every other account would reach the same decision again, so it
//! is skipped. `apply::evaluate_accounts` runs a full pass instead when the store cannot
//! vouch for the last evaluation (see `apply::FULL_PASS_EVERY`).
//!
//! An account's alerts and status are a function of its usage in its period, its config, and
//! the time. So it is evaluated again when
//! - its usage changed: a usage day of its key, workspace or (organization) any key was
//!   written, its developer's report was read, or cost was read (workspace and organization);
//! - its config changed: its fingerprint (limits, thresholds, billing day, forecast switch,
//!   selector, usage source) differs from the one it was last evaluated with, or it never was;
//! - time moved it: its period (or day or week window) rolled over; or its recheck moment
//!   came: a forecast's (`recheck_at`: the projection of unchanged usage falls as the period
//!   runs out, and an open forecast alert recovers when it falls below `FORECAST_CLEAR`
//!   percent of the limit) or a burn rate's (a lookback passing a stored total, for a rule
//!   that could then fire or an open alert that could resolve: `apply::burn`); or, with
//!   forecasts on, a UTC day began (the daily rate is taken over the last full days) or its
//!   forecasts started (after a fifth of the period or window).
//!
//! Between those moments, unchanged usage cannot change a decision: a threshold depends on
//! the total only, and a projection with the same rate can only fall, which can only
//! resolve an open forecast alert, at a moment the evaluation that saw it computed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::account::{Account, Selector, UsageRows, UsageSource};
use crate::evaluate;
use crate::period::Period;
use crate::quota::{self, QuotaType};
use crate::reconcile::{FORECAST_CLEAR, Reading};
use rust_decimal::Decimal;

/// Past this many distinct changed keys, a sync treats every usage account as changed
/// rather than hold the set (a first sync after a gap, a backfill).
const MAX_TRACKED: usize = 50_000;

/// What a sync wrote that evaluation reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changed {
    /// API key ids with a usage day written.
    keys: HashSet<String>,
    /// Workspace ids with a usage day written; `""` is the Default Workspace.
    workspaces: HashSet<String>,
    /// Some usage day was written.
    any_usage: bool,
    /// Too many to track one by one: every usage account counts as changed.
    all_usage: bool,
    /// The Claude Code report was read.
    pub developers: bool,
    /// Cost was read.
    pub cost: bool,
    /// The cost read was per API key.
    pub key_cost: bool,
}

impl Changed {
    /// Everything changed: what a sync that cannot tell reports.
    pub(crate) fn everything() -> Changed {
        Changed {
            any_usage: true,
            all_usage: true,
            developers: true,
            cost: true,
            key_cost: true,
            ..Changed::default()
        }
    }

    /// A usage day of `key` in `workspace` was written (`""`: none).
    pub(crate) fn usage(&mut self, key: &str, workspace: &str) {
        self.any_usage = true;
        if self.all_usage {
            return;
        }
        if !key.is_empty() && !self.keys.contains(key) {
            self.keys.insert(key.to_string());
        }
        if !self.workspaces.contains(workspace) {
            self.workspaces.insert(workspace.to_string());
        }
        if self.keys.len() + self.workspaces.len() > MAX_TRACKED {
            self.all_usage = true;
            self.keys = HashSet::new();
            self.workspaces = HashSet::new();
        }
    }

    /// Whether `account`'s usage, cost or report days may differ from what it was last
    /// evaluated with.
    fn touches(&self, account: &Account) -> bool {
        let usage = match account.selector.usage_rows() {
            UsageRows::Key(id) => self.all_usage || self.keys.contains(id),
            UsageRows::Workspace(ws) => self.all_usage || self.workspaces.contains(ws),
            UsageRows::All => self.any_usage,
            UsageRows::Report => self.developers,
        };
        let cost = self.cost
            && match account.selector {
                // A key's cost is read only per key (the analytics source).
                Selector::ApiKey(_) => self.key_cost,
                Selector::Workspace(_) | Selector::Organization => true,
                _ => false,
            };
        usage || cost
    }
}

/// An opaque, stable digest of everything in `account`'s config that evaluation reads
/// (FNV-1a, 64 bits, over the fields in a fixed order and encoding): equal config, equal
/// fingerprint, across runs and versions of quota that keep the encoding. (If the encoding
/// changes, every account is evaluated once more.) No text is formatted: a sync computes
/// this for every account.
pub(crate) fn fingerprint(account: &Account, source: UsageSource) -> i64 {
    let mut h = Fnv::default();
    match &account.selector {
        Selector::ApiKey(id) => h.tagged(b'k', id.as_bytes()),
        Selector::Workspace(Some(ws)) => h.tagged(b'w', ws.as_bytes()),
        Selector::Workspace(None) => h.tagged(b'W', b""),
        Selector::Organization => h.tagged(b'o', b""),
        Selector::ClaudeCodeUser(email) => h.tagged(b'u', email.as_bytes()),
        Selector::ClaudeCodeApiKey(name) => h.tagged(b'c', name.as_bytes()),
    }
    h.bytes(&account.billing_day.to_le_bytes());
    if let Some(m) = &account.model {
        h.tagged(b'm', m.as_str().as_bytes());
    }
    h.ladder(&account.limits, &account.thresholds);
    for r in account.burn.iter() {
        h.tagged(b'b', &r.long.num_seconds().to_le_bytes());
        h.bytes(&r.short.num_seconds().to_le_bytes());
        h.bytes(&r.factor_tenths.to_le_bytes());
        h.bytes(r.severity.as_str().as_bytes());
    }
    for w in account.windows.iter() {
        h.tagged(b'w', w.window.as_str().as_bytes());
        h.ladder(&w.limits, &w.thresholds);
    }
    h.tagged(
        if account.forecast { b'F' } else { b'f' },
        source.as_str().as_bytes(),
    );
    i64::from_ne_bytes(h.0.to_ne_bytes())
}

/// A digest of the whole account list: each name with its `fingerprint`, in order. When it
/// equals the one the last evaluation of every account left (`store::Fact::EvaluatedRoster`),
/// every account is stored as it is configured now and was evaluated with its fingerprint:
/// a sync need not read the account table to find out.
pub(crate) fn roster(accounts: &[&Account], fingerprints: &[i64]) -> String {
    let mut h = Fnv::default();
    for (a, f) in accounts.iter().zip(fingerprints) {
        h.tagged(b'a', a.name.as_bytes());
        h.bytes(&f.to_le_bytes());
    }
    format!("{}:{:016x}", accounts.len(), h.0)
}

/// A digest of a set of ids, whatever their order: equal sets, equal digests.
pub(crate) fn set_digest(ids: &[&str]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut h = Fnv::default();
    for id in &sorted {
        h.tagged(b'i', id.as_bytes());
    }
    format!("{}:{:016x}", sorted.len(), h.0)
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A window's limits and thresholds.
    fn ladder(&mut self, limits: &crate::quota::Limits, thresholds: &[u32]) {
        for q in QuotaType::ALL {
            match limits.get(q) {
                Some(limit) => self.tagged(b'l', &limit.normalize().serialize()),
                None => self.tagged(b'n', b""),
            }
        }
        for t in thresholds {
            self.tagged(b't', &t.to_le_bytes());
        }
    }

    /// A tag, the bytes and their length: no two fields' encodings run together.
    fn tagged(&mut self, tag: u8, bytes: &[u8]) {
        self.bytes(&[tag]);
        self.bytes(bytes);
        self.bytes(&(bytes.len() as u64).to_le_bytes());
    }
}

/// What the store knows of one account's last evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Last {
    /// The fingerprint it was last evaluated with (`None`: never evaluated).
    pub fingerprint: Option<i64>,
    /// Its recheck moment (`recheck_at`) has come.
    pub recheck_due: bool,
}

/// When, with usage unchanged and within the UTC day, passing time alone could next change
/// an account's decision: the first moment a projection that is at or above
/// `FORECAST_CLEAR` percent of its limit falls below it (an open forecast alert recovers
/// then). The projection is `used + rate × time left`, falling linearly to the period's
/// end; the moment is rounded down to the second, so it is never late. `None`: no such
/// moment (no forecast, the limit reached, usage alone above the level, no rate).
pub(crate) fn recheck_at(
    readings: &[Reading],
    period: Period,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    readings
        .iter()
        .filter_map(|r| {
            let (limit, used, f) = (r.limit?, r.used?, r.forecast?);
            if !quota::crossed(f.projected, limit, FORECAST_CLEAR)
                || quota::crossed(used, limit, FORECAST_CLEAR)
                || f.projected <= used
            {
                return None;
            }
            // used + rate × left(t) = clear  ⇔  left(t) = left(now) × (clear − used) / (projected − used)
            let clear = limit.checked_mul(FORECAST_CLEAR.into())? / Decimal::ONE_HUNDRED;
            let left_now = Decimal::from(period.remaining(now).num_seconds());
            let left = left_now.checked_mul(clear - used)? / (f.projected - used);
            let left: i64 = left.ceil().try_into().ok()?;
            Some((period.end - chrono::Duration::seconds(left)).max(now))
        })
        .min()
        // Whole seconds, as stored: what is read back compares equal.
        .map(|t| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t))
}

/// Whether `account`, whose `fingerprint` is `current` now, must be evaluated at `now`, when
/// every account was last evaluated (or shown unchanged) at `since`, and `changed` is what
/// was written in between.
pub(crate) fn dirty(
    account: &Account,
    current: i64,
    last: Last,
    changed: &Changed,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    if last.fingerprint != Some(current) || changed.touches(account) {
        return true;
    }
    let rolled = account
        .each_window(now)
        .any(|(w, span, _, _)| w.containing(account.billing_day, since).start != span.start);
    // Its recheck moment: a forecast's, or a burn rate's (with or without forecasts).
    if rolled || last.recheck_due {
        return true;
    }
    if !account.forecast {
        return false;
    }
    let starts = |span| evaluate::forecasts_from(span);
    since.date_naive() != now.date_naive()
        || account.each_window(now).any(|(_, span, _, _)| {
            let starts = starts(span);
            since < starts && starts <= now
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::tests::account;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse(s).unwrap()
    }

    #[test]
    fn a_set_digest_ignores_order_and_repeats_and_nothing_else() {
        let d = set_digest(&["apikey_a", "apikey_b"]);
        assert_eq!(d, set_digest(&["apikey_b", "apikey_a", "apikey_b"]));
        assert_ne!(d, set_digest(&["apikey_a"]));
        assert_ne!(d, set_digest(&["apikey_a", "apikey_c"]));
        assert_ne!(set_digest(&["ab", "c"]), set_digest(&["a", "bc"]));
    }

    #[test]
    fn an_untouched_account_is_clean_until_time_moves_it() {
        let a = account("a", Selector::ApiKey("apikey_a".into()), 1);
        let last = Last {
            fingerprint: Some(fingerprint(&a, UsageSource::Messages)),
            recheck_due: false,
        };
        let none = Changed::default();
        let dirty_at = |since: &str, now: &str, last: Last, c: &Changed| {
            dirty(
                &a,
                fingerprint(&a, UsageSource::Messages),
                last,
                c,
                at(since),
                at(now),
            )
        };
        // A minute later on the same day.
        let minute = |last: Last, c: &Changed| {
            dirty_at("2026-11-20T12:00:00Z", "2026-11-20T12:01:00Z", last, c)
        };
        // Same day, forecasts long started: nothing can change.
        assert!(!minute(last, &none));
        // Its key's usage changed; another key's did not matter.
        let mut mine = Changed::default();
        mine.usage("apikey_a", "wrkspc_x");
        assert!(minute(last, &mine));
        let mut other = Changed::default();
        other.usage("apikey_b", "wrkspc_x");
        assert!(!minute(last, &other));
        // A new UTC day (the daily rate moves), forecasts starting (a fifth of November is
        // 6 days: 2026-11-07T00:00), a new period, a recheck moment that came.
        assert!(dirty_at(
            "2026-11-20T23:59:00Z",
            "2026-11-21T00:00:00Z",
            last,
            &none
        ));
        assert!(dirty_at(
            "2026-11-06T23:59:00Z",
            "2026-11-07T00:00:00Z",
            last,
            &none
        ));
        assert!(dirty_at(
            "2026-11-30T23:59:00Z",
            "2026-12-01T00:00:00Z",
            last,
            &none
        ));
        let due = Last {
            recheck_due: true,
            ..last
        };
        assert!(minute(due, &none));
        // Config: another limit, never evaluated.
        let mut b = a.clone();
        b.thresholds = vec![50, 100].into();
        assert!(dirty(
            &b,
            fingerprint(&b, UsageSource::Messages),
            last,
            &none,
            at("2026-11-20T12:00:00Z"),
            at("2026-11-20T12:01:00Z")
        ));
        let never = Last {
            fingerprint: None,
            ..last
        };
        assert!(minute(never, &none));
    }

    #[test]
    fn organization_and_workspace_accounts_see_their_rows_and_cost() {
        let org = account("o", Selector::Organization, 1);
        let ws = account("w", Selector::Workspace(None), 1);
        let mut c = Changed::default();
        assert!(!c.touches(&org) && !c.touches(&ws));
        c.usage("apikey_a", "wrkspc_x");
        assert!(c.touches(&org) && !c.touches(&ws));
        c.usage("apikey_b", "");
        assert!(c.touches(&ws));
        let cost = Changed {
            cost: true,
            ..Changed::default()
        };
        assert!(cost.touches(&org) && cost.touches(&ws));
        let key = account("k", Selector::ApiKey("apikey_a".into()), 1);
        assert!(!cost.touches(&key));
    }

    #[test]
    fn too_many_changes_count_as_all() {
        let mut c = Changed::default();
        for k in 0..=MAX_TRACKED {
            c.usage(&format!("apikey_{k}"), "wrkspc_x");
        }
        assert!(c.all_usage && c.keys.is_empty());
        assert!(c.touches(&account("z", Selector::ApiKey("apikey_zzz".into()), 1)));
    }

    #[test]
    fn fingerprints_follow_what_evaluation_reads() {
        let a = account("a", Selector::ApiKey("apikey_a".into()), 1);
        let f = fingerprint(&a, UsageSource::Messages);
        assert_eq!(f, fingerprint(&a.clone(), UsageSource::Messages));
        assert_ne!(f, fingerprint(&a, UsageSource::Analytics));
        let mut b = a.clone();
        b.forecast = !b.forecast;
        assert_ne!(f, fingerprint(&b, UsageSource::Messages));
        let mut c = a.clone();
        c.billing_day = 2;
        assert_ne!(f, fingerprint(&c, UsageSource::Messages));
        // The name is not evaluated: renaming keeps the fingerprint.
        let mut d = a.clone();
        d.name = "renamed".into();
        assert_eq!(f, fingerprint(&d, UsageSource::Messages));
    }

    /// The moment a projection falls below the recovery level, never after it: at that
    /// second the alert is still open, a second later it would recover.
    #[test]
    fn the_recheck_moment_is_when_the_projection_falls_below_the_recovery_level() {
        use crate::reconcile::Forecast;
        let period = Period::containing(1, at("2026-11-20T12:00:00Z"));
        let now = at("2026-11-20T12:00:00Z");
        let reading = |used: u64, projected: u64| Reading {
            quota_type: QuotaType::Tokens,
            limit: Some(Decimal::from(1000)),
            used: Some(Decimal::from(used)),
            forecast: Some(Forecast {
                projected: Decimal::from(projected),
                exhausts_at: None,
            }),
        };
        // 907,200 s (10.5 days) left at 12:00 on the 20th; 500 used, 1,010 projected. The
        // projection is 900 with 711,529.4 s left: 2026-11-22T18:21:10.6Z.
        let t = recheck_at(&[reading(500, 1010)], period, now).unwrap();
        assert_eq!(t, at("2026-11-22T18:21:10Z"));
        let projected_at = |t: DateTime<Utc>| {
            let rate = Decimal::from(510) / Decimal::from(907_200);
            Decimal::from(500) + rate * Decimal::from(period.remaining(t).num_seconds())
        };
        assert!(quota::crossed(
            projected_at(t),
            Decimal::from(1000),
            FORECAST_CLEAR
        ));
        assert!(!quota::crossed(
            projected_at(t + chrono::Duration::seconds(1)),
            Decimal::from(1000),
            FORECAST_CLEAR
        ));
        // The earliest of several quotas; none when nothing can recover by time alone.
        let other = Reading {
            quota_type: QuotaType::OutputTokens,
            ..reading(100, 950)
        };
        assert!(recheck_at(&[reading(500, 1010), other], period, now).unwrap() < t);
        assert_eq!(
            recheck_at(&[reading(500, 800)], period, now),
            None,
            "below already"
        );
        assert_eq!(
            recheck_at(&[reading(950, 1200)], period, now),
            None,
            "used alone is above"
        );
        assert_eq!(
            recheck_at(&[reading(1000, 1300)], period, now),
            None,
            "reached"
        );
        let none = Reading {
            forecast: None,
            ..reading(500, 1010)
        };
        assert_eq!(recheck_at(&[none], period, now), None);
    }
}

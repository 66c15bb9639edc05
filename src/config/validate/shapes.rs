//! Budget shapes beyond the billing period's limits: day and week windows (`[….daily]`,
//! `[….weekly]`) and burn-rate rules (`burn_rate`), as written and merged with the defaults'.

use anyhow::Result;

use super::Err;
use super::accounts::{limits, thresholds};
use crate::account::{BurnRules, Thresholds, WindowRule, Windows};
use crate::burn::BurnRule;
use crate::config::raw::{RawBurn, RawWindow};
use crate::period::Window;
use crate::quota::{Limits, QuotaType};

/// `burn_rate`: `false` switches the rules off, `true` keeps `inherited` (the standard rules
/// where the defaults have none), and tables replace them.
pub(super) fn burn_rules(
    raw: &RawBurn,
    inherited: &[BurnRule],
    at: &dyn Fn() -> String,
    err: Err<'_>,
) -> Result<BurnRules> {
    let rules = match raw {
        RawBurn::Switch(false) => return Ok(Vec::new().into()),
        RawBurn::Switch(true) if inherited.is_empty() => return Ok(crate::burn::STANDARD.into()),
        RawBurn::Switch(true) => return Ok(inherited.into()),
        RawBurn::Rules(rules) => rules,
    };
    let mut out: Vec<BurnRule> = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let key = || format!("{}[{i}]", at());
        let lookback = |text: &str, name: &str| {
            crate::time::duration(text)
                .filter(|d| *d >= chrono::Duration::minutes(1) && *d <= crate::burn::MAX_LOOKBACK)
                .ok_or_else(|| {
                    err(
                        &format!("{}.{name}", key()),
                        format!("{text:?} is not a lookback like \"5m\" or \"6h\" (1 minute to 24 hours)"),
                    )
                })
        };
        let (long, short) = (lookback(&r.long, "long")?, lookback(&r.short, "short")?);
        if short >= long {
            return Err(err(
                &format!("{}.short", key()),
                format!("{:?} must be shorter than long ({:?})", r.short, r.long),
            ));
        }
        let tenths = r.factor * 10.0;
        if !(r.factor > 0.0 && r.factor <= 1000.0) || (tenths - tenths.round()).abs() > 1e-9 {
            return Err(err(
                &format!("{}.factor", key()),
                format!(
                    "{} is not a burn factor above 0 with at most one decimal (like 14.4)",
                    r.factor
                ),
            ));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
        let factor_tenths = tenths.round() as u32;
        if out.iter().any(|o| o.factor_tenths == factor_tenths) {
            return Err(err(
                &format!("{}.factor", key()),
                format!(
                    "{} is another rule's factor too: each rule needs its own (it tells their alerts apart)",
                    r.factor
                ),
            ));
        }
        out.push(BurnRule {
            long,
            short,
            factor_tenths,
            severity: r.severity.unwrap_or(crate::alert::Severity::Warning),
        });
    }
    Ok(out.into())
}

/// A `[….daily]` or `[….weekly]` table as written: its limits, and its thresholds if set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WrittenWindow {
    window: Window,
    pub(super) limits: Limits,
    thresholds: Option<Thresholds>,
}

/// The window tables of `[defaults]` or an account (`at` names it), validated: each sets at
/// least one limit.
pub(super) fn windows_written(
    [daily, weekly]: [&Option<RawWindow>; 2],
    at: &dyn Fn() -> String,
    warnings: &mut Vec<String>,
    err: Err<'_>,
) -> Result<Vec<WrittenWindow>> {
    let mut written = Vec::new();
    for (window, raw) in [(Window::Day, daily), (Window::Week, weekly)] {
        let Some(raw) = raw else { continue };
        let table = || format!("{}.{}", at(), window.table());
        let limits = limits(&raw.limits(), &table, err)?;
        if QuotaType::ALL.iter().all(|q| limits.get(*q).is_none()) {
            return Err(err(
                &table(),
                "sets no limit: add token_limit, input_token_limit, output_token_limit, request_limit or cost_limit_usd, or remove the table".into(),
            ));
        }
        let key = || format!("{}.thresholds", table());
        let thresholds = match &raw.thresholds {
            Some(t) => Some(
                thresholds(t, warnings, &key)
                    .map_err(|p| err(&key(), p))?
                    .into(),
            ),
            None => None,
        };
        written.push(WrittenWindow {
            window,
            limits,
            thresholds,
        });
    }
    Ok(written)
}

/// An account's window rules: its own tables over the defaults' (limit by limit, as the
/// period's limits are), with the table's thresholds, else the defaults' table's, else the
/// account's own.
pub(super) fn merge_windows(
    own: &[WrittenWindow],
    defaults: &[WrittenWindow],
    account_thresholds: &Thresholds,
) -> Windows {
    [Window::Day, Window::Week]
        .into_iter()
        .filter_map(|window| {
            let mine = own.iter().find(|w| w.window == window);
            let theirs = defaults.iter().find(|w| w.window == window);
            let (m, t) = (
                mine.map(|w| &w.limits).cloned().unwrap_or_default(),
                theirs.map(|w| &w.limits).cloned().unwrap_or_default(),
            );
            (mine.is_some() || theirs.is_some()).then(|| WindowRule {
                window,
                limits: Limits {
                    tokens: m.tokens.or(t.tokens),
                    input_tokens: m.input_tokens.or(t.input_tokens),
                    output_tokens: m.output_tokens.or(t.output_tokens),
                    requests: m.requests.or(t.requests),
                    cost_usd: m.cost_usd.or(t.cost_usd),
                },
                thresholds: mine
                    .and_then(|w| w.thresholds.clone())
                    .or_else(|| theirs.and_then(|w| w.thresholds.clone()))
                    .unwrap_or_else(|| account_thresholds.clone()),
            })
        })
        .collect()
}

/// A daily limit above the weekly one of the same quota could never be reached before the
/// week's: a mistake (most likely a misplaced digit), refused.
pub(super) fn check_windows(
    windows: &[WindowRule],
    at: &dyn Fn() -> String,
    err: Err<'_>,
) -> Result<()> {
    let of = |w: Window| windows.iter().find(|r| r.window == w).map(|r| &r.limits);
    let (Some(day), Some(week)) = (of(Window::Day), of(Window::Week)) else {
        return Ok(());
    };
    for q in QuotaType::ALL {
        if let (Some(d), Some(w)) = (day.get(q), week.get(q))
            && d > w
        {
            return Err(err(
                &format!("{}.daily.{}", at(), q.limit_key()),
                format!(
                    "{d} is above the weekly {} ({w}): the day's limit could never be reached before the week's; lower it or raise the weekly one",
                    q.limit_key()
                ),
            ));
        }
    }
    Ok(())
}

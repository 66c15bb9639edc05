//! Burn-rate alerts: raised on pace, resolved when the pace drops (`crate::burn`).

use super::{Action, Evaluation, labelled, raise, resolve};
use crate::alert::{Alert, AlertType, Firing, Resolution};
use crate::burn::Burn;
use crate::quota;

/// Burn-rate alerts: one per rule and quota in the window instance, raised while both
/// lookbacks are at or over the rule's factor, resolved as `recovered` once the short one is
/// below it (or the rule or limit is gone). A lookback that cannot be evaluated changes
/// nothing: no data is not a recovery.
pub(super) fn burn_alerts(eval: &Evaluation<'_>, in_window: &[&Alert], actions: &mut Vec<Action>) {
    let of = |b: &Burn, a: &Alert| {
        a.alert_type == AlertType::BurnRate
            && a.quota_type == Some(b.quota_type)
            && a.threshold == b.rule.threshold()
    };
    for a in in_window
        .iter()
        .filter(|a| a.alert_type == AlertType::BurnRate && a.is_open())
    {
        if !eval.burns.iter().any(|b| of(b, a)) {
            actions.push(resolve(a, Resolution::Recovered));
        }
    }
    for b in &eval.burns {
        let mine = in_window.iter().copied().find(|a| of(b, a));
        if b.firing() {
            raise(mine, || burn_firing(eval, b), actions);
        } else if let Some(a) = mine.filter(|a| a.is_open())
            && matches!(b.short, Ok(s) if s < b.rule.factor())
        {
            actions.push(resolve(a, Resolution::Recovered));
        }
    }
}

fn burn_firing(eval: &Evaluation<'_>, b: &Burn) -> Firing {
    let q = b.quota_type;
    let reading = eval.readings.iter().find(|r| r.quota_type == q);
    let (used, limit) = reading
        .and_then(|r| r.used.zip(r.limit))
        .unwrap_or_default();
    let (long, short) = (b.long.unwrap_or_default(), b.short.unwrap_or_default());
    let pace = match b.limit_in(used, limit) {
        _ if quota::crossed(used, limit, 100) => "the limit is already reached".to_string(),
        Some(d) => format!(
            "at this pace the limit is reached in {}",
            crate::period::human_duration(d)
        ),
        None => "the limit is not reached at this pace".to_string(),
    };
    let message = format!(
        "{account}: {q} is being used {times}× faster than the {window} allows ({long}× over {l}, {short}× over {s}); {pace}",
        account = eval.account,
        q = labelled(q, eval.window),
        times = long.round(),
        window = eval.window,
        l = crate::burn::lookback(b.rule.long),
        s = crate::burn::lookback(b.rule.short),
    );
    Firing {
        alert_type: AlertType::BurnRate,
        severity: b.rule.severity,
        message,
        current_value: used,
        limit_value: limit,
        percentage: quota::percentage(used, limit),
        quota_type: q,
        threshold: b.rule.threshold(),
        window: eval.window,
        span: eval.period,
    }
}

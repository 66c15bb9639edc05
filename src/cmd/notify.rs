//! `quota notify test`: one test message through each channel, and what each answered.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::Ctx;
use crate::account::{Channel, ChannelKind};
use crate::alert::Event;
use crate::alert::{Alert, AlertType, Severity};
use crate::error::bad_input;
use crate::notify::{self, send::Outcome};
use crate::output;
use crate::period::{Period, Window};
use crate::quota::QuotaType;

const TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn test(ctx: &Ctx, only: Option<&str>) -> Result<ExitCode> {
    let channels: Vec<&Channel> = ctx
        .config
        .notify
        .iter()
        .filter(|c| only.is_none_or(|n| c.name == n))
        .collect();
    if channels.is_empty() {
        return Err(match only {
            Some(n) => bad_input!("no notification channel named {n:?} (see quota config check)"),
            None => bad_input!("no [[notify]] channels in the configuration: nothing to test"),
        });
    }
    let alert = test_alert(ctx);
    let agent = crate::http::agent();
    let mut failed = 0;
    for c in channels {
        let outcome = send_test(&agent, c, &alert, ctx);
        let (word, detail) = match &outcome {
            Outcome::Delivered(s) => ("delivered", s.clone()),
            Outcome::Retry { error, .. } | Outcome::Failed(error) => {
                failed += 1;
                ("FAILED", error.clone())
            }
        };
        output::line(&format!(
            "{} ({}): {word}: {detail}",
            c.name,
            c.kind.type_name()
        ))?;
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn test_alert(ctx: &Ctx) -> Alert {
    let period = Period::containing(1, ctx.now);
    Alert {
        id: uuid::Uuid::new_v4().to_string(),
        account: "quota-test".into(),
        alert_type: AlertType::ApproachingLimit,
        severity: Severity::Warning,
        message: "quota test notification: this channel works; nothing is wrong".into(),
        current_value: 80.into(),
        limit_value: 100.into(),
        percentage: 80.0,
        quota_type: Some(QuotaType::Tokens),
        read: None,
        threshold: 80,
        window: Window::Period,
        period_start: period.start,
        period_end: period.end,
        created_at: ctx.now,
        resolved_at: None,
        resolution: None,
        comment: Some("test".into()),
        resolved_by: None,
    }
}

fn send_test(agent: &ureq::Agent, c: &Channel, alert: &Alert, ctx: &Ctx) -> Outcome {
    let fire = notify::send(agent, c, &[(alert, Event::Firing)], ctx.now, TIMEOUT);
    if !matches!(c.kind, ChannelKind::PagerDuty { .. }) {
        return fire;
    }
    // A test that pages someone must not leave an incident open: trigger, then resolve.
    match fire {
        Outcome::Delivered(s) => {
            match notify::send(agent, c, &[(alert, Event::Resolved)], ctx.now, TIMEOUT) {
                Outcome::Delivered(r) => Outcome::Delivered(format!("trigger {s}; resolve {r}")),
                other => other,
            }
        }
        other => other,
    }
}

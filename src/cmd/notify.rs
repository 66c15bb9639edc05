//! `quota notify test`: one test message through each channel, and what each answered.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use super::Ctx;
use crate::alert::Event;
use crate::alert::{Alert, AlertType, Severity};
use crate::config::{Channel, ChannelKind};
use crate::error::bad_input;
use crate::notify::message;
use crate::notify::send::{self, Outcome};
use crate::output;
use crate::period::Period;
use crate::quota::QuotaType;
use crate::secret::Secret;

const TIMEOUT: Duration = Duration::from_secs(10);

pub fn test(ctx: &Ctx, only: Option<&str>) -> Result<ExitCode> {
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
    let agent = send::agent();
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
        quota_type: QuotaType::Tokens,
        threshold: 80,
        period_start: period.start,
        period_end: period.end,
        created_at: ctx.now,
        resolved_at: None,
        resolution: None,
        comment: Some("test".into()),
    }
}

fn send_test(agent: &ureq::Agent, c: &Channel, alert: &Alert, ctx: &Ctx) -> Outcome {
    let secret =
        |s: &crate::secret::SecretSource| s.read().map_err(|e| Outcome::Failed(format!("{e:#}")));
    let result = match &c.kind {
        ChannelKind::Slack { url } => secret(url).map(|u| {
            send::post_json(
                agent,
                &u,
                &message::slack(&[(alert, Event::Firing)], ctx.now),
                None,
                TIMEOUT,
            )
        }),
        ChannelKind::Webhook { url } => secret(url).map(|u| {
            send::post_json(
                agent,
                &u,
                &message::webhook(alert, Event::Firing),
                None,
                TIMEOUT,
            )
        }),
        ChannelKind::PagerDuty { routing_key, url } => secret(routing_key).map(|key| {
            // A test that pages someone must not leave an incident open: trigger, then resolve.
            let target = Secret::new(url.as_deref().unwrap_or(message::PAGERDUTY_URL));
            let trigger = send::post_json(
                agent,
                &target,
                &message::pagerduty(alert, Event::Firing, key.expose(), ctx.now),
                None,
                TIMEOUT,
            );
            let outcome = match trigger {
                Outcome::Delivered(s) => match send::post_json(
                    agent,
                    &target,
                    &message::pagerduty(alert, Event::Resolved, key.expose(), ctx.now),
                    None,
                    TIMEOUT,
                ) {
                    Outcome::Delivered(r) => {
                        Outcome::Delivered(format!("trigger {s}; resolve {r}"))
                    }
                    other => other,
                },
                other => other,
            };
            match outcome {
                Outcome::Retry { error, after } => Outcome::Retry {
                    error: send::redact(&error, &key),
                    after,
                },
                Outcome::Failed(e) => Outcome::Failed(send::redact(&e, &key)),
                ok => ok,
            }
        }),
        ChannelKind::Email { to, from, command } => Ok(send::mail(
            command,
            &message::email(alert, Event::Firing, to, from, ctx.now),
            TIMEOUT,
        )),
    };
    result.unwrap_or_else(|e| e)
}

//! What each channel receives (SPEC §6), as pure functions of the alert, the event and `now`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::alert::Alert;
use crate::alert::Event;
use crate::period::human_duration;

/// Events v2's endpoint, unless a channel sets `url`.
pub(crate) const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// One line for people: what, how much, until when, and the id to resolve it by.
pub(crate) fn summary_line(a: &Alert, event: Event, now: DateTime<Utc>) -> String {
    let numbers = a.amount();
    match event {
        Event::Firing if a.alert_type.is_health() => format!(
            "{} {}: {}; alert {}",
            a.severity.as_str().to_uppercase(),
            a.alert_type,
            a.message,
            a.id
        ),
        Event::Firing => format!(
            "{} {}: {} {} at {numbers}; {} ends {} (resets in {}); alert {}",
            a.severity.as_str().to_uppercase(),
            a.alert_type,
            a.account,
            a.what_window(),
            a.window,
            crate::time::minute(a.period_end),
            human_duration(a.period_end - now),
            a.id
        ),
        Event::Resolved => {
            let by = a
                .resolved_by
                .as_deref()
                .map(|w| format!(" by {w}"))
                .unwrap_or_default();
            let comment = a
                .comment
                .as_deref()
                .map(|c| format!(": {c:?}"))
                .unwrap_or_default();
            format!(
                "RESOLVED ({}{by}{comment}): {} {} {} at {numbers}; alert {}",
                a.resolution.map_or("resolved", |r| r.as_str()),
                a.who(),
                a.what_window(),
                a.alert_type,
                a.id
            )
        }
    }
}

/// Slack incoming webhook: several alerts of one run share one message.
pub(crate) fn slack(notes: &[(&Alert, Event)], now: DateTime<Utc>) -> Value {
    let lines: Vec<String> = notes
        .iter()
        .map(|(a, e)| {
            let icon = match (e, a.severity) {
                (Event::Resolved, _) => ":white_check_mark:",
                (Event::Firing, crate::alert::Severity::Critical) => ":rotating_light:",
                (Event::Firing, crate::alert::Severity::Warning) => ":warning:",
            };
            format!("{icon} {}", summary_line(a, *e, now))
        })
        .collect();
    let head = if notes.len() == 1 {
        String::new()
    } else {
        format!("*quota: {} alert updates*\n", notes.len())
    };
    json!({ "text": format!("{head}{}", lines.join("\n")) })
}

/// A generic webhook: the alert's columns plus `status`.
pub(crate) fn webhook(a: &Alert, event: Event) -> Value {
    let mut v = a.to_json();
    v["status"] = json!(event.as_str());
    v
}

/// PagerDuty Events API v2: trigger on firing, resolve on resolved, the alert id as dedup key.
pub(crate) fn pagerduty(a: &Alert, event: Event, routing_key: &str, now: DateTime<Utc>) -> Value {
    match event {
        Event::Firing => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": a.id,
            "payload": {
                "summary": truncate(&summary_line(a, event, now), 1024),
                "source": "quota",
                "severity": a.severity.as_str(),
                "component": a.who(),
                "group": a.what(),
                "class": a.alert_type.as_str(),
                "custom_details": a.to_json(),
            },
        }),
        Event::Resolved => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": a.id,
        }),
    }
}

/// An RFC 5322 message for `sendmail -t`: To, From, Subject, Date, then the details.
pub(crate) fn email(a: &Alert, event: Event, to: &str, from: &str, now: DateTime<Utc>) -> String {
    let subject = match event {
        Event::Firing if a.alert_type.is_health() => {
            format!("[quota] {}: {} {}", a.severity, a.alert_type, a.what())
        }
        Event::Firing => format!(
            "[quota] {}: {} {} at {}%",
            a.severity,
            a.account,
            a.what_window(),
            a.percentage
        ),
        Event::Resolved => format!(
            "[quota] resolved: {} {} {}",
            a.who(),
            a.what_window(),
            a.alert_type
        ),
    };
    let details = serde_json::to_string_pretty(&webhook(a, event)).unwrap_or_default();
    format!(
        "To: {to}\r\nFrom: {from}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}.{}.{}@quota>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n\r\n{}\r\n",
        header_safe(&subject),
        now.to_rfc2822(),
        a.id,
        event.as_str(),
        now.timestamp(),
        summary_line(a, event, now),
        details.replace('\n', "\r\n"),
    )
}

/// Header values never carry line breaks (no header injection through account names).
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertType, Resolution, Severity};
    use crate::quota::QuotaType;

    fn alert() -> Alert {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        Alert {
            id: "6f1c2a4e-1111-4abc-8def-000000000001".into(),
            account: "production".into(),
            alert_type: AlertType::QuotaExceeded,
            severity: Severity::Critical,
            message: "production: tokens has exceeded its limit".into(),
            current_value: 5_100_000_000u64.into(),
            limit_value: 5_000_000_000u64.into(),
            percentage: 102.0,
            quota_type: Some(QuotaType::Tokens),
            read: None,
            threshold: 100,
            window: crate::period::Window::Period,
            period_start: t("2026-11-15T00:00:00Z"),
            period_end: t("2026-12-15T00:00:00Z"),
            created_at: t("2026-11-20T12:00:00Z"),
            resolved_at: None,
            resolution: None,
            comment: None,
            resolved_by: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn slack_text_has_everything_an_operator_needs() {
        let a = alert();
        let text = slack(&[(&a, Event::Firing)], now())["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            text,
            ":rotating_light: CRITICAL quota_exceeded: production tokens at 5,100,000,000 / 5,000,000,000 (102%); \
             period ends 2026-12-15 00:00 UTC (resets in 24d 12h); alert 6f1c2a4e-1111-4abc-8def-000000000001"
        );
        let mut r = alert();
        r.resolution = Some(Resolution::PeriodEnded);
        let two = slack(&[(&a, Event::Firing), (&r, Event::Resolved)], now());
        let text = two["text"].as_str().unwrap();
        assert!(
            text.starts_with("*quota: 2 alert updates*\n")
                && text.contains(":white_check_mark: RESOLVED (period_ended)"),
            "{text}"
        );
    }

    #[test]
    fn pagerduty_events_v2() {
        let a = alert();
        let t = pagerduty(&a, Event::Firing, "R0UTING", now());
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(t["dedup_key"], a.id.as_str());
        assert_eq!(t["payload"]["severity"], "critical");
        assert_eq!(t["payload"]["source"], "quota");
        let r = pagerduty(&a, Event::Resolved, "R0UTING", now());
        assert_eq!(
            (r["event_action"].as_str(), r["dedup_key"].as_str()),
            (Some("resolve"), Some(a.id.as_str()))
        );
    }

    #[test]
    fn webhook_is_the_alert_plus_status() {
        let v = webhook(&alert(), Event::Firing);
        assert_eq!(v["status"], "firing");
        assert_eq!(v["current_value"], 5_100_000_000u64);
        assert_eq!(v.as_object().unwrap().len(), 18);
        assert_eq!(v["window"], "period");
    }

    #[test]
    fn email_is_rfc5322() {
        let mut a = alert();
        a.account = "evil\r\nBcc: victim@example.com".into();
        let m = email(
            &a,
            Event::Firing,
            "ops@example.com",
            "quota@example.com",
            now(),
        );
        let (head, body) = m.split_once("\r\n\r\n").unwrap();
        let names: Vec<&str> = head
            .split("\r\n")
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "To",
                "From",
                "Subject",
                "Date",
                "Message-ID",
                "MIME-Version",
                "Content-Type",
                "Content-Transfer-Encoding"
            ]
        );
        assert!(
            head.contains("Date: Fri, 20 Nov 2026 12:00:00 +0000"),
            "{head}"
        );
        assert!(body.contains("alert 6f1c2a4e"), "{body}");
    }
}

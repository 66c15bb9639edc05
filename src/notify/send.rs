//! Sending one notification: an HTTP POST (Slack, webhooks, PagerDuty) or a mail command,
//! and what the answer means for the outbox.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ureq::Agent;

use crate::secret::Secret;

/// What an endpoint's answer means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Delivered(String),
    /// Try again later (no sooner than `after`, when the endpoint said so).
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// A permanent refusal: retrying cannot help.
    Failed(String),
}

/// POSTs `body` as JSON. Errors never contain the URL (it is a secret).
pub(crate) fn post_json(
    agent: &Agent,
    url: &Secret,
    body: &Value,
    idempotency_key: Option<&str>,
    timeout: Duration,
) -> Outcome {
    let mut req = agent
        .post(url.expose())
        .header("content-type", "application/json");
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    let result = req
        .config()
        .timeout_global(Some(timeout))
        .build()
        .send(body.to_string());
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Retry {
                error: redact(&format!("request failed: {e}"), url),
                after: None,
            };
        }
    };
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(86_400)));
    let mut text = String::new();
    let _ = resp
        .body_mut()
        .with_config()
        .limit(8 * 1024)
        .reader()
        .take(8 * 1024)
        .read_to_string(&mut text);
    let excerpt: String = text.trim().chars().take(200).collect();
    let said = if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    };
    let said = redact(&said, url);
    match status {
        200..=299 => Outcome::Delivered(format!("HTTP {status}{said}")),
        429 => Outcome::Retry {
            error: format!("HTTP 429 (rate limited){said}"),
            after: retry_after,
        },
        408 | 500..=599 => Outcome::Retry {
            error: format!("HTTP {status}{said}"),
            after: retry_after,
        },
        300..=399 => Outcome::Failed(format!(
            "HTTP {status}: a redirect, not followed; check the URL"
        )),
        404 | 410 => Outcome::Failed(format!(
            "HTTP {status}{said}: the endpoint is gone (revoked webhook?)"
        )),
        _ => Outcome::Failed(format!("HTTP {status}{said}: refused")),
    }
}

/// Pipes `message` to `command` (argv), e.g. `sendmail -t`; exit status 0 is delivered.
pub(crate) fn mail(command: &[String], message: &str, timeout: Duration) -> Outcome {
    let (program, args) = command.split_first().expect("validated non-empty");
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Retry {
                error: format!("cannot run {program}: {e}"),
                after: None,
            };
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(message.as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.by_ref().take(4096).read_to_string(&mut err);
                }
                let err: String = err.trim().chars().take(200).collect();
                return if status.success() {
                    Outcome::Delivered(format!("{program} exited 0"))
                } else {
                    Outcome::Retry {
                        error: format!("{program} exited with {status}: {err}"),
                        after: None,
                    }
                };
            }
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::Retry {
                    error: format!("{program} did not finish within {}s", timeout.as_secs()),
                    after: None,
                };
            }
            Err(e) => {
                return Outcome::Retry {
                    error: format!("waiting for {program}: {e}"),
                    after: None,
                };
            }
        }
    }
}

/// Removes a secret from text that may echo it (transport errors print URLs).
pub(crate) fn redact(text: &str, secret: &Secret) -> String {
    let s = secret.expose();
    if s.is_empty() {
        text.to_string()
    } else {
        text.replace(s, "[redacted]")
    }
}

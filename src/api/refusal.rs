//! What a failed request means: a non-2xx answer's error body, read bounded, and whether
//! to try again; transport and body errors said without quoting the body.

use std::io::Read;
use std::time::Duration;

use super::{ApiError, Attempt, MAX_ERROR_BODY, header};

/// What a non-2xx answer means: its error body read (bounded), and whether to try again.
pub(super) fn refusal(
    resp: &mut ureq::http::Response<ureq::Body>,
    path: &str,
    status: u16,
    request_id: Option<String>,
) -> Attempt {
    let retry_after = header(resp, "retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0);
    let mut body = String::new();
    let _ = resp
        .body_mut()
        .with_config()
        .limit(MAX_ERROR_BODY)
        .reader()
        .take(MAX_ERROR_BODY)
        .read_to_string(&mut body);
    let detail = ErrorBody::parse(&body);
    let rid = request_id
        .or(detail.request_id.clone())
        .map(|r| format!(", request-id {r}"))
        .unwrap_or_default();
    let head = format!("GET {path}: {status}{}{rid}", detail.describe());
    let fail = |advice: &str| Attempt::Final(ApiError::Permanent(format!("{head}: {advice}")));
    match status {
        429 if detail.code.as_deref() == Some("enforced_spend_limit_reached") => fail(
            "the organization's monthly spend cap is reached; the API refuses until 00:00 UTC on the 1st of next month, or raise the cap in the Console",
        ),
        // A spend limit the organization set itself: the message names when access returns.
        400 if detail
            .message
            .as_deref()
            .is_some_and(|m| m.contains("specified API usage limit")) =>
        {
            fail(
                "the organization has reached a spend limit it set itself; reads resume on the date the API names, or sooner if the limit is raised in the Console (Settings → Limits); not retried",
            )
        }
        // A workspace's own spend limit: the same, for one workspace.
        400 if detail
            .message
            .as_deref()
            .is_some_and(|m| m.contains("specified workspace API usage limit")) =>
        {
            fail(
                "a workspace has reached a spend limit set for it; reads resume on the date the API names, or sooner if the workspace's limit is raised in the Console; not retried",
            )
        }
        410 => Attempt::Final(ApiError::Gone(format!("{head}: the page cursor expired"))),
        429 | 500..=599 => Attempt::Retry {
            error: ApiError::Transient(head),
            retry_after: retry_after.map(|s| Duration::from_secs_f64(s.min(3600.0))),
        },
        300..=399 => fail(
            "the API answered with a redirect, which quota does not follow (it would carry the admin key elsewhere): check [api] base_url / $QUOTA_API_URL",
        ),
        401 => fail(
            "the Admin API refused the admin key: check ANTHROPIC_ADMIN_API_KEY (or [api] admin_key_file); it must be an active admin key (sk-ant-admin…)",
        ),
        403 => fail(
            "the key may not read usage: use an admin key (sk-ant-admin…) of an organization admin",
        ),
        _ => fail("not retried; check the message above and [api] base_url"),
    }
}

pub(super) fn transport_message(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => format!("request failed: {other}"),
    }
}

/// Where in the body parsing failed, without quoting the body.
pub(super) fn body_error(e: &serde_json::Error) -> String {
    if let Some(io) = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>())
    {
        return format!(
            "reading the body failed at line {} column {}: {io}",
            e.line(),
            e.column()
        );
    }
    e.to_string()
}

/// The API's error body: `{"type":"error","error":{"type","message","details"},"request_id"}`.
#[derive(Debug, Default)]
struct ErrorBody {
    kind: Option<String>,
    message: Option<String>,
    code: Option<String>,
    request_id: Option<String>,
}

impl ErrorBody {
    fn parse(body: &str) -> ErrorBody {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
            return ErrorBody::default();
        };
        let s = |v: &serde_json::Value| v.as_str().map(|s| s.chars().take(300).collect::<String>());
        ErrorBody {
            kind: s(&v["error"]["type"]),
            message: s(&v["error"]["message"]),
            code: s(&v["error"]["details"]["error_code"]),
            request_id: s(&v["request_id"]),
        }
    }

    fn describe(&self) -> String {
        match (&self.kind, &self.message) {
            (Some(k), Some(m)) => format!(" {k}: {m}"),
            (Some(k), None) => format!(" {k}"),
            (None, Some(m)) => format!(": {m}"),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_and_bounded() {
        let b = ErrorBody::parse(
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_1"}"#,
        );
        assert_eq!(b.describe(), " rate_limit_error: slow down");
        assert_eq!(b.code.as_deref(), Some("enforced_spend_limit_reached"));
        assert_eq!(ErrorBody::parse("<html>").describe(), "");
    }
}

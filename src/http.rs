//! The one place quota builds an HTTP agent (ureq 3), for the Admin API and for
//! notifications alike. Every agent:
//! - never follows a redirect: ureq would forward headers (the admin key) wherever it points;
//! - reads every status (`http_status_as_error(false)`), so error bodies, `retry-after` and
//!   `request-id` reach the caller;
//! - names itself in `User-Agent`.
//!
//! Timeouts are set per request (`timeout_global`, which also bounds a server trickling one
//! byte at a time), since each caller knows its own deadline.

use std::time::Duration;

use ureq::Agent;

use crate::secret::Secret;

pub(crate) fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(format!("quota/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// GETs `url` (a heartbeat): its status when it is a success, else what went wrong, with the
/// URL (`secret`, which may hold a token) redacted.
pub(crate) fn ping(url: &str, secret: &Secret, timeout: Duration) -> Result<u16, String> {
    match agent()
        .get(url)
        .config()
        .timeout_global(Some(timeout))
        .build()
        .call()
    {
        Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(crate::notify::send::redact(
            &format!("request failed: {e}"),
            secret,
        )),
    }
}

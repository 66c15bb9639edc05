//! The Admin API client (ADMIN_API.md §0): one ureq agent built in one place, requests with a
//! deadline, retries with backoff, and errors that say what failed and what to do.
//!
//! Safety rules, each for a reason:
//! - redirects are never followed: ureq would forward `x-api-key` to wherever they point;
//! - non-2xx responses are read (`http_status_as_error(false)`) so the API's message,
//!   `retry-after` and `request-id` reach the log and the error;
//! - every request's `timeout_global` is what is left of the sync's deadline (a per-read
//!   timeout would let a server trickling a byte a second live for ever);
//! - bodies are size-capped and parsed as they stream in.

pub(crate) mod analytics;
pub(crate) mod claude_code;
pub(crate) mod cost;
pub(crate) mod keys;
mod refusal;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod usage;
pub(crate) mod workspaces;

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::de::DeserializeOwned;
use ureq::Agent;

use crate::secret::Secret;
use refusal::{body_error, refusal, transport_message};

const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The most a response body may be, decompressed. Usage pages are parsed as they stream in
/// (memory does not grow with the body), and every other page holds at most 1,000 records,
/// so this only stops a runaway response; the deadline bounds the time. A full-period page
/// of a large organization is hundreds of megabytes of JSON (BENCHMARKS.md).
pub(crate) const MAX_BODY: u64 = 2 * 1024 * 1024 * 1024;
/// The most a page read whole (`get_json`: pages of at most 1,000 records) may be.
const MAX_PAGE: u64 = 64 * 1024 * 1024;
/// Error bodies are short; read at most this much of one.
const MAX_ERROR_BODY: u64 = 64 * 1024;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// Tries per request, however generous the deadline: the API asks for gentle polling.
const MAX_ATTEMPTS: u32 = 8;
/// The least time between tries, even if `retry-after` says 0.
const MIN_WAIT: Duration = Duration::from_millis(100);

pub(crate) struct Client {
    agent: Agent,
    base_url: String,
    key: Secret,
    timeout: Duration,
    budget: Duration,
    deadline: Instant,
    /// Requests sent, retries included (the sync summary reports it).
    pub requests: u32,
}

/// Why a request failed, for callers that branch (and for messages that help).
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Worth another try: 429 (not the spend cap), 5xx, 529, a timeout or a dropped connection.
    Transient(String),
    /// Will not change by retrying.
    Permanent(String),
    /// 410: a page cursor expired; the read may start over from its first page, once.
    Gone(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transient(m) | ApiError::Permanent(m) | ApiError::Gone(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ApiError {}

impl Client {
    /// `budget` (the sync's `deadline_secs`, from now) bounds everything this client does,
    /// retries and sleeps included; `timeout` bounds each request.
    pub(crate) fn new(base_url: &str, key: Secret, timeout: Duration, budget: Duration) -> Client {
        let deadline = Instant::now() + budget;
        Client {
            agent: crate::http::agent(),
            base_url: base_url.to_string(),
            key,
            timeout,
            budget,
            deadline,
            requests: 0,
        }
    }

    fn request(
        &self,
        path: &str,
        query: &[(&str, String)],
        beta: Option<&str>,
        timeout: Duration,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let url = format!("{}{path}", self.base_url);
        let mut req = self
            .agent
            .get(&url)
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .query_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        if let Some(beta) = beta {
            req = req.header("anthropic-beta", beta);
        }
        req.config().timeout_global(Some(timeout)).build()
    }

    /// GETs `path` with `query` and parses the JSON body as `T`, retrying transient failures
    /// with exponential backoff and full jitter (honouring `retry-after`) until the deadline.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        beta: Option<&str>,
    ) -> Result<T> {
        self.get_with(path, query, beta, &mut |body| {
            // Pages of at most 1,000 records: read whole and parsed from the bytes, which
            // serde_json does much faster than reading a stream.
            let mut bytes = Vec::new();
            (&mut *body)
                .take(MAX_PAGE + 1)
                .read_to_end(&mut bytes)
                .map_err(serde_json::Error::io)?;
            if bytes.len() as u64 > MAX_PAGE {
                return Err(serde_json::Error::io(std::io::Error::other(
                    "a page larger than 64 MiB",
                )));
            }
            serde_json::from_slice(&bytes)
        })
    }

    /// Like `get_json`, with the body handed to `parse` as it streams in: for pages too
    /// large to hold. Each try calls `parse` afresh, so it must start over each time.
    pub(crate) fn get_with<T>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        beta: Option<&str>,
        parse: &mut dyn FnMut(&mut Body<'_>) -> Result<T, serde_json::Error>,
    ) -> Result<T> {
        let mut attempt = 0u32;
        loop {
            let (err, retry_after) = match self.try_once(path, query, beta, parse) {
                Ok(v) => return Ok(v),
                Err(Attempt::Final(e)) => return Err(e.into()),
                Err(Attempt::Retry { error, retry_after }) => (error, retry_after),
            };
            attempt += 1;
            let backoff = full_jitter(attempt);
            let wait = retry_after.unwrap_or(backoff).max(MIN_WAIT);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if wait >= left || attempt >= MAX_ATTEMPTS {
                return Err(ApiError::Transient(format!(
                    "{err}; gave up after {attempt} attempt{} within {} (the Admin API's share of [api] deadline_secs); nothing was stored: the next run tries again",
                    if attempt == 1 { "" } else { "s" },
                    crate::time::seconds(self.budget),
                ))
                .into());
            }
            log::warn!(
                "{err}; retrying in {:.1}s (attempt {})",
                wait.as_secs_f64(),
                attempt + 1
            );
            std::thread::sleep(wait);
        }
    }

    fn try_once<T>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        beta: Option<&str>,
        parse: &mut dyn FnMut(&mut Body<'_>) -> Result<T, serde_json::Error>,
    ) -> Result<T, Attempt> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Attempt::Final(ApiError::Transient(format!(
                "GET {path}: the sync deadline passed before the request"
            ))));
        }
        self.requests += 1;
        let timeout = self.timeout.min(left);
        let started = Instant::now();
        let reply = self
            .request(path, query, beta, timeout)
            .call()
            .map_err(|e| transport_message(&e));
        let mut resp = reply.map_err(|e| Attempt::Retry {
            error: ApiError::Transient(format!("GET {path}: {e}")),
            retry_after: None,
        })?;
        let status = resp.status().as_u16();
        let request_id = header(&resp, "request-id");
        log::debug!(
            "GET {path} → {status} in {:?} (request-id {})",
            started.elapsed(),
            request_id.as_deref().unwrap_or("none")
        );
        if (200..300).contains(&status) {
            parse_body(
                &mut resp,
                path,
                started + timeout,
                request_id.as_deref(),
                parse,
            )
        } else {
            Err(refusal(&mut resp, path, status, request_id))
        }
    }
}

/// A page of a list paged by `after_id` (API keys, workspaces: ADMIN_API.md §4).
#[derive(serde::Deserialize)]
struct ListPage<T> {
    data: Vec<T>,
    has_more: bool,
    #[serde(default)]
    last_id: Option<String>,
}

/// Walks a list paged forward with `after_id`, 1,000 records a page, handing each page's
/// records to `each`; at most `max_pages` pages.
pub(crate) fn each_listed<T: DeserializeOwned>(
    client: &mut Client,
    path: &str,
    query: &[(&'static str, String)],
    max_pages: usize,
    each: &mut dyn FnMut(Vec<T>) -> Result<()>,
) -> Result<()> {
    let mut after: Option<String> = None;
    for _ in 0..max_pages {
        let mut q = query.to_vec();
        q.push(("limit", "1000".to_string()));
        if let Some(a) = &after {
            q.push(("after_id", a.clone()));
        }
        let page: ListPage<T> = client.get_json(path, &q, None)?;
        each(page.data)?;
        if !page.has_more {
            return Ok(());
        }
        match page.last_id {
            Some(last) if after.as_deref() != Some(last.as_str()) => after = Some(last),
            _ => anyhow::bail!("GET {path}: has_more without a new last_id: cannot page on"),
        }
    }
    anyhow::bail!("GET {path}: more than {max_pages} pages")
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Parses a 2xx body as it streams in, size-capped and bounded by `until`.
fn parse_body<T>(
    resp: &mut ureq::http::Response<ureq::Body>,
    path: &str,
    until: Instant,
    request_id: Option<&str>,
    parse: &mut dyn FnMut(&mut Body<'_>) -> Result<T, serde_json::Error>,
) -> Result<T, Attempt> {
    let reader = resp.body_mut().with_config().limit(MAX_BODY).reader();
    // ureq checks its timeout only when it touches the socket; a gzip bomb inflates for
    // seconds from one buffered read. This checks the deadline on every read of
    // decompressed bytes too.
    let reader = Deadline {
        inner: reader,
        at: until,
    };
    let mut body = Body(std::io::BufReader::with_capacity(256 * 1024, reader));
    parse(&mut body).map_err(|e| {
        let rid = request_id
            .map(|r| format!(", request-id {r}"))
            .unwrap_or_default();
        let what = body_error(&e);
        // A body cut off mid-stream (timeout, reset) is worth a retry; bad JSON is not.
        let msg = format!("GET {path}: malformed response ({what}{rid})");
        if e.is_io() || e.is_eof() {
            // The give-up message says that nothing was stored.
            Attempt::Retry {
                error: ApiError::Transient(msg),
                retry_after: None,
            }
        } else {
            Attempt::Final(ApiError::Permanent(format!("{msg}; nothing was stored")))
        }
    })
}

/// A response body as the parsers read it: buffered, size-capped, bounded by the deadline.
/// A concrete type, not `dyn Read`: serde_json reads a stream a byte at a time, and a
/// virtual call per byte is measurable on a large page.
pub(crate) struct Body<'a>(std::io::BufReader<Deadline<ureq::BodyReader<'a>>>);

impl Read for Body<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// A reader that fails with `TimedOut` once `at` has passed.
pub(crate) struct Deadline<R> {
    inner: R,
    at: Instant,
}

impl<R: Read> Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() >= self.at {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out reading the response (deadline)",
            ));
        }
        self.inner.read(buf)
    }
}

enum Attempt {
    Retry {
        error: ApiError,
        retry_after: Option<Duration>,
    },
    Final(ApiError),
}

/// Exponential backoff with full jitter: uniformly random in [0, min(cap, base·2^attempt)].
fn full_jitter(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_CAP);
    // uuid's v4 generator is the process's one source of OS randomness; no rand crate needed.
    // The low 64 bits, uniform in [0, 1].
    let low = uuid::Uuid::new_v4().as_u64_pair().1;
    #[allow(clippy::cast_precision_loss)] // a random fraction needs no more than f64 keeps
    let r = low as f64 / u64::MAX as f64;
    ceiling.mul_f64(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_under_the_exponential_ceiling() {
        for attempt in 1..20 {
            let d = full_jitter(attempt);
            assert!(
                d <= BACKOFF_CAP && d <= BACKOFF_BASE * 2u32.pow(attempt.min(16)),
                "{attempt}: {d:?}"
            );
        }
    }
}

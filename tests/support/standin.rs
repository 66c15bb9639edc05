//! A stand-in for the Claude Admin API's usage report, for tests, the benchmark and trying
//! quota without a real key. It follows ADMIN_API.md §1: `starting_at`/`ending_at` snapped to
//! UTC days, `bucket_width=1d`, `limit` buckets per page with `next_page` cursors, empty
//! buckets included, `group_by[]` over `api_key_id`/`workspace_id` (other dimensions null),
//! the `api_key_ids[]`/`workspace_ids[]` filters, error bodies with `request-id`, and the
//! admin key checked on every request. Faults are injected on demand, per request or for
//! good. It listens on 127.0.0.1 only.

#![allow(dead_code)] // each user (tests, example, bench) uses a different part

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use serde_json::{Value, json};

/// One day of one key's usage, as the stand-in's "database" holds it.
#[derive(Debug, Clone)]
pub struct Usage {
    pub api_key_id: Option<String>,
    pub workspace_id: Option<String>,
    pub day: NaiveDate,
    pub uncached_input_tokens: u64,
    pub cache_creation_5m: u64,
    pub cache_creation_1h: u64,
    pub cache_read: u64,
    pub output_tokens: u64,
    /// Reported by the analytics endpoint only.
    pub requests: Option<u64>,
    /// The model, shown when the request groups by model (`None`: not set).
    pub model: Option<String>,
}

impl Usage {
    pub fn new(
        key: Option<&str>,
        workspace: Option<&str>,
        day: &str,
        input: u64,
        output: u64,
    ) -> Usage {
        Usage {
            api_key_id: key.map(String::from),
            workspace_id: workspace.map(String::from),
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("YYYY-MM-DD"),
            uncached_input_tokens: input,
            cache_creation_5m: 0,
            cache_creation_1h: 0,
            cache_read: 0,
            output_tokens: output,
            requests: None,
            model: None,
        }
    }

    pub fn requests(mut self, n: u64) -> Usage {
        self.requests = Some(n);
        self
    }

    pub fn model(mut self, model: &str) -> Usage {
        self.model = Some(model.into());
        self
    }
}

/// One Claude Code record (ADMIN_API.md §5): one actor on one day, one terminal, with its
/// models. An actor may have several a day.
#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub day: NaiveDate,
    /// `user_actor` by e-mail, or `api_actor` by key name.
    pub actor: CodeActor,
    pub terminal: String,
    pub is_remote: bool,
    /// (model, input, output, cache_read, cache_creation, cost in integer cents)
    pub models: Vec<(String, u64, u64, u64, u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeActor {
    User(String),
    Api(String),
}

impl CodeRecord {
    pub fn user(email: &str, day: &str, terminal: &str) -> CodeRecord {
        CodeRecord {
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("YYYY-MM-DD"),
            actor: CodeActor::User(email.into()),
            terminal: terminal.into(),
            is_remote: false,
            models: Vec::new(),
        }
    }

    pub fn api(key_name: &str, day: &str, terminal: &str) -> CodeRecord {
        CodeRecord {
            actor: CodeActor::Api(key_name.into()),
            ..CodeRecord::user("", day, terminal)
        }
    }

    /// Adds a model's tokens (input, output, cache read, cache creation) and cost in cents.
    pub fn model(mut self, model: &str, tokens: [u64; 4], cents: u64) -> CodeRecord {
        self.models.push((
            model.into(),
            tokens[0],
            tokens[1],
            tokens[2],
            tokens[3],
            cents,
        ));
        self
    }

    fn json(&self) -> Value {
        let actor = match &self.actor {
            CodeActor::User(e) => json!({"type": "user_actor", "email_address": e}),
            CodeActor::Api(k) => json!({"type": "api_actor", "api_key_name": k}),
        };
        let models: Vec<Value> = self
            .models
            .iter()
            .map(|(m, i, o, r, c, cents)| {
                json!({"model": m, "tokens": {"input": i, "output": o, "cache_read": r, "cache_creation": c},
                       "estimated_cost": {"currency": "USD", "amount": cents}})
            })
            .collect();
        json!({"date": format!("{}T00:00:00Z", self.day), "actor": actor,
               "organization_id": "12345678-1234-5678-1234-567812345678", "customer_type": "api",
               "subscription_type": "enterprise", "terminal_type": self.terminal, "is_remote": self.is_remote,
               "core_metrics": {"num_sessions": 3, "lines_of_code": {"added": 10, "removed": 2},
                                "commits_by_claude_code": 1, "pull_requests_by_claude_code": 0},
               "tool_actions": {"edit_tool": {"accepted": 5, "rejected": 1}},
               "model_breakdown": models})
    }
}

/// An API key as `GET /v1/organizations/api_keys` lists it.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub workspace_id: Option<String>,
    /// The GA shape (ADMIN_API.md §4): `scope.workspace_id` and `principal`, no top-level
    /// `workspace_id`.
    pub ga: bool,
}

/// How the analytics endpoints answer, beyond the data (ADMIN_API.md §3).
#[derive(Debug, Clone, Default)]
pub struct Analytics {
    /// Count fields left out of every usage row (`"output_tokens"`, `"cache_creation"`, …).
    pub drop: Vec<String>,
    /// `cost.amount` as a JSON number instead of the usual decimal string.
    pub amount_as_number: bool,
    /// `data_refreshed_at` on every page, when set.
    pub refreshed_at: Option<String>,
    /// Usage rows in a layout the published contract does not have: their counts nested
    /// under `buckets[0]`, no `usage` object.
    pub nested: bool,
    /// The Default Workspace's real id: analytics rows report its usage and cost under it
    /// (the legacy reports give null), and the workspaces list names it with
    /// `include_default=true` only.
    pub default_workspace: Option<String>,
}

/// What a request can be made to suffer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Any status with the API's error body (`retry-after` if given).
    Status {
        status: u16,
        kind: &'static str,
        retry_after: Option<u32>,
    },
    /// 429 with `error.details.error_code = enforced_spend_limit_reached`, no retry-after.
    SpendCap,
    /// The 400 a spend limit the organization set itself gives.
    OwnSpendLimit,
    /// 400 for a workspace's own spend limit ("…specified workspace API usage limits…").
    WorkspaceSpendLimit,
    /// A 200 whose JSON stops halfway (the connection closes early).
    Truncated,
    /// A 200 that sends one byte per interval.
    Trickle(Duration),
    /// A 302 to this URL.
    Redirect(String),
    /// A 200 with a body that is valid JSON but not a usage report.
    Body(String),
    /// Counts larger than any 64-bit signed counter.
    Overflow,
    /// `has_more` for ever with the same cursor.
    RepeatingCursor,
    /// `has_more` for ever, with a new cursor every page.
    EndlessCursor,
    /// Accepts the request and never answers (the connection stays open a minute).
    Hang,
    /// A 200 whose body is `{"data":[` and then this many bytes of whitespace.
    Huge(u64),
    /// A 200 with `content-encoding: gzip`: these compressed bytes (a bomb, say).
    Gzip(Arc<Vec<u8>>),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params(name).into_iter().next()
    }
}

#[derive(Default)]
struct State {
    usage: Vec<Usage>,
    keys: Vec<Key>,
    /// (workspace, day, cents as the API's decimal string)
    /// (key, workspace, day, cents): a key's cost, or with no key a workspace's.
    cost: Vec<(Option<String>, Option<String>, NaiveDate, String)>,
    /// Cost of one model (analytics): key, workspace, model, day, cents.
    model_cost: Vec<ModelCost>,
    analytics: Analytics,
    /// Claude Code records by day.
    code: BTreeMap<NaiveDate, Vec<CodeRecord>>,
    /// Bumped on every change of usage or analytics settings: the key of `analytics_rows`.
    usage_version: u64,
    /// One analytics query's rows, rendered and sorted, so that paging through 20,000 rows
    /// costs the stand-in one build, not one per page (the benchmark measures quota).
    analytics_rows: Option<(String, Arc<Vec<String>>)>,
    /// Requests that pass before `fail_after`'s fault applies, and that fault.
    fail_after: Option<(usize, Fault)>,
    /// Requests that pass before `fail_once_after`'s fault applies, once, and that fault.
    once_after: Option<(usize, Fault)>,
    now: Option<DateTime<Utc>>,
    admin_key: String,
    faults: VecDeque<Fault>,
    forever: Option<Fault>,
    /// Faults for one path only, for good.
    path_faults: Vec<(String, Fault)>,
    requests: Vec<Request>,
    next_request_id: u64,
    /// Workspaces the workspaces list names (besides the Default Workspace).
    workspaces: Vec<String>,
}

/// A running stand-in, serving until the test process ends. When its last clone is
/// dropped (and the test is not already failing) it asserts that no handler panicked and,
/// unless `expect_no_calls` was said, that it was called at all: a test whose quota never
/// reached its stand-in tests nothing of it.
#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
    checks: Arc<Checks>,
}

/// What the stand-in checks when the last `StandIn` goes.
struct Checks {
    state: Arc<Mutex<State>>,
    panicked: Arc<AtomicBool>,
    calls_expected: AtomicBool,
}

impl Drop for Checks {
    fn drop(&mut self) {
        if thread::panicking() {
            return;
        }
        assert!(
            !self.panicked.load(Ordering::SeqCst),
            "a stand-in handler panicked (see its output above)"
        );
        let called = self
            .state
            .lock()
            .map(|s| s.next_request_id > 0)
            .unwrap_or(true);
        assert!(
            called || !self.calls_expected.load(Ordering::SeqCst),
            "the stand-in was never called: say expect_no_calls() if that is the point"
        );
    }
}

impl StandIn {
    pub fn start(admin_key: &str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            admin_key: admin_key.to_string(),
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let panicked = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&panicked);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                let flag = Arc::clone(&flag);
                thread::spawn(move || {
                    let served = panic::catch_unwind(AssertUnwindSafe(|| serve(stream, &state)));
                    if served.is_err() {
                        flag.store(true, Ordering::SeqCst);
                    }
                });
            }
        });
        let checks = Arc::new(Checks {
            state: Arc::clone(&state),
            panicked,
            calls_expected: AtomicBool::new(true),
        });
        StandIn { url, state, checks }
    }

    /// This test means quota never to reach the stand-in (a config it refuses, say).
    pub fn expect_no_calls(&self) {
        self.checks.calls_expected.store(false, Ordering::SeqCst);
    }

    /// The stand-in's "now": the end of the newest bucket when a request gives no `ending_at`.
    pub fn set_now(&self, now: &str) {
        self.state.lock().unwrap().now = Some(
            DateTime::parse_from_rfc3339(now)
                .unwrap()
                .with_timezone(&Utc),
        );
    }

    /// Sets one day's numbers (replacing what that key/workspace/day had).
    pub fn put(&self, u: Usage) {
        let mut s = self.state.lock().unwrap();
        s.usage.retain(|o| {
            !(o.api_key_id == u.api_key_id && o.workspace_id == u.workspace_id && o.day == u.day)
        });
        s.usage.push(u);
        s.usage_version += 1;
    }

    pub fn clear_usage(&self) {
        let mut s = self.state.lock().unwrap();
        s.usage.clear();
        s.usage_version += 1;
    }

    pub fn put_all(&self, rows: Vec<Usage>) {
        let mut s = self.state.lock().unwrap();
        s.usage.extend(rows);
        s.usage_version += 1;
    }

    pub fn put_key(&self, id: &str, name: &str, status: &'static str) {
        let mut s = self.state.lock().unwrap();
        s.keys.retain(|k| k.id != id);
        s.keys.push(Key {
            id: id.into(),
            name: name.into(),
            status,
            workspace_id: None,
            ga: false,
        });
    }

    /// An active key in the GA shape, in `workspace` (its id only under `scope`).
    pub fn put_ga_key(&self, id: &str, name: &str, workspace: &str) {
        let mut s = self.state.lock().unwrap();
        s.keys.retain(|k| k.id != id);
        s.keys.push(Key {
            id: id.into(),
            name: name.into(),
            status: "active",
            workspace_id: Some(workspace.into()),
            ga: true,
        });
    }

    /// Many keys at once (what `put_key` does one by one, without its search).
    pub fn put_keys(&self, keys: Vec<Key>) {
        self.state.lock().unwrap().keys.extend(keys);
    }

    pub fn put_cost(&self, workspace: Option<&str>, day: &str, cents: &str) {
        self.put_cost_of(None, workspace, day, cents);
    }

    /// One API key's cost of a day (the analytics cost endpoint groups by it; the cost
    /// report counts it in its workspace).
    /// One model's cost of a key (the analytics endpoint shows the model when grouped by it,
    /// and sums it in otherwise).
    pub fn put_model_cost(&self, key: &str, model: &str, day: &str, cents: &str) {
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("YYYY-MM-DD");
        let mut s = self.state.lock().unwrap();
        s.model_cost
            .push((Some(key.into()), None, model.into(), day, cents.into()));
    }

    pub fn put_key_cost(&self, key: &str, workspace: Option<&str>, day: &str, cents: &str) {
        self.put_cost_of(Some(key), workspace, day, cents);
    }

    fn put_cost_of(&self, key: Option<&str>, workspace: Option<&str>, day: &str, cents: &str) {
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("YYYY-MM-DD");
        let mut s = self.state.lock().unwrap();
        s.cost.retain(|(k, w, d, _)| {
            !(k.as_deref() == key && w.as_deref() == workspace && *d == day)
        });
        s.cost.push((
            key.map(String::from),
            workspace.map(String::from),
            day,
            cents.into(),
        ));
    }

    /// Replaces every Claude Code record of `day` with `records` (a day whose numbers change
    /// between runs).
    pub fn put_code_day(&self, day: &str, records: Vec<CodeRecord>) {
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("YYYY-MM-DD");
        self.state.lock().unwrap().code.insert(day, records);
    }

    /// Adds Claude Code records (many days at once, for benchmarks).
    pub fn put_code(&self, records: Vec<CodeRecord>) {
        let mut s = self.state.lock().unwrap();
        for r in records {
            s.code.entry(r.day).or_default().push(r);
        }
    }

    /// How the analytics endpoints answer from now on.
    pub fn set_analytics(&self, analytics: Analytics) {
        let mut s = self.state.lock().unwrap();
        s.analytics = analytics;
        s.usage_version += 1;
    }

    /// The next `n` requests are served; every one after fails like this until `heal`.
    pub fn fail_after(&self, n: usize, fault: Fault) {
        self.state.lock().unwrap().fail_after = Some((n, fault));
    }

    /// Workspaces for the workspaces list.
    pub fn put_workspaces(&self, ids: &[&str]) {
        self.state.lock().unwrap().workspaces = ids.iter().map(|s| s.to_string()).collect();
    }

    /// The request after the next `n` suffers `fault`, once; the ones after it pass.
    pub fn fail_once_after(&self, n: usize, fault: Fault) {
        self.state.lock().unwrap().once_after = Some((n, fault));
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests_to(path).len()
    }

    /// The next requests fail like this, one fault each, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state
            .lock()
            .unwrap()
            .faults
            .extend(faults.iter().cloned());
    }

    /// Every request fails like this until `heal`.
    pub fn fail_always(&self, fault: Fault) {
        self.state.lock().unwrap().forever = Some(fault);
    }

    /// Every request to `path` fails like this until `heal`.
    pub fn fail_path(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .path_faults
            .push((path.to_string(), fault));
    }

    pub fn heal(&self) {
        let mut s = self.state.lock().unwrap();
        s.path_faults.clear();
        s.forever = None;
        s.faults.clear();
        s.fail_after = None;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests to `path`, in the order they came.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        let s = self.state.lock().unwrap();
        s.requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    pub fn usage_requests(&self) -> usize {
        self.count(USAGE_PATH)
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }
}

pub const USAGE_PATH: &str = "/v1/organizations/usage_report/messages";
pub const KEYS_PATH: &str = "/v1/organizations/api_keys";
pub const COST_PATH: &str = "/v1/organizations/cost_report";
pub const ANALYTICS_PATH: &str = "/v1/organizations/analytics/usage";
pub const ANALYTICS_COST_PATH: &str = "/v1/organizations/analytics/cost";
pub const CLAUDE_CODE_PATH: &str = "/v1/organizations/usage_report/claude_code";
pub const WORKSPACES_PATH: &str = "/v1/organizations/workspaces";
pub const ANALYTICS_BETA: &str = "analytics-usage-cost-2026-08-24";

/// `limit` as a row count, 1–1000 (`default` when absent).
fn rows_limit(req: &Request, default: usize) -> Result<usize, String> {
    let limit: usize = req
        .param("limit")
        .map_or(Ok(default), str::parse)
        .map_err(|_| "limit: not an integer")?;
    if !(1..=1000).contains(&limit) {
        return Err(format!("limit: {limit} is outside 1–1000"));
    }
    Ok(limit)
}

/// The row offset an opaque `page` cursor (`prefix` + hex) stands for; 0 without one.
fn offset(req: &Request, prefix: &str) -> Result<usize, String> {
    match req.param("page") {
        Some(p) => p
            .strip_prefix(prefix)
            .and_then(|hex| usize::from_str_radix(hex, 16).ok())
            .ok_or_else(|| "page: invalid cursor".to_string()),
        None => Ok(0),
    }
}

/// `GET /v1/organizations/api_keys`: `status` filter, `limit` (≤ 1000), `after_id` paging.
fn api_keys(req: &Request, keys: &[Key]) -> Result<String, String> {
    let limit = rows_limit(req, 20)?;
    let mut sorted: Vec<&Key> = keys
        .iter()
        .filter(|k| req.param("status").is_none_or(|s| s == k.status))
        .collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let start = match req.param("after_id") {
        Some(after) => sorted
            .iter()
            .position(|k| k.id == after)
            .map(|i| i + 1)
            .ok_or("after_id: unknown id")?,
        None => 0,
    };
    let page: Vec<&&Key> = sorted.iter().skip(start).take(limit).collect();
    let data: Vec<Value> = page
        .iter()
        .map(|k| {
            let mut key = json!({"id": k.id, "type": "api_key", "name": k.name, "status": k.status,
                   "created_at": "2026-01-01T00:00:00.123456Z", "expires_at": null, "partial_key_hint": "sk-ant-api03-R2D...igAA",
                   "created_by": {"id": "user_01", "type": "user"}});
            if k.ga {
                // The SDK's APIKey: scope is required, principal a user or service account.
                key["scope"] = match &k.workspace_id {
                    Some(ws) => json!({"type": "workspace", "workspace_id": ws}),
                    None => json!({"type": "organization"}),
                };
                key["principal"] = json!({"type": "user_actor", "user_id": "user_01"});
            } else {
                key["workspace_id"] = json!(k.workspace_id);
            }
            key
        })
        .collect();
    Ok(json!({
        "data": data,
        "first_id": page.first().map(|k| k.id.clone()),
        "last_id": page.last().map(|k| k.id.clone()),
        "has_more": start + page.len() < sorted.len(),
    })
    .to_string())
}

/// `GET /v1/organizations/workspaces`: the workspaces put, and the Default Workspace
/// (`Analytics::default_workspace`) only with `include_default=true`. One page.
fn workspaces(req: &Request, s: &State) -> Result<String, String> {
    let mut ids: Vec<&str> = s.workspaces.iter().map(String::as_str).collect();
    if req.param("include_default") == Some("true")
        && let Some(d) = s.analytics.default_workspace.as_deref()
    {
        ids.insert(0, d);
    }
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "type": "workspace", "name": id, "archived_at": null, "created_at": "2026-01-01T00:00:00Z"}))
        .collect();
    Ok(
        json!({"data": data, "has_more": false, "first_id": ids.first(), "last_id": ids.last()})
            .to_string(),
    )
}

/// `GET /v1/organizations/cost_report`: daily buckets, `group_by[]=workspace_id`.
fn cost_report(
    req: &Request,
    cost: &[(Option<String>, Option<String>, NaiveDate, String)],
    now: DateTime<Utc>,
) -> Result<String, String> {
    let (first, end, limit) = window(req, "bucket_width", now)?;
    let by_ws = req.params("group_by[]").contains(&"workspace_id");
    let mut data = Vec::new();
    let mut day = first;
    while day < end && data.len() < limit {
        let mut results: Vec<Value> = Vec::new();
        let mut total = rust_decimal::Decimal::ZERO; // exact, like the API's own sums
        for (_, ws, _, cents) in cost.iter().filter(|(_, _, d, _)| *d == day) {
            if by_ws {
                results.push(json!({"currency": "USD", "amount": cents, "workspace_id": ws, "description": null,
                                    "cost_type": null, "context_window": null, "model": null, "service_tier": null, "token_type": null}));
            } else {
                total += cents.parse::<rust_decimal::Decimal>().unwrap();
            }
        }
        if !by_ws && cost.iter().any(|(_, _, d, _)| *d == day) {
            results.push(json!({"currency": "USD", "amount": total.normalize().to_string(), "workspace_id": null, "description": null}));
        }
        data.push(json!({"starting_at": format!("{day}T00:00:00Z"), "ending_at": format!("{}T00:00:00Z", day + Days::days(1)), "results": results}));
        day += Days::days(1);
    }
    let has_more = day < end;
    Ok(json!({"data": data, "has_more": has_more, "next_page": if has_more { Value::String(format!("page_{day}")) } else { Value::Null }}).to_string())
}

/// `GET /v1/organizations/usage_report/claude_code` (ADMIN_API.md §5): `starting_at` is a
/// date (a timestamp, or any `ending_at`, is a 400), one day per request, `limit` 1–1000
/// (default 20) records a page and an opaque `page` cursor.
fn claude_code(
    req: &Request,
    records: &BTreeMap<NaiveDate, Vec<CodeRecord>>,
) -> Result<String, String> {
    if req.param("ending_at").is_some() {
        return Err("ending_at: unknown parameter (one day per request)".into());
    }
    let day = req
        .param("starting_at")
        .ok_or("starting_at: Field required")?;
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| format!("starting_at: {day:?} is not a date (YYYY-MM-DD)"))?;
    let limit = rows_limit(req, 20)?;
    let offset = offset(req, "cGFnZV")?;
    let rows: &[CodeRecord] = records.get(&day).map_or(&[], Vec::as_slice);
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| r.json())
        .collect();
    let next = offset + page.len();
    let has_more = next < rows.len();
    Ok(json!({"data": page, "has_more": has_more,
              "next_page": if has_more { Value::String(format!("cGFnZV{next:x}")) } else { Value::Null }})
    .to_string())
}

/// The analytics API's range and paging (ADMIN_API.md §3): `starting_at` (required),
/// `ending_at` (default: the earlier of now and `starting_at` + 31 days; a longer range is a
/// 400), `time_bucket_width` (1d), `limit` rows a page (1–1000, default 100) and an opaque
/// `page` cursor. Returns the days whose buckets start in the range, the limit and the offset.
fn analytics_range(
    req: &Request,
    now: DateTime<Utc>,
) -> Result<(Vec<NaiveDate>, usize, usize), String> {
    if req.param("bucket_width").is_some() {
        return Err(
            "bucket_width: unknown parameter (this endpoint takes time_bucket_width)".into(),
        );
    }
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        req.param(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| format!("{name}: {e}"))
            })
            .transpose()
    };
    let start = time("starting_at")?.ok_or("starting_at: Field required")?;
    let end = time("ending_at")?.unwrap_or_else(|| now.min(start + Days::days(31)));
    if end - start > Days::days(31) {
        return Err("ending_at: the range may span at most 31 days from starting_at".into());
    }
    if req.param("time_bucket_width").unwrap_or("1d") != "1d" {
        return Err("time_bucket_width: the stand-in serves 1d only".into());
    }
    let limit = rows_limit(req, 100)?;
    let offset = offset(req, "c2Vlaw")?;
    let mut days = Vec::new();
    let mut day = start.date_naive();
    while day.and_hms_opt(0, 0, 0).unwrap().and_utc() < end {
        if day.and_hms_opt(0, 0, 0).unwrap().and_utc() >= start {
            days.push(day);
        }
        day += Days::days(1);
    }
    Ok((days, limit, offset))
}

/// One page of flat rows from `rows` (already sorted), with an opaque cursor.
fn analytics_page(rows: &[String], limit: usize, offset: usize, refreshed: Option<&str>) -> String {
    let page: Vec<&str> = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(String::as_str)
        .collect();
    let next = offset + page.len();
    let has_more = next < rows.len();
    let next_page = if has_more {
        format!("\"c2Vlaw{next:x}\"")
    } else {
        "null".into()
    };
    let refreshed = refreshed.map_or("null".into(), |r| format!("\"{r}\""));
    format!(
        r#"{{"data":[{}],"has_more":{has_more},"data_refreshed_at":{refreshed},"next_page":{next_page}}}"#,
        page.join(",")
    )
}

/// The 19 dimensions of a row's `group`, null unless grouped by (ADMIN_API.md §3 names a few;
/// the rest are the stand-in's filler, which quota must ignore).
const GROUP_DIMENSIONS: [&str; 19] = [
    "actor",
    "actor_type",
    "agent_id",
    "api_key_id",
    "context_window",
    "cost_type",
    "inference_geo",
    "model",
    "service_account_id",
    "service_tier",
    "session_id",
    "speed",
    "token_type",
    "tool",
    "user_id",
    "workspace_id",
    "account_id",
    "platform",
    "region",
];

fn group(grouped: &[&str], values: &[(&str, Option<&str>)]) -> Value {
    let mut g = serde_json::Map::new();
    for d in GROUP_DIMENSIONS {
        let v = values
            .iter()
            .find(|(k, _)| *k == d && grouped.contains(k))
            .and_then(|(_, v)| *v);
        g.insert(
            d.to_string(),
            v.map_or(Value::Null, |v| Value::String(v.into())),
        );
    }
    Value::Object(g)
}

/// `GET /v1/organizations/analytics/usage`: flat rows per (key, workspace, day), sorted by
/// `total_tokens` descending, `limit` rows a page.
fn analytics_usage(req: &Request, s: &mut State, now: DateTime<Utc>) -> Result<String, String> {
    let (days, limit, offset) = analytics_range(req, now)?;
    let grouped = req.params("group_by[]");
    let keys = req.params("api_key_ids[]");
    let query = format!("{}|{days:?}|{grouped:?}|{keys:?}", s.usage_version);
    let rows = match &s.analytics_rows {
        Some((q, rows)) if *q == query => Arc::clone(rows),
        _ => {
            let rows = Arc::new(usage_rows(&s.usage, &s.analytics, &days, &grouped, &keys));
            s.analytics_rows = Some((query, Arc::clone(&rows)));
            rows
        }
    };
    Ok(analytics_page(
        &rows,
        limit,
        offset,
        s.analytics.refreshed_at.as_deref(),
    ))
}

/// Every row of one usage query, rendered, sorted by `total_tokens` descending (ties in a
/// fixed order, so pages are stable).
fn usage_rows(
    usage: &[Usage],
    a: &Analytics,
    days: &[NaiveDate],
    grouped: &[&str],
    keys: &[&str],
) -> Vec<String> {
    let mut rows: Vec<(u64, String)> = Vec::new();
    for u in usage.iter().filter(|u| {
        days.contains(&u.day)
            && (keys.is_empty() || u.api_key_id.as_deref().is_some_and(|k| keys.contains(&k)))
    }) {
        let total = u.uncached_input_tokens
            + u.cache_creation_5m
            + u.cache_creation_1h
            + u.cache_read
            + u.output_tokens;
        let mut counts = json!({"uncached_input_tokens": u.uncached_input_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": u.cache_creation_5m, "ephemeral_1h_input_tokens": u.cache_creation_1h},
            "cache_read_input_tokens": u.cache_read, "output_tokens": u.output_tokens,
            "server_tool_use": {"web_search_requests": 0}, "total_tokens": total, "requests": u.requests});
        for field in &a.drop {
            counts.as_object_mut().unwrap().remove(field);
        }
        let g = group(
            grouped,
            &[
                ("api_key_id", u.api_key_id.as_deref()),
                (
                    "workspace_id",
                    u.workspace_id.as_deref().or(a.default_workspace.as_deref()),
                ),
                ("model", u.model.as_deref()),
            ],
        );
        let mut row = json!({"starting_at": format!("{}T00:00:00Z", u.day),
            "ending_at": format!("{}T00:00:00Z", u.day + Days::days(1)), "group": g});
        if a.nested {
            row["buckets"] = json!([counts]);
        } else {
            row["usage"] = counts;
        }
        rows.push((total, row.to_string()));
    }
    rows.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// One model's cost: key, workspace, model, day, cents.
type ModelCost = (Option<String>, Option<String>, String, NaiveDate, String);

/// `GET /v1/organizations/analytics/cost`: flat rows per (key, workspace, day) as stored,
/// `cost.amount` in cents as a decimal string (or a JSON number, on request); the group
/// holds the dimensions asked for (`group_by[]`), the others null.
fn analytics_cost(
    req: &Request,
    cost: &[(Option<String>, Option<String>, NaiveDate, String)],
    model_cost: &[ModelCost],
    a: &Analytics,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let (days, limit, offset) = analytics_range(req, now)?;
    let grouped = req.params("group_by[]");
    let all = cost.iter().map(|(k, w, d, c)| (k, w, None, d, c)).chain(
        model_cost
            .iter()
            .map(|(k, w, m, d, c)| (k, w, Some(m.as_str()), d, c)),
    );
    let rows: Vec<String> = all
        .filter(|(_, _, _, d, _)| days.contains(d))
        .map(|(key, ws, model, day, cents)| {
            let amount = if a.amount_as_number {
                serde_json::from_str::<Value>(cents).unwrap()
            } else {
                Value::String(cents.clone())
            };
            json!({"starting_at": format!("{day}T00:00:00Z"), "ending_at": format!("{}T00:00:00Z", *day + Days::days(1)),
                   "group": group(&grouped, &[("api_key_id", key.as_deref()), ("workspace_id", ws.as_deref().or(a.default_workspace.as_deref())), ("model", model)]),
                   "cost": {"amount": amount, "currency": "USD", "list_amount": amount, "requests": null}})
            .to_string()
        })
        .collect();
    Ok(analytics_page(
        &rows,
        limit,
        offset,
        a.refreshed_at.as_deref(),
    ))
}

/// `starting_at` (required), `ending_at` (or the end of `now`'s day), the bucket width
/// parameter (1d only), `limit` (≤ 31) and `page`: the first day, the end and the limit.
fn window(
    req: &Request,
    bucket_param: &str,
    now: DateTime<Utc>,
) -> Result<(NaiveDate, NaiveDate, usize), String> {
    let day_of = |name: &str| -> Result<Option<NaiveDate>, String> {
        req.param(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc).date_naive())
                    .map_err(|e| format!("{name}: {e}"))
            })
            .transpose()
    };
    let start = day_of("starting_at")?.ok_or("starting_at: Field required")?;
    let end = day_of("ending_at")?.unwrap_or(now.date_naive() + Days::days(1));
    if req.param(bucket_param).unwrap_or("1d") != "1d" {
        return Err(format!("{bucket_param}: the stand-in serves 1d only"));
    }
    let limit: usize = req
        .param("limit")
        .unwrap_or("7")
        .parse()
        .map_err(|_| "limit: not an integer")?;
    if !(1..=31).contains(&limit) {
        return Err(format!("limit: {limit} is outside 1–31 for 1d buckets"));
    }
    let first = match req.param("page") {
        Some(p) => NaiveDate::parse_from_str(
            p.strip_prefix("page_").ok_or("page: invalid cursor")?,
            "%Y-%m-%d",
        )
        .map_err(|_| "page: invalid cursor")?,
        None => start,
    };
    Ok((first, end, limit))
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let req = read_request(&mut stream)?;
    let (fault, now, key_ok, request_id) = take_fault(state, &req);
    if !key_ok {
        return error(
            &mut stream,
            401,
            "authentication_error",
            "invalid x-api-key",
            None,
            &request_id,
        );
    }
    if let Some(f) = fault {
        return inject(&mut stream, f, &request_id);
    }
    let route = ROUTES.iter().find(|(path, _)| *path == req.path);
    let Some((_, handler)) = route else {
        return error(
            &mut stream,
            404,
            "not_found_error",
            "no such endpoint in the stand-in",
            None,
            &request_id,
        );
    };
    let result = {
        let mut s = state.lock().unwrap();
        handler(&req, &mut s, now.unwrap_or_else(Utc::now))
    };
    match result {
        Ok(body) => respond(
            &mut stream,
            200,
            &[("request-id", &request_id)],
            body.as_bytes(),
        ),
        Err(msg) => error(
            &mut stream,
            400,
            "invalid_request_error",
            &msg,
            None,
            &request_id,
        ),
    }
}

/// An endpoint: the request, the stand-in's data and its "now", to a 200's body or a 400's
/// message.
type Handler = fn(&Request, &mut State, DateTime<Utc>) -> Result<String, String>;

/// The endpoints of ADMIN_API.md the stand-in serves.
const ROUTES: &[(&str, Handler)] = &[
    (USAGE_PATH, |req, s, now| usage_report(req, &s.usage, now)),
    (KEYS_PATH, |req, s, _| api_keys(req, &s.keys)),
    (COST_PATH, |req, s, now| cost_report(req, &s.cost, now)),
    (CLAUDE_CODE_PATH, |req, s, _| claude_code(req, &s.code)),
    (WORKSPACES_PATH, |req, s, _| workspaces(req, s)),
    (ANALYTICS_PATH, |req, s, now| {
        analytics_beta(req)?;
        analytics_usage(req, s, now)
    }),
    (ANALYTICS_COST_PATH, |req, s, now| {
        analytics_beta(req)?;
        analytics_cost(req, &s.cost, &s.model_cost, &s.analytics, now)
    }),
];

/// The analytics API answers only requests that name its beta.
fn analytics_beta(req: &Request) -> Result<(), String> {
    if req.header("anthropic-beta") == Some(ANALYTICS_BETA) {
        Ok(())
    } else {
        Err("the analytics API needs anthropic-beta: analytics-usage-cost-2026-08-24".into())
    }
}

/// Records the request and takes the fault that applies to it, if any: one for its path,
/// the next queued, the standing one, or the one due after `fail_after`'s count. Also its
/// "now", whether its key is the admin key, and its request id.
fn take_fault(
    state: &Mutex<State>,
    req: &Request,
) -> (Option<Fault>, Option<DateTime<Utc>>, bool, String) {
    let mut s = state.lock().unwrap();
    s.requests.push(req.clone());
    s.next_request_id += 1;
    let on_path = s
        .path_faults
        .iter()
        .find(|(p, _)| *p == req.path)
        .map(|(_, f)| f.clone());
    let after = match &mut s.fail_after {
        Some((0, f)) => Some(f.clone()),
        Some((n, _)) => {
            *n -= 1;
            None
        }
        None => None,
    };
    let once = match &mut s.once_after {
        Some((0, _)) => s.once_after.take().map(|(_, f)| f),
        Some((n, _)) => {
            *n -= 1;
            None
        }
        None => None,
    };
    let fault = on_path
        .or(once)
        .or_else(|| s.faults.pop_front())
        .or_else(|| s.forever.clone())
        .or(after);
    let key_ok = req.header("x-api-key") == Some(s.admin_key.as_str());
    (
        fault,
        s.now,
        key_ok,
        format!("req_standin_{:04}", s.next_request_id),
    )
}

/// Answers with an injected fault.
fn inject(stream: &mut TcpStream, f: Fault, request_id: &str) -> std::io::Result<()> {
    match f {
        Fault::Status {
            status,
            kind,
            retry_after,
        } => error(
            stream,
            status,
            kind,
            "injected fault",
            retry_after,
            request_id,
        ),
        Fault::OwnSpendLimit | Fault::WorkspaceSpendLimit => {
            let whose = if matches!(f, Fault::WorkspaceSpendLimit) {
                "workspace "
            } else {
                ""
            };
            let body = json!({"type": "error", "error": {"type": "invalid_request_error",
                "message": format!("You have reached your specified {whose}API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.")},
                "request_id": request_id});
            respond(
                stream,
                400,
                &[("request-id", request_id)],
                body.to_string().as_bytes(),
            )
        }
        Fault::SpendCap => {
            let body = json!({"type": "error", "error": {"type": "rate_limit_error",
                "message": "You have reached your specified API usage limits.",
                "details": {"error_code": "enforced_spend_limit_reached"}}, "request_id": request_id});
            respond(
                stream,
                429,
                &[("request-id", request_id)],
                body.to_string().as_bytes(),
            )
        }
        Fault::Truncated => {
            let body = br#"{"data":[{"starting_at":"2026-11-01T00:00:00Z","ending_at":"2026-11-02T00:00:00Z","results":[{"uncached_input_tokens":5"#;
            // Claims the full length, sends half, hangs up.
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nrequest-id: {request_id}\r\nconnection: close\r\n\r\n",
                body.len() * 2
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(body)?;
            Ok(())
        }
        Fault::Trickle(every) => {
            let body = br#"{"data":[],"has_more":false,"next_page":null}                                                  "#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes())?;
            for b in body {
                stream.write_all(&[*b])?;
                stream.flush()?;
                thread::sleep(every);
            }
            Ok(())
        }
        Fault::Redirect(to) => respond(
            stream,
            302,
            &[("location", &to), ("request-id", request_id)],
            b"",
        ),
        Fault::Body(body) => respond(stream, 200, &[("request-id", request_id)], body.as_bytes()),
        Fault::Overflow => {
            let body = r#"{"data":[{"starting_at":"2026-11-01T00:00:00Z","ending_at":"2026-11-02T00:00:00Z","results":[{"uncached_input_tokens":18446744073709551615,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"cache_read_input_tokens":0,"output_tokens":0,"api_key_id":"apikey_x","workspace_id":null}]}],"has_more":false,"next_page":null}"#;
            respond(stream, 200, &[("request-id", request_id)], body.as_bytes())
        }
        Fault::EndlessCursor => {
            let body =
                format!(r#"{{"data":[],"has_more":true,"next_page":"page_endless_{request_id}"}}"#);
            respond(stream, 200, &[("request-id", request_id)], body.as_bytes())
        }
        Fault::Hang => {
            thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        Fault::Huge(n) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{{\"data\":[",
                n + 9
            );
            stream.write_all(head.as_bytes())?;
            let chunk = vec![b' '; 1 << 20];
            let mut left = n;
            while left > 0 {
                let k = usize::try_from(left.min(chunk.len() as u64)).unwrap();
                stream.write_all(&chunk[..k])?; // fails once the reader gives up: fine
                left -= k as u64;
            }
            Ok(())
        }
        Fault::Gzip(bytes) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bytes.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&bytes)?;
            Ok(())
        }
        Fault::RepeatingCursor => {
            let body = r#"{"data":[],"has_more":true,"next_page":"page_same"}"#;
            respond(stream, 200, &[("request-id", request_id)], body.as_bytes())
        }
    }
}

/// The report itself: buckets from `starting_at` to `ending_at` (or the end of `now`'s day).
fn usage_report(req: &Request, usage: &[Usage], now: DateTime<Utc>) -> Result<String, String> {
    let (first, end, limit) = window(req, "bucket_width", now)?;
    let groups = req.params("group_by[]");
    for g in &groups {
        if ![
            "api_key_id",
            "workspace_id",
            "model",
            "service_tier",
            "context_window",
            "inference_geo",
        ]
        .contains(g)
        {
            return Err(format!("group_by[]: unknown dimension {g}"));
        }
    }
    let keys = req.params("api_key_ids[]");
    let workspaces = req.params("workspace_ids[]");
    // One pass to index the rows by day; the page is then written as text, so the stand-in
    // is never the slow part of a benchmark.
    let mut by_day: BTreeMap<NaiveDate, Vec<&Usage>> = BTreeMap::new();
    for u in usage.iter().filter(|u| u.day >= first && u.day < end) {
        by_day.entry(u.day).or_default().push(u);
    }
    let rows: usize = by_day.values().map(Vec::len).sum();
    let mut out = String::with_capacity(64 + rows * 400);
    out.push_str("{\"data\":[");
    let mut day = first;
    let mut buckets = 0;
    while day < end && buckets < limit {
        // (key, workspace, model), each null unless grouped by.
        type Group<'u> = (Option<&'u str>, Option<&'u str>, Option<&'u str>);
        let mut grouped: BTreeMap<Group<'_>, [u64; 5]> = BTreeMap::new();
        for u in by_day.get(&day).map_or(&[][..], Vec::as_slice) {
            let key = u.api_key_id.as_deref();
            let ws = u.workspace_id.as_deref();
            if !keys.is_empty() && !key.is_some_and(|k| keys.contains(&k)) {
                continue;
            }
            if !workspaces.is_empty() && !ws.is_some_and(|w| workspaces.contains(&w)) {
                continue;
            }
            let k = if groups.contains(&"api_key_id") {
                key
            } else {
                None
            };
            let w = if groups.contains(&"workspace_id") {
                ws
            } else {
                None
            };
            let m = if groups.contains(&"model") {
                u.model.as_deref()
            } else {
                None
            };
            let e = grouped.entry((k, w, m)).or_default();
            let counts = [
                u.uncached_input_tokens,
                u.cache_creation_5m,
                u.cache_creation_1h,
                u.cache_read,
                u.output_tokens,
            ];
            for (i, v) in counts.into_iter().enumerate() {
                e[i] += v;
            }
        }
        if buckets > 0 {
            out.push(',');
        }
        let next_day = day + Days::days(1);
        let _ = write!(
            out,
            "{{\"starting_at\":\"{day}T00:00:00Z\",\"ending_at\":\"{next_day}T00:00:00Z\",\"results\":["
        );
        for (i, ((k, w, m), c)) in grouped.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                concat!(
                    "{{\"uncached_input_tokens\":{},\"cache_creation\":{{\"ephemeral_5m_input_tokens\":{},",
                    "\"ephemeral_1h_input_tokens\":{}}},\"cache_read_input_tokens\":{},\"output_tokens\":{},",
                    "\"server_tool_use\":{{\"web_search_requests\":0}},\"api_key_id\":{},\"workspace_id\":{},",
                    "\"model\":{},\"service_tier\":null,\"context_window\":null,\"inference_geo\":null,",
                    "\"account_id\":null,\"service_account_id\":null}}"
                ),
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                json_str(k),
                json_str(w),
                json_str(m),
            );
        }
        out.push_str("]}");
        buckets += 1;
        day = next_day;
    }
    let has_more = day < end;
    let next = if has_more {
        format!("\"page_{day}\"")
    } else {
        "null".to_string()
    };
    let _ = write!(out, "],\"has_more\":{has_more},\"next_page\":{next}}}");
    Ok(out)
}

fn json_str(v: Option<&str>) -> String {
    v.map_or_else(
        || "null".to_string(),
        |s| Value::String(s.to_string()).to_string(),
    )
}

fn error(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    message: &str,
    retry_after: Option<u32>,
    request_id: &str,
) -> std::io::Result<()> {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id});
    let retry = retry_after.map(|s| s.to_string());
    let mut headers = vec![("request-id", request_id)];
    if let Some(r) = &retry {
        headers.push(("retry-after", r));
    }
    respond(stream, status, &headers, body.to_string().as_bytes())
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

pub fn read_request(stream: &mut TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Ok(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! quota's benchmarks (BENCHMARKS.md), printed, never asserted:
//!
//! ```sh
//! cargo bench --bench quota                       # 10,000 accounts and the growth table
//! cargo bench --bench quota -- 10000              # one size only
//! cargo bench --bench quota -- 10000 daily        # [defaults.daily]: a daily limit on each
//! cargo bench --bench quota -- 10000 daily-each   # … from a table of each account's own
//! cargo bench --bench quota -- busy [N] [M]       # N keys growing every minute, M syncs
//! cargo bench --bench quota -- 10000 scoped       # two models a key, an account scoped to one
//! cargo bench --bench quota -- analytics          # the analytics source vs messages, 10,000 keys
//! cargo bench --bench quota -- developers         # Claude Code budgets, 2,000 developers
//! cargo bench --bench quota -- scale [N …] [configured|discovered] [dayD …]
//!                                                 # 10,000 and 100,000 keys, day 1/20/28
//! cargo bench --bench quota -- postgres [N] [dayD]  # SQLite and PostgreSQL, 10,000 keys
//! ```
//!
//! `BENCH_LOG=1` prints each run's info lines (fetch and store times, accounts evaluated);
//! `BENCH_RUST_LOG=debug` makes them debug lines (each request's time, for one).
//!
//! Whole commands are timed from spawn to exit, median of several runs, against the real
//! binary, a real database and the stand-in Admin API (in this process, on loopback). Peak
//! RSS is what quota reports itself (`VmHWM`, logged at info level). The floor of a sync is
//! measured in the same run: one `curl` of the same usage response plus one SQLite transaction
//! writing the same rows through quota's own store.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a report: printing is its job

use quota_testkit::standin;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Utc};

const KEY: &str = "sk-ant-admin01-bench";

/// `scoped`: every key's usage split between two models, and an organization account
/// scoped to one of them (the usage request then groups by model).
static SCOPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Daily limits on every configured account of the headline benchmark: `daily` through
/// `[defaults.daily]` (one table), `daily-each` through a table of each account's own.
static DAILY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
const NOW: &str = "2026-11-20T12:00:00Z";

struct Bench {
    dir: tempfile::TempDir,
    api: standin::StandIn,
    config: PathBuf,
    db: PathBuf,
    /// A PostgreSQL store instead of the file (`postgres`).
    url: Option<String>,
}

struct Run {
    wall: f64,
    rss: Option<f64>,
    stdout: String,
}

impl Bench {
    fn new(accounts: usize) -> Bench {
        Bench::with_days(accounts, &["2026-11-19", "2026-11-20"])
    }

    /// `accounts` keys with usage on each of `days`.
    fn with_days(accounts: usize, days: &[&str]) -> Bench {
        Bench::with_source(accounts, days, "messages")
    }

    /// Like `with_days`, reading usage from `source` ("messages" or "analytics").
    fn with_source(accounts: usize, days: &[&str], source: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let api = standin::StandIn::start(KEY);
        api.set_now(NOW);
        let mut config = String::with_capacity(accounts * 100);
        writeln!(config, "[api]\nusage_source = \"{source}\"\n").unwrap();
        let daily = DAILY.load(std::sync::atomic::Ordering::Relaxed);
        let scoped = SCOPED.load(std::sync::atomic::Ordering::Relaxed);
        if scoped {
            writeln!(
                config,
                "[[accounts]]\nname = \"opus\"\norganization = true\nmodel = \"claude-opus*\"\ntoken_limit = 1000000000\n"
            )
            .unwrap();
        }
        if daily == 1 {
            // Every account over 80 % of it today (1,100 + k tokens a day).
            writeln!(config, "[defaults.daily]\ntoken_limit = 1200\n").unwrap();
        }
        let mut rows = Vec::with_capacity(accounts * 2);
        api.put_keys(
            (0..accounts)
                .map(|k| bench_key(&format!("apikey_bench{k:06}"), k))
                .collect(),
        );
        for k in 0..accounts {
            let id = format!("apikey_bench{k:06}");
            for day in days {
                let row = standin::Usage::new(
                    Some(&id),
                    Some("wrkspc_bench"),
                    day,
                    1_000 + k as u64,
                    100,
                )
                .requests(10);
                if scoped {
                    // The same day's usage, in two models' rows.
                    rows.push(
                        standin::Usage::new(Some(&id), Some("wrkspc_bench"), day, 500, 50)
                            .requests(5)
                            .model("claude-opus-5"),
                    );
                    rows.push(
                        standin::Usage::new(
                            Some(&id),
                            Some("wrkspc_bench"),
                            day,
                            500 + k as u64,
                            50,
                        )
                        .requests(5)
                        .model("claude-sonnet-5"),
                    );
                } else {
                    rows.push(row);
                }
            }
            // Every tenth account is over 80 %, so the first sync creates alerts.
            let limit = if k % 10 == 0 {
                2_500 + k as u64
            } else {
                1_000_000
            };
            writeln!(
                config,
                "[[accounts]]\nname = \"acct-{k}\"\napi_key_id = \"{id}\"\ntoken_limit = {limit}\n"
            )
            .unwrap();
            if daily == 2 {
                // Its own daily limit, half the period's: every tenth account over 80 % today.
                writeln!(config, "[accounts.daily]\ntoken_limit = {}\n", limit / 2).unwrap();
            }
        }
        api.put_all(rows);
        Bench::from_parts(dir, api, &config)
    }

    /// A bench in `dir` with `config` written there, against `api`.
    fn from_parts(dir: tempfile::TempDir, api: standin::StandIn, config: &str) -> Bench {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let db = dir.path().join("quota.db");
        Bench {
            dir,
            api,
            config: path,
            db,
            url: None,
        }
    }

    fn run(&self, args: &[&str], at: DateTime<Utc>) -> Run {
        let started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_quota"));
        command.env_clear();
        if let Some(url) = &self.url {
            command.env("QUOTA_DATABASE_URL", url);
        }
        let out = command
            .args(args)
            .env("QUOTA_CONFIG", &self.config)
            .env("QUOTA_DB", &self.db)
            .env("QUOTA_API_URL", &self.api.url)
            .env("ANTHROPIC_ADMIN_API_KEY", KEY)
            .env("QUOTA_NOW", at.to_rfc3339())
            .env(
                "RUST_LOG",
                std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .output()
            .unwrap();
        let wall = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if std::env::var_os("BENCH_LOG").is_some() {
            // Where a run's time went: `BENCH_LOG=1 cargo bench --bench quota -- …`.
            eprintln!("quota {args:?}: {wall:.2} s");
            for l in stderr.lines().filter(|l| {
                l.contains("INFO")
                    || l.contains("DEBUG quota::api")
                    || l.contains("usage rows read")
            }) {
                eprintln!("  {l}");
            }
        }
        assert!(out.status.success(), "quota {args:?} failed: {stderr}");
        let rss = stderr
            .lines()
            .find_map(|l| l.split("peak memory ").nth(1))
            .and_then(|v| v.trim_end_matches(" MiB").parse().ok());
        Run {
            wall,
            rss,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        }
    }

    /// The median wall time of `n` runs.
    fn median(&self, args: &[&str], n: usize) -> f64 {
        median((0..n).map(|_| self.run(args, now()).wall).collect())
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Sync {
    first: f64,
    /// Peak RSS of the first sync (it reads the whole period so far).
    first_rss: f64,
    steady: f64,
    rss: f64,
    requests: Vec<usize>,
    floor_fetch: f64,
    floor_store: f64,
}

fn sync(b: &Bench) -> Sync {
    let before = b.api.usage_requests();
    let first = b.run(&["sync"], now());
    assert_eq!(b.api.usage_requests() - before, 1);
    let mut walls = Vec::new();
    let first_rss = first.rss.unwrap_or(0.0);
    let mut rss = 0.0f64;
    let mut requests = Vec::new();
    for i in 0..7 {
        let before = b.api.usage_requests();
        let r = b.run(&["sync"], now() + chrono::Duration::minutes(i + 1));
        requests.push(b.api.usage_requests() - before);
        walls.push(r.wall);
        rss = rss.max(r.rss.unwrap_or(0.0));
    }
    Sync {
        first: first.wall,
        first_rss,
        steady: median(walls),
        rss,
        requests,
        floor_fetch: median((0..5).map(|_| curl(&b.api.url)).collect()),
        floor_store: median((0..5).map(|i| store_rows(b.dir.path(), i)).collect()),
    }
}

/// One `curl` of the steady-state usage response (yesterday and today, all keys).
fn curl(url: &str) -> f64 {
    curl_from(url, now().date_naive() - chrono::Duration::days(1))
}

/// One `curl` of the usage response from `first` on, all keys.
fn curl_from(url: &str, first: chrono::NaiveDate) -> f64 {
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-H", &format!("x-api-key: {KEY}"), "-H", "anthropic-version: 2023-06-01"])
        .arg(format!(
            "{url}/v1/organizations/usage_report/messages?starting_at={first}T00:00:00Z&bucket_width=1d&limit=31&group_by%5B%5D=api_key_id&group_by%5B%5D=workspace_id"
        ))
        .status()
        .expect("curl");
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// One SQLite transaction upserting the same rows through quota's store (fresh file).
fn store_rows(dir: &Path, i: usize) -> f64 {
    let bench = Bench::rows_for(dir);
    let path = dir.join(format!("floor-{i}.db"));
    quota::store_usage(&path, None, &bench, now())
        .unwrap()
        .as_secs_f64()
}

impl Bench {
    fn rows_for(dir: &Path) -> Vec<quota::DayUsage> {
        let n: usize = std::fs::read_to_string(dir.join("config.toml"))
            .unwrap()
            .matches("[[accounts]]")
            .count();
        let mut rows = Vec::with_capacity(n * 2);
        for k in 0..n {
            for day in ["2026-11-19", "2026-11-20"] {
                let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
                rows.push(quota::DayUsage {
                    api_key_id: Some(format!("apikey_bench{k:06}")),
                    workspace_id: Some("wrkspc_bench".into()),
                    ..quota::DayUsage::split(day, 1_000 + k as u64, (0, 0), 0, 100)
                });
            }
        }
        rows
    }
}

/// Fills the database up to `total` alerts, all but `open` resolved (SQL, for speed).
fn seed_alerts(db: &Path, total: usize, open: usize) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         INSERT OR IGNORE INTO accounts (name, selector, created_at) VALUES ('history', 'organization', '2025-01-01T00:00:00Z');
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {total})
         INSERT INTO alerts (id, account, type, severity, message, current_value, limit_value, percentage, quota_type,
                             threshold, period_start, period_end, created_at, resolved_at, resolution, comment)
         SELECT printf('%08x-0000-4000-8000-%012x', x, x), 'history', 'approaching_limit',
                CASE WHEN x % 3 = 0 THEN 'critical' ELSE 'warning' END, 'history: tokens has reached 80% of its limit',
                '800', '1000', 80.0, 'tokens', 1000 + x, '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z',
                strftime('%Y-%m-%dT%H:%M:%SZ', '2025-01-01', '+' || (x % 500000) || ' minutes'),
                CASE WHEN x <= {open} THEN NULL ELSE '2025-02-01T00:00:00Z' END,
                CASE WHEN x <= {open} THEN NULL ELSE 'period_ended' END, NULL
         FROM n;
         COMMIT;"
    ))
    .unwrap();
}

fn size(accounts: usize) -> Vec<String> {
    let b = Bench::new(accounts);
    let s = sync(&b);
    let status_json = b.median(&["status", "--json"], 5);
    let status_table = b.median(&["status"], 5);
    let list = b.median(&["alerts", "list"], 7);
    vec![
        format!("{accounts}"),
        format!("{:.3}", s.first),
        format!("{:.3}", s.steady),
        format!("{:.3}", s.floor_fetch + s.floor_store),
        format!("{:.1}", s.rss),
        format!("{:?}", s.requests.iter().max().unwrap()),
        format!("{status_json:.3}"),
        format!("{status_table:.3}"),
        format!("{list:.3}"),
    ]
}

/// The analytics source at `accounts` keys, steady 2-day window: rows paged 1,000 at a time.
fn analytics(accounts: usize) {
    let b = Bench::with_source(accounts, &["2026-11-19", "2026-11-20"], "analytics");
    let path = standin::ANALYTICS_PATH;
    let first = b.run(&["sync"], now());
    let (mut walls, mut rss, mut requests) = (Vec::new(), 0.0f64, Vec::new());
    for i in 0..7 {
        let before = b.api.count(path);
        let r = b.run(&["sync"], now() + chrono::Duration::minutes(i + 1));
        requests.push(b.api.count(path) - before);
        walls.push(r.wall);
        rss = rss.max(r.rss.unwrap_or(0.0));
    }
    let m = Bench::new(accounts);
    let ms = sync(&m);
    let steady = median(walls);
    println!(
        "\n### Analytics source, {accounts} keys, steady 2-day window ({} rows)\n",
        accounts * 2
    );
    println!("| measure | analytics | messages |\n|---|---|---|");
    println!(
        "| usage requests per steady-state sync (pages) | {:?} | {:?} |",
        requests, ms.requests
    );
    println!(
        "| first sync (whole period, alerts created) | {:.3} s, peak RSS {:.1} MiB | {:.3} s, peak RSS {:.1} MiB |",
        first.wall,
        first.rss.unwrap_or(0.0),
        ms.first,
        ms.first_rss
    );
    println!(
        "| steady-state sync, median of 7 | {steady:.3} s | {:.3} s |",
        ms.steady
    );
    println!("| analytics / messages | {:.2}× | |", steady / ms.steady);
    println!(
        "| peak RSS, steady-state sync | {rss:.1} MiB | {:.1} MiB |",
        ms.rss
    );
}

/// Claude Code budgets: `developers` developers with two terminals each, usage on every day
/// of a 31-day period; a `--full` read (every day) and a steady read (yesterday and today).
fn developers(developers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let api = standin::StandIn::start(KEY);
    let now = "2026-12-31T12:00:00Z";
    api.set_now(now);
    let mut records = Vec::with_capacity(developers * 62);
    for d in 1..=31 {
        let day = format!("2026-12-{d:02}");
        for k in 0..developers {
            let email = format!("dev{k:05}@example.com");
            for terminal in ["iTerm.app", "vscode"] {
                records.push(
                    standin::CodeRecord::user(&email, &day, terminal)
                        .model("claude-opus-5", [1000, 200, 300, 40], 25)
                        .model("claude-sonnet-5", [100, 20, 0, 0], 3),
                );
            }
        }
    }
    api.put_code(records);
    let b = Bench::from_parts(
        dir,
        api,
        "[discovery]\napi_keys = \"never\"\nclaude_code_users = \"always\"\n\n[claude_code_defaults]\ncost_limit_usd = \"15.00\"\n",
    );
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let path = standin::CLAUDE_CODE_PATH;
    let before = b.api.count(path);
    let discover = b.run(&["sync"], at(now));
    let discover_requests = b.api.count(path) - before;
    let before = b.api.count(path);
    let full = b.run(&["sync", "--full"], at("2026-12-31T12:01:00Z"));
    let full_requests = b.api.count(path) - before;
    let mut steady = Vec::new();
    let (mut rss, mut requests) = (0.0f64, 0);
    for i in 0..5 {
        let before = b.api.count(path);
        let t = at("2026-12-31T12:30:00Z") + chrono::Duration::minutes(15 * i);
        let r = b.run(&["sync"], t);
        requests = b.api.count(path) - before;
        steady.push(r.wall);
        rss = rss.max(r.rss.unwrap_or(0.0));
    }
    println!(
        "\n### Claude Code budgets, {developers} developers, 31 days ({} records)\n",
        developers * 62
    );
    println!("| measure | requests | wall | peak RSS |\n|---|---|---|---|");
    println!(
        "| first sync: discovery, whole period | {discover_requests} | {:.3} s | {:.1} MiB |",
        discover.wall,
        discover.rss.unwrap_or(0.0)
    );
    println!(
        "| `sync --full` (31 days) | {full_requests} | {:.3} s | {:.1} MiB |",
        full.wall,
        full.rss.unwrap_or(0.0)
    );
    println!(
        "| steady read (yesterday and today), median of 5 | {requests} | {:.3} s | {rss:.1} MiB |",
        median(steady)
    );
}

/// How the scale table's accounts come about.
#[derive(Clone, Copy, PartialEq)]
enum Accounts {
    /// One `[[accounts]]` entry per key.
    Configured,
    /// No `[[accounts]]`: every key listed by the API becomes an account.
    Discovered,
}

/// `keys` keys with usage on every day of November 2026 up to `day`, at noon of `day`: every
/// tenth key heavy (89 % of its limit), the rest light.
fn scale_bench(keys: usize, day: u32, accounts: Accounts) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let api = standin::StandIn::start(KEY);
    api.set_now(&scale_now(day).to_rfc3339());
    let limit = 45_000 * u64::from(day);
    let mut config = format!(
        "[api]\ntimeout_secs = 600\ndeadline_secs = 3600\n\n[defaults]\ntoken_limit = {limit}\n\n[discovery]\napi_keys = \"{}\"\n\n",
        match accounts {
            Accounts::Configured => "never",
            Accounts::Discovered => "always",
        }
    );
    let mut rows = Vec::with_capacity(keys * day as usize);
    let mut listed = Vec::with_capacity(keys);
    for k in 0..keys {
        let id = format!("apikey_bench{k:06}");
        let input = if k % 10 == 0 { 40_000 } else { 1_000 };
        for d in 1..=day {
            let date = format!("2026-11-{d:02}");
            rows.push(standin::Usage::new(
                Some(&id),
                Some("wrkspc_bench"),
                &date,
                input,
                100,
            ));
        }
        if let Accounts::Configured = accounts {
            writeln!(
                config,
                "[[accounts]]\nname = \"key-{k}\"\napi_key_id = \"{id}\"\ntoken_limit = {limit}\n"
            )
            .unwrap();
        }
        // Listed either way: discovery makes the accounts, or checks the configured ids.
        listed.push(bench_key(&id, k));
    }
    api.put_all(rows);
    api.put_keys(listed);
    Bench::from_parts(dir, api, &config)
}

/// The bench's key `k` as the API lists it.
fn bench_key(id: &str, k: usize) -> standin::Key {
    standin::Key {
        id: id.to_string(),
        name: format!("key-{k}"),
        status: "active",
        workspace_id: Some("wrkspc_bench".into()),
        ga: false,
    }
}

/// Every key's usage grows every minute, for `minutes` syncs one minute apart: the burn
/// rates' totals are stored at every sync, kept for the longest lookback.
fn busy(accounts: usize, minutes: u32) {
    let b = Bench::new(accounts);
    b.run(&["sync"], now());
    println!("### Burn-rate history, {accounts} keys whose usage grows every minute\n");
    println!("| minute | sync | peak RSS |\n|---|---|---|");
    for m in 1..=minutes {
        let rows = (0..accounts)
            .flat_map(|k| {
                let id = format!("apikey_bench{k:06}");
                let today = 1_000 + k as u64 + 10 * u64::from(m);
                [
                    standin::Usage::new(
                        Some(&id),
                        Some("wrkspc_bench"),
                        "2026-11-19",
                        1_000 + k as u64,
                        100,
                    ),
                    standin::Usage::new(Some(&id), Some("wrkspc_bench"), "2026-11-20", today, 100),
                ]
            })
            .collect();
        b.api.clear_usage();
        b.api.put_all(rows);
        let r = b.run(&["sync"], now() + chrono::Duration::minutes(i64::from(m)));
        if [1, 5, 10, 30, 60, 120, 360].contains(&m) || m == minutes {
            println!(
                "| {m} | {:.3} s | {:.1} MiB |",
                r.wall,
                r.rss.unwrap_or(0.0)
            );
        }
    }
}

fn scale_now(day: u32) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T12:00:00Z"))
        .unwrap()
        .with_timezone(&Utc)
}

/// The growth table of #14: first sync, `--full`, steady syncs (1 % of the keys' usage
/// changes between two) and the hourly sync (key listing and full pass), with their peak RSS,
/// against the floor.
fn scale(sizes: &[usize], kinds: &[Accounts], days: &[u32]) {
    println!("\n### Scale: first sync, `--full`, steady and hourly syncs\n");
    println!(
        "| keys | accounts | day | rows in period | first sync | `--full` | steady (median of 5) | hourly (list + full pass) | floor | steady / floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &keys in sizes {
        for &accounts in kinds {
            for &day in days {
                let row = scale_row(keys, day, accounts);
                println!("| {} |", row.join(" | "));
            }
        }
    }
}

fn scale_row(keys: usize, day: u32, accounts: Accounts) -> Vec<String> {
    let b = scale_bench(keys, day, accounts);
    let now = scale_now(day);
    let cell = |r: &Run| format!("{:.2} s, {:.1} MiB", r.wall, r.rss.unwrap_or(0.0));
    let first = b.run(&["sync"], now);
    let full = b.run(&["sync", "--full"], now + chrono::Duration::minutes(1));
    let (mut walls, mut rss) = (Vec::new(), 0.0f64);
    let today = format!("2026-11-{day:02}");
    for i in 0..5 {
        bump(&b, keys, &today);
        let r = b.run(&["sync"], now + chrono::Duration::minutes(2 + i));
        walls.push(r.wall);
        rss = rss.max(r.rss.unwrap_or(0.0));
    }
    let hourly = b.run(&["sync"], now + chrono::Duration::hours(2));
    let steady_days = if day == 1 { 1 } else { 2 };
    let floor_fetch = median(
        (0..3)
            .map(|_| curl_from(&b.api.url, now.date_naive() - chrono::Duration::days(1)))
            .collect(),
    );
    let floor_store = median(
        (0..3)
            .map(|i| {
                let rows = floor_rows(keys, now.date_naive(), steady_days);
                let path = b.dir.path().join(format!("floor-{i}.db"));
                quota::store_usage(&path, None, &rows, now)
                    .unwrap()
                    .as_secs_f64()
            })
            .collect(),
    );
    let floor = floor_fetch + floor_store;
    if std::env::var_os("BENCH_LOG").is_some() {
        eprintln!("floor: curl {floor_fetch:.3} s + store {floor_store:.3} s");
    }
    let steady = median(walls);
    vec![
        format!("{keys}"),
        match accounts {
            Accounts::Configured => "configured".into(),
            Accounts::Discovered => "discovered".into(),
        },
        format!("{day}"),
        format!("{}", keys * day as usize),
        cell(&first),
        cell(&full),
        format!("{steady:.2} s, {rss:.1} MiB"),
        cell(&hourly),
        format!("{floor:.2} s"),
        format!("{:.2}×", steady / floor),
    ]
}

/// 1 % of the keys used a little more since the last sync (`today`, `YYYY-MM-DD`).
fn bump(b: &Bench, keys: usize, today: &str) {
    let bumped = (0..keys)
        .filter(|k| k % 100 == 1)
        .map(|k| {
            let id = format!("apikey_bench{k:06}");
            standin::Usage::new(Some(&id), Some("wrkspc_bench"), today, 50, 0)
        })
        .collect();
    b.api.put_all(bumped);
}

/// `keys` keys' rows on the `days` days up to `today`, as the floor's transaction writes them.
fn floor_rows(keys: usize, today: chrono::NaiveDate, days: i64) -> Vec<quota::DayUsage> {
    let mut rows = Vec::with_capacity(keys * 2);
    for k in 0..keys {
        for d in 0..days {
            let input = if k % 10 == 0 { 40_000 } else { 1_000 };
            rows.push(quota::DayUsage {
                api_key_id: Some(format!("apikey_bench{k:06}")),
                workspace_id: Some("wrkspc_bench".into()),
                ..quota::DayUsage::split(today - chrono::Duration::days(d), input, (0, 0), 0, 100)
            });
        }
    }
    rows
}

/// The same steady syncs on SQLite and on PostgreSQL (the test cluster, on its Unix
/// socket), in one run: first sync, `--full`, then five steady syncs taken in turn (SQLite,
/// PostgreSQL, SQLite, …), each after 1 % of the keys' usage changed. The test cluster runs
/// with `fsync=off`: PostgreSQL's commits here cost less than on a real server.
fn backends(keys: usize, day: u32) {
    println!("\n### SQLite and PostgreSQL: {keys} configured keys, day {day}\n");
    println!("| store | first sync | `--full` | steady (median of 5) | steady peak RSS |");
    println!("|---|---|---|---|---|");
    let lite = scale_bench(keys, day, Accounts::Configured);
    let mut pg = scale_bench(keys, day, Accounts::Configured);
    pg.url = Some(quota_testkit::pg::Cluster::shared().create_database());
    let now = scale_now(day);
    let today = format!("2026-11-{day:02}");
    let firsts: Vec<(Run, Run)> = [&lite, &pg]
        .iter()
        .map(|b| {
            (
                b.run(&["sync"], now),
                b.run(&["sync", "--full"], now + chrono::Duration::minutes(1)),
            )
        })
        .collect();
    // What autovacuum does within a minute of the first sync's bulk load (its statistics
    // steer the plans of the steady syncs); BENCH_NO_ANALYZE=1 times them without.
    if std::env::var_os("BENCH_NO_ANALYZE").is_none() {
        let url = pg.url.as_ref().unwrap();
        quota_testkit::pg::Cluster::shared()
            .client(url)
            .batch_execute("VACUUM ANALYZE")
            .unwrap();
    }
    let mut steady = [(Vec::new(), 0.0f64), (Vec::new(), 0.0f64)];
    for i in 0..5 {
        for (b, (walls, rss)) in [&lite, &pg].iter().zip(steady.iter_mut()) {
            bump(b, keys, &today);
            let r = b.run(&["sync"], now + chrono::Duration::minutes(2 + i));
            walls.push(r.wall);
            *rss = rss.max(r.rss.unwrap_or(0.0));
        }
    }
    let cell = |r: &Run| format!("{:.2} s, {:.1} MiB", r.wall, r.rss.unwrap_or(0.0));
    for ((name, (first, full)), (walls, rss)) in
        ["SQLite", "PostgreSQL"].iter().zip(&firsts).zip(steady)
    {
        println!(
            "| {name} | {} | {} | {:.2} s | {rss:.1} MiB |",
            cell(first),
            cell(full),
            median(walls)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "busy") {
        let mut n = args.iter().filter_map(|a| a.parse::<usize>().ok());
        busy(
            n.next().unwrap_or(10_000),
            n.next().and_then(|m| u32::try_from(m).ok()).unwrap_or(60),
        );
        return;
    }
    if args.iter().any(|a| a == "scoped") {
        SCOPED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    for (arg, mode) in [("daily", 1), ("daily-each", 2)] {
        if args.iter().any(|a| a == arg) {
            DAILY.store(mode, std::sync::atomic::Ordering::Relaxed);
        }
    }
    if args.iter().any(|a| a == "postgres") {
        let n = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
        let day = args
            .iter()
            .find_map(|a| a.strip_prefix("day")?.parse().ok())
            .unwrap_or(20);
        backends(n, day);
        return;
    }
    if args.iter().any(|a| a == "scale") {
        let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
        let days: Vec<u32> = args
            .iter()
            .filter_map(|a| a.strip_prefix("day")?.parse().ok())
            .collect();
        let kinds: Vec<Accounts> = [
            ("configured", Accounts::Configured),
            ("discovered", Accounts::Discovered),
        ]
        .into_iter()
        .filter(|(name, _)| args.iter().any(|a| a == name))
        .map(|(_, k)| k)
        .collect();
        scale(
            if sizes.is_empty() {
                &[10_000, 100_000]
            } else {
                &sizes
            },
            if kinds.is_empty() {
                &[Accounts::Configured, Accounts::Discovered]
            } else {
                &kinds
            },
            if days.is_empty() { &[1, 20, 28] } else { &days },
        );
        return;
    }
    if args.iter().any(|a| a == "developers") {
        let n = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2_000);
        developers(n);
        return;
    }
    if args.iter().any(|a| a == "analytics") {
        let n = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
        analytics(n);
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let only = !sizes.is_empty();
    let headline = sizes.first().copied().unwrap_or(10_000);

    println!(
        "## quota benchmarks ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let b = Bench::new(headline);
    let s = sync(&b);
    println!(
        "### Steady-state sync, {headline} accounts, {} usage rows\n",
        headline * 2
    );
    println!("| measure | value |\n|---|---|");
    println!(
        "| usage requests per steady-state sync | {:?} |",
        s.requests
    );
    println!(
        "| first sync (whole period, alerts created) | {:.3} s |",
        s.first
    );
    println!("| steady-state sync, median of 7 | {:.3} s |", s.steady);
    println!(
        "| floor: curl of the same response | {:.3} s |",
        s.floor_fetch
    );
    println!(
        "| floor: one transaction writing the same rows | {:.3} s |",
        s.floor_store
    );
    println!(
        "| sync / floor | {:.2}× |",
        s.steady / (s.floor_fetch + s.floor_store)
    );
    println!("| peak RSS, steady-state sync | {:.1} MiB |", s.rss);
    println!("| peak RSS, first sync | {:.1} MiB |", s.first_rss);

    println!("\n### Operator commands, {headline} accounts\n");
    println!("| command | median |\n|---|---|");
    println!(
        "| `quota --version` | {:.1} ms |",
        b.median(&["--version"], 21) * 1000.0
    );
    println!(
        "| `quota status --json` | {:.0} ms |",
        b.median(&["status", "--json"], 7) * 1000.0
    );
    println!(
        "| `quota status` (table) | {:.0} ms |",
        b.median(&["status"], 7) * 1000.0
    );
    println!(
        "| `quota alerts list` ({} open) | {:.1} ms |",
        b.run(&["alerts", "list", "--json"], now())
            .stdout
            .matches("\"id\"")
            .count(),
        b.median(&["alerts", "list"], 11) * 1000.0
    );
    seed_alerts(&b.db, 1_000_000, 0);
    let open = b
        .run(&["alerts", "list", "--json"], now())
        .stdout
        .matches("\"id\"")
        .count();
    println!(
        "| `quota alerts list`, 1,000,000 more alerts in the database ({open} open) | {:.1} ms |",
        b.median(&["alerts", "list"], 11) * 1000.0
    );

    // The target's case: a million alerts, 100 open, and a config that does not list 10,000
    // accounts (with discovery, accounts live in the database).
    let small = Bench::new(10);
    small.api.expect_no_calls(); // seeded, checked and listed: no sync
    small.run(&["check"], now());
    seed_alerts(&small.db, 1_000_000, 100);
    let open = small
        .run(&["alerts", "list", "--json"], now())
        .stdout
        .matches("\"id\"")
        .count();
    println!(
        "| `quota alerts list`, 1,000,000 alerts ({open} open), 10-account config | {:.1} ms |",
        small.median(&["alerts", "list"], 21) * 1000.0
    );
    println!(
        "| `quota alerts list --all --severity critical` on the same | {:.1} ms |",
        small.median(
            &[
                "alerts",
                "list",
                "--all",
                "--severity",
                "critical",
                "--json"
            ],
            3
        ) * 1000.0
    );

    analytics(headline);
    developers(2_000);

    // Late in a period: 20 days of history are summed on every sync.
    let days: Vec<String> = (1..=20).map(|d| format!("2026-11-{d:02}")).collect();
    let day_refs: Vec<&str> = days.iter().map(String::as_str).collect();
    let late = Bench::with_days(headline, &day_refs);
    let s = sync(&late);
    println!(
        "\n### Day 20 of the period, {headline} accounts, {} rows in the period\n",
        headline * 20
    );
    println!("| measure | value |\n|---|---|");
    println!("| steady-state sync, median of 7 | {:.3} s |", s.steady);
    println!(
        "| first sync (whole period) | {:.3} s, peak RSS {:.1} MiB |",
        s.first, s.first_rss
    );
    println!("| peak RSS, steady-state sync | {:.1} MiB |", s.rss);
    println!(
        "| `quota status --json` | {:.0} ms |",
        late.median(&["status", "--json"], 7) * 1000.0
    );

    if only {
        return;
    }
    println!("\n### Growth\n");
    println!(
        "| accounts | first sync s | steady sync s | floor s | peak RSS MiB | requests | status --json s | status s | alerts list s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in [100, 1_000, 10_000, 100_000] {
        println!("| {} |", size(n).join(" | "));
    }
}

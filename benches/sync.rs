//! Sync benchmark (issue 3): 10,000 key accounts, 20,000 usage rows (yesterday and today)
//! from the stand-in Admin API, the real `quota` binary on a real database. Prints usage
//! requests per sync, wall time and peak RSS; asserts nothing.
//!
//! ```sh
//! cargo bench --bench sync              # 10,000 accounts
//! cargo bench --bench sync -- 1000      # another size
//! ```
//!
//! Wall time is measured around the whole process (spawn to exit). Peak RSS is what quota
//! itself reports (`VmHWM`, logged at info level by `sync`). The stand-in runs in this process,
//! on the other core.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a report: printing is its job

#[path = "../tests/support/standin.rs"]
mod standin;

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

const KEY: &str = "sk-ant-admin01-bench";
const RUNS: usize = 7;

fn main() {
    let accounts: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let api = standin::StandIn::start(KEY);
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").unwrap();
    api.set_now("2026-11-20T12:00:00Z");

    let mut config = String::with_capacity(accounts * 100);
    let mut rows = Vec::with_capacity(accounts * 2);
    for k in 0..accounts {
        let id = format!("apikey_bench{k:06}");
        for day in ["2026-11-19", "2026-11-20"] {
            rows.push(standin::Usage::new(
                Some(&id),
                Some("wrkspc_bench"),
                day,
                1_000 + k as u64,
                100,
            ));
        }
        // Every tenth account is over 80 %, so alerts are created on the first sync.
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
    }
    api.put_all(rows);
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let db = dir.path().join("quota.db");

    let run = |args: &[&str],
               at: chrono::DateTime<chrono::FixedOffset>|
     -> (Duration, Option<f64>, String) {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_quota"))
            .args(args)
            .env_clear()
            .env("QUOTA_CONFIG", &config_path)
            .env("QUOTA_DB", &db)
            .env("QUOTA_API_URL", &api.url)
            .env("ANTHROPIC_ADMIN_API_KEY", KEY)
            .env("QUOTA_NOW", at.to_rfc3339())
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "quota {args:?} failed: {stderr}");
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            eprint!("{stderr}");
        }
        let rss = stderr
            .lines()
            .find_map(|l| l.split("peak memory ").nth(1))
            .and_then(|v| v.trim_end_matches(" MiB").parse().ok());
        (took, rss, String::from_utf8_lossy(&out.stdout).into_owned())
    };

    println!(
        "quota sync benchmark: {accounts} accounts, {} usage rows (2 days), stand-in on loopback",
        accounts * 2
    );
    let before = api.usage_requests();
    let (first, first_rss, summary) = run(&["sync"], now);
    println!(
        "first sync (whole period, alerts created): {:>8.3} s  peak RSS {:>6.1} MiB  requests {}",
        first.as_secs_f64(),
        first_rss.unwrap_or(f64::NAN),
        api.usage_requests() - before
    );
    println!("  {}", summary.trim());
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        let (_, _, _) = run(&["sync"], now + chrono::Duration::seconds(30));
    }

    let mut walls = Vec::new();
    let mut rss = Vec::new();
    let mut requests = Vec::new();
    for i in 0..RUNS {
        let before = api.usage_requests();
        let at = now + chrono::Duration::minutes(i as i64 + 1);
        let (took, peak, _) = run(&["sync"], at);
        requests.push(api.usage_requests() - before);
        walls.push(took.as_secs_f64());
        rss.extend(peak);
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "steady-state sync x{RUNS}: wall min {:.3} s  median {:.3} s  max {:.3} s  peak RSS max {:.1} MiB  requests/sync {:?}",
        walls[0],
        walls[RUNS / 2],
        walls[RUNS - 1],
        rss.iter().copied().fold(0.0, f64::max),
        requests
    );

    let mut status = Vec::new();
    let mut list = Vec::new();
    for _ in 0..RUNS {
        status.push(run(&["status", "--json"], now).0.as_secs_f64());
        list.push(run(&["alerts", "list"], now).0.as_secs_f64());
    }
    status.sort_by(f64::total_cmp);
    list.sort_by(f64::total_cmp);
    println!(
        "status --json: median {:.3} s   alerts list: median {:.3} s",
        status[RUNS / 2],
        list[RUNS / 2]
    );
}

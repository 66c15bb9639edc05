#![allow(clippy::print_stdout, clippy::print_stderr)] // a walkthrough: printing is its job

//! Try quota in one command, with no key and nothing installed:
//!
//! ```sh
//! cargo run --example demo            # keeps the stand-in running until Ctrl-C
//! cargo run --example demo -- --once  # shows it and exits
//! ```
//!
//! It starts the Admin API stand-in on 127.0.0.1 with three keys and this period's history
//! (one of them past 80 % of its limit, one developer near their budget), runs `quota sync`
//! and `quota status` against it in a temporary folder, and prints the commands to go on with.
//! Ctrl-C stops it and removes the folder; `--once` says what it showed and exits.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Datelike, Duration, Utc};
use quota_testkit::standin::{CodeRecord, StandIn, Usage};

const KEY: &str = "sk-ant-admin01-demo";

const CONFIG: &str = r#"# quota demo: three keys and one developer against the local stand-in.
[[accounts]]
name = "production"
api_key_id = "apikey_demo_production"
token_limit = 50000000

[[accounts]]
name = "staging"
api_key_id = "apikey_demo_staging"
token_limit = 50000000

[[accounts]]
name = "batch-jobs"
api_key_id = "apikey_demo_batch"
output_token_limit = 20000000

[[accounts]]
name = "alice"
claude_code_user = "alice@example.com"
cost_limit_usd = "150.00"
"#;

fn main() {
    let once = std::env::args().any(|a| a == "--once");
    let quota = binary();
    let dir = tempfile::Builder::new()
        .prefix("quota-demo-")
        .tempdir()
        .expect("a temp folder");
    let api = StandIn::start(KEY);
    history(&api);
    std::fs::write(dir.path().join("config.toml"), CONFIG).expect("write config.toml");
    let env = Env {
        dir: dir.path(),
        url: &api.url,
        quota: &quota,
    };
    println!("$ quota -q sync");
    env.run(&["-q", "sync"]);
    println!("\n$ quota status");
    env.run(&["status"]);
    println!("\n$ quota alerts list");
    env.run(&["alerts", "list"]);
    if once {
        // The stand-in goes with this process: say what was shown, not what to do next.
        println!(
            "\nThat was quota against a stand-in of the Admin API, in {} (removed now). Without --once the stand-in keeps serving, and this prints the commands to go on with.",
            dir.path().display()
        );
        return;
    }
    println!(
        "\nGo on in another shell (the stand-in serves at {} until this stops):\n\n  \
         export QUOTA_CONFIG={config}\n  \
         export QUOTA_DB={db}\n  \
         export QUOTA_API_URL={url}\n  \
         export ANTHROPIC_ADMIN_API_KEY={KEY}\n  \
         alias quota={quota}\n  \
         quota status --wide\n  \
         quota usage --account production\n  \
         quota alerts resolve <ID> --comment \"seen it\"\n  \
         quota sync --full\n",
        api.url,
        config = dir.path().join("config.toml").display(),
        db = dir.path().join("quota.db").display(),
        url = api.url,
        quota = quota.display(),
    );
    println!(
        "Press Ctrl-C to stop the stand-in and remove {}.",
        dir.path().display()
    );
    // Ctrl-C ends the wait; the folder goes with `dir`, dropped on the way out.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .expect("a Ctrl-C handler");
    let _ = stopped.recv();
    println!("\nstopped; removed {}", dir.path().display());
}

/// This period so far: production climbs past 80 % of its limit, the others stay low, and
/// alice's Claude Code spend nears her budget.
fn history(api: &StandIn) {
    let today = Utc::now().date_naive();
    let first = today.with_day(1).expect("the 1st");
    let mut rows = Vec::new();
    let n = u64::from(today.day());
    for (i, day) in (1..).zip(first.iter_days().take_while(|d| *d <= today)) {
        let d = day.format("%Y-%m-%d").to_string();
        // Production climbs day by day to 43M of its 50M: 2·i/(n·(n+1)) of it on day i.
        let share = |total: u64| total * 2 * i / (n * (n + 1));
        rows.push(Usage::new(
            Some("apikey_demo_production"),
            None,
            &d,
            share(42_000_000),
            share(1_000_000),
        ));
        rows.push(Usage::new(
            Some("apikey_demo_staging"),
            None,
            &d,
            300_000,
            20_000,
        ));
        rows.push(Usage::new(
            Some("apikey_demo_batch"),
            Some("wrkspc_demo_batch"),
            &d,
            1_000_000,
            400_000,
        ));
    }
    api.put_all(rows);
    for day in [today - Duration::days(1), today] {
        let d = day.format("%Y-%m-%d").to_string();
        api.put_code_day(
            &d,
            vec![CodeRecord::user("alice@example.com", &d, "vscode").model(
                "claude-opus-5",
                [900_000, 150_000, 2_000_000, 80_000],
                6_500,
            )],
        );
    }
}

struct Env<'a> {
    dir: &'a Path,
    url: &'a str,
    quota: &'a Path,
}

impl Env<'_> {
    fn run(&self, args: &[&str]) {
        let status = Command::new(self.quota)
            .args(args)
            .env("QUOTA_CONFIG", self.dir.join("config.toml"))
            .env("QUOTA_DB", self.dir.join("quota.db"))
            .env("QUOTA_API_URL", self.url)
            .env("ANTHROPIC_ADMIN_API_KEY", KEY)
            .status()
            .expect("run quota");
        if !status.success() {
            eprintln!("(quota {} exited with {status})", args.join(" "));
        }
    }
}

/// The `quota` binary beside this example (target/<profile>/quota), built first if missing.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/examples/demo");
    let quota = profile_dir.join("quota");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let release = profile_dir.ends_with("release");
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "--bin", "quota"]);
    // What `cargo run` set for this example (CARGO_MANIFEST_DIR, CARGO_PKG_*, …) would
    // make the inner build see a changed environment and rebuild quota and its TLS stack
    // every time, and dirty the next cargo test: it gets a plain environment instead.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_TARGET_DIR" {
            build.env_remove(&k);
        }
    }
    if release {
        build.arg("--release");
    }
    // Always asked: cargo answers at once when the binary is up to date.
    if !build.status().is_ok_and(|s| s.success()) && !quota.exists() {
        eprintln!("cannot build the quota binary: run cargo build first");
        std::process::exit(1);
    }
    quota
}

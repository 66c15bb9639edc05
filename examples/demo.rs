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

use chrono::Utc;
use quota_testkit::demo::{self, CONFIG, KEY};

fn main() {
    let once = std::env::args().any(|a| a == "--once");
    let quota = binary();
    let dir = tempfile::Builder::new()
        .prefix("quota-demo-")
        .tempdir()
        .expect("a temp folder");
    let api = demo::start(Utc::now().date_naive());
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

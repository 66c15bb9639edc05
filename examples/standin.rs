#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool: printing is its job

//! Runs the Admin API stand-in that the tests use, so quota can be tried without a real key:
//!
//! ```sh
//! cargo run --example standin -- --keys 3 &        # prints its URL and a config
//! export QUOTA_API_URL=http://127.0.0.1:PORT ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-standin
//! quota --config standin.toml sync && quota --config standin.toml status
//! ```
//!
//! It serves `GET /v1/organizations/usage_report/messages` on 127.0.0.1 with made-up usage
//! for `--keys` keys over the last `--days` days, and lists them as the organization's
//! active keys (`GET /v1/organizations/api_keys`, which quota checks configured ids
//! against); it stops with Ctrl-C. With `--discover` the config has no accounts: discovery
//! makes them from that list.

use quota_testkit::standin;

use chrono::{Duration, Utc};

fn main() {
    let mut keys = 3usize;
    let mut days = 7i64;
    let mut discover = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--discover" {
            discover = true;
            continue;
        }
        let value = args.next().and_then(|v| v.parse::<u32>().ok());
        match (a.as_str(), value) {
            ("--keys", Some(v)) if v > 0 => keys = v as usize,
            ("--days", Some(v)) if v > 0 => days = i64::from(v),
            _ => {
                eprintln!("usage: standin [--keys N] [--days D] [--discover]");
                std::process::exit(2);
            }
        }
    }
    let key = std::env::var("ANTHROPIC_ADMIN_API_KEY")
        .unwrap_or_else(|_| "sk-ant-admin01-standin".to_string());
    let api = standin::StandIn::start(&key);
    let today = Utc::now().date_naive();
    let mut config = String::new();
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    for k in 0..keys {
        let id = format!("apikey_standin{k:05}");
        for d in 0..days {
            let day = (today - Duration::days(d)).format("%Y-%m-%d").to_string();
            let tokens = 40_000 * (k as u64 + 1);
            rows.push(standin::Usage::new(
                Some(&id),
                None,
                &day,
                tokens,
                tokens / 10,
            ));
        }
        listed.push(standin::Key {
            id: id.clone(),
            name: format!("key-{k}"),
            status: "active",
            workspace_id: None,
            ga: false,
        });
        if !discover {
            config.push_str(&format!(
                "[[accounts]]\nname = \"key-{k}\"\napi_key_id = \"{id}\"\ntoken_limit = {}\n\n",
                600_000 * (k as u64 + 1)
            ));
        }
    }
    if discover {
        // Every listed key becomes an account with the defaults' limit.
        config
            .push_str("[defaults]\ntoken_limit = 5000000\n\n[discovery]\napi_keys = \"always\"\n");
    }
    api.put_all(rows);
    api.put_keys(listed);
    std::fs::write("standin.toml", &config).expect("write standin.toml");
    println!(
        "stand-in Admin API at {} (admin key {key:?}); wrote standin.toml with {keys} accounts",
        api.url
    );
    println!(
        "  export QUOTA_API_URL={} ANTHROPIC_ADMIN_API_KEY={key}",
        api.url
    );
    println!("  quota --config standin.toml sync && quota --config standin.toml status");
    loop {
        std::thread::park();
    }
}

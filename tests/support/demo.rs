//! The world `cargo run --example demo` shows: three keys and one developer, this period's
//! history up to `today` (production past 80 % of its limit, alice near her budget), the
//! keys listed as the organization's, and the config that watches them. The integration
//! suite runs the same world, so the Quick start in the README stays true.

use chrono::{Datelike, Duration, NaiveDate};

use crate::standin::{CodeRecord, Key, StandIn, Usage};

/// The demo's admin key (the stand-in accepts only it).
pub const KEY: &str = "sk-ant-admin01-demo";

/// The demo's `config.toml`.
pub const CONFIG: &str = r#"# quota demo: three keys and one developer against the local stand-in.
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

/// A stand-in with the demo's keys and history up to `today`.
pub fn start(today: NaiveDate) -> StandIn {
    let api = StandIn::start(KEY);
    history(&api, today);
    let ids = [
        ("apikey_demo_production", "production"),
        ("apikey_demo_staging", "staging"),
        ("apikey_demo_batch", "batch"),
    ];
    api.put_keys(
        ids.iter()
            .map(|(id, name)| Key {
                id: (*id).into(),
                name: (*name).into(),
                status: "active",
                workspace_id: None,
                ga: false,
            })
            .collect(),
    );
    api
}

/// This period so far: production climbs past 80 % of its limit, the others stay low, and
/// alice's Claude Code spend nears her budget.
fn history(api: &StandIn, today: NaiveDate) {
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

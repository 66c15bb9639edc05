//! Per-developer budgets from the Claude Code usage report (ADMIN_API.md §5): user and API
//! actors, records summed over terminals and models, exact cents, the read interval, late
//! corrections, discovery with `[claude_code_defaults]`, and a failing report.

use serde_json::Value;

use crate::env::{at, setup};
use crate::standin::{CLAUDE_CODE_PATH, CodeRecord, Fault, KEYS_PATH, USAGE_PATH, Usage};

const DEVELOPERS: &str = r#"
[[accounts]]
name = "alice"
claude_code_user = "Alice@Example.com"
cost_limit_usd = "10.00"

[[accounts]]
name = "ci"
claude_code_api_key = "ci-bot"
token_limit = 1000

[[accounts]]
name = "production"
api_key_id = "apikey_prod"
token_limit = 1000000
"#;

fn code_days(api: &crate::standin::StandIn) -> Vec<String> {
    api.requests_to(CLAUDE_CODE_PATH)
        .iter()
        .map(|r| r.param("starting_at").unwrap().to_string())
        .collect()
}

fn alice_and_ci(day: &str, alice_cents: [u64; 3]) -> Vec<CodeRecord> {
    vec![
        CodeRecord::user("alice@example.com", day, "iTerm.app")
            .model("claude-opus-5", [1000, 200, 50, 10], alice_cents[0])
            .model("claude-sonnet-5", [100, 20, 0, 0], alice_cents[1]),
        CodeRecord {
            is_remote: true,
            ..CodeRecord::user("ALICE@example.com", day, "vscode").model(
                "claude-opus-5",
                [10, 2, 0, 0],
                alice_cents[2],
            )
        },
        CodeRecord::api("ci-bot", day, "github-actions").model(
            "claude-sonnet-5",
            [500, 300, 100, 50],
            7,
        ),
    ]
}

#[test]
fn user_and_api_actors_sum_terminals_and_models_in_exact_cents() {
    let (env, api) = setup(DEVELOPERS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10));
    api.put_key("apikey_prod", "production", "active");
    api.put_key("apikey_ci", "ci-bot", "active");
    // 300 + 200 + 350 cents = $8.50: 85 % of alice's $10 budget.
    api.put_code_day("2026-11-20", alice_and_ci("2026-11-20", [300, 200, 350]));
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stdout
            .contains("Claude Code report: 20 days, 2 developers"),
        "{}",
        out.stdout
    );
    // A new developer account reads its whole period, one date-only request a day.
    let days = code_days(&api);
    assert_eq!(days.len(), 20);
    assert_eq!(
        (days[0].as_str(), days[19].as_str()),
        ("2026-11-01", "2026-11-20")
    );
    let req = api
        .requests()
        .into_iter()
        .find(|r| r.path == CLAUDE_CODE_PATH)
        .unwrap();
    assert_eq!(
        (req.param("limit"), req.param("ending_at")),
        (Some("1000"), None)
    );
    assert_eq!(api.usage_requests(), 1, "usage still one grouped request");

    let s = env.run(&["status", "--json"]).ok().json();
    let alice = &s[0];
    assert_eq!(alice["claude_code_user"], "alice@example.com");
    assert!(alice.get("claude_code_api_key").is_none());
    assert_eq!(alice["quotas"]["cost_usd"]["used"], "8.5");
    assert_eq!(
        alice["quotas"]["tokens"]["used"],
        1000 + 200 + 50 + 10 + 100 + 20 + 10 + 2
    );
    assert_eq!(
        alice["quotas"]["input_tokens"]["used"],
        1000 + 50 + 10 + 100 + 10
    );
    assert_eq!(alice["quotas"]["output_tokens"]["used"], 222);
    assert_eq!(alice["quotas"]["requests"]["measured"], false);
    assert!(
        alice["quotas"]["requests"]["reason"]
            .as_str()
            .unwrap()
            .contains("no request counts")
    );
    assert_eq!(alice["last_synced_at"], "2026-11-20T12:00:00Z");
    let ci = &s[1];
    assert_eq!(ci["claude_code_api_key"], "ci-bot");
    assert_eq!(ci["quotas"]["tokens"]["used"], 950);
    assert!(s[2].get("claude_code_user").is_none());

    let alerts = env
        .run(&["alerts", "list", "--account", "alice", "--json"])
        .ok()
        .json();
    let threshold: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "approaching_limit")
        .collect();
    assert_eq!(threshold.len(), 1, "{alerts}");
    assert_eq!(
        (
            threshold[0]["quota_type"].as_str(),
            threshold[0]["severity"].as_str(),
            threshold[0]["current_value"].as_str()
        ),
        (Some("cost_usd"), Some("warning"), Some("8.5"))
    );
    let ci_alerts = env
        .run(&["alerts", "list", "--account", "ci", "--json"])
        .ok()
        .json();
    assert_eq!(ci_alerts[0]["severity"], "critical", "950 of 1000 tokens");

    let table = env.run(&["status"]).ok().stdout;
    assert!(
        table.contains("developers: alice = alice@example.com, ci = API key ci-bot; Claude Code usage read 2026-11-20 12:00 UTC"),
        "{table}"
    );
    assert!(!table.contains("is not"), "every key is listed: {table}");
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("alice: claude_code_user = alice@example.com"),
        "{check}"
    );
    assert!(
        check.contains("usage report read at most every 15 min; 2 configured developer accounts"),
        "{check}"
    );
}

/// A configured `claude_code_api_key` that is no active key's name (a typo, a key archived)
/// is told like a mistyped `api_key_id`; a name may hold a comma.
#[test]
fn an_api_actor_that_is_no_active_keys_name_is_told() {
    let config = "[[accounts]]\nname = \"ci\"\nclaude_code_api_key = \"ci-bot\"\n\n\
                  [[accounts]]\nname = \"nightly\"\nclaude_code_api_key = \"build, nightly\"\n\n\
                  [[accounts]]\nname = \"typo\"\nclaude_code_api_key = \"ci-bto\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_key("apikey_ci", "ci-bot", "active");
    api.put_key("apikey_n", "build, nightly", "active");
    let run = env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 1);
    let typo = "typo: claude_code_api_key \"ci-bto\" is not the name of an active key of the organization (listed 2026-11-20 12:00 UTC): its usage reads 0";
    assert!(run.stderr.contains(typo), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("is not the name").count(),
        1,
        "{}",
        run.stderr
    );
    let check = env.run(&["config", "check", "--strict"]).code(1);
    assert!(check.stdout.contains(typo), "{}", check.stdout);

    // The typo fixed (checked on the next sync), then both keys archived (the next hour's
    // listing): each account is told, the name with a comma too.
    env.write_config(&config.replace("ci-bto", "ci-bot"));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 2);
    env.run(&["config", "check", "--strict"]).ok();
    api.put_key("apikey_ci", "ci-bot", "archived");
    api.put_key("apikey_n", "build, nightly", "archived");
    at(&mut env, &api, "2026-11-20T13:02:00Z");
    env.run(&["sync"]).ok();
    let status = env.run(&["status", "--json"]).ok().json();
    let told: Vec<(&str, &str)> = status
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["account"].as_str()?, a.get("unlisted")?.as_str()?)))
        .collect();
    let names: Vec<&str> = told.iter().map(|(a, _)| *a).collect();
    assert_eq!(names, ["ci", "nightly", "typo"], "{status}");
    assert!(
        told[1]
            .1
            .contains("\"build, nightly\" is not the name of an active key"),
        "{status}"
    );
}

#[test]
fn read_at_most_every_interval_and_a_corrected_day_replaces_the_old_numbers() {
    let (mut env, api) = setup(DEVELOPERS, "2026-11-20T12:00:00Z");
    api.put_code_day("2026-11-20", alice_and_ci("2026-11-20", [300, 200, 350]));
    env.run(&["sync"]).ok();
    api.clear_requests();
    at(&mut env, &api, "2026-11-20T12:14:00Z");
    env.run(&["sync"]).ok();
    assert!(code_days(&api).is_empty(), "not within 15 minutes");
    assert_eq!(api.usage_requests(), 1, "usage is read every run");

    // Late data lowers alice's day: the re-read replaces it, nothing is added.
    api.put_code_day("2026-11-20", alice_and_ci("2026-11-20", [100, 100, 100]));
    at(&mut env, &api, "2026-11-20T12:15:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(
        code_days(&api),
        ["2026-11-19", "2026-11-20"],
        "yesterday and today"
    );
    let s = env.status_of("alice");
    assert_eq!(s[0]["quotas"]["cost_usd"]["used"], "3");
    assert_eq!(s[0]["last_synced_at"], "2026-11-20T12:15:00Z");
    let open = env
        .run(&["alerts", "list", "--account", "alice", "--json"])
        .ok()
        .json();
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|a| a["type"] != "approaching_limit"),
        "recovered: {open}"
    );

    // A shorter interval is a setting; --full reads the whole period again.
    env.write_config(&format!(
        "[api]\nclaude_code_interval_minutes = 1\n{DEVELOPERS}"
    ));
    api.clear_requests();
    at(&mut env, &api, "2026-11-20T12:16:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(code_days(&api).len(), 2);
    api.clear_requests();
    env.run(&["sync", "--full"]).ok();
    assert_eq!(code_days(&api).len(), 20);
}

#[test]
fn a_failing_report_keeps_the_usage_sync_and_names_the_report() {
    let (env, api) = setup(DEVELOPERS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(
        Some("apikey_prod"),
        None,
        "2026-11-20",
        900_000,
        0,
    ));
    api.fail_path(
        CLAUDE_CODE_PATH,
        Fault::Status {
            status: 403,
            kind: "permission_error",
            retry_after: None,
        },
    );
    let run = env.run(&["sync"]).code(1);
    let line = run.error_line();
    assert!(
        line.contains("the Claude Code usage report failed") && line.contains(CLAUDE_CODE_PATH),
        "{line}"
    );
    assert_eq!(api.count(USAGE_PATH), 1);
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(
        s[2]["quotas"]["tokens"]["used"], 900_000,
        "usage stored and evaluated"
    );
    assert_eq!(s[0]["quotas"]["cost_usd"]["measured"], false);
    assert!(
        s[0]["quotas"]["cost_usd"]["reason"]
            .as_str()
            .unwrap()
            .contains("not been read yet")
    );
    assert_eq!(
        s[0]["last_synced_at"],
        Value::Null,
        "a developer is not marked read"
    );
    assert_eq!(env.open_alerts().len(), 1, "production at 90 %");
}

#[test]
fn discovery_names_every_actor_once_with_developer_defaults_and_configured_accounts_win() {
    let config = r#"
[discovery]
claude_code_users = "always"

[claude_code_defaults]
cost_limit_usd = "5.00"
billing_day = 1

[[accounts]]
name = "alice-configured"
claude_code_user = "alice@example.com"
cost_limit_usd = "100"
"#;
    let (mut env, api) = setup(config, "2026-11-30T12:00:00Z");
    api.put_code_day(
        "2026-11-30",
        vec![
            CodeRecord::user("alice@example.com", "2026-11-30", "iTerm.app").model(
                "m",
                [1, 1, 0, 0],
                100,
            ),
            CodeRecord::user("bob@example.com", "2026-11-30", "iTerm.app").model(
                "m",
                [1, 1, 0, 0],
                450,
            ),
            CodeRecord::user("sam@a.example", "2026-11-30", "iTerm.app").model(
                "m",
                [1, 0, 0, 0],
                1,
            ),
            CodeRecord::user("sam@b.example", "2026-11-30", "iTerm.app").model(
                "m",
                [1, 0, 0, 0],
                1,
            ),
            CodeRecord::api("Deploy Bot", "2026-11-30", "ci").model("m", [1, 0, 0, 0], 1),
        ],
    );
    let run = env.run(&["-v", "sync"]).ok();
    assert!(
        run.stderr
            .contains("discovered 4 developer accounts: bob … deploy-bot"),
        "{}",
        run.stderr
    );
    let s = env.run(&["status", "--json"]).ok().json();
    let names: Vec<&str> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alice-configured", "bob", "deploy-bot", "sam", "sam-2"],
        "the configured account wins for alice"
    );
    let bob = &s[1];
    assert_eq!(bob["claude_code_user"], "bob@example.com");
    assert_eq!(bob["quotas"]["cost_usd"]["limit"], "5.00");
    assert_eq!(bob["quotas"]["cost_usd"]["used"], "4.5");
    assert_eq!(s[2]["claude_code_api_key"], "Deploy Bot");
    let alerts = env
        .run(&["alerts", "list", "--account", "bob", "--json"])
        .ok()
        .json();
    assert_eq!(alerts[0]["threshold"], 80, "90 % of bob's $5: {alerts}");

    // A new period: bob has no usage in it, and still has his account, at 0.
    api.clear_requests();
    at(&mut env, &api, "2026-12-01T01:00:00Z");
    env.run(&["sync"]).ok();
    let s = env.status_of("bob");
    assert_eq!(s[0]["quotas"]["cost_usd"]["used"], "0");
    assert_eq!(s[0]["period_start"], "2026-12-01T00:00:00Z");
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("4 discovered developer accounts: bob (bob@example.com)"),
        "{check}"
    );
}

#[test]
fn developer_selectors_are_validated() {
    for (toml, needle) in [
        (
            "[[accounts]]\nname = \"a\"\nclaude_code_user = \"a@example.com\"\nclaude_code_api_key = \"k\"\n",
            "more than one selector",
        ),
        (
            "[[accounts]]\nname = \"a\"\nclaude_code_user = \"\"\n",
            "is not an e-mail address",
        ),
        (
            "[[accounts]]\nname = \"a\"\nclaude_code_api_key = \" \"\n",
            "claude_code_api_key must name",
        ),
        (
            "[api]\nclaude_code_interval_minutes = 0\n",
            "api.claude_code_interval_minutes",
        ),
        (
            "[discovery]\nclaude_code_users = \"sometimes\"\n",
            "discovery.claude_code_users",
        ),
        (
            "[claude_code_defaults]\ncost_limit_usd = 5.5\n",
            "claude_code_defaults.cost_limit_usd",
        ),
    ] {
        let env = crate::env::TestEnv::with_config(toml);
        let run = env.run(&["config", "check"]).code(2);
        assert!(run.error_line().contains(needle), "{toml}: {}", run.stderr);
    }
}

/// A developer discovered by a read was read by it: the next sync, inside the interval,
/// makes no Claude Code request (it used to read the whole period again).
#[test]
fn a_discovered_developer_is_not_read_again_by_the_next_sync() {
    let config = "[discovery]\nclaude_code_users = \"always\"\n\n[claude_code_defaults]\ncost_limit_usd = \"5.00\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_code_day(
        "2026-11-20",
        vec![
            CodeRecord::user("bob@example.com", "2026-11-20", "iTerm.app").model(
                "m",
                [1, 1, 0, 0],
                100,
            ),
        ],
    );
    env.run(&["sync"]).ok();
    assert!(!code_days(&api).is_empty());
    api.clear_requests();
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(
        code_days(&api),
        Vec::<String>::new(),
        "no Claude Code request at 12:01"
    );
    assert_eq!(env.status_of("bob")[0]["quotas"]["cost_usd"]["used"], "1");
}

//! `quota sync` against the stand-in: the request it makes, what it stores, the alerts it
//! raises across syncs, periods and billing days.

use crate::env::{ACCOUNTS, KEY, TestEnv, at, setup};
use crate::standin::{KEYS_PATH, StandIn, USAGE_PATH, Usage};

#[test]
fn one_grouped_request_with_the_documented_headers() {
    let (env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-19", 100, 10));
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stdout.starts_with("synced 3 accounts"),
        "{}",
        out.stdout
    );
    let reqs = api.requests_to(USAGE_PATH);
    assert_eq!(reqs.len(), 1, "one usage request for all accounts");
    // Then, hourly, the active keys: is each configured api_key_id one of them?
    assert_eq!(api.count(KEYS_PATH), 1);
    assert_eq!(api.requests()[1].path, KEYS_PATH);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", USAGE_PATH));
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        r.header("user-agent").unwrap().starts_with("quota/"),
        "{:?}",
        r.header("user-agent")
    );
    assert_eq!(r.params("group_by[]"), ["api_key_id", "workspace_id"]);
    assert_eq!(r.param("bucket_width"), Some("1d"));
    assert_eq!(r.param("limit"), Some("31"));
    assert!(r.params("api_key_ids[]").is_empty());
    // First sync: from the earliest current period start (research, billing day 31 → Oct 31).
    assert_eq!(r.param("starting_at"), Some("2026-10-31T00:00:00Z"));

    api.clear_requests();
    env.run_at("2026-11-20T12:01:00Z", &["sync"]).ok();
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].param("starting_at"),
        Some("2026-11-19T00:00:00Z"),
        "steady state: yesterday and today"
    );

    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 110);
    assert_eq!(s[0]["last_synced_at"], "2026-11-20T12:01:00Z");
}

#[test]
fn full_and_gaps_widen_the_window() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-25T08:00:00Z");
    api.clear_requests();
    env.run(&["sync"]).ok();
    assert_eq!(
        api.requests()[0].param("starting_at"),
        Some("2026-11-20T00:00:00Z"),
        "back to the last sync"
    );
    api.clear_requests();
    env.run(&["sync", "--full"]).ok();
    assert_eq!(
        api.requests()[0].param("starting_at"),
        Some("2026-10-31T00:00:00Z")
    );
}

#[test]
fn a_new_account_widens_the_one_usage_request_to_its_period() {
    let (env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_new"), None, "2026-11-03", 500, 0));
    env.run(&["sync"]).ok();
    // A new account: its whole period is read, in the one grouped request.
    env.write_config(&format!(
        "{ACCOUNTS}\n[[accounts]]\nname = \"new\"\napi_key_id = \"apikey_new\"\ntoken_limit = 1000\n"
    ));
    api.clear_requests();
    let out = env.run_at("2026-11-20T12:01:00Z", &["sync"]).ok();
    assert!(
        out.stdout
            .contains("from 2026-11-01: 1 usage request (1 page"),
        "{}",
        out.stdout
    );
    let starts: Vec<String> = api
        .requests_to(USAGE_PATH)
        .iter()
        .map(|r| r.param("starting_at").unwrap().to_string())
        .collect();
    assert_eq!(starts, ["2026-11-01T00:00:00Z"]);
    assert_eq!(env.status_of("new")[0]["quotas"]["tokens"]["used"], 500);
    // `--full` and `--account` ask only for what they read.
    api.clear_requests();
    env.run_at("2026-11-20T12:02:00Z", &["sync", "--full"]).ok();
    env.run_at("2026-11-20T12:03:00Z", &["sync", "--account", "new"])
        .ok();
    assert_eq!(api.usage_requests(), 2);
}

#[test]
fn account_filter_narrows_the_request_to_its_keys() {
    let (env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    let out = env
        .run(&["sync", "--account", "production", "--account", "batch"])
        .ok();
    assert!(
        out.stdout.starts_with("synced 2 accounts"),
        "{}",
        out.stdout
    );
    assert_eq!(
        api.requests()[0].params("api_key_ids[]"),
        ["apikey_prod", "apikey_batch"]
    );
    api.clear_requests();
    env.run(&["sync", "--account", "research"]).ok();
    assert!(
        api.requests()[0].params("api_key_ids[]").is_empty(),
        "workspace accounts need every key"
    );
    env.run(&["sync", "--account", "nope"]).code(2);
}

#[test]
fn ladder_80_95_100_across_syncs_without_duplicates() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    let mut expect = Vec::new();
    for (minute, tokens, threshold, severity, kind) in [
        (1, 800, 80, "warning", "approaching_limit"),
        (2, 950, 95, "critical", "approaching_limit"),
        (3, 1000, 100, "critical", "quota_exceeded"),
    ] {
        api.put(Usage::new(
            Some("apikey_prod"),
            Some("wrkspc_a"),
            "2026-11-20",
            tokens,
            0,
        ));
        at(&mut env, &api, &format!("2026-11-20T12:0{minute}:00Z"));
        for _ in 0..3 {
            env.run(&["sync"]).ok();
        }
        let open = env.open_alerts();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(
            (
                open[0]["threshold"].as_i64().unwrap(),
                open[0]["severity"].as_str().unwrap(),
                open[0]["type"].as_str().unwrap()
            ),
            (threshold, severity, kind)
        );
        expect.push(threshold);
    }
    let rows = env.alert_rows();
    assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), expect);
    assert_eq!(env.status_of("production")[0]["status"], "exhausted");
}

#[test]
fn late_data_replaces_a_day_instead_of_adding() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 500, 0));
    env.run(&["sync"]).ok();
    env.run(&["sync"]).ok();
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    at(&mut env, &api, "2026-11-20T12:05:00Z");
    env.run(&["sync"]).ok();
    let s = env.status_of("production");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 850);
    // A correction downwards recovers the alert.
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 300, 0));
    env.run(&["sync"]).ok();
    assert!(env.open_alerts().is_empty());
    assert_eq!(env.alert_rows()[0].4.as_deref(), Some("recovered"));
}

#[test]
fn month_rollover_resolves_alerts_and_clears_exhausted() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-30T23:58:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-30", 1500, 0));
    env.run(&["sync"]).ok();
    assert_eq!(env.status_of("production")[0]["status"], "exhausted");
    at(&mut env, &api, "2026-12-01T00:01:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-12-01", 5, 0));
    env.run(&["sync"]).ok();
    let s = env.status_of("production");
    assert_eq!(s[0]["status"], "active");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 5);
    assert_eq!(s[0]["period_start"], "2026-12-01T00:00:00Z");
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolution"], "period_ended");
}

#[test]
fn billing_day_15_and_31() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-14T20:00:00Z");
    // batch (day 15): 14th belongs to the old period; research (day 31): November's period
    // starts on the 30th.
    api.put(Usage::new(
        Some("apikey_batch"),
        None,
        "2026-11-14",
        4500,
        0,
    ));
    api.put(Usage::new(Some("apikey_batch"), None, "2026-11-15", 100, 0));
    api.put(Usage::new(
        Some("apikey_r"),
        Some("wrkspc_research"),
        "2026-10-30",
        0,
        90,
    ));
    api.put(Usage::new(
        Some("apikey_r"),
        Some("wrkspc_research"),
        "2026-10-31",
        0,
        85,
    ));
    env.run(&["sync"]).ok();
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[1]["period_start"], "2026-10-15T00:00:00Z");
    assert_eq!(s[1]["quotas"]["tokens"]["used"], 4500);
    assert_eq!(s[2]["period_start"], "2026-10-31T00:00:00Z");
    assert_eq!(s[2]["period_end"], "2026-11-30T00:00:00Z");
    assert_eq!(s[2]["quotas"]["output_tokens"]["used"], 85);

    at(&mut env, &api, "2026-11-15T00:00:00Z");
    env.run(&["sync"]).ok();
    let s = env.status_of("batch");
    assert_eq!(s[0]["period_start"], "2026-11-15T00:00:00Z");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 100);
    let batch: Vec<_> = env
        .run(&["alerts", "list", "--all", "--json", "--account", "batch"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(batch[0]["resolution"], "period_ended");

    at(&mut env, &api, "2026-11-30T00:00:00Z");
    env.run(&["sync"]).ok();
    let s = env.status_of("research");
    assert_eq!(s[0]["period_start"], "2026-11-30T00:00:00Z");
    assert_eq!(s[0]["period_end"], "2026-12-31T00:00:00Z");
}

#[test]
fn null_ids_and_workspace_accounts_come_from_the_same_rows() {
    let config = "[[accounts]]\nname = \"default-ws\"\nworkspace_id = \"default\"\ntoken_limit = 100\n\n[[accounts]]\nname = \"org\"\norganization = true\ntoken_limit = 100000\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(None, None, "2026-11-20", 50, 0)); // Playground, Default Workspace
    api.put(Usage::new(Some("apikey_a"), None, "2026-11-20", 40, 0));
    api.put(Usage::new(
        Some("apikey_b"),
        Some("wrkspc_x"),
        "2026-11-20",
        1000,
        0,
    ));
    env.run(&["sync"]).ok();
    assert_eq!(api.usage_requests(), 1);
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 90);
    assert_eq!(s[1]["quotas"]["tokens"]["used"], 1090);
    let stored =
        env.count("SELECT count(*) FROM usage_daily WHERE api_key_id = '' AND workspace_id = ''");
    assert_eq!(stored, 1);
}

#[test]
fn a_long_gap_follows_pagination() {
    let (mut env, api) = setup(ACCOUNTS, "2026-09-01T12:00:00Z");
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-20T12:00:00Z");
    for d in 1..=28 {
        api.put(Usage::new(
            Some("apikey_prod"),
            None,
            &format!("2026-10-{d:02}"),
            1,
            0,
        ));
    }
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-19", 7, 0));
    api.clear_requests();
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(USAGE_PATH);
    assert_eq!(reqs.len(), 3, "81 days at 31 buckets a page");
    assert_eq!(reqs[1].param("page"), Some("page_2026-10-02"));
    let days = env.count("SELECT count(*) FROM usage_daily");
    assert_eq!(days, 29);
}

#[test]
fn parallel_syncs_and_resolves_never_lock_or_duplicate() {
    let (env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 990, 0));
    api.put(Usage::new(
        Some("apikey_batch"),
        None,
        "2026-11-20",
        4100,
        0,
    ));
    env.run(&["sync"]).ok();
    let ids: Vec<String> = env
        .open_alerts()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 1200, 0));
    let runs: Vec<Vec<&str>> = (0..12)
        .map(|i| match i % 4 {
            0 => vec!["alerts", "resolve", &ids[1]],
            1 => vec!["alerts", "list"],
            _ => vec!["sync"],
        })
        .collect();
    env.run_parallel_ok(&runs);
    let rows = env.alert_rows();
    let mut identities: Vec<_> = rows
        .iter()
        .map(|r| (r.0.clone(), r.1.clone(), r.2, r.3.clone()))
        .collect();
    identities.dedup();
    assert_eq!(identities.len(), rows.len(), "{rows:?}");
    assert_eq!(
        env.open_alerts().len(),
        1,
        "production at 100 %; batch resolved by hand"
    );
}

/// The "evaluated N of M accounts (…)" line of a `-v` sync.
fn evaluated(env: &mut TestEnv, api: &StandIn, now: &str, args: &[&str]) -> String {
    at(env, api, now);
    let run = env.run(&[&["-v", "sync"], args].concat()).ok();
    let line = run.stderr.lines().find(|l| l.contains("evaluated "));
    let line = line.unwrap_or_else(|| panic!("no evaluation line in {}", run.stderr));
    line.split("evaluated ").nth(1).unwrap().to_string()
}

/// Steady syncs evaluate only the accounts whose usage or config changed; a full pass runs
/// first, hourly, after a `--account` sync wrote rows, and with `--full`.
#[test]
fn steady_syncs_evaluate_only_what_changed_with_an_hourly_full_pass() {
    // Burn rates evaluate an account again as their lookbacks pass its last totals (at
    // 12:05, 12:30, 13:00 …: `burn::next_change`); without them, only what changed counts.
    let config = format!("[defaults]\nburn_rate = false\n{ACCOUNTS}");
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-19", 100, 10));
    assert_eq!(
        evaluated(&mut env, &api, "2026-11-20T12:00:00Z", &[]),
        "3 of 3 accounts (full pass)"
    );
    assert!(
        evaluated(&mut env, &api, "2026-11-20T12:01:00Z", &[])
            .starts_with("0 of 3 accounts (incremental")
    );
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 900, 0));
    assert!(
        evaluated(&mut env, &api, "2026-11-20T12:02:00Z", &[])
            .starts_with("1 of 3 accounts (incremental")
    );
    // That one evaluation raised the alert a full pass would have.
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["account"], "production");
    assert_eq!(s[0]["status"], "exhausted");
    assert_eq!(env.open_alerts().len(), 1);

    // `--account` stores rows of one account; the next unfiltered sync cannot trust its
    // last evaluation and runs a full pass.
    api.put(Usage::new(Some("apikey_batch"), None, "2026-11-20", 10, 0));
    evaluated(
        &mut env,
        &api,
        "2026-11-20T12:03:00Z",
        &["--account", "batch"],
    );
    let synced = |env: &TestEnv| -> Vec<String> {
        let s = env.run(&["status", "--json"]).ok().json();
        let s = s.as_array().unwrap().iter();
        s.map(|a| {
            format!(
                "{} {}",
                a["account"].as_str().unwrap(),
                a["last_synced_at"].as_str().unwrap()
            )
        })
        .collect()
    };
    // Only the named account was synced at 12:03.
    let at_1203 = synced(&env);
    assert!(
        at_1203.contains(&"batch 2026-11-20T12:03:00Z".to_string()),
        "{at_1203:?}"
    );
    assert!(
        at_1203.contains(&"production 2026-11-20T12:02:00Z".to_string()),
        "{at_1203:?}"
    );
    assert_eq!(
        evaluated(&mut env, &api, "2026-11-20T12:04:00Z", &[]),
        "3 of 3 accounts (full pass)"
    );
    // An unfiltered sync is one fact for every account, not an UPDATE of each row.
    assert!(
        synced(&env)
            .iter()
            .all(|s| s.ends_with(" 2026-11-20T12:04:00Z")),
        "{:?}",
        synced(&env)
    );
    let marked =
        env.count("SELECT count(*) FROM accounts WHERE last_synced_at = '2026-11-20T12:04:00Z'");
    assert_eq!(marked, 0);
    // An hour after the last full pass, another.
    assert!(
        evaluated(&mut env, &api, "2026-11-20T13:03:00Z", &[])
            .starts_with("0 of 3 accounts (incremental")
    );
    assert_eq!(
        evaluated(&mut env, &api, "2026-11-20T13:04:00Z", &[]),
        "3 of 3 accounts (full pass)"
    );
    // A changed limit is a changed account.
    env.write_config(&config.replace("output_token_limit = 100", "output_token_limit = 5"));
    assert!(
        evaluated(&mut env, &api, "2026-11-20T13:05:00Z", &[])
            .starts_with("1 of 3 accounts (incremental")
    );
    assert_eq!(
        evaluated(&mut env, &api, "2026-11-20T13:06:00Z", &["--full"]),
        "3 of 3 accounts (full pass)"
    );
}

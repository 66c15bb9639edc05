//! Accounts scoped to models (`model = "claude-opus-4*"`): their own rows only, one request
//! a sync, `group_by[]=model` only while such an account exists.

use crate::env::setup;
use crate::standin::{ANALYTICS_PATH, USAGE_PATH, Usage};

fn config(source: &str, scoped: bool) -> String {
    let mut c = format!(
        "[api]\nusage_source = \"{source}\"\n\n\
         [[accounts]]\nname = \"all\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n"
    );
    if scoped {
        c.push_str(
            "\n[[accounts]]\nname = \"opus\"\napi_key_id = \"apikey_prod\"\nmodel = \"claude-opus-4*\"\ntoken_limit = 100\ncost_limit_usd = \"5.00\"\n\n\
             [[accounts]]\nname = \"org-opus\"\norganization = true\nmodel = \"claude-opus-4*\"\n",
        );
    }
    c
}

#[test]
fn a_scoped_account_sums_only_its_models_rows_in_the_same_one_request() {
    for (source, path) in [("messages", USAGE_PATH), ("analytics", ANALYTICS_PATH)] {
        let (env, api) = setup(&config(source, true), "2026-11-20T12:00:00Z");
        api.put_all(vec![
            Usage::new(Some("apikey_prod"), None, "2026-11-20", 80, 10)
                .model("claude-opus-4-1-20250805"),
            Usage::new(Some("apikey_prod"), None, "2026-11-20", 400, 100)
                .model("claude-sonnet-4-20250514"),
            Usage::new(Some("apikey_other"), None, "2026-11-20", 5_000, 0)
                .model("claude-opus-4-1-20250805"),
        ]);
        env.run(&["sync"]).ok();
        let reqs = api.requests_to(path);
        assert_eq!(reqs.len(), 1, "{source}: one usage request");
        assert!(reqs[0].params("group_by[]").contains(&"model"), "{source}");
        // The key's account sums every model; the scoped one its Opus rows only.
        assert_eq!(
            env.status_of("all")[0]["quotas"]["tokens"]["used"],
            590,
            "{source}"
        );
        let opus = env.status_of("opus");
        assert_eq!(opus[0]["quotas"]["tokens"]["used"], 90, "{source}: {opus}");
        // With any selector: the organization's Opus rows, of every key.
        assert_eq!(
            env.status_of("org-opus")[0]["quotas"]["tokens"]["used"],
            5090,
            "{source}"
        );
        // Cost per model comes from the analytics source only; with the messages source it
        // is not measured, and the reason says what to do.
        let cost = &opus[0]["quotas"]["cost_usd"];
        if source == "analytics" {
            assert_eq!(cost["used"], "0", "{opus}");
        } else {
            assert_eq!(cost["measured"], false);
            assert!(
                cost["reason"].as_str().unwrap().contains("not per model"),
                "{opus}"
            );
        }
        let alerts = env.open_alerts();
        let who: Vec<(&str, i64)> = alerts
            .iter()
            .map(|a| {
                (
                    a["account"].as_str().unwrap(),
                    a["threshold"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(who, [("opus", 80)], "{source}");
        let check = env.run(&["config", "check"]).ok().stdout;
        assert!(
            check
                .contains("model claude-opus-4*: claude-opus-4-1-20250805 (seen in the last read)"),
            "{check}"
        );
        // The same total, split otherwise between the models: the key's sum does not move,
        // the scoped account's does (and a steady, incremental sync sees it).
        let mut env = env;
        crate::env::at(&mut env, &api, "2026-11-20T12:01:00Z");
        api.clear_usage();
        api.put_all(vec![
            Usage::new(Some("apikey_prod"), None, "2026-11-20", 40, 0)
                .model("claude-opus-4-1-20250805"),
            Usage::new(Some("apikey_prod"), None, "2026-11-20", 440, 110)
                .model("claude-sonnet-4-20250514"),
        ]);
        env.run(&["sync"]).ok();
        assert_eq!(env.status_of("all")[0]["quotas"]["tokens"]["used"], 590);
        assert_eq!(
            env.status_of("opus")[0]["quotas"]["tokens"]["used"],
            40,
            "{source}"
        );
        assert!(
            env.open_alerts().is_empty(),
            "{source}: the 80 % warning recovered"
        );

        // Without a scoped account the request is as before.
        env.write_config(&config(source, false));
        api.clear_requests();
        env.run(&["sync"]).ok();
        let reqs = api.requests_to(path);
        assert_eq!(reqs.len(), 1);
        assert!(!reqs[0].params("group_by[]").contains(&"model"), "{source}");
        assert_eq!(env.status_of("all")[0]["quotas"]["tokens"]["used"], 590);
    }
}

/// A glob that matches no model the last read saw is a warning; a bad one exits 2.
#[test]
fn config_check_warns_of_a_glob_that_matches_nothing_and_refuses_a_bad_one() {
    let config = "[[accounts]]\nname = \"haiku\"\napi_key_id = \"apikey_prod\"\nmodel = \"claude-haiku-9*\"\ntoken_limit = 5\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 80, 10).model("claude-opus-4-1"));
    env.run(&["sync"]).ok();
    assert_eq!(env.status_of("haiku")[0]["quotas"]["tokens"]["used"], 0);
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains(
            "model = \"claude-haiku-9*\" matches no model the last read saw (claude-opus-4-1)"
        ),
        "{check}"
    );
    env.run(&["config", "check", "--strict"]).code(1);
    env.write_config(&config.replace("claude-haiku-9*", "claude haiku"));
    let run = env.run(&["config", "check"]).code(2);
    assert!(
        run.error_line()
            .contains(".model: \"claude haiku\" is not a model id"),
        "{}",
        run.error_line()
    );
}

/// With the analytics source, cost is read per model while a scoped account has a cost
/// limit: still one cost request, its rows summed for the key and split for the model.
#[test]
fn a_scoped_account_is_measured_in_dollars_from_its_models_cost() {
    let config = "[api]\nusage_source = \"analytics\"\n\n\
                  [[accounts]]\nname = \"all\"\napi_key_id = \"apikey_prod\"\ncost_limit_usd = \"100.00\"\n\n\
                  [[accounts]]\nname = \"opus\"\napi_key_id = \"apikey_prod\"\nmodel = \"claude-opus-4*\"\ncost_limit_usd = \"10.00\"\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 10, 1).model("claude-opus-4-1"));
    api.put_model_cost("apikey_prod", "claude-opus-4-1", "2026-11-19", "500.25");
    api.put_model_cost("apikey_prod", "claude-opus-4-1", "2026-11-20", "349.75");
    api.put_model_cost("apikey_prod", "claude-sonnet-4", "2026-11-20", "5000");
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(crate::standin::ANALYTICS_COST_PATH);
    assert_eq!(reqs.len(), 1, "one cost read");
    assert!(reqs[0].params("group_by[]").contains(&"model"));
    assert_eq!(
        env.status_of("opus")[0]["quotas"]["cost_usd"]["used"],
        "8.5"
    );
    assert_eq!(
        env.status_of("all")[0]["quotas"]["cost_usd"]["used"],
        "58.5"
    );
    let alerts = env.open_alerts();
    let who: Vec<(&str, &str, i64)> = alerts
        .iter()
        .filter(|a| a["type"] != "forecast_exceeded")
        .map(|a| {
            (
                a["account"].as_str().unwrap(),
                a["quota_type"].as_str().unwrap(),
                a["threshold"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(who, [("opus", "cost_usd", 80)]);
}

/// A developer account scoped to models sums its models' share of the Claude Code report's
/// `model_breakdown`, tokens and cents.
#[test]
fn a_scoped_developer_counts_its_models_share_of_the_report() {
    use crate::standin::CodeRecord;
    let config = "[[accounts]]\nname = \"alice-opus\"\nclaude_code_user = \"alice@example.com\"\nmodel = \"claude-opus*\"\ncost_limit_usd = \"5.00\"\n\n\
                  [[accounts]]\nname = \"alice\"\nclaude_code_user = \"alice@example.com\"\ncost_limit_usd = \"50.00\"\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_code_day(
        "2026-11-20",
        vec![
            CodeRecord::user("alice@example.com", "2026-11-20", "iTerm.app")
                .model("claude-opus-5", [1000, 200, 50, 10], 300)
                .model("claude-sonnet-5", [100, 20, 0, 0], 2_000),
            CodeRecord::user("alice@example.com", "2026-11-20", "vscode").model(
                "claude-opus-5",
                [10, 2, 0, 0],
                150,
            ),
        ],
    );
    env.run(&["sync"]).ok();
    let opus = env.status_of("alice-opus");
    // Tokens: 1,000 + 200 + 50 + 10 + 10 + 2; cost: 300 + 150 cents.
    assert_eq!(opus[0]["quotas"]["tokens"]["used"], 1272, "{opus}");
    assert_eq!(opus[0]["quotas"]["cost_usd"]["used"], "4.5", "{opus}");
    let all = env.status_of("alice");
    assert_eq!(all[0]["quotas"]["cost_usd"]["used"], "24.5", "{all}");
    let alerts = env.open_alerts();
    let who: Vec<(&str, i64)> = alerts
        .iter()
        .filter(|a| a["type"] != "forecast_exceeded")
        .map(|a| {
            (
                a["account"].as_str().unwrap(),
                a["threshold"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(who, [("alice-opus", 80)]);
}

/// An analytics read cut by its deadline stores its whole windows' per-model rows with their
/// sums, so the run that carries on counts every day of a scoped account once.
#[test]
fn a_cut_short_analytics_read_keeps_the_per_model_rows_of_its_stored_windows() {
    use crate::env::at;
    use crate::standin::Fault;
    let config = "[api]\nusage_source = \"analytics\"\ndeadline_secs = 1\ntimeout_secs = 0.5\n\n\
                  [[accounts]]\nname = \"opus\"\napi_key_id = \"apikey_prod\"\nmodel = \"claude-opus*\"\ntoken_limit = 100000\n";
    let (mut env, api) = setup(config, "2026-09-01T06:00:00Z");
    env.run(&["sync"]).ok();
    for (day, n) in [("2026-09-05", 5), ("2026-10-05", 50), ("2026-10-20", 500)] {
        api.put(Usage::new(Some("apikey_prod"), None, day, n, 0).model("claude-opus-5"));
        api.put_all(vec![
            Usage::new(Some("apikey_prod"), None, day, 7_000, 0).model("claude-sonnet-5"),
        ]);
    }
    at(&mut env, &api, "2026-10-20T06:00:00Z");
    api.fail_after(1, Fault::Hang);
    env.run(&["sync"]).code(1);
    assert_eq!(
        env.count("SELECT count(*) FROM usage_models"),
        1,
        "the first window's Opus row, stored with its sums"
    );
    api.heal();
    at(&mut env, &api, "2026-10-20T06:01:00Z");
    env.run(&["sync"]).ok();
    let s = env.status_of("opus");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 550, "{s}");
}

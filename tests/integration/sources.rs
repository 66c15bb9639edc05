//! Wider sources: key discovery, USD cost from the cost report, and forecast alerts. The
//! analytics source has its own file.

use serde_json::Value;

use crate::env::{TestEnv, at, setup};
use crate::standin::{COST_PATH, Fault, KEYS_PATH, Key, Usage, WORKSPACES_PATH};

/// No configured id is told as unlisted: not under `status`, not by `config check --strict`.
fn assert_nothing_unlisted(env: &TestEnv) {
    let status = env.run(&["status"]).ok().stdout;
    assert!(!status.contains(" is not "), "{status}");
    env.run(&["config", "check", "--strict"]).ok();
}

#[test]
fn messages_source_never_alerts_on_requests() {
    let config =
        "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\nrequest_limit = 1\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10).requests(500));
    let run = env.run(&["sync"]).ok();
    assert!(
        run.stderr.contains("request_limit is not measured"),
        "{}",
        run.stderr
    );
    assert!(env.open_alerts().is_empty());
    assert_eq!(
        env.run(&["status", "--json"]).ok().json()[0]["quotas"]["requests"]["measured"],
        false
    );
}

#[test]
fn discovery_tracks_active_keys_hourly_with_defaults() {
    let config = "[defaults]\ntoken_limit = 1000\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    for i in 0..1205 {
        api.put_key(&format!("apikey_{i:05}"), &format!("Key {i}"), "active");
    }
    api.put_key("apikey_prod", "Prod – EU #2", "active");
    api.put_key("apikey_old", "Old", "archived");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 900, 0));
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stdout.starts_with("synced 1206 accounts"),
        "{}",
        out.stdout
    );
    let listings = api.requests_to(KEYS_PATH);
    assert_eq!(listings.len(), 2, "1206 keys at 1000 a page");
    assert_eq!(listings[0].param("status"), Some("active"));
    assert_eq!(listings[1].param("after_id"), Some("apikey_00999"));
    let s = env.status_of("prod-eu-2");
    assert_eq!(s[0]["api_key_id"], "apikey_prod");
    assert_eq!(s[0]["quotas"]["tokens"]["limit"], 1000);
    assert_eq!(env.open_alerts()[0]["account"], "prod-eu-2");

    // Within the hour: no new listing.
    at(&mut env, &api, "2026-11-20T12:30:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 2);

    // The key is archived: after the hour it is dropped and its alert recovers.
    api.put_key("apikey_prod", "Prod – EU #2", "archived");
    at(&mut env, &api, "2026-11-20T13:01:00Z");
    let out = env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 4);
    assert!(
        out.stderr.contains("\"prod-eu-2\" is no longer active"),
        "{}",
        out.stderr
    );
    assert!(env.open_alerts().is_empty());
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolution"], "account_removed");
    env.run(&["status", "--account", "prod-eu-2"]).code(2);
}

/// Configured accounts turn `auto` discovery off: no account is made from a key. The hourly
/// listing of the active keys still checks each configured `api_key_id`, after the usage
/// read: one that is not an active key (a typo, a key rotated away) would read 0 for ever, so
/// it is logged when found, and shown under `status` and in `config check` until it is one.
/// A key listed twice in one page (a page the API should not send) is one account, named
/// as it was last listed, on either store.
#[test]
fn a_key_listed_twice_in_a_page_is_one_account() {
    let (env, api) = setup("[defaults]\ntoken_limit = 1000\n", "2026-11-20T12:00:00Z");
    let key = |id: &str, name: &str| Key {
        id: id.into(),
        name: name.into(),
        status: "active",
        workspace_id: None,
        ga: false,
    };
    api.put_keys(vec![
        key("apikey_a", "Alpha"),
        key("apikey_b", "Beta"),
        key("apikey_a", "Alpha two"),
    ]);
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stdout.starts_with("synced 2 accounts"),
        "{}",
        out.stdout
    );
    assert_eq!(env.status_of("alpha-two")[0]["api_key_id"], "apikey_a");
}

#[test]
fn configured_accounts_turn_auto_discovery_off_and_their_keys_are_checked() {
    let config = "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_key("apikey_other", "Other", "active");
    let run = env.run(&["sync"]).ok();
    assert!(run.stdout.starts_with("synced 1 account"), "{}", run.stdout);
    assert_eq!(api.count(KEYS_PATH), 1);
    assert_eq!(
        api.requests().last().unwrap().path,
        KEYS_PATH,
        "after usage"
    );
    let finding = "production: api_key_id apikey_prod is not an active key of the organization (listed 2026-11-20 12:00 UTC): its usage reads 0";
    assert!(run.stderr.contains(finding), "{}", run.stderr);
    assert!(env.run(&["status"]).ok().stdout.contains(finding));
    let json = env.status_of("production");
    assert!(
        json[0]["unlisted"].as_str().unwrap().starts_with(finding),
        "{json}"
    );
    let check = env.run(&["config", "check", "--strict"]).code(1);
    assert!(check.stdout.contains(finding), "{}", check.stdout);

    // Logged once: not listed again within the hour, and not logged again after it.
    at(&mut env, &api, "2026-11-20T12:30:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 1);
    at(&mut env, &api, "2026-11-20T13:01:00Z");
    let run = env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 2);
    assert!(!run.stderr.contains("not an active key"), "{}", run.stderr);

    // The key is active again (or the id fixed): the next listing clears the finding.
    api.put_key("apikey_prod", "Production key", "active");
    at(&mut env, &api, "2026-11-20T14:02:00Z");
    env.run(&["sync"]).ok();
    assert_nothing_unlisted(&env);

    let always = format!("[discovery]\napi_keys = \"always\"\n{config}");
    env.write_config(&always);
    let out = env.run(&["sync", "--full"]).ok();
    assert!(
        out.stdout.starts_with("synced 1 account"),
        "within the hour, no listing yet: {}",
        out.stdout
    );
    at(&mut env, &api, "2026-11-20T15:03:00Z");
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stdout.starts_with("synced 2 accounts"),
        "configured key not doubled: {}",
        out.stdout
    );
}

/// An edited config is checked on the next sync, not within the hour: an account added
/// with a mistyped key id is told the minute after; a reordered config lists nothing again.
#[test]
fn an_id_added_to_the_config_is_checked_on_the_next_sync() {
    let prod = "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\n";
    let research = "[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\n";
    let (mut env, api) = setup(&format!("{prod}\n{research}"), "2026-11-20T12:00:00Z");
    api.put_key("apikey_prod", "Production key", "active");
    api.put_workspaces(&["wrkspc_r"]);
    env.run(&["sync"]).ok();
    assert_eq!((api.count(KEYS_PATH), api.count(WORKSPACES_PATH)), (1, 1));

    // Reordered: the same ids, nothing listed again within the hour.
    env.write_config(&format!("{research}\n{prod}"));
    at(&mut env, &api, "2026-11-20T12:10:00Z");
    env.run(&["sync"]).ok();
    assert_eq!((api.count(KEYS_PATH), api.count(WORKSPACES_PATH)), (1, 1));

    // An account added with a typo: both lists are read at once, and the typo is told.
    let typo = "[[accounts]]\nname = \"typo\"\napi_key_id = \"apikey_prdo\"\n";
    env.write_config(&format!("{research}\n{prod}\n{typo}"));
    at(&mut env, &api, "2026-11-20T12:11:00Z");
    let run = env.run(&["sync"]).ok();
    assert_eq!((api.count(KEYS_PATH), api.count(WORKSPACES_PATH)), (2, 1));
    let finding = "typo: api_key_id apikey_prdo is not an active key of the organization (listed 2026-11-20 12:11 UTC)";
    assert!(run.stderr.contains(finding), "{}", run.stderr);
    assert!(!run.stderr.contains("production:"), "{}", run.stderr);

    // The id fixed: checked at once again, and the finding goes.
    let fixed = typo.replace("apikey_prdo", "apikey_prod2");
    api.put_key("apikey_prod2", "Second production key", "active");
    env.write_config(&format!("{research}\n{prod}\n{fixed}"));
    at(&mut env, &api, "2026-11-20T12:12:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 3);
    assert_nothing_unlisted(&env);
}

/// `api_keys = "never"` never lists the keys, even when the hourly check would be due: no
/// check of configured ids, and what an earlier listing found is forgotten.
#[test]
fn never_lists_the_keys_and_forgets_what_a_listing_found() {
    let config = "[[accounts]]\nname = \"typo\"\napi_key_id = \"apikey_prdo\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_key("apikey_prod", "Production key", "active");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 1);
    assert!(
        env.run(&["status"])
            .ok()
            .stdout
            .contains("typo: api_key_id apikey_prdo is not")
    );

    env.write_config(&format!("[discovery]\napi_keys = \"never\"\n{config}"));
    for t in ["2026-11-20T12:01:00Z", "2026-11-20T13:30:00Z"] {
        at(&mut env, &api, t);
        env.run(&["sync"]).ok();
    }
    assert_eq!(api.count(KEYS_PATH), 1, "never listed again");
    assert_nothing_unlisted(&env);
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("discovery:    never (no key listing: configured key ids not checked)"),
        "{check}"
    );

    env.write_config(config);
    at(&mut env, &api, "2026-11-20T13:31:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(KEYS_PATH), 2, "listed again");
    assert!(
        env.run(&["status"])
            .ok()
            .stdout
            .contains("typo: api_key_id apikey_prdo is not")
    );
}

/// A configured `workspace_id` that the organization does not list (a typo, an archived
/// workspace) is told like a key; the Default Workspace is never checked (it has no id).
#[test]
fn configured_workspaces_are_checked_against_the_list() {
    let config = "[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\n\n\
                  [[accounts]]\nname = \"typo\"\nworkspace_id = \"wrkspc_rx\"\n\n\
                  [[accounts]]\nname = \"default-ws\"\nworkspace_id = \"default\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    let prom = env.path().join("quota.prom");
    env.write_config(&format!(
        "{config}\n[metrics]\ntextfile = \"{}\"\n",
        prom.display()
    ));
    let unlisted = |prom: &std::path::Path| {
        let m = crate::notify::parse_textfile(&std::fs::read_to_string(prom).unwrap());
        let of = |account: &str| {
            m.get(&format!("quota_account_unlisted{{account=\"{account}\"}}"))
                .copied()
        };
        (of("research"), of("typo"), of("default-ws"))
    };
    api.put_workspaces(&["wrkspc_r", "wrkspc_other"]);
    let run = env.run(&["sync"]).ok();
    assert_eq!(unlisted(&prom), (Some(0.0), Some(1.0), None));
    assert_eq!(api.count(WORKSPACES_PATH), 1);
    assert_eq!(api.count(KEYS_PATH), 0, "no account names a key");
    let finding = "typo: workspace_id wrkspc_rx is not a workspace of the organization (listed 2026-11-20 12:00 UTC): its usage reads 0";
    assert!(run.stderr.contains(finding), "{}", run.stderr);
    assert!(!run.stderr.contains("research:"), "{}", run.stderr);
    let status = env.run(&["status"]).ok().stdout;
    assert!(
        status.contains(finding) && !status.contains("default-ws:"),
        "{status}"
    );
    let check = env.run(&["config", "check", "--strict"]).code(1);
    assert!(check.stdout.contains(finding), "{}", check.stdout);

    // A failing listing is an advisory read, not a finding: a warning each run, shown by
    // `health` and the textfile, but the sync succeeds, quota stays healthy and no
    // sync_failing alert is raised, however long it fails. The next listing is whole.
    api.fail_path(
        WORKSPACES_PATH,
        Fault::Status {
            status: 403,
            kind: "permission_error",
            retry_after: None,
        },
    );
    for t in ["2026-11-20T13:01:00Z", "2026-11-20T13:30:00Z"] {
        at(&mut env, &api, t);
        let run = env.run(&["sync"]).ok();
        assert!(
            run.stderr
                .contains("the configured workspace check failed (tried again on the next sync)"),
            "{}",
            run.stderr
        );
    }
    assert!(env.run(&["status"]).ok().stdout.contains(finding));
    assert_eq!(unlisted(&prom), (Some(0.0), Some(1.0), None));
    let health = env.run(&["health", "--json"]).ok().json();
    let check = health["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["read"] == "workspace_check")
        .expect("the workspace check's read");
    assert_eq!(
        (check["failures"].as_u64(), &health["healthy"]),
        (Some(2), &Value::Bool(true))
    );
    let m = crate::notify::parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(m["quota_read_success{read=\"workspace_check\"}"], 0.0);
    assert!(env.open_alerts().is_empty(), "{:?}", env.open_alerts());
    api.heal();
    api.put_workspaces(&["wrkspc_r", "wrkspc_rx"]);
    at(&mut env, &api, "2026-11-20T13:31:00Z");
    env.run(&["sync"]).ok();
    assert_nothing_unlisted(&env);
    assert_eq!(unlisted(&prom), (Some(0.0), Some(0.0), None));
}

#[test]
fn cost_limits_are_exact_and_polled_at_most_every_15_minutes() {
    let config = "[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\ncost_limit_usd = \"10.00\"\n\n\
                  [[accounts]]\nname = \"everything\"\norganization = true\ncost_limit_usd = \"1000\"\n\n\
                  [[accounts]]\nname = \"default-ws\"\nworkspace_id = \"default\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_cost(Some("wrkspc_r"), "2026-11-19", "500.10"); // $5.001
    api.put_cost(Some("wrkspc_r"), "2026-11-20", "350.005"); // $3.50005
    api.put_cost(None, "2026-11-20", "0.1"); // $0.001, Default Workspace
    env.run(&["sync"]).ok();
    assert_eq!(api.count(COST_PATH), 1);
    let req = api
        .requests()
        .into_iter()
        .find(|r| r.path == COST_PATH)
        .unwrap();
    assert_eq!(req.params("group_by[]"), ["workspace_id"]);
    assert_eq!(req.param("starting_at"), Some("2026-11-01T00:00:00Z"));
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(
        s[0]["quotas"]["cost_usd"]["used"], "8.50105",
        "exact, in dollars"
    );
    assert_eq!(s[0]["quotas"]["cost_usd"]["limit"], "10.00");
    assert_eq!(s[1]["quotas"]["cost_usd"]["used"], "8.50205");
    assert_eq!(
        s[2]["quotas"]["cost_usd"]["measured"], true,
        "measured, even without a limit"
    );
    assert_eq!(s[2]["quotas"]["cost_usd"]["used"], "0.001");
    let alerts = env.open_alerts();
    assert_eq!(
        (
            alerts[0]["quota_type"].as_str(),
            alerts[0]["current_value"].as_str()
        ),
        (Some("cost_usd"), Some("8.50105"))
    );
    assert!(env.run(&["status"]).ok().stdout.contains("$8.50"));

    at(&mut env, &api, "2026-11-20T12:10:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(COST_PATH), 1, "not before 15 minutes");
    api.put_cost(Some("wrkspc_r"), "2026-11-20", "600"); // late data replaces the day
    at(&mut env, &api, "2026-11-20T12:15:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(COST_PATH), 2);
    let req = api
        .requests()
        .into_iter()
        .rfind(|r| r.path == COST_PATH)
        .unwrap();
    assert_eq!(req.param("starting_at"), Some("2026-11-19T00:00:00Z"));
    let s = env.status_of("research");
    assert_eq!(s[0]["quotas"]["cost_usd"]["used"], "11.001");
    assert_eq!(s[0]["status"], "exhausted");
}

#[test]
fn cost_is_not_measured_before_the_first_cost_report() {
    let config = "[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\ncost_limit_usd = \"10.00\"\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    env.run(&["check"]).ok();
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["cost_usd"]["measured"], false);
    // The cost report failing does not lose the usage: stored, and the exit code says partly.
    api.put(Usage::new(
        Some("apikey_r"),
        Some("wrkspc_r"),
        "2026-11-20",
        10,
        0,
    ));
    api.fail_path(
        COST_PATH,
        crate::standin::Fault::Status {
            status: 500,
            kind: "api_error",
            retry_after: Some(0),
        },
    );
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("the cost report failed") && run.error_line().contains(COST_PATH),
        "{}",
        run.stderr
    );
    assert!(run.stdout.starts_with("synced 1 account"), "{}", run.stdout);
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 10);
    assert_eq!(s[0]["quotas"]["cost_usd"]["measured"], false);
}

#[test]
fn forecast_alert_when_the_projection_reaches_the_limit() {
    let config =
        "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 10000\n";
    let (mut env, api) = setup(config, "2026-11-10T12:00:00Z");
    // 500 a day: 4,500 used by the 10th, 14,750 projected by Dec 1, the limit on the 21st.
    for d in 1..=9 {
        api.put(Usage::new(
            Some("apikey_prod"),
            None,
            &format!("2026-11-{d:02}"),
            500,
            0,
        ));
    }
    env.run(&["sync"]).ok();
    let open = env.open_alerts();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (
            open[0]["type"].as_str(),
            open[0]["severity"].as_str(),
            open[0]["threshold"].as_i64()
        ),
        (Some("forecast_exceeded"), Some("warning"), Some(0))
    );
    assert!(
        open[0]["message"]
            .as_str()
            .unwrap()
            .contains("projected to reach its limit"),
        "{}",
        open[0]["message"]
    );
    let s = env.run(&["status", "--json"]).ok().json();
    let f = &s[0]["quotas"]["tokens"]["forecast"];
    // 4,500 used + 500 a day × 20.5 days left.
    assert_eq!(f["projected"], 14750, "{f}");
    assert!(
        f["exhausts_at"].as_str().unwrap().starts_with("2026-11-21"),
        "{f}"
    );
    env.run(&["sync"]).ok();
    assert_eq!(env.alert_rows().len(), 1, "once per identity");

    // A corrected, slower week: the projection falls under 90 % and the warning recovers.
    for d in 1..=9 {
        api.put(Usage::new(
            Some("apikey_prod"),
            None,
            &format!("2026-11-{d:02}"),
            100,
            0,
        ));
    }
    at(&mut env, &api, "2026-11-10T13:00:00Z");
    env.run(&["sync", "--full"]).ok();
    assert!(env.open_alerts().is_empty());
    assert_eq!(env.alert_rows()[0].4.as_deref(), Some("recovered"));
}

#[test]
fn no_forecast_before_a_fifth_of_the_period() {
    let config =
        "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";
    let (env, api) = setup(config, "2026-11-05T12:00:00Z");
    for d in 1..=4 {
        api.put(Usage::new(
            Some("apikey_prod"),
            None,
            &format!("2026-11-{d:02}"),
            150,
            0,
        ));
    }
    env.run(&["sync"]).ok();
    assert!(env.open_alerts().is_empty(), "{:?}", env.open_alerts());
    assert_eq!(
        env.run(&["status", "--json"]).ok().json()[0]["quotas"]["tokens"]["forecast"],
        Value::Null
    );
}

#[test]
fn discovery_logs_a_summary_not_a_line_per_key() {
    let (mut env, api) = setup("", "2026-11-20T12:00:00Z");
    for i in 0..30 {
        api.put_key(&format!("apikey_{i:05}"), &format!("Key {i:02}"), "active");
    }
    let run = env.run(&["-v", "sync"]).ok();
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("discovered"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("discovered 30 API key accounts: key-00 … key-29"),
        "{}",
        lines[0]
    );
    // 25 keys go: 20 lines, then a count.
    for i in 0..25 {
        api.put_key(
            &format!("apikey_{i:05}"),
            &format!("Key {i:02}"),
            "archived",
        );
    }
    at(&mut env, &api, "2026-11-20T13:01:00Z");
    let run = env.run(&["sync"]).ok();
    let gone = run
        .stderr
        .lines()
        .filter(|l| l.contains("is no longer active"))
        .count();
    assert_eq!(gone, 20, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("5 more API key accounts are no longer active"),
        "{}",
        run.stderr
    );
}

/// Pages of keys are staged as they come and stored only once the listing is whole: a
/// listing that fails on its second page records no key, and the next run lists again.
#[test]
fn a_listing_cut_short_records_no_key() {
    let (env, api) = setup("[defaults]\ntoken_limit = 1000\n", "2026-11-20T12:00:00Z");
    for i in 0..1500 {
        api.put_key(&format!("apikey_{i:05}"), &format!("Key {i}"), "active");
    }
    // The first request (page 1 of the keys) is served; page 2 (and the rest of the run) is
    // refused.
    api.fail_after(
        1,
        Fault::Status {
            status: 403,
            kind: "permission_error",
            retry_after: None,
        },
    );
    env.run(&["sync"]).code(1);
    assert_eq!(env.count("SELECT count(*) FROM api_keys"), 0);
    api.heal();
    let out = env.run_at("2026-11-20T12:01:00Z", &["sync"]).ok();
    assert!(
        out.stdout.starts_with("synced 1500 accounts"),
        "{}",
        out.stdout
    );
    assert_eq!(
        env.count("SELECT count(*) FROM api_keys WHERE active = TRUE"),
        1500
    );
}

/// Keys in either shape are discovered with their workspace: the GA shape gives it only as
/// `scope.workspace_id` (the top-level one is deprecated).
#[test]
fn keys_in_the_ga_shape_are_read_with_their_workspace() {
    let (env, api) = setup("[defaults]\ntoken_limit = 1000\n", "2026-11-20T12:00:00Z");
    api.put_ga_key("apikey_ga", "GA key", "wrkspc_ga");
    api.put_key("apikey_old_shape", "Old shape", "active");
    env.run(&["sync"]).ok();
    let ws = env
        .conn()
        .value("SELECT workspace_id FROM api_keys WHERE id = 'apikey_ga'")
        .unwrap();
    assert_eq!(ws, "wrkspc_ga");
    assert_eq!(env.status_of("ga-key")[0]["api_key_id"], "apikey_ga");
    assert_eq!(
        env.status_of("old-shape")[0]["api_key_id"],
        "apikey_old_shape"
    );
}

//! The Usage and Cost Analytics API as a source (ADMIN_API.md §3): rows paged by `limit`,
//! windows of at most 31 days with `ending_at`, runs cut short and carried on, counts that
//! are absent, and USD cost from `/analytics/cost`.

use serde_json::Value;

use crate::env::{at, setup};
use crate::standin::{
    ANALYTICS_BETA, ANALYTICS_COST_PATH, ANALYTICS_PATH, Analytics, COST_PATH, Fault, USAGE_PATH,
    Usage, WORKSPACES_PATH,
};

const ANALYTICS: &str = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\nrequest_limit = 100\ntoken_limit = 1000000\n";

fn stored_rows(env: &crate::env::TestEnv) -> i64 {
    env.count("SELECT count(*) FROM usage_daily")
}

#[test]
fn rows_are_paged_by_limit_with_ending_at_and_the_beta_header() {
    let config = format!("{ANALYTICS}\n[[accounts]]\nname = \"all\"\norganization = true\n");
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.set_analytics(Analytics {
        refreshed_at: Some("2026-11-20T08:00:00Z".into()),
        ..Analytics::default()
    });
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-19", 100, 10).requests(40));
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10).requests(45));
    let mut rows = Vec::new();
    for k in 0..1499 {
        for day in ["2026-11-19", "2026-11-20"] {
            rows.push(
                Usage::new(Some(&format!("apikey_{k:04}")), Some("wrkspc_w"), day, 1, 1)
                    .requests(1),
            );
        }
    }
    api.put_all(rows);
    let out = env.run(&["sync"]).ok();
    let reqs = api.requests_to(ANALYTICS_PATH);
    assert_eq!(
        reqs.len(),
        3,
        "3,000 rows in 3 pages of 1,000: {}",
        out.stdout
    );
    assert!(out.stdout.contains("3 pages, 3000 rows"), "{}", out.stdout);
    assert_eq!(api.count(USAGE_PATH), 0);
    for r in &reqs {
        assert_eq!(r.param("limit"), Some("1000"));
        // A new account: its whole period, in one window.
        assert_eq!(r.param("starting_at"), Some("2026-11-01T00:00:00Z"));
        assert_eq!(r.param("ending_at"), Some("2026-11-20T12:00:00Z"));
        assert_eq!(r.param("time_bucket_width"), Some("1d"));
        assert_eq!(r.params("group_by[]"), ["api_key_id", "workspace_id"]);
        assert_eq!(r.header("anthropic-beta"), Some(ANALYTICS_BETA));
    }
    assert_eq!(reqs[0].param("page"), None);
    assert!(reqs[1].param("page").is_some() && reqs[2].param("page") != reqs[1].param("page"));
    assert_eq!(stored_rows(&env), 3000);

    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["requests"]["used"], 85);
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 220);
    assert_eq!(s[1]["quotas"]["tokens"]["used"], 220 + 1499 * 2 * 2);
    assert_eq!(s[1]["quotas"]["requests"]["used"], 85 + 1499 * 2);
    assert_eq!(s[0]["data_as_of"], "2026-11-20T08:00:00Z");
    let alerts = env.open_alerts();
    let threshold: Vec<_> = alerts
        .iter()
        .filter(|a| a["type"] == "approaching_limit")
        .collect();
    assert_eq!(
        (
            threshold[0]["quota_type"].as_str(),
            threshold[0]["threshold"].as_i64()
        ),
        (Some("requests"), Some(80))
    );
}

#[test]
fn the_page_size_is_a_setting_of_1_to_1000() {
    let config = ANALYTICS.replace(
        "usage_source = \"analytics\"",
        "usage_source = \"analytics\"\nanalytics_page_size = 2",
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    for k in 0..5 {
        api.put(Usage::new(
            Some(&format!("apikey_{k}")),
            None,
            "2026-11-20",
            10 + k,
            0,
        ));
    }
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(ANALYTICS_PATH);
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.param("limit") == Some("2")));
    assert_eq!(stored_rows(&env), 5);
    for bad in ["0", "1001"] {
        env.write_config(&ANALYTICS.replace(
            "usage_source = \"analytics\"",
            &format!("usage_source = \"analytics\"\nanalytics_page_size = {bad}"),
        ));
        let run = env.run(&["sync"]).code(2);
        assert!(
            run.error_line().contains("api.analytics_page_size"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_40_day_gap_is_read_in_two_windows_without_skipping_or_doubling_a_day() {
    let (mut env, api) = setup(ANALYTICS, "2026-10-01T06:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-10-01", 1, 0));
    env.run(&["sync"]).ok();
    // The timer stops for 40 days; usage lands on the days at each window's edges.
    for (day, n) in [
        ("2026-10-01", 1),
        ("2026-10-31", 10),
        ("2026-11-01", 100),
        ("2026-11-10", 1000),
    ] {
        api.put(Usage::new(Some("apikey_prod"), None, day, n, 0));
    }
    api.clear_requests();
    at(&mut env, &api, "2026-11-10T06:00:00Z");
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(ANALYTICS_PATH);
    let ranges: Vec<(Option<&str>, Option<&str>)> = reqs
        .iter()
        .map(|r| (r.param("starting_at"), r.param("ending_at")))
        .collect();
    assert_eq!(
        ranges,
        [
            (Some("2026-10-01T00:00:00Z"), Some("2026-11-01T00:00:00Z")),
            (Some("2026-11-01T00:00:00Z"), Some("2026-11-10T06:00:00Z")),
        ]
    );
    // The November period counts 11-01 and 11-10, each once; October's days are stored too.
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 1100);
    assert_eq!(stored_rows(&env), 4);
}

#[test]
fn a_run_cut_by_its_deadline_keeps_whole_windows_and_the_next_run_carries_on() {
    let config = ANALYTICS.replace(
        "usage_source = \"analytics\"",
        "usage_source = \"analytics\"\ndeadline_secs = 1\ntimeout_secs = 0.5",
    );
    let (mut env, api) = setup(&config, "2026-09-01T06:00:00Z");
    env.run(&["sync"]).ok();
    for (day, n) in [("2026-09-05", 5), ("2026-10-05", 50), ("2026-10-20", 500)] {
        api.put(Usage::new(Some("apikey_prod"), None, day, n, 0));
    }
    at(&mut env, &api, "2026-10-20T06:00:00Z");
    api.clear_requests();
    // The first window is served; the second hangs until the deadline ends the run.
    api.fail_after(1, Fault::Hang);
    let run = env.run(&["sync"]).code(1);
    let line = run.error_line();
    assert!(
        line.contains("was cut short: the days before 2026-10-02 are stored and the next run carries on from there"),
        "{line}"
    );
    assert!(line.contains("nothing of this window was stored"), "{line}");
    let days: Vec<String> = env
        .conn()
        .rows("SELECT day FROM usage_daily ORDER BY day")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(days, ["2026-09-05"], "only the whole first window");
    assert_eq!(
        env.run(&["status", "--json"]).ok().json()[0]["last_synced_at"],
        "2026-09-01T06:00:00Z",
        "not marked as synced"
    );

    api.heal();
    api.clear_requests();
    at(&mut env, &api, "2026-10-20T06:01:00Z");
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(ANALYTICS_PATH);
    assert_eq!(reqs.len(), 1, "carried on, not started over");
    assert_eq!(reqs[0].param("starting_at"), Some("2026-10-02T00:00:00Z"));
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 550);
    assert_eq!(s[0]["last_synced_at"], "2026-10-20T06:01:00Z");
    let mark = env.count("SELECT count(*) FROM sync_state WHERE key = 'usage_resume'");
    assert_eq!(mark, 0, "a whole read clears the mark");
}

#[test]
fn each_count_left_out_is_not_measured_with_the_reason_and_never_zero() {
    let config = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\n\
                  token_limit = 1000\ninput_token_limit = 1000\noutput_token_limit = 1000\nrequest_limit = 1000\n";
    // (field left out, quotas measured: tokens, input_tokens, output_tokens, requests)
    let cases: [(&str, [bool; 4]); 6] = [
        ("uncached_input_tokens", [true, false, true, true]),
        ("cache_creation", [true, false, true, true]),
        ("cache_read_input_tokens", [true, false, true, true]),
        ("output_tokens", [true, true, false, true]),
        ("total_tokens", [true, true, true, true]),
        ("requests", [true, true, true, false]),
    ];
    for (field, measured) in cases {
        let (env, api) = setup(config, "2026-11-20T12:00:00Z");
        api.set_analytics(Analytics {
            drop: vec![field.to_string()],
            ..Analytics::default()
        });
        let mut u = Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 20).requests(3);
        u.cache_read = 7;
        api.put(u);
        let run = env.run(&["sync"]).ok();
        let s = env.run(&["status", "--json"]).ok().json();
        let q = &s[0]["quotas"];
        for (name, m) in ["tokens", "input_tokens", "output_tokens", "requests"]
            .iter()
            .zip(measured)
        {
            assert_eq!(q[name]["measured"], m, "{field} left out: {name}: {q}");
            if m {
                assert!(q[name].get("reason").is_none());
            } else {
                assert_eq!(q[name]["used"], Value::Null, "never a guessed 0");
                let reason = q[name]["reason"].as_str().unwrap();
                assert!(
                    reason.contains("reported no") && reason.contains(field),
                    "{reason}"
                );
            }
        }
        assert_eq!(
            q["tokens"]["used"], 127,
            "{field}: the split, or the source's total"
        );
        // The total alone missing costs nothing: the split is there.
        let affects = field != "total_tokens";
        let warned = run
            .stderr
            .lines()
            .filter(|l| l.contains("reported no"))
            .count();
        assert_eq!(
            warned,
            usize::from(affects),
            "one warning line a sync: {}",
            run.stderr
        );
        if affects {
            assert!(run.stderr.contains(field), "{}", run.stderr);
            let table = env.run(&["status"]).ok().stdout;
            assert!(
                table.contains("not measured (production): the analytics source reported no"),
                "{table}"
            );
            let check = env.run(&["config", "check"]).ok().stdout;
            assert!(
                check.contains("not measured: the analytics source reported no"),
                "{check}"
            );
        }
        let column = match field {
            "cache_creation" => "cache_creation_5m_tokens",
            "cache_read_input_tokens" => "cache_read_tokens",
            f => f,
        };
        let stored = env
            .conn()
            .value(&format!("SELECT {column} FROM usage_daily"));
        assert_eq!(stored, None, "{field}: NULL in the database, not 0");
    }
}

#[test]
fn a_malformed_count_is_an_error_naming_the_field_and_stores_nothing() {
    let (env, api) = setup(ANALYTICS, "2026-11-20T12:00:00Z");
    api.fail_next(&[Fault::Body(
        r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","ending_at":"2026-11-21T00:00:00Z","group":{"api_key_id":"apikey_prod"},"usage":{"output_tokens":-5}}],"has_more":false,"next_page":null}"#.into(),
    )]);
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line()
            .contains("data[0].usage.output_tokens = -5 is not a 64-bit count"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_rows(&env), 0);
}

#[test]
fn a_repeating_cursor_is_an_error_and_stores_nothing() {
    let (env, api) = setup(ANALYTICS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10));
    api.fail_path(ANALYTICS_PATH, Fault::RepeatingCursor);
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("cursor repeated"),
        "{}",
        run.stderr
    );
    assert_eq!(stored_rows(&env), 0);
}

#[test]
fn pagination_still_running_at_the_deadline_is_an_error_and_stores_nothing() {
    let config = ANALYTICS.replace(
        "usage_source = \"analytics\"",
        "usage_source = \"analytics\"\ndeadline_secs = 1",
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10));
    api.fail_path(ANALYTICS_PATH, Fault::EndlessCursor);
    let started = std::time::Instant::now();
    let run = env.run(&["sync"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let line = run.error_line();
    assert!(
        line.contains("deadline") && line.contains("nothing of this window was stored"),
        "{line}"
    );
    assert!(api.count(ANALYTICS_PATH) > 64, "no fixed page cap");
    assert_eq!(stored_rows(&env), 0);
}

/// Dollars per API key: with the analytics source, the cost read is grouped by key too
/// (while a key account has a cost limit), and a key's cost limit is measured exact to the
/// cent, from its own rows only.
#[test]
fn a_key_account_is_measured_in_dollars_from_its_own_cost_rows() {
    let config = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ncost_limit_usd = \"10.00\"\n\n[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\ncost_limit_usd = \"100.00\"\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put_key_cost("apikey_prod", Some("wrkspc_r"), "2026-11-19", "500.25");
    api.put_key_cost("apikey_prod", Some("wrkspc_r"), "2026-11-20", "349.75");
    api.put_key_cost("apikey_other", Some("wrkspc_r"), "2026-11-20", "5000");
    api.put_cost(Some("wrkspc_r"), "2026-11-20", "150");
    env.run(&["sync"]).ok();
    let reqs = api.requests_to(ANALYTICS_COST_PATH);
    assert_eq!(reqs.len(), 1, "still one cost read");
    assert_eq!(reqs[0].params("group_by[]"), ["api_key_id", "workspace_id"]);
    let prod = env.status_of("prod");
    // 500.25 + 349.75 cents = $8.50 of $10.00: 85 %, a warning.
    assert_eq!(prod[0]["quotas"]["cost_usd"]["used"], "8.5", "{prod}");
    let alerts = env.open_alerts();
    let warning: Vec<_> = alerts
        .iter()
        .filter(|a| {
            a["account"] == "prod"
                && a["quota_type"] == "cost_usd"
                && a["type"] == "approaching_limit"
        })
        .collect();
    assert_eq!(warning.len(), 1, "{alerts:?}");
    assert_eq!(
        (
            warning[0]["threshold"].as_i64(),
            warning[0]["severity"].as_str()
        ),
        (Some(80), Some("warning"))
    );
    // The workspace sums every key's cost and its own: 850 + 5000 + 150 cents = $60.
    assert_eq!(
        env.status_of("research")[0]["quotas"]["cost_usd"]["used"],
        "60"
    );
}

/// With the messages source a key's cost stays not measured, and the reason says what to do;
/// the cost read is per workspace then.
#[test]
fn a_key_cost_limit_needs_the_analytics_source() {
    let config =
        "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ncost_limit_usd = \"10.00\"\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10));
    api.put_key_cost("apikey_prod", None, "2026-11-20", "900");
    env.run(&["sync"]).ok();
    assert_eq!(api.count(COST_PATH), 0, "no account reads cost");
    let prod = env.status_of("prod");
    assert_eq!(
        prod[0]["quotas"]["cost_usd"]["used"],
        serde_json::Value::Null,
        "{prod}"
    );
    let status = env.run(&["status"]).ok().stdout;
    assert!(
        status.contains("set [api] usage_source = \"analytics\" for cost per API key"),
        "{status}"
    );
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(check.contains("for cost per API key"), "{check}");
}

#[test]
fn cost_comes_from_analytics_cost_in_exact_cents() {
    let config = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\ncost_limit_usd = \"10.00\"\n";
    for as_number in [false, true] {
        let (env, api) = setup(config, "2026-11-20T12:00:00Z");
        api.set_analytics(Analytics {
            amount_as_number: as_number,
            ..Analytics::default()
        });
        api.put_cost(Some("wrkspc_r"), "2026-11-18", "300");
        api.put_cost(Some("wrkspc_r"), "2026-11-19", "200.5");
        api.put_cost(Some("wrkspc_r"), "2026-11-20", "349.5");
        api.put_cost(Some("wrkspc_other"), "2026-11-20", "99999");
        env.run(&["sync"]).ok();
        assert_eq!(
            api.count(COST_PATH),
            0,
            "the legacy cost report is not called"
        );
        let reqs = api.requests_to(ANALYTICS_COST_PATH);
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].header("anthropic-beta"), Some(ANALYTICS_BETA));
        assert_eq!(reqs[0].params("group_by[]"), ["workspace_id"]);
        assert_eq!(reqs[0].param("starting_at"), Some("2026-11-01T00:00:00Z"));
        assert_eq!(reqs[0].param("ending_at"), Some("2026-11-20T12:00:00Z"));
        assert_eq!(reqs[0].param("limit"), Some("1000"));
        let s = env.run(&["status", "--json"]).ok().json();
        // 300 + 200.5 + 349.5 cents = $8.50: 85 % of $10, a warning.
        assert_eq!(
            s[0]["quotas"]["cost_usd"]["used"], "8.5",
            "as_number {as_number}"
        );
        let alerts = env.open_alerts();
        let threshold = alerts
            .iter()
            .find(|a| a["type"] == "approaching_limit")
            .unwrap();
        assert_eq!(
            (
                threshold["quota_type"].as_str(),
                threshold["threshold"].as_i64(),
                threshold["severity"].as_str()
            ),
            (Some("cost_usd"), Some(80), Some("warning"))
        );
    }
}

#[test]
fn a_failing_cost_endpoint_keeps_the_usage_and_names_the_endpoint() {
    let config = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\ncost_limit_usd = \"10.00\"\ntoken_limit = 1000\n";
    let (env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(
        Some("apikey_a"),
        Some("wrkspc_r"),
        "2026-11-20",
        900,
        0,
    ));
    api.fail_path(
        ANALYTICS_COST_PATH,
        Fault::Status {
            status: 403,
            kind: "permission_error",
            retry_after: None,
        },
    );
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("the cost report failed")
            && run.error_line().contains(ANALYTICS_COST_PATH),
        "{}",
        run.stderr
    );
    assert_eq!(stored_rows(&env), 1, "usage kept");
}

/// Rows in a layout the contract does not have (no `usage` object) fail the sync with one
/// line naming the endpoint and the path; nothing is stored and status is unchanged.
#[test]
fn rows_without_a_usage_object_fail_the_sync_and_store_nothing() {
    let (mut env, api) = setup(ANALYTICS, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 10).requests(4));
    env.run(&["sync"]).ok();
    let before = env.run(&["status", "--json"]).ok().stdout;
    api.set_analytics(Analytics {
        nested: true,
        ..Analytics::default()
    });
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 500, 10).requests(9));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    let run = env.run(&["sync"]).code(1);
    assert_eq!(
        run.error_line(),
        "quota: error: GET /v1/organizations/analytics/usage: malformed response: page 1 data[0].usage is missing; nothing was stored"
    );
    assert_eq!(stored_rows(&env), 1);
    at(&mut env, &api, "2026-11-20T12:00:00Z");
    assert_eq!(env.run(&["status", "--json"]).ok().stdout, before);
}

/// An expired cursor (410) on page 2 restarts the window from page 1, once, and the rows
/// are counted once; a second 410 fails the sync clearly.
#[test]
fn an_expired_cursor_restarts_the_window_once() {
    let config = ANALYTICS.replace("[api]\n", "[api]\nanalytics_page_size = 2\n");
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    for k in 0..5 {
        api.put(Usage::new(
            Some(&format!("apikey_{k}")),
            None,
            "2026-11-20",
            10,
            0,
        ));
    }
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 0));
    let gone = Fault::Status {
        status: 410,
        kind: "not_found_error",
        retry_after: None,
    };
    api.fail_once_after(1, gone.clone());
    env.run(&["sync"]).ok();
    let pages: Vec<Option<String>> = api
        .requests_to(ANALYTICS_PATH)
        .iter()
        .map(|r| r.param("page").map(String::from))
        .collect();
    assert_eq!(
        pages.len(),
        5,
        "page 1, page 2 (410), then pages 1 to 3: {pages:?}"
    );
    assert!(pages[1].is_some() && pages[2].is_none(), "{pages:?}");
    assert_eq!(stored_rows(&env), 6, "every row once");
    assert_eq!(
        env.status_of("production")[0]["quotas"]["tokens"]["used"],
        100
    );

    // A 410 on page 2, and another on page 2 of the restarted read: a clear failure.
    api.clear_requests();
    api.fail_once_after(1, gone.clone());
    api.fail_after(3, gone);
    let run = env
        .run_at("2026-11-20T12:01:00Z", &["sync", "--full"])
        .code(1);
    assert_eq!(api.requests_to(ANALYTICS_PATH).len(), 4);
    assert!(
        run.error_line().contains(": 410 not_found_error")
            && run.error_line().contains("the page cursor expired")
            && run.error_line().contains("page 2 of the window starting"),
        "{}",
        run.stderr
    );
}

/// With the analytics source, the Default Workspace's usage comes under its real id (the
/// legacy reports give null): quota learns that id from the workspaces list
/// (`include_default=true` lists it, the plain list does not), and a
/// `workspace_id = "default"` account counts it, as does the organization, once.
#[test]
fn the_default_workspace_is_counted_under_its_real_id() {
    let config = "[api]\nusage_source = \"analytics\"\n\n[[accounts]]\nname = \"default-ws\"\nworkspace_id = \"default\"\ntoken_limit = 1000\n\n[[accounts]]\nname = \"other-ws\"\nworkspace_id = \"wrkspc_other\"\n\n[[accounts]]\nname = \"org\"\norganization = true\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    api.set_analytics(Analytics {
        default_workspace: Some("wrkspc_default01".into()),
        ..Analytics::default()
    });
    api.put_workspaces(&["wrkspc_other"]);
    api.put(Usage::new(Some("apikey_a"), None, "2026-11-20", 850, 0));
    api.put(Usage::new(
        Some("apikey_b"),
        Some("wrkspc_other"),
        "2026-11-20",
        100,
        0,
    ));
    env.run(&["sync"]).ok();
    let lists: Vec<Option<String>> = api
        .requests_to(WORKSPACES_PATH)
        .iter()
        .map(|r| r.param("include_default").map(String::from))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    let used = |env: &crate::env::TestEnv, name: &str| {
        env.status_of(name)[0]["quotas"]["tokens"]["used"].clone()
    };
    assert_eq!(used(&env, "default-ws"), 850);
    assert_eq!(used(&env, "other-ws"), 100);
    assert_eq!(used(&env, "org"), 950);
    assert_eq!(env.open_alerts()[0]["account"], "default-ws");
    // A steady sync that changes only the Default Workspace's usage evaluates its account.
    api.put(Usage::new(Some("apikey_a"), None, "2026-11-20", 990, 0));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(used(&env, "default-ws"), 990);
    assert_eq!(
        env.open_alerts()[0]["severity"],
        "critical",
        "the 95 % alert of the incremental pass"
    );
    // Within the hour the list is not read again.
    assert_eq!(api.count(WORKSPACES_PATH), 2);
}

//! Day and week windows beside the billing period: each instance its own ladder, rolled over
//! at 00:00 UTC and on Monday, told through the channels; and bad window configs refused.

use crate::capture::Capture;
use crate::env::{TestEnv, at, setup};
use crate::standin::Usage;

/// A key with a period limit of 85,000 tokens and a daily one of 10,000.
fn daily(hook: &Capture) -> String {
    format!(
        "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 85000\n\n\
         [accounts.daily]\ntoken_limit = 10000\n\n\
         [[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    )
}

#[test]
fn a_daily_limit_warns_on_its_own_and_rolls_over_at_utc_midnight() {
    let hook = Capture::start();
    let (mut env, api) = setup(&daily(&hook), "2026-12-04T12:00:00Z");
    // 8,500 tokens today: 85 % of the day, 10 % of the period.
    api.put(Usage::new(
        Some("apikey_prod"),
        None,
        "2026-12-04",
        8_000,
        500,
    ));
    env.run(&["sync"]).ok();
    let alerts = env.open_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        (
            a["window"].as_str(),
            a["type"].as_str(),
            a["severity"].as_str(),
            a["threshold"].as_i64(),
            a["current_value"].as_i64(),
            a["limit_value"].as_i64(),
        ),
        (
            Some("day"),
            Some("approaching_limit"),
            Some("warning"),
            Some(80),
            Some(8_500),
            Some(10_000)
        )
    );
    assert_eq!(
        (a["period_start"].as_str(), a["period_end"].as_str()),
        (Some("2026-12-04T00:00:00Z"), Some("2026-12-05T00:00:00Z"))
    );
    let status = env.status_of("prod");
    assert_eq!(status[0]["quotas"]["tokens"]["used"], 8_500);
    assert_eq!(status[0]["quotas"]["tokens"]["percentage"], 10.0);
    assert_eq!(status[0]["windows"]["day"]["tokens"]["percentage"], 85.0);
    assert_eq!(status[0]["windows"]["day"]["tokens"]["limit"], 10_000);
    let table = env.run(&["alerts", "list"]).ok().stdout;
    assert!(table.contains("tokens/day"), "{table}");
    let table = env.run(&["status"]).ok().stdout;
    assert!(table.contains("tokens/day"), "{table}");
    // A run again changes nothing; the webhook heard one firing, with its window.
    env.run(&["sync"]).ok();
    assert_eq!(env.count("SELECT count(*) FROM alerts"), 1);
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        (bodies[0]["status"].as_str(), bodies[0]["window"].as_str()),
        (Some("firing"), Some("day"))
    );

    // The next UTC day: the day's alert resolves as a rollover, and the webhook hears it.
    at(&mut env, &api, "2026-12-05T00:05:00Z");
    env.run(&["sync"]).ok();
    assert!(env.open_alerts().is_empty());
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(
        (
            bodies[1]["status"].as_str(),
            bodies[1]["resolution"].as_str(),
            bodies[1]["window"].as_str()
        ),
        (Some("resolved"), Some("rollover"), Some("day"))
    );
    // The period's alerts are untouched: it had none, and has none.
    assert_eq!(
        env.count("SELECT count(*) FROM alerts WHERE window_kind = 'period'"),
        0
    );
    let status = env.status_of("prod");
    assert_eq!(status[0]["windows"]["day"]["tokens"]["used"], 0);
    assert_eq!(status[0]["quotas"]["tokens"]["used"], 8_500);
}

#[test]
fn a_weekly_limit_counts_from_monday_and_rolls_over_on_monday_at_midnight() {
    let config = "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\n\n\
                  [accounts.weekly]\ntoken_limit = 10000\n";
    let (mut env, api) = setup(config, "2026-12-06T23:50:00Z");
    // Sunday of the week before (not counted), Monday and Sunday of this one: 9,600 of 10,000.
    api.put(Usage::new(
        Some("apikey_prod"),
        None,
        "2026-11-29",
        50_000,
        0,
    ));
    api.put(Usage::new(
        Some("apikey_prod"),
        None,
        "2026-11-30",
        5_000,
        0,
    ));
    api.put(Usage::new(
        Some("apikey_prod"),
        None,
        "2026-12-06",
        4_600,
        0,
    ));
    env.run(&["sync"]).ok();
    let alerts = env.open_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (
            alerts[0]["window"].as_str(),
            alerts[0]["threshold"].as_i64(),
            alerts[0]["severity"].as_str(),
            alerts[0]["period_start"].as_str(),
        ),
        (
            Some("week"),
            Some(95),
            Some("critical"),
            Some("2026-11-30T00:00:00Z")
        )
    );
    // The period (December, billing day 1) holds Sunday's usage only.
    let status = env.status_of("prod");
    assert_eq!(status[0]["quotas"]["tokens"]["used"], 4_600);
    assert_eq!(status[0]["windows"]["week"]["tokens"]["used"], 9_600);

    // Still Sunday: nothing rolls over. Monday 00:00 UTC: the week's alert does.
    at(&mut env, &api, "2026-12-06T23:59:59Z");
    env.run(&["sync"]).ok();
    assert_eq!(env.open_alerts().len(), 1);
    at(&mut env, &api, "2026-12-07T00:00:30Z");
    env.run(&["sync"]).ok();
    assert!(env.open_alerts().is_empty());
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolution"], "rollover");
}

#[test]
fn bad_window_tables_exit_2_with_one_line_each() {
    let key = "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\n";
    for (table, says) in [
        (
            "[accounts.daily]\nthresholds = [50]\n",
            "accounts[0] (\"prod\").daily: sets no limit",
        ),
        ("[accounts.monthly]\ntoken_limit = 5\n", "monthly"),
        (
            "[accounts.daily]\ntoken_limit = 900\n\n[accounts.weekly]\ntoken_limit = 800\n",
            "accounts[0] (\"prod\").daily.token_limit: 900 is above the weekly token_limit (800)",
        ),
        (
            "[accounts.weekly]\ncost_limit_usd = 0\n",
            "weekly.cost_limit_usd: must be greater than 0",
        ),
    ] {
        let env = TestEnv::with_config(&format!("{key}\n{table}"));
        for cmd in [&["config", "check"][..], &["sync"], &["status"]] {
            let run = env.run(cmd).code(2);
            let line = run.error_line();
            assert!(line.contains(says), "{cmd:?} with {table:?}: {line}");
        }
        assert!(!env.path().join("quota.db").exists(), "nothing written");
    }
}

/// `[defaults.daily]` reaches every account, including discovered keys; an account's own
/// table overrides it limit by limit, and its thresholds apply to its windows.
#[test]
fn default_windows_reach_discovered_keys_and_accounts_override_them() {
    let config = "[discovery]\napi_keys = \"always\"\n\n[defaults]\nthresholds = [50, 100]\n\n[defaults.daily]\ntoken_limit = 1000\n\n\
                  [[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\nthresholds = [90]\n\n\
                  [accounts.daily]\nrequest_limit = 10\n";
    let (env, api) = setup(config, "2026-12-04T12:00:00Z");
    api.put_key("apikey_prod", "prod", "active");
    api.put_key("apikey_other", "other", "active");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-12-04", 950, 0));
    api.put(Usage::new(Some("apikey_other"), None, "2026-12-04", 600, 0));
    env.run(&["sync"]).ok();
    let mut open: Vec<(String, String, i64)> = env
        .open_alerts()
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap().to_string(),
                a["window"].as_str().unwrap().to_string(),
                a["threshold"].as_i64().unwrap(),
            )
        })
        .collect();
    open.sort();
    // prod: 95 % of its inherited daily token limit, on its own ladder (90); the
    // discovered key: 60 % on the defaults' (50).
    assert_eq!(
        open,
        [
            ("other".to_string(), "day".to_string(), 50),
            ("prod".to_string(), "day".to_string(), 90)
        ]
    );
    let prod = env.status_of("prod");
    assert_eq!(prod[0]["windows"]["day"]["tokens"]["limit"], 1000);
    assert_eq!(prod[0]["windows"]["day"]["requests"]["limit"], 10);
}

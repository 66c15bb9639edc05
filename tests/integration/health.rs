//! Never blind: a failing or stale sync shows in `status`, `alerts list`, `quota health`
//! (exit 1) and the textfile, and clears after one good run.

use crate::env::{ACCOUNTS, at, setup};
use crate::standin::{Fault, Usage};

#[test]
fn a_failure_streak_shows_everywhere_and_clears_after_one_good_run() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("quota.prom");
    let config = format!(
        "[api]\ndeadline_secs = 1\ntimeout_secs = 0.5\n{ACCOUNTS}\n[metrics]\ntextfile = \"{}\"\n",
        prom.display()
    );
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 0));
    env.run(&["sync"]).ok();
    let health = env.run(&["health"]).ok();
    assert!(health.stdout.ends_with("healthy\n"), "{}", health.stdout);
    assert_eq!(env.run(&["health", "--json"]).ok().json()["healthy"], true);

    api.fail_always(Fault::Status {
        status: 401,
        kind: "authentication_error",
        retry_after: None,
    });
    for t in [
        "2026-11-20T12:01:00Z",
        "2026-11-20T13:30:00Z",
        "2026-11-20T15:00:00Z",
    ] {
        at(&mut env, &api, t);
        env.run(&["sync"]).code(1);
    }
    let expected = "last successful sync 2026-11-20 12:00 UTC (3h 0m ago); 3 runs since 2026-11-20 12:01 UTC failed: GET /v1/organizations/usage_report/messages: 401 authentication_error";
    let status = env.run(&["status"]).ok().stdout;
    assert!(status.contains(expected), "{status}");
    // The streak is older than 15 minutes: a sync_failing alert is open, and the footer
    // says what is failing.
    let alerts = env.run(&["alerts", "list"]).ok().stdout;
    assert!(
        alerts.contains("sync_failing") || alerts.contains("critical  quota"),
        "{alerts}"
    );
    assert!(alerts.contains(expected), "{alerts}");
    let health = env.run(&["health"]).code(1);
    assert!(health.stdout.contains("usage read"), "{}", health.stdout);
    // In an 80-column terminal the table fits, the last error cut, never wrapped.
    let (narrow, code) = env.run_in_terminal_code(80, false, &["health"]);
    assert_eq!(code, 1, "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    let usage = narrow.lines().find(|l| l.starts_with("usage read"));
    let usage: Vec<&str> = usage.expect("the usage row").split_whitespace().collect();
    assert_eq!(
        usage[2..7],
        ["11-20", "12:00", "11-20", "12:01", "3"],
        "{narrow}"
    );
    assert!(usage[7..].join(" ").starts_with("GET /v1/"), "{narrow}");
    assert!(
        health.stdout.contains(&format!("not healthy: {expected}")),
        "{}",
        health.stdout
    );
    let json = env.run(&["health", "--json"]).code(1).json();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["data_age_seconds"], 3 * 3600);
    let usage = &json["reads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["read"] == "usage");
    let usage = usage.expect("the usage read");
    assert_eq!(usage["failures"], 3);
    assert_eq!(usage["failing_since"], "2026-11-20T12:01:00Z");
    let m = crate::notify::parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(m["quota_read_success{read=\"usage\"}"], 0.0);
    assert_eq!(m["quota_data_age_seconds"], 10_800.0);

    api.heal();
    at(&mut env, &api, "2026-11-20T15:01:00Z");
    env.run(&["sync"]).ok();
    env.run(&["health"]).ok();
    assert!(
        !env.run(&["status"])
            .ok()
            .stdout
            .contains("last successful sync")
    );
    let m = crate::notify::parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(m["quota_read_success{read=\"usage\"}"], 1.0);
    assert_eq!(m["quota_data_age_seconds"], 0.0);
}

/// A timer that stopped fails nothing, but its data grows old: that is not healthy either.
#[test]
fn old_data_without_a_failure_is_not_healthy() {
    let (mut env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-20T12:14:00Z");
    env.run(&["health"]).ok();
    at(&mut env, &api, "2026-11-20T12:16:00Z");
    let health = env.run(&["health"]).code(1);
    assert!(
        health.stdout.contains("is the quota-sync timer running?"),
        "{}",
        health.stdout
    );
}

/// With the Admin API down, one critical `sync_failing` alert reaches the webhook once the
/// usage read has failed for 15 minutes, once per streak; one good run resolves it, and the
/// resolution is delivered too. It belongs to no account.
#[test]
fn sync_failing_is_delivered_once_per_streak_and_resolved_by_a_good_run() {
    let hook = crate::capture::Capture::start();
    let config = format!(
        "[api]\ndeadline_secs = 2\ntimeout_secs = 0.5\n{ACCOUNTS}\n[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    );
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    env.run(&["sync"]).ok();
    // A refusal fails at once (no retries): the test does not wait out a deadline.
    api.fail_always(Fault::Status {
        status: 401,
        kind: "authentication_error",
        retry_after: None,
    });
    for t in ["2026-11-20T12:01:00Z", "2026-11-20T12:10:00Z"] {
        at(&mut env, &api, t);
        env.run(&["sync"]).code(1);
    }
    assert!(hook.bodies().is_empty(), "not before 15 minutes");
    for t in [
        "2026-11-20T12:16:00Z",
        "2026-11-20T12:17:00Z",
        "2026-11-20T12:30:00Z",
    ] {
        at(&mut env, &api, t);
        env.run(&["sync"]).code(1);
    }
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "once per streak: {bodies:?}");
    let fired = &bodies[0];
    assert_eq!(fired["status"], "firing");
    assert_eq!(fired["type"], "sync_failing");
    assert_eq!(fired["severity"], "critical");
    assert_eq!(fired["account"], serde_json::Value::Null);
    assert_eq!(fired["quota_type"], serde_json::Value::Null);
    assert_eq!(fired["period_start"], "2026-11-20T12:01:00Z");
    let message = fired["message"].as_str().unwrap();
    assert!(
        message.starts_with("the usage read has failed since 2026-11-20 12:01 UTC (3 runs): GET /v1/organizations/usage_report/messages: 401 authentication_error"),
        "{message}"
    );
    let listed = env.run(&["alerts", "list"]).ok().stdout;
    assert!(
        listed.contains("quota") && listed.contains("usage"),
        "{listed}"
    );
    let json = env.run(&["alerts", "list", "--json"]).ok().json();
    assert_eq!(json[0]["type"], "sync_failing");

    api.heal();
    at(&mut env, &api, "2026-11-20T12:31:00Z");
    env.run(&["sync"]).ok();
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["id"], fired["id"]);
    assert_eq!(bodies[1]["resolution"], "recovered");
    assert!(
        env.run(&["alerts", "list"])
            .ok()
            .stdout
            .starts_with("no open alerts")
    );

    // A new streak is a new alert.
    api.fail_always(Fault::Status {
        status: 401,
        kind: "authentication_error",
        retry_after: None,
    });
    for t in ["2026-11-20T13:00:00Z", "2026-11-20T13:20:00Z"] {
        at(&mut env, &api, t);
        env.run(&["sync"]).code(1);
    }
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_ne!(bodies[2]["id"], fired["id"]);
}

/// A configuration warning is logged by the sync that first sees it, and again only when
/// the warnings change: not 1,440 times a day.
#[test]
fn configuration_warnings_are_logged_once() {
    let config = format!(
        "{ACCOUNTS}\n[[accounts]]\nname = \"r\"\napi_key_id = \"apikey_r\"\nrequest_limit = 10\n"
    );
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    let warning = "account \"r\": request_limit is not measured";
    assert!(env.run(&["sync"]).ok().stderr.contains(warning));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    let second = env.run(&["sync"]).ok().stderr;
    assert!(!second.contains(warning), "{second}");
    env.write_config(&config.replace("name = \"r\"", "name = \"s\""));
    at(&mut env, &api, "2026-11-20T12:02:00Z");
    let changed = env.run(&["sync"]).ok().stderr;
    assert!(
        changed.contains("account \"s\": request_limit is not measured"),
        "{changed}"
    );
}

/// A channel that answers 500 for 15 minutes is reported through the other channel as one
/// `delivery_failing` alert (never through itself); the textfile shows it failing; when it
/// works again the alert resolves and the other channel hears of that too.
#[test]
fn a_failing_channel_is_told_through_the_others() {
    let broken = crate::capture::Capture::start();
    let other = crate::capture::Capture::start();
    // 500 to the three attempts before 12:17 (the retries back off: 12:00, 12:05, 12:16).
    broken.reply(&vec![crate::capture::Reply::status(500); 3]);
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("quota.prom");
    let config = format!(
        "{ACCOUNTS}\n[[notify]]\nname = \"broken\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n[[notify]]\nname = \"other\"\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n[metrics]\ntextfile = \"{}\"\n",
        broken.url,
        other.url,
        prom.display()
    );
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    assert_eq!(other.bodies().len(), 1, "the 80 % warning");
    for t in [
        "2026-11-20T12:05:00Z",
        "2026-11-20T12:16:00Z",
        "2026-11-20T12:17:00Z",
    ] {
        at(&mut env, &api, t);
        env.run(&["sync"]).ok();
    }
    let told: Vec<serde_json::Value> = other
        .bodies()
        .into_iter()
        .filter(|b| b["type"] == "delivery_failing")
        .collect();
    assert_eq!(told.len(), 1, "once: {told:?}");
    assert_eq!(told[0]["status"], "firing");
    assert!(
        told[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the delivery to broken has failed since 2026-11-20 12:00 UTC"),
        "{}",
        told[0]["message"]
    );
    assert!(
        broken
            .bodies()
            .iter()
            .all(|b| b["type"] != "delivery_failing"),
        "never through the failing channel itself"
    );
    let m = crate::notify::parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(m["quota_read_success{read=\"delivery:broken\"}"], 0.0);
    assert!(m["quota_notifications_pending{channel=\"broken\"}"] >= 1.0);
    env.run(&["health"]).code(1);

    // It works again: the next retry goes through, and the alert resolves on the other
    // channel.
    at(&mut env, &api, "2026-11-20T14:00:00Z");
    env.run(&["sync"]).ok();
    let resolved: Vec<serde_json::Value> = other
        .bodies()
        .into_iter()
        .filter(|b| b["type"] == "delivery_failing" && b["status"] == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{:?}", other.bodies());
}

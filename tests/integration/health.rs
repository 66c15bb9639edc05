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
    let alerts = env.run(&["alerts", "list"]).ok().stdout;
    assert!(alerts.starts_with("no open alerts\n"), "{alerts}");
    assert!(alerts.contains(expected), "{alerts}");
    let health = env.run(&["health"]).code(1);
    assert!(health.stdout.contains("usage read"), "{}", health.stdout);
    assert!(
        health.stdout.contains(&format!("not healthy: {expected}")),
        "{}",
        health.stdout
    );
    let json = env.run(&["health", "--json"]).code(1).json();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["data_age_seconds"], 3 * 3600);
    assert_eq!(json["reads"][0]["read"], "usage");
    assert_eq!(json["reads"][0]["failures"], 3);
    assert_eq!(json["reads"][0]["failing_since"], "2026-11-20T12:01:00Z");
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

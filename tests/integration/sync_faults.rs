//! `quota sync` when the API misbehaves: retries, give-ups within the deadline, nothing
//! half-stored, clear one-line errors, and the admin key never leaking.

use std::time::{Duration, Instant};

use crate::capture::Capture;
use crate::env::{ACCOUNTS, setup};
use crate::env::{KEY, TestEnv};
use crate::standin::{Fault, StandIn, Usage};

fn fast() -> String {
    format!("[api]\ntimeout_secs = 0.5\ndeadline_secs = 2\n{ACCOUNTS}")
}

/// A database with one synced day and one open alert, then the stand-in's data changed: a
/// failed sync must leave exactly this.
fn synced_once() -> (TestEnv, StandIn, String) {
    let (env, api) = setup(&fast(), "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 990, 0));
    api.clear_requests();
    let snapshot = snapshot(&env);
    (env, api, snapshot)
}

fn snapshot(env: &TestEnv) -> String {
    let mut conn = env.conn();
    let mut out = String::new();
    for table in ["usage_daily", "alerts", "accounts", "outbox"] {
        for row in conn.rows(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3")) {
            out.push_str(&format!("{table}: {row:?}\n"));
        }
    }
    out
}

#[track_caller]
fn assert_untouched(env: &TestEnv, before: &str) {
    assert_eq!(snapshot(env), before, "a failed sync changed the database");
}

#[test]
fn retries_429_with_retry_after_then_succeeds() {
    let (env, api, _) = synced_once();
    api.fail_next(&[Fault::Status {
        status: 429,
        kind: "rate_limit_error",
        retry_after: Some(1),
    }]);
    let started = Instant::now();
    let out = env.run(&["sync"]).ok();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retry-after honoured"
    );
    assert_eq!(api.usage_requests(), 2);
    assert!(
        out.stderr.contains("429") && out.stderr.contains("retrying"),
        "{}",
        out.stderr
    );
    assert_eq!(env.open_alerts()[0]["threshold"], 95);
}

#[test]
fn retries_500_and_529_then_succeeds() {
    let (env, api, _) = synced_once();
    // `retry-after: 0`: the least wait, so the retries fit the short deadline whatever
    // the jitter would have drawn.
    api.fail_next(&[
        Fault::Status {
            status: 500,
            kind: "api_error",
            retry_after: Some(0),
        },
        Fault::Status {
            status: 529,
            kind: "overloaded_error",
            retry_after: Some(0),
        },
    ]);
    env.run(&["sync"]).ok();
    assert_eq!(api.usage_requests(), 3);
}

#[test]
fn server_errors_for_ever_give_up_within_the_deadline_and_change_nothing() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::Status {
        status: 500,
        kind: "api_error",
        retry_after: None,
    });
    let started = Instant::now();
    let run = env.run(&["sync"]).code(1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "deadline is 2 s, took {:?}",
        started.elapsed()
    );
    let line = run.error_line();
    assert!(
        line.contains("/v1/organizations/usage_report/messages") && line.contains("500"),
        "{line}"
    );
    assert!(
        line.contains("api_error: injected fault") && line.contains("request-id req_standin_"),
        "{line}"
    );
    assert!(line.contains("gave up after"), "{line}");
    assert!(api.usage_requests() >= 2);
    assert_untouched(&env, &before);
}

#[test]
fn spend_cap_is_not_retried_and_is_explained() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::SpendCap);
    let run = env.run(&["sync"]).code(1);
    assert_eq!(api.usage_requests(), 1);
    assert!(
        run.error_line().contains("spend cap") && run.error_line().contains("1st of next month"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);
}

#[test]
fn a_spend_limit_of_its_own_is_named_not_blamed_on_the_url() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::OwnSpendLimit);
    let run = env.run(&["sync"]).code(1);
    assert_eq!(api.usage_requests(), 1, "not retried");
    let line = run.error_line();
    assert!(
        line.contains("a spend limit it set itself")
            && line.contains("regain access on 2026-12-01"),
        "{line}"
    );
    assert!(!line.contains("base_url"), "{line}");
    assert_untouched(&env, &before);
}

#[test]
fn a_workspace_spend_limit_is_named_and_not_retried() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::WorkspaceSpendLimit);
    let run = env.run(&["sync"]).code(1);
    assert_eq!(api.usage_requests(), 1, "not retried");
    let line = run.error_line();
    assert!(
        line.contains("a workspace has reached a spend limit set for it"),
        "{line}"
    );
    assert!(!line.contains("base_url"), "{line}");
    assert_untouched(&env, &before);
}

#[test]
fn refused_key_is_explained_and_not_retried() {
    let (mut env, api, before) = synced_once();
    env.extra_env.push((
        "ANTHROPIC_ADMIN_API_KEY".into(),
        "sk-ant-admin01-WRONGKEY-0000".into(),
    ));
    let run = env.run(&["sync"]).code(1);
    assert_eq!(api.usage_requests(), 1);
    let line = run.error_line();
    assert!(
        line.contains("401")
            && line.contains("ANTHROPIC_ADMIN_API_KEY")
            && line.contains("request-id"),
        "{line}"
    );
    assert!(!run.stderr.contains("WRONGKEY"), "{}", run.stderr);
    assert_untouched(&env, &before);
}

#[test]
fn other_4xx_are_not_retried() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::Status {
        status: 403,
        kind: "permission_error",
        retry_after: None,
    });
    let run = env.run(&["sync"]).code(1);
    assert_eq!(api.usage_requests(), 1);
    assert!(
        run.error_line().contains("403 permission_error"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);
}

#[test]
fn truncated_and_malformed_bodies_store_nothing() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::Truncated);
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("malformed response"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);

    api.clear_requests();
    api.fail_always(Fault::Body(r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_input_tokens":1}]}],"has_more":false}"#.into()));
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("missing field `cache_creation`"),
        "{}",
        run.stderr
    );
    assert_eq!(api.usage_requests(), 1, "bad JSON is not retried");
    assert_untouched(&env, &before);

    api.fail_always(Fault::Overflow);
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("does not fit a 64-bit counter"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);

    api.fail_always(Fault::EndlessCursor);
    api.clear_requests();
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line()
            .contains("pagination did not end after 64 pages"),
        "{}",
        run.stderr
    );
    assert_eq!(api.usage_requests(), 64, "bounded");
    assert_untouched(&env, &before);

    api.fail_always(Fault::RepeatingCursor);
    let run = env.run(&["sync"]).code(1);
    assert!(
        run.error_line().contains("cursor repeated"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);
}

#[test]
fn a_trickling_server_cannot_outlive_the_deadline() {
    let (env, api, before) = synced_once();
    api.fail_always(Fault::Trickle(Duration::from_millis(500)));
    let started = Instant::now();
    let run = env.run(&["sync"]).code(1);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} with a 2 s deadline"
    );
    assert!(
        run.error_line().contains("timed out") || run.error_line().contains("malformed"),
        "{}",
        run.stderr
    );
    assert_untouched(&env, &before);
}

#[test]
fn redirects_are_not_followed_and_the_key_stays_home() {
    let (env, api, before) = synced_once();
    let elsewhere = Capture::start();
    api.fail_always(Fault::Redirect(format!(
        "{}/v1/organizations/usage_report/messages",
        elsewhere.url
    )));
    let run = env.run(&["sync"]).code(1);
    assert!(run.error_line().contains("redirect"), "{}", run.stderr);
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    assert_untouched(&env, &before);
}

#[test]
fn unreachable_api_is_a_clear_failure() {
    let mut env = TestEnv::with_config(&fast());
    env.api_url = Some(crate::env::nothing_listens());
    let started = Instant::now();
    let run = env.run(&["sync"]).code(1);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(run.error_line().contains("gave up after"), "{}", run.stderr);
}

#[test]
fn missing_admin_key_exits_2_naming_the_variable() {
    let env = TestEnv::with_config(ACCOUNTS);
    let mut c = env.command(&["sync"]);
    c.env_remove("ANTHROPIC_ADMIN_API_KEY");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ANTHROPIC_ADMIN_API_KEY"));
}

#[test]
fn key_from_a_file_or_a_systemd_credential() {
    let (env, api) = setup(ACCOUNTS, "2026-11-20T12:00:00Z");
    let creds = env.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("anthropic-admin-key"), format!("{KEY}\n")).unwrap();
    let mut c = env.command(&["sync"]);
    c.env_remove("ANTHROPIC_ADMIN_API_KEY")
        .env("CREDENTIALS_DIRECTORY", &creds);
    assert!(c.output().unwrap().status.success());
    assert_eq!(
        api.requests().last().unwrap().header("x-api-key"),
        Some(KEY)
    );

    let key_file = env.path().join("admin-key");
    std::fs::write(&key_file, KEY).unwrap();
    env.write_config(&format!(
        "[api]\nadmin_key_file = \"{}\"\n{ACCOUNTS}",
        key_file.display()
    ));
    let mut c = env.command(&["config", "check"]);
    c.env_remove("ANTHROPIC_ADMIN_API_KEY");
    let out = String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned();
    assert!(
        out.contains("admin_key_file") && out.contains("…9876") && !out.contains("TESTKEY"),
        "{out}"
    );
}

#[test]
fn the_admin_key_never_reaches_logs_output_or_the_database() {
    let (env, api) = setup(&fast(), "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 990, 0));
    let mut everything = String::new();
    api.fail_next(&[Fault::Status {
        status: 500,
        kind: "api_error",
        retry_after: Some(0),
    }]);
    for args in [
        &["-vvv", "sync"][..],
        &["sync", "--full"],
        &["status", "--json"],
        &["alerts", "list", "--json"],
        &["config", "check"],
    ] {
        let mut c = env.command(args);
        c.env("RUST_LOG", "trace");
        let out = c.output().unwrap();
        everything.push_str(&String::from_utf8_lossy(&out.stdout));
        everything.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    api.fail_always(Fault::Status {
        status: 401,
        kind: "authentication_error",
        retry_after: None,
    });
    let run = env.run(&["-vvv", "sync"]);
    everything.push_str(&run.stderr);
    assert!(
        everything.contains("GET /v1/organizations/usage_report/messages"),
        "trace logging ran: {everything}"
    );
    assert!(
        !everything.contains("TESTKEY"),
        "admin key leaked: {everything}"
    );
    assert!(
        !env.stored_bytes().windows(7).any(|w| w == b"TESTKEY"),
        "admin key in the database"
    );
}

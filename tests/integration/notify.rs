//! Notifications and exports: each channel's payload, retries, permanent failures, the kill
//! between sending and recording, filters, the textfile and the heartbeat.

use std::collections::BTreeMap;

use crate::capture::{Capture, Reply};
use crate::env::TestEnv;
use crate::env::{at, setup};
use crate::standin::{StandIn, Usage};

const PROD: &str =
    "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";

fn with_channels(channels: &str) -> (TestEnv, StandIn) {
    setup(&format!("{PROD}\n{channels}"), "2026-11-20T12:00:00Z")
}

fn webhook(capture: &Capture, extra: &str) -> String {
    format!(
        "[[notify]]\ntype = \"webhook\"\nurl = \"{}/hooks/SECRET-TOKEN\"\n{extra}\n",
        capture.url
    )
}

fn outbox(env: &TestEnv) -> Vec<(String, String, String, i64)> {
    env.conn()
        .rows("SELECT channel, event, state, attempts FROM outbox ORDER BY id")
        .into_iter()
        .map(|r| {
            let text = |i: usize| r[i].clone().unwrap();
            (text(0), text(1), text(2), text(3).parse().unwrap())
        })
        .collect()
}

#[test]
fn webhook_gets_the_alert_columns_and_status_without_the_admin_key() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    let reqs = hook.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/hooks/SECRET-TOKEN");
    assert!(
        reqs[0].header("x-api-key").is_none(),
        "the admin key went to a webhook"
    );
    let body = &hook.bodies()[0];
    assert_eq!(body["status"], "firing");
    assert_eq!(body["account"], "production");
    assert_eq!(body["threshold"], 80);
    assert_eq!(body["current_value"], 850);
    assert_eq!(body.as_object().unwrap().len(), 18);
    assert_eq!(body["window"], "period");
    assert_eq!(
        reqs[0].header("idempotency-key"),
        Some(format!("{}:firing", body["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(
        outbox(&env),
        [("webhook".into(), "firing".into(), "delivered".into(), 1)]
    );

    // Escalation: the new alert fires, the superseded one resolves.
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 960, 0));
    env.run(&["sync"]).ok();
    let bodies = hook.bodies();
    let events: Vec<(i64, &str)> = bodies[1..]
        .iter()
        .map(|b| {
            (
                b["threshold"].as_i64().unwrap(),
                b["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(events, [(80, "resolved"), (95, "firing")]);

    // Period end: resolved.
    at(&mut env, &api, "2026-12-01T00:05:00Z");
    env.run(&["sync"]).ok();
    let last = hook.bodies().pop().unwrap();
    assert_eq!(
        (last["status"].as_str(), last["resolution"].as_str()),
        (Some("resolved"), Some("period_ended"))
    );
}

#[test]
fn slack_batches_one_runs_alerts_into_one_readable_message() {
    let slack = Capture::start();
    let config = format!(
        "[[accounts]]\nname = \"batch\"\napi_key_id = \"apikey_batch\"\ntoken_limit = 100\n\n[[notify]]\ntype = \"slack\"\nurl = \"{}/services/T0/B0/XYZ\"\n",
        slack.url
    );
    let (env, api) = with_channels(&config);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 1000, 0));
    api.put(Usage::new(Some("apikey_batch"), None, "2026-11-20", 85, 0));
    env.run(&["sync"]).ok();
    let bodies = slack.bodies();
    assert_eq!(bodies.len(), 1, "one message for the run");
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(text.starts_with("*quota: 2 alert updates*"), "{text}");
    for needle in [
        "production tokens at 1,000 / 1,000 (100%)",
        "batch tokens at 85 / 100 (85%)",
        "period ends 2026-12-01 00:00 UTC",
        "resets in 10d 12h",
        "CRITICAL quota_exceeded",
        "WARNING approaching_limit",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in {text}");
    }
    let ids: Vec<String> = env
        .open_alerts()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.iter().all(|id| text.contains(id.as_str())), "{text}");
}

#[test]
fn pagerduty_triggers_and_resolves_by_dedup_key() {
    let pd = Capture::start();
    let (mut env, api) = with_channels(&format!(
        "[[notify]]\ntype = \"pagerduty\"\nrouting_key = \"R0UTINGKEY\"\nurl = \"{}/v2/enqueue\"\nmin_severity = \"critical\"\n",
        pd.url
    ));
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0)); // warning: filtered out
    env.run(&["sync"]).ok();
    assert!(pd.requests().is_empty(), "min_severity = critical");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 1000, 0));
    env.run(&["sync"]).ok();
    let b = pd.bodies();
    assert_eq!(
        b.len(),
        1,
        "the warning's resolution is filtered too: {b:?}"
    );
    assert_eq!(
        (b[0]["event_action"].as_str(), b[0]["routing_key"].as_str()),
        (Some("trigger"), Some("R0UTINGKEY"))
    );
    assert_eq!(b[0]["payload"]["severity"], "critical");
    let id = b[0]["dedup_key"].as_str().unwrap().to_string();
    at(&mut env, &api, "2026-12-01T00:05:00Z");
    env.run(&["sync"]).ok();
    let b = pd.bodies();
    assert_eq!(
        (b[1]["event_action"].as_str(), b[1]["dedup_key"].as_str()),
        (Some("resolve"), Some(id.as_str()))
    );
}

#[test]
fn email_is_piped_to_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mail.txt");
    let channel = format!(
        "[[notify]]\ntype = \"email\"\nto = \"ops@example.com\"\nfrom = \"quota@example.com\"\ncommand = [\"sh\", \"-c\", \"cat >> {}\"]\nsend_resolved = false\n",
        out.display()
    );
    let (mut env, api) = with_channels(&channel);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 990, 0));
    env.run(&["sync"]).ok();
    let mail = std::fs::read_to_string(&out).unwrap();
    assert!(mail.starts_with("To: ops@example.com\r\nFrom: quota@example.com\r\nSubject: [quota] critical: production tokens at 99%\r\nDate: Fri, 20 Nov 2026 12:00:00 +0000\r\n"), "{mail}");
    at(&mut env, &api, "2026-12-01T00:05:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        mail,
        "send_resolved = false"
    );
    assert_eq!(outbox(&env).len(), 1);
}

#[test]
fn a_500_is_retried_on_a_later_run_and_never_resent_after_success() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    hook.reply(&[Reply::status(500)]);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    let run = env.run(&["sync"]).ok();
    assert!(
        !run.stderr.contains("SECRET-TOKEN"),
        "webhook URL leaked: {}",
        run.stderr
    );
    assert_eq!(
        outbox(&env),
        [("webhook".into(), "firing".into(), "pending".into(), 1)]
    );
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["notifications"]["webhook"]["pending"], 1);
    assert!(
        env.run(&["status"])
            .ok()
            .stdout
            .contains("notifications to webhook: 1 pending, 0 failed")
    );

    // Backoff: not before a minute has passed.
    at(&mut env, &api, "2026-11-20T12:00:30Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 1);
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(
        outbox(&env),
        [("webhook".into(), "firing".into(), "delivered".into(), 2)]
    );
    at(&mut env, &api, "2026-11-20T12:30:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 2, "delivered means delivered");
}

#[test]
fn a_429_waits_for_retry_after() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    hook.reply(&[Reply::retry_after(429, 600)]);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-20T12:05:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 1, "retry-after is 10 minutes");
    at(&mut env, &api, "2026-11-20T12:10:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(outbox(&env)[0].2, "delivered");
}

#[test]
fn a_410_fails_at_once_and_shows_in_status() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    hook.reply(&[Reply::status(410)]);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    let run = env.run(&["sync"]).ok();
    assert!(
        run.stderr.contains("410") && !run.stderr.contains("SECRET-TOKEN"),
        "{}",
        run.stderr
    );
    assert_eq!(outbox(&env)[0].2, "failed");
    at(&mut env, &api, "2026-11-20T13:00:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.requests().len(), 1);
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["notifications"]["webhook"]["failed"], 1);
}

#[test]
fn undelivered_after_24_hours_is_marked_failed() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    hook.reply(&[Reply::status(503)]);
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-21T12:00:01Z");
    hook.reply(&[Reply::status(200)]);
    env.run(&["sync"]).ok();
    let first = hook.bodies()[0]["id"].clone();
    // (By now a forecast alert fires too: only the first alert's deliveries count here.)
    let attempts = hook.bodies().iter().filter(|b| b["id"] == first).count();
    assert_eq!(attempts, 1, "expired before a retry");
    let row = env
        .conn()
        .rows("SELECT state, last_error FROM outbox ORDER BY id LIMIT 1")
        .remove(0);
    let (state, error) = (row[0].clone().unwrap(), row[1].clone().unwrap());
    assert_eq!(state, "failed");
    assert!(
        error.starts_with("undelivered for 24 h: HTTP 503"),
        "{error}"
    );
}

#[test]
fn a_crash_between_sending_and_recording_resends_and_loses_nothing() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    let child = env
        .command(&["sync"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    hook.kill_on_next_request(child.id());
    let status = child.wait_with_output().unwrap().status;
    assert!(!status.success(), "quota was killed mid-delivery");
    assert_eq!(hook.requests().len(), 1);
    assert_eq!(
        outbox(&env),
        [("webhook".into(), "firing".into(), "pending".into(), 0)],
        "sent, not recorded"
    );
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "resent");
    assert_eq!(
        bodies[0]["id"], bodies[1]["id"],
        "same alert id: the receiver can dedupe"
    );
    assert_eq!(outbox(&env)[0].2, "delivered");
    assert_eq!(env.integrity(), "ok");
}

/// The textfile as (metric{labels} → value), checking the format line by line.
pub(crate) fn parse_textfile(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            // Counters, and only they, end in _total.
            let expected = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            assert_eq!(kind, expected, "{name}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "{name} has no TYPE line");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        out.insert(
            series.to_string(),
            value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        );
    }
    out
}

#[test]
fn textfile_carries_the_labelled_series_even_after_a_failed_sync() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("quota.prom");
    let config = format!(
        "[api]\ndeadline_secs = 1\ntimeout_secs = 0.5\n{PROD}\n[[accounts]]\nname = \"research\"\nworkspace_id = \"wrkspc_r\"\n\n[metrics]\ntextfile = \"{}\"\n",
        prom.display()
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(
        Some("apikey_prod"),
        Some("wrkspc_r"),
        "2026-11-20",
        960,
        0,
    ));
    env.run(&["sync"]).ok();
    let m = parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(
        m["quota_usage{account=\"production\",quota_type=\"tokens\",window=\"period\"}"],
        960.0
    );
    assert_eq!(
        m["quota_limit{account=\"production\",quota_type=\"tokens\",window=\"period\"}"],
        1000.0
    );
    assert_eq!(
        m["quota_usage_ratio{account=\"production\",quota_type=\"tokens\",window=\"period\"}"],
        0.96
    );
    assert_eq!(
        m["quota_usage{account=\"research\",quota_type=\"tokens\",window=\"period\"}"],
        960.0
    );
    assert!(
        !m.contains_key(
            "quota_limit{account=\"research\",quota_type=\"tokens\",window=\"period\"}"
        )
    );
    assert!(
        !m.keys()
            .any(|k| k.contains("quota_type=\"requests\"") && k.starts_with("quota_usage{")),
        "requests are not measured"
    );
    assert_eq!(m["quota_account_exhausted{account=\"production\"}"], 0.0);
    assert_eq!(m["quota_alerts_open{severity=\"critical\"}"], 1.0);
    assert_eq!(m["quota_alerts_open{severity=\"warning\"}"], 0.0);
    assert_eq!(m["quota_sync_success"], 1.0);
    assert_eq!(m["quota_last_success_timestamp_seconds"], 1_795_176_000.0);
    assert!(m["quota_sync_duration_seconds"] > 0.0);

    api.fail_always(crate::standin::Fault::Status {
        status: 500,
        kind: "api_error",
        retry_after: None,
    });
    env.run(&["sync"]).code(1);
    let m = parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(m["quota_sync_success"], 0.0);
    assert_eq!(
        m["quota_last_success_timestamp_seconds"], 1_795_176_000.0,
        "still the last success"
    );
    assert_eq!(
        m["quota_usage{account=\"production\",quota_type=\"tokens\",window=\"period\"}"],
        960.0
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
}

#[test]
fn heartbeat_pings_on_success_and_fail_on_failure() {
    let hc = Capture::start();
    let config = format!(
        "[api]\ndeadline_secs = 1\ntimeout_secs = 0.5\n{PROD}\n[metrics]\nheartbeat_url = \"{}/ping/UUID\"\n",
        hc.url
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    env.run(&["sync"]).ok();
    api.fail_always(crate::standin::Fault::Status {
        status: 401,
        kind: "authentication_error",
        retry_after: None,
    });
    env.run(&["sync"]).code(1);
    let paths: Vec<(String, String)> = hc
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET".into(), "/ping/UUID".into()),
            ("GET".into(), "/ping/UUID/fail".into())
        ]
    );
    assert!(
        hc.requests()
            .iter()
            .all(|r| r.header("x-api-key").is_none())
    );

    // A dead heartbeat endpoint never fails a sync.
    let dead = crate::env::nothing_listens();
    env.write_config(&format!(
        "{PROD}\n[metrics]\nheartbeat_url = \"{dead}/x\"\n"
    ));
    api.heal();
    env.run(&["sync"]).ok();
}

#[test]
fn notify_test_reports_each_endpoint() {
    let good = Capture::start();
    let bad = Capture::start();
    bad.reply(&[Reply::status(404)]);
    let config = format!(
        "{PROD}\n[[notify]]\ntype = \"slack\"\nname = \"team\"\nurl = \"{}/ok\"\n\n[[notify]]\ntype = \"webhook\"\nurl = \"{}/gone/SECRET-TOKEN\"\n\n[[notify]]\ntype = \"pagerduty\"\nrouting_key = \"RK\"\nurl = \"{}/pd\"\n",
        good.url, bad.url, good.url
    );
    let env = TestEnv::with_config(&config);
    let run = env.run(&["notify", "test"]).code(1);
    assert!(
        run.stdout.contains("team (slack): delivered: HTTP 200"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("webhook (webhook): FAILED: HTTP 404"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("pagerduty (pagerduty): delivered: trigger HTTP 200"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("SECRET-TOKEN"));
    let pd: Vec<_> = good
        .bodies()
        .into_iter()
        .filter(|b| b.get("event_action").is_some())
        .collect();
    assert_eq!(
        pd.iter()
            .map(|b| b["event_action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["trigger", "resolve"]
    );
    env.run(&["notify", "test", "--channel", "team"]).ok();
    env.run(&["notify", "test", "--channel", "nope"]).code(2);
    assert!(!env.db.exists(), "notify test writes nothing");
}

/// `[[notify]] accounts` routes: each account's alerts go only to the channels that take
/// it (globs); health alerts reach every channel; config check shows the routes and warns of
/// an account that reaches none.
#[test]
fn routes_send_each_accounts_alerts_only_to_its_channels() {
    let prod_hook = Capture::start();
    let all_hook = Capture::start();
    let config = format!(
        "[[accounts]]\nname = \"prod-eu\"\napi_key_id = \"apikey_eu\"\ntoken_limit = 1000\n\n[[accounts]]\nname = \"staging\"\napi_key_id = \"apikey_st\"\ntoken_limit = 1000\n\n\
         [[notify]]\nname = \"prod-team\"\ntype = \"webhook\"\nurl = \"{}/hook\"\naccounts = [\"prod-*\"]\n\n\
         [[notify]]\nname = \"staging-team\"\ntype = \"webhook\"\nurl = \"{}/hook\"\naccounts = [\"staging\"]\n",
        prod_hook.url, all_hook.url
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_eu"), None, "2026-11-20", 850, 0));
    api.put(Usage::new(Some("apikey_st"), None, "2026-11-20", 960, 0));
    env.run(&["sync"]).ok();
    let accounts = |c: &Capture| -> Vec<String> {
        c.bodies()
            .iter()
            .map(|b| b["account"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(accounts(&prod_hook), ["prod-eu"]);
    assert_eq!(accounts(&all_hook), ["staging"]);
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("accounts prod-*: 1 configured account"),
        "{check}"
    );
    env.write_config(&config.replace("accounts = [\"staging\"]", "accounts = [\"stage\"]"));
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("account staging reaches no channel"),
        "{check}"
    );
}

/// A silence holds a delivery back (the alert is still recorded and listed, marked) and
/// releases it once when it ends, if the alert is still open; an account silence never
/// hides quota's own health alerts; `unsilence` releases at once.
#[test]
fn a_silence_holds_a_delivery_and_releases_it_once() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    env.run(&["sync"]).ok();
    let run = env
        .run(&[
            "alerts",
            "silence",
            "--account",
            "prod*",
            "--for",
            "2h",
            "--comment",
            "known: batch rerun",
        ])
        .ok();
    assert!(
        run.stdout
            .starts_with("silenced accounts prod* until 2026-11-20 14:00 UTC"),
        "{}",
        run.stdout
    );
    let listed = env.run(&["alerts", "silences"]).ok().stdout;
    assert!(
        listed.contains("accounts prod*") && listed.contains("known: batch rerun"),
        "{listed}"
    );

    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert!(hook.bodies().is_empty(), "held back");
    let listed = env.run(&["alerts", "list"]).ok().stdout;
    assert!(listed.contains("silenced  production"), "{listed}");
    // The severity stays in view where there is room, and the end of the silence in JSON.
    let wide = env.run(&["alerts", "list", "--wide"]).ok().stdout;
    assert!(wide.contains("  warning (silenced)  production"), "{wide}");
    let json = env.run(&["alerts", "list", "--json"]).ok().json();
    assert_eq!(json[0]["severity"], "warning");
    assert_eq!(json[0]["silenced_until"], "2026-11-20T14:00:00Z");
    assert_eq!(env.open_alerts().len(), 1, "recorded all the same");

    at(&mut env, &api, "2026-11-20T13:00:00Z");
    env.run(&["sync"]).ok();
    assert!(hook.bodies().is_empty(), "still held");
    at(&mut env, &api, "2026-11-20T14:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.bodies().len(), 1, "released once at the end");
    assert_eq!(hook.bodies()[0]["status"], "firing");
    at(&mut env, &api, "2026-11-20T14:02:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.bodies().len(), 1, "not again");

    // A new silence, lifted early: what it held goes out with the next sync.
    let run = env
        .run(&[
            "alerts",
            "silence",
            "--account",
            "production",
            "--for",
            "1d",
        ])
        .ok();
    let id = run
        .stdout
        .rsplit("(silence ")
        .next()
        .unwrap()
        .trim_end_matches(")\n")
        .to_string();
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 960, 0));
    at(&mut env, &api, "2026-11-20T14:10:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(hook.bodies().len(), 1, "the 95 % alert held");
    env.run(&["alerts", "unsilence", &id[..8]]).ok();
    env.run(&["sync"]).ok();
    let statuses: Vec<String> = hook
        .bodies()
        .iter()
        .map(|b| format!("{} {}", b["threshold"], b["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&"95 firing".to_string()), "{statuses:?}");
    assert_eq!(
        env.run(&["alerts", "silences"]).ok().stdout,
        "no silences in force\n"
    );
    env.run(&["alerts", "silence", "--account", "nobody-*", "--for", "1h"])
        .code(2);
    env.run(&[
        "alerts",
        "silence",
        "--account",
        "production",
        "--for",
        "45d",
    ])
    .code(2);
}

/// An alert that resolves while silenced is never told: neither its firing nor its
/// resolution goes out when the silence ends.
#[test]
fn an_alert_that_resolves_while_silenced_is_never_told() {
    let hook = Capture::start();
    let (mut env, api) = with_channels(&webhook(&hook, ""));
    env.run(&["sync"]).ok();
    env.run(&[
        "alerts",
        "silence",
        "--account",
        "production",
        "--for",
        "1h",
    ])
    .ok();
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 100, 0));
    at(&mut env, &api, "2026-11-20T12:02:00Z");
    env.run(&["sync"]).ok();
    at(&mut env, &api, "2026-11-20T13:01:00Z");
    env.run(&["sync"]).ok();
    assert!(hook.bodies().is_empty(), "{:?}", hook.bodies());
    let states: Vec<(String, String, String, i64)> = outbox(&env);
    assert!(
        states.iter().all(|(_, _, s, _)| s == "dropped"),
        "{states:?}"
    );
}

/// `[[notify]] labels` routes by the labels of configured accounts: a channel with
/// `labels.team = "payments"` takes the alerts of the accounts so labelled, and no other.
#[test]
fn a_channel_routes_on_account_labels() {
    let payments = Capture::start();
    let config = format!(
        "[[accounts]]\nname = \"checkout\"\napi_key_id = \"apikey_c\"\ntoken_limit = 1000\nlabels = {{ team = \"payments\" }}\n\n\
         [[accounts]]\nname = \"search\"\napi_key_id = \"apikey_s\"\ntoken_limit = 1000\nlabels = {{ team = \"search\" }}\n\n\
         [[notify]]\nname = \"payments\"\ntype = \"webhook\"\nurl = \"{}/hook\"\nlabels.team = \"payments\"\n",
        payments.url
    );
    let (env, api) = setup(&config, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_c"), None, "2026-11-20", 850, 0));
    api.put(Usage::new(Some("apikey_s"), None, "2026-11-20", 850, 0));
    env.run(&["sync"]).ok();
    let accounts: Vec<String> = payments
        .bodies()
        .iter()
        .map(|b| b["account"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(accounts, ["checkout"]);
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("account search reaches no channel"),
        "{check}"
    );
}

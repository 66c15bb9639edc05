//! What operators do and see: a manual resolve reaching the channels that heard the alert,
//! alerts of removed accounts resolved by the next full run, forecasts switched off, and the
//! demo that the Quick start runs.

use crate::capture::Capture;
use crate::env::{TestEnv, at, setup};
use crate::standin::Usage;

const PROD: &str =
    "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";

fn channels(webhook: &Capture, pd: &Capture, slack: &Capture) -> String {
    format!(
        "[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n\
         [[notify]]\ntype = \"pagerduty\"\nrouting_key = \"R0UTINGKEY\"\nurl = \"{}/v2/enqueue\"\n\n\
         [[notify]]\ntype = \"slack\"\nurl = \"{}/slack\"\n",
        webhook.url, pd.url, slack.url
    )
}

/// Production at 96 % with three channels listening, and the id of its alert.
struct Fired {
    webhook: Capture,
    pd: Capture,
    slack: Capture,
    env: crate::env::TestEnv,
    api: crate::standin::StandIn,
    id: String,
}

fn fired() -> Fired {
    let (webhook, pd, slack) = (Capture::start(), Capture::start(), Capture::start());
    let (env, api) = setup(
        &format!("{PROD}\n{}", channels(&webhook, &pd, &slack)),
        "2026-11-20T12:00:00Z",
    );
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 960, 0));
    env.run(&["sync"]).ok();
    let id = env.open_alerts()[0]["id"].as_str().unwrap().to_string();
    Fired {
        webhook,
        pd,
        slack,
        env,
        api,
        id,
    }
}

#[test]
fn a_manual_resolve_reaches_every_channel_that_heard_the_alert_at_once() {
    let Fired {
        webhook,
        pd,
        slack,
        mut env,
        api,
        id,
    } = fired();
    assert_eq!(
        (
            webhook.bodies().len(),
            pd.bodies().len(),
            slack.bodies().len()
        ),
        (1, 1, 1)
    );

    env.extra_env.push(("SUDO_USER".into(), "alice".into()));
    let out = env
        .run(&["alerts", "resolve", &id[..8], "--comment", "known spike"])
        .ok();
    assert!(
        out.stdout.contains("resolved notice sent (3 delivered)"),
        "{}",
        out.stdout
    );
    // No sync in between: the command delivered them itself.
    let w = webhook.bodies();
    assert_eq!(w.len(), 2);
    assert_eq!(
        (
            w[1]["status"].as_str(),
            w[1]["resolution"].as_str(),
            w[1]["comment"].as_str(),
            w[1]["id"].as_str()
        ),
        (
            Some("resolved"),
            Some("manual"),
            Some("known spike"),
            Some(id.as_str())
        )
    );
    let p = pd.bodies();
    assert_eq!(
        (p[1]["event_action"].as_str(), p[1]["dedup_key"].as_str()),
        (Some("resolve"), Some(id.as_str())),
        "PagerDuty closes the incident"
    );
    let text = slack.bodies()[1]["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("RESOLVED (manual by alice: \"known spike\")"),
        "{text}"
    );
    // Nothing left for the next sync to send again.
    let pending = env.count("SELECT count(*) FROM outbox WHERE state = 'pending'");
    assert_eq!(pending, 0);
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert_eq!(webhook.bodies().len(), 2, "a manual resolve is final");
}

#[test]
fn no_notify_skips_the_notice_and_an_unreachable_channel_waits_for_the_next_sync() {
    let Fired {
        webhook,
        mut env,
        api,
        id,
        ..
    } = fired();
    env.run(&["alerts", "resolve", &id, "--no-notify"]).ok();
    assert_eq!(webhook.bodies().len(), 1, "no notice");

    // A second alert, whose resolved notice meets a webhook answering 500.
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 1000, 0));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    let id = env.open_alerts()[0]["id"].as_str().unwrap().to_string();
    webhook.reply(&[crate::capture::Reply::status(500)]);
    let out = env.run(&["alerts", "resolve", &id]).ok();
    assert!(
        out.stdout.contains("1 left for the next sync"),
        "{}",
        out.stdout
    );
    at(&mut env, &api, "2026-11-20T12:05:00Z");
    env.run(&["sync"]).ok();
    let last = webhook.bodies().pop().unwrap();
    assert_eq!(
        (last["status"].as_str(), last["id"].as_str()),
        (Some("resolved"), Some(id.as_str()))
    );
}

#[test]
fn a_removed_accounts_alerts_resolve_on_the_next_full_run_only() {
    let webhook = Capture::start();
    let hook = format!(
        "[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
        webhook.url
    );
    let both = format!(
        "{PROD}\n[[accounts]]\nname = \"batch\"\napi_key_id = \"apikey_batch\"\ntoken_limit = 1000\n\n{hook}"
    );
    let (mut env, api) = setup(&both, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 900, 0));
    api.put(Usage::new(Some("apikey_batch"), None, "2026-11-20", 900, 0));
    env.run(&["sync"]).ok();
    assert_eq!(env.open_alerts().len(), 2);

    // batch leaves the config: a run with --account leaves its alert alone.
    env.write_config(&format!("{PROD}\n{hook}"));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync", "--account", "production"]).ok();
    env.run(&["check", "--account", "production"]).ok();
    assert_eq!(env.open_alerts().len(), 2);

    at(&mut env, &api, "2026-11-20T12:02:00Z");
    let out = env.run(&["sync"]).ok();
    assert!(
        out.stderr.contains("account \"batch\" is no longer configured or discovered: its 1 open alert(s) resolved as account_removed"),
        "{}",
        out.stderr
    );
    let open = env.open_alerts();
    assert_eq!(
        (open.len(), open[0]["account"].as_str()),
        (1, Some("production"))
    );
    let all = env
        .run(&[
            "alerts",
            "list",
            "--all",
            "--json",
            "--account",
            "production",
        ])
        .ok()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    let rows = env.alert_rows();
    assert!(
        rows.iter()
            .any(|r| r.0 == "batch" && r.4.as_deref() == Some("account_removed")),
        "{rows:?}"
    );
    env.run(&["sync"]).ok();
    let last = webhook.bodies().pop().unwrap();
    assert_eq!(
        (
            last["account"].as_str(),
            last["status"].as_str(),
            last["resolution"].as_str()
        ),
        (Some("batch"), Some("resolved"), Some("account_removed"))
    );
}

#[test]
fn forecasts_can_be_switched_off_and_the_open_one_recovers() {
    // Day 20 of the period with a steady 60 tokens a day: 1,200 of 1,500 used (80 %),
    // projected past the limit.
    let config = "[defaults]\nforecast = true\n\n[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1500\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    for d in 1..=20 {
        api.put(Usage::new(
            Some("apikey_prod"),
            None,
            &format!("2026-11-{d:02}"),
            60,
            0,
        ));
    }
    env.run(&["sync"]).ok();
    let open = env.open_alerts();
    assert!(
        open.iter().any(|a| a["type"] == "forecast_exceeded"),
        "{open:?}"
    );
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(status[0]["quotas"]["tokens"]["forecast"].is_object());

    env.write_config(&config.replace("token_limit = 1500", "token_limit = 1500\nforecast = false"));
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    assert!(
        env.open_alerts()
            .iter()
            .all(|a| a["type"] != "forecast_exceeded")
    );
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    let f = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "forecast_exceeded")
        .unwrap();
    assert_eq!(f["resolution"], "recovered");
    let status = env.run(&["status", "--json"]).ok().json();
    assert!(
        status[0]["quotas"]["tokens"]["forecast"].is_null(),
        "no projection when off"
    );

    // Off in [defaults] applies to every account that does not say otherwise.
    env.write_config(&config.replace("forecast = true", "forecast = false"));
    env.run(&["check"]).ok();
    assert!(
        env.run(&["status", "--json"]).ok().json()[0]["quotas"]["tokens"]["forecast"].is_null()
    );
}

/// The README's Quick start (`cargo run --example demo`): the world it shows raises what
/// it says it does (production past 80 %, alice near her budget) and nothing it does not
/// explain: no failing read, no configured id the organization fails to list.
#[test]
fn the_demo_warns_of_production_and_alice_and_of_nothing_else() {
    use quota_testkit::demo;
    let mut env = TestEnv::with_config(demo::CONFIG);
    let api = demo::start(chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
    api.set_now("2026-11-20T12:00:00Z");
    env.now = "2026-11-20T12:00:00Z".into();
    env.api_url = Some(api.url.clone());
    env.extra_env
        .push(("ANTHROPIC_ADMIN_API_KEY".into(), demo::KEY.into()));
    let sync = env.run(&["sync"]).ok();
    let unexplained = sync
        .stderr
        .lines()
        .filter(|l| !l.contains(" quota::apply::actions] alert "));
    assert_eq!(unexplained.count(), 0, "{}", sync.stderr);
    let status = env.run(&["status"]).ok().stdout;
    let notes: Vec<&str> = status
        .lines()
        .skip(1)
        .filter(|l| !l.contains(" active "))
        .collect();
    assert_eq!(notes.len(), 1, "{status}");
    assert!(notes[0].starts_with("developers: alice"), "{status}");
    let alerts = env.open_alerts();
    let mut open: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap(),
                a["quota_type"].as_str().unwrap(),
            )
        })
        .collect();
    open.sort_unstable();
    open.dedup();
    assert_eq!(
        open,
        [("alice", "cost_usd"), ("production", "tokens")],
        "{alerts:?}"
    );
    assert!(
        alerts.iter().all(|a| a["severity"] == "warning"),
        "{alerts:?}"
    );
    assert!(
        env.run(&["health"])
            .ok()
            .stdout
            .lines()
            .all(|l| !l.contains("fail")),
        "every read succeeded"
    );
}

//! Burn-rate alerts: one sync per simulated minute against the stand-in, as the timer runs.

use chrono::{DateTime, Duration, Utc};

use crate::capture::Capture;
use crate::env::{TestEnv, at, setup};
use crate::standin::{StandIn, Usage};

/// 1,000,000 tokens in a 30-day period (November), a webhook listening.
fn config(hook: &Capture) -> String {
    format!(
        "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000000\n\n\
         [[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    )
}

/// A clock and a running total: each `minute` adds tokens and syncs once.
struct Minutes {
    env: TestEnv,
    api: StandIn,
    now: DateTime<Utc>,
    total: u64,
    syncs: usize,
}

impl Minutes {
    fn start(hook: &Capture) -> Minutes {
        Minutes::with_config(&config(hook))
    }

    fn with_config(config: &str) -> Minutes {
        let now = DateTime::parse_from_rfc3339("2026-11-10T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (env, api) = setup(config, &now.to_rfc3339());
        Minutes {
            env,
            api,
            now,
            total: 0,
            syncs: 0,
        }
    }

    /// `tokens` more used, then the clock moves a minute; a sync runs if `sync`.
    fn pass(&mut self, tokens: u64, sync: bool) {
        self.total += tokens;
        self.now += Duration::minutes(1);
        let day = self.now.format("%Y-%m-%d").to_string();
        self.api
            .put(Usage::new(Some("apikey_prod"), None, &day, self.total, 0));
        if sync {
            at(&mut self.env, &self.api, &self.now.to_rfc3339());
            self.env.run(&["sync"]).ok();
            self.syncs += 1;
        }
    }

    fn minutes(&mut self, n: usize, tokens: u64) {
        for _ in 0..n {
            self.pass(tokens, true);
        }
    }

    fn burn_alerts(&self) -> Vec<serde_json::Value> {
        let all = self
            .env
            .run(&["alerts", "list", "--all", "--json"])
            .ok()
            .json();
        all.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "burn_rate")
            .cloned()
            .collect()
    }
}

#[test]
fn a_runaway_key_fires_one_fast_burn_alert_within_the_hour_and_it_resolves_when_it_stops() {
    let hook = Capture::start();
    let mut m = Minutes::start(&hook);
    // Two hours at 100 tokens a minute: a burn of 4.3, under both factors.
    m.minutes(120, 100);
    assert!(m.burn_alerts().is_empty());
    let status = m.env.status_of("prod");
    assert_eq!(status[0]["quotas"]["tokens"]["burn_rate"]["1h"], 4.32);
    assert!(
        status[0]["quotas"]["tokens"]["burn_rate"]["6h"].is_null(),
        "six hours of history do not exist yet: {status}"
    );
    // 400 a minute: a burn of 17.3. The 1 h burn passes 14.4 after 47 minutes (02:47).
    m.minutes(60, 400);
    let alerts = m.burn_alerts();
    assert_eq!(alerts.len(), 1, "one alert, not one a minute: {alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["created_at"], "2026-11-10T02:47:00Z");
    assert_eq!(
        (
            a["severity"].as_str(),
            a["window"].as_str(),
            a["resolved_at"].as_str()
        ),
        (Some("critical"), Some("period"), None)
    );
    assert!(
        a["percentage"].as_f64().unwrap() < 80.0,
        "it came while the period is far from 80 %: {a}"
    );
    let message = a["message"].as_str().unwrap();
    assert!(
        message.contains("× faster than the period allows")
            && message.contains("at this pace the limit is reached in"),
        "{message}"
    );
    let table = m.env.run(&["alerts", "list"]).ok().stdout;
    assert!(table.contains("burn"), "{table}");
    let fired: Vec<_> = hook.bodies();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0]["type"].as_str(), fired[0]["status"].as_str()),
        (Some("burn_rate"), Some("firing"))
    );
    let wide = m.env.run(&["status", "--wide"]).ok().stdout;
    assert!(wide.contains("BURN 1H") && wide.contains("17.3×"), "{wide}");

    // The loop stops: within the short lookback (5 minutes) the alert resolves, told.
    m.minutes(5, 0);
    let alerts = m.burn_alerts();
    assert_eq!(alerts[0]["resolution"], "recovered", "{alerts:?}");
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["status"], "resolved");
    // One usage request per sync, all along.
    assert_eq!(m.api.usage_requests(), m.syncs);
}

#[test]
fn a_gap_in_syncs_is_not_read_as_a_spike() {
    let hook = Capture::start();
    let mut m = Minutes::start(&hook);
    m.minutes(70, 100);
    // The timer stops for four hours while the key keeps its pace: 24,000 tokens arrive at
    // once when it comes back, which read as one hour's would be a burn of 17.
    for _ in 0..240 {
        m.pass(100, false);
    }
    m.minutes(10, 100);
    assert!(m.burn_alerts().is_empty(), "{:?}", m.burn_alerts());
    let status = m.env.status_of("prod");
    assert!(
        status[0]["quotas"]["tokens"]["burn_rate"]["1h"].is_null(),
        "{status}"
    );
    assert!(
        status[0]["quotas"]["tokens"]["burn_rate_reason"]
            .as_str()
            .unwrap()
            .contains("syncs stopped"),
        "{status}"
    );
    // The short lookback is measured again once five minutes have synced.
    assert_eq!(status[0]["quotas"]["tokens"]["burn_rate"]["5m"], 4.32);
    assert!(hook.bodies().is_empty());
}

#[test]
fn burn_rate_false_switches_it_off_and_rules_are_checked() {
    let env = TestEnv::with_config(
        "[defaults]\nburn_rate = false\n\n[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 5\n",
    );
    let check = env.run(&["config", "check"]).ok().stdout;
    assert!(check.contains("burn rate: off"), "{check}");
    for (rules, says) in [
        (
            "[[defaults.burn_rate]]\nlong = \"5m\"\nshort = \"1h\"\nfactor = 2.0\n",
            "defaults.burn_rate[0].short: \"1h\" must be shorter than long",
        ),
        (
            "[[defaults.burn_rate]]\nlong = \"2d\"\nshort = \"1h\"\nfactor = 2.0\n",
            "defaults.burn_rate[0].long",
        ),
        (
            "[[defaults.burn_rate]]\nlong = \"1h\"\nshort = \"5m\"\nfactor = 1.25\n",
            "defaults.burn_rate[0].factor: 1.25 is not a burn factor",
        ),
    ] {
        let env = TestEnv::with_config(rules);
        let run = env.run(&["config", "check"]).code(2);
        assert!(
            run.error_line().contains(says),
            "{rules}: {}",
            run.error_line()
        );
    }
}

/// An account's own rule replaces the defaults' (here switched off for everyone else), and
/// `burn_rate = true` brings back the standard two.
#[test]
fn an_accounts_own_rule_fires_with_its_severity_and_others_stay_off() {
    let config = "[defaults]\nburn_rate = false\n\n\
                  [[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000000\n\n\
                  [[accounts.burn_rate]]\nlong = \"10m\"\nshort = \"2m\"\nfactor = 3.5\n\n\
                  [[accounts]]\nname = \"ws\"\nworkspace_id = \"default\"\ntoken_limit = 1000000\n\n\
                  [[accounts]]\nname = \"std\"\norganization = true\ntoken_limit = 1000000\nburn_rate = true\n";
    let mut m = Minutes::with_config(config);
    let check = m.env.run(&["config", "check"]).ok().stdout;
    assert!(
        check.contains("burn rate: 3.5× over 10m and 2m (warning)"),
        "{check}"
    );
    assert!(check.contains("burn rate: off"), "{check}");
    assert!(
        check.contains("burn rate: 14.4× over 1h and 5m (critical), 6× over 6h and 30m (warning)"),
        "{check}"
    );
    // 100 a minute is a burn of 4.3: over 3.5 once ten minutes have synced.
    m.minutes(12, 100);
    let alerts = m.burn_alerts();
    let who: Vec<(&str, &str, i64)> = alerts
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap(),
                a["severity"].as_str().unwrap(),
                a["threshold"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(who, [("prod", "warning", 10_035)]);
}

/// With forecasts off, passing time alone still resolves a burn-rate alert: a sync that
/// reads nothing new evaluates the account when its short lookback passes the last growth.
#[test]
fn with_forecasts_off_a_burn_alert_still_resolves_when_the_pace_stops() {
    let config = "[[accounts]]\nname = \"prod\"\napi_key_id = \"apikey_prod\"\n\
                  token_limit = 1000000\nforecast = false\n\n\
                  [[accounts.burn_rate]]\nlong = \"10m\"\nshort = \"2m\"\nfactor = 3.5\n";
    let mut m = Minutes::with_config(config);
    m.minutes(12, 100);
    assert_eq!(m.burn_alerts().len(), 1);
    // The usage stops: nothing new is read, and within the short lookback the alert
    // resolves, not at the next hourly full pass.
    m.minutes(3, 0);
    let alerts = m.burn_alerts();
    assert_eq!(alerts[0]["resolution"], "recovered", "{alerts:?}");
}

#[test]
fn the_textfile_has_each_lookbacks_burn() {
    let hook = Capture::start();
    let mut m = Minutes::start(&hook);
    let prom = m.env.path().join("quota.prom");
    m.env.write_config(&format!(
        "{}\n[metrics]\ntextfile = \"{}\"\n",
        config(&hook),
        prom.display()
    ));
    m.minutes(61, 100);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains(
            "quota_burn_rate{account=\"prod\",quota_type=\"tokens\",window=\"period\",lookback=\"1h\"} 4.32"
        ),
        "{text}"
    );
    assert!(text.contains("lookback=\"5m\"} 4.32"), "{text}");
    assert!(
        !text.contains("lookback=\"6h\""),
        "not evaluated yet: {text}"
    );
}

//! Two hosts, one PostgreSQL store: two `quota sync` processes with their own config files
//! and host names, on a shared simulated clock, against one stand-in and one capture. These
//! run on PostgreSQL whatever `QUOTA_TEST_BACKEND` says (the suite's throwaway cluster).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quota_testkit::pg::Cluster;

use crate::capture::Capture;
use crate::env::{Run, TestEnv, setup};
use crate::standin::{Fault, StandIn, Usage};

struct Pair {
    a: TestEnv,
    b: TestEnv,
    api: StandIn,
    url: String,
}

impl Pair {
    /// Hosts `host-a` and `host-b`, each with its own folder and config (the same text),
    /// sharing a new database.
    fn new(config: &str, now: &str) -> Pair {
        let url = Cluster::shared().create_database();
        let (mut a, api) = setup(config, now);
        let mut b = TestEnv::with_config(config);
        b.api_url = a.api_url.clone();
        b.now = now.to_string();
        for (env, host) in [(&mut a, "host-a"), (&mut b, "host-b")] {
            env.pg = Some(url.clone());
            env.extra_env.push(("QUOTA_HOST".into(), host.into()));
        }
        Pair { a, b, api, url }
    }

    fn at(&mut self, now: &str) {
        self.a.now = now.to_string();
        self.b.now = now.to_string();
        self.api.set_now(now);
    }

    /// Host a's `quota <args>`, started (its output kept for `finish`).
    fn start_a(&self, args: &[&str]) -> Child {
        self.a
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Host a's sync, started and held mid-fetch: the stand-in never answers its usage
    /// request.
    fn a_hung_mid_fetch(&self) -> Child {
        self.api.fail_next(&[Fault::Hang]);
        let a = self.start_a(&["sync"]);
        wait_for_usage_request(&self.api);
        a
    }

    /// Both hosts' timers fire at once: both syncs, in parallel.
    fn both_sync(&self) -> (Run, Run) {
        let spawn = |env: &TestEnv| {
            env.command(&["sync"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&self.a), spawn(&self.b));
        (finish(a), finish(b))
    }
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn minute(m: u32) -> String {
    format!("2026-11-20T12:{m:02}:00Z")
}

fn webhook(hook: &Capture, name: &str) -> String {
    format!(
        "[[notify]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{}/{name}\"\n",
        hook.url
    )
}

const PROD: &str =
    "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";

/// Every delivery a capture received, counted by (alert id, event).
fn deliveries(hook: &Capture) -> BTreeMap<(String, String), usize> {
    let mut seen = BTreeMap::new();
    for body in hook.bodies() {
        let key = (
            body["id"].as_str().unwrap().to_string(),
            body["status"].as_str().unwrap().to_string(),
        );
        *seen.entry(key).or_insert(0) += 1;
    }
    seen
}

/// Waits for the stand-in to have received a usage request (the fetching host is then
/// mid-fetch), for at most 20 s.
fn wait_for_usage_request(api: &StandIn) {
    let started = Instant::now();
    while api.usage_requests() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no usage request came"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(signal: &str, pid: u32) {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
}

/// Ten minutes of both timers firing at once while usage climbs through every threshold:
/// one usage request a minute in all, each alert raised once, each notice delivered once.
#[test]
fn two_hosts_read_once_a_minute_and_notify_once() {
    let hook = Capture::start();
    let mut pair = Pair::new(&format!("{PROD}\n{}", webhook(&hook, "hook")), &minute(0));
    let mut fetched_by = BTreeMap::new();
    let climb = [100, 300, 500, 700, 800, 850, 900, 950, 980, 1000];
    for (m, used) in (0u32..).zip(climb) {
        pair.at(&minute(m));
        pair.api.clear_usage();
        pair.api
            .put(Usage::new(Some("apikey_prod"), None, "2026-11-20", used, 0));
        pair.api.clear_requests();
        let (a, b) = pair.both_sync();
        let (a, b) = (a.ok(), b.ok());
        assert_eq!(
            pair.api.usage_requests(),
            1,
            "minute {m}: one usage request in all\n{}\n{}",
            a.stdout,
            b.stdout
        );
        let skipped = [&a, &b]
            .iter()
            .filter(|r| r.stdout.contains("the Admin API was read this minute by"))
            .count();
        assert_eq!(skipped, 1, "minute {m}: one host read, the other evaluated");
        let reader = if b.stdout.contains("read this minute by") {
            "a"
        } else {
            "b"
        };
        *fetched_by.entry(reader).or_insert(0) += 1;
    }
    let rows = pair.a.alert_rows();
    let ladder: Vec<i64> = rows
        .iter()
        .filter(|r| r.1 == "tokens")
        .map(|r| r.2)
        .collect();
    assert_eq!(ladder, [80, 95, 100], "each threshold once: {rows:?}");
    let seen = deliveries(&hook);
    assert!(!seen.is_empty());
    assert!(
        seen.values().all(|n| *n == 1),
        "every notice delivered once: {seen:?}"
    );
    assert_eq!(
        i64::try_from(seen.len()).unwrap(),
        pair.a.count("SELECT count(*) FROM outbox"),
        "every notice delivered: {seen:?}"
    );
    // Either host answers operators the same.
    assert_eq!(
        pair.a.run(&["alerts", "list", "--json"]).ok().json(),
        pair.b.run(&["alerts", "list", "--json"]).ok().json()
    );
    let health = pair.b.run(&["health", "--json"]).ok().json();
    assert_eq!(
        health["admin_api_read_by"]["minute"], "2026-11-20T12:09:00Z",
        "{health}"
    );
    assert!(
        health["admin_api_read_by"]["run"]
            .as_str()
            .is_some_and(|r| r.starts_with("host-")),
        "{health}"
    );
    let text = pair.a.run(&["health"]).ok().stdout;
    assert!(text.contains("Admin API read taken by host-"), "{text}");
    eprintln!("reads per host over ten minutes: {fetched_by:?}");
}

/// The host reading the Admin API is killed mid-request: the other skips that minute (it
/// is the dead host's) and reads the next one. No usage is lost, only delayed.
#[test]
fn a_host_killed_mid_fetch_is_taken_over_the_next_minute() {
    let mut pair = Pair::new(PROD, &minute(0));
    pair.api
        .put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    let a = pair.a_hung_mid_fetch();
    kill("-KILL", a.id());
    finish(a);
    pair.api.clear_requests();
    let b = pair.b.run(&["sync"]).ok();
    assert!(
        b.stdout
            .contains("the Admin API was read this minute by host-a"),
        "{}",
        b.stdout
    );
    assert_eq!(pair.api.usage_requests(), 0);

    pair.at(&minute(1));
    let b = pair.b.run(&["sync"]).ok();
    assert!(b.stdout.contains("1 usage request"), "{}", b.stdout);
    let s = pair.a.status_of("production");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 850, "{s}");
    assert_eq!(pair.a.open_alerts().len(), 1, "the 80 % warning, once");
}

/// The reading host's connection is cut (`pg_terminate_backend`) while it waits on the
/// Admin API: it stores nothing and fails; the other host reads the next minute.
#[test]
fn a_host_whose_connection_is_cut_is_taken_over_the_next_minute() {
    let config = format!("[api]\ndeadline_secs = 2\ntimeout_secs = 1\n\n{PROD}");
    let mut pair = Pair::new(&config, &minute(0));
    pair.api
        .put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 500, 0));
    let a = pair.a_hung_mid_fetch();
    let db = pair.url.rsplit('/').next().unwrap().to_string();
    Cluster::shared().admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ));
    let a = finish(a);
    assert_ne!(a.code, 0, "{}", a.stderr);
    assert_eq!(
        pair.a.count("SELECT count(*) FROM usage_daily"),
        0,
        "nothing stored"
    );

    pair.at(&minute(1));
    pair.api.clear_requests();
    let b = pair.b.run(&["sync"]).ok();
    assert_eq!(pair.api.usage_requests(), 1, "{}", b.stdout);
    assert_eq!(
        pair.a.status_of("production")[0]["quotas"]["tokens"]["used"],
        500
    );
}

/// Two hosts whose config sends to two channels (`first`, `second`), and a key at 85 % of
/// its limit: the next sync raises one alert, with a notice for each channel.
fn two_channels_at_80() -> (Pair, Capture, Capture) {
    let first = Capture::start();
    let second = Capture::start();
    let config = format!(
        "{PROD}\n{}\n{}",
        webhook(&first, "first"),
        webhook(&second, "second")
    );
    let pair = Pair::new(&config, &minute(0));
    pair.api
        .put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 850, 0));
    (pair, first, second)
}

/// A host pauses (SIGSTOP) with its first notice sent; the other takes the deliveries over
/// the next minute. Continued, the paused host sends nothing it no longer holds: the
/// second channel hears once.
#[test]
fn a_paused_host_sends_nothing_another_took_over() {
    let (mut pair, first, second) = two_channels_at_80();
    let a = pair.start_a(&["-v", "sync"]);
    first.stop_on_next_request(a.id());
    // Once paused, host a has sent to the first channel, and claimed the second.
    let started = Instant::now();
    while first.requests().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "host a sent nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    pair.at(&minute(1));
    let b = pair.b.run(&["sync"]).ok();
    assert!(b.stdout.contains("1 usage request"), "{}", b.stdout);
    assert_eq!(
        second.requests().len(),
        1,
        "host b delivered to the second channel"
    );
    kill("-CONT", a.id());
    let a = finish(a);
    assert!(
        a.stderr.contains("taken over by another run"),
        "{}",
        a.stderr
    );
    assert_eq!(
        second.requests().len(),
        1,
        "the paused host sent no stale duplicate"
    );
    assert_eq!(
        pair.a
            .count("SELECT count(*) FROM outbox WHERE state <> 'delivered'"),
        0
    );
}

/// A host killed (SIGKILL) mid-delivery, as the first channel's request arrives: the other
/// host sends the rest the next minute, once. The notice that was on the wire when the host
/// died is sent again (delivery is at least once; the README says so), nothing is lost.
#[test]
fn a_host_killed_mid_delivery_loses_nothing_and_repeats_only_what_was_on_the_wire() {
    let (mut pair, first, second) = two_channels_at_80();
    let a = pair.start_a(&["sync"]);
    first.kill_on_next_request(a.id());
    let a = finish(a);
    assert_ne!(a.code, 0, "host a was killed");
    assert_eq!(first.requests().len(), 1);
    assert!(
        second.requests().is_empty(),
        "killed before the second channel"
    );

    pair.at(&minute(1));
    pair.b.run(&["sync"]).ok();
    assert_eq!(second.requests().len(), 1, "the second channel hears once");
    assert_eq!(
        first.requests().len(),
        2,
        "the notice on the wire when host a died is sent again"
    );
    assert_eq!(
        pair.a
            .count("SELECT count(*) FROM outbox WHERE state <> 'delivered'"),
        0,
        "nothing lost"
    );
    pair.at(&minute(2));
    let (a, b) = pair.both_sync();
    a.ok();
    b.ok();
    assert_eq!(
        (first.requests().len(), second.requests().len()),
        (2, 1),
        "and nothing more"
    );
}

//! The reliability suite (RELIABILITY.md). Each scenario runs a quick version in every
//! `cargo test`; `QUOTA_RELIABILITY=full` runs the documented long version:
//!
//! ```sh
//! QUOTA_RELIABILITY=full cargo test --release --test integration reliability -- --nocapture --test-threads=1
//! ```
//!
//! Every scenario prints its figure (visible with `--nocapture`).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capture::Capture;
use crate::env::TestEnv;
use crate::env::{at, setup};
use crate::standin::{Fault, StandIn, Usage};

fn full() -> bool {
    std::env::var_os("QUOTA_RELIABILITY").is_some_and(|v| v == "full")
}

fn integrity(env: &TestEnv) -> String {
    env.integrity()
}

/// Duplicate alert identities (must be 0).
fn duplicate_identities(env: &TestEnv) -> i64 {
    env.count(
        "SELECT count(*) FROM (SELECT 1 FROM alerts GROUP BY account, quota_type, threshold, period_start HAVING count(*) > 1) AS d",
    )
}

fn accounts_config(n: usize, extra: &str) -> String {
    let mut c = String::from(extra);
    for i in 0..n {
        c.push_str(&format!(
            "[[accounts]]\nname = \"a{i}\"\napi_key_id = \"apikey_{i:04}\"\ntoken_limit = 1000\n\n"
        ));
    }
    c
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // p in [0, 1]
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn parallel_syncs_resolves_and_lists() {
    let (per_kind, iterations) = if full() { (20, 50) } else { (4, 2) };
    let (env, api) = setup(&accounts_config(100, ""), "2026-11-20T12:00:00Z");
    for i in 0..100 {
        api.put(Usage::new(
            Some(&format!("apikey_{i:04}")),
            None,
            "2026-11-20",
            810 + i,
            0,
        ));
    }
    env.run(&["sync"]).ok();
    let mut resolve_ms = Vec::new();
    let (mut runs, mut failures, mut locked) = (0, 0, 0);
    for it in 0..iterations {
        // Usage climbs each round, so syncs escalate alerts while others resolve them.
        for i in 0..100 {
            api.put(Usage::new(
                Some(&format!("apikey_{i:04}")),
                None,
                "2026-11-20",
                810 + i + 2 * u64::try_from(it).unwrap(),
                0,
            ));
        }
        // Any alert, open or not: resolving one already resolved succeeds and says so.
        let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
        let ids: Vec<String> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        let commands: Vec<Vec<String>> = (0..per_kind * 3)
            .map(|k| match k % 3 {
                0 => vec!["sync".into()],
                1 => vec![
                    "alerts".into(),
                    "resolve".into(),
                    ids[k % ids.len()].clone(),
                ],
                _ => vec!["alerts".into(), "list".into()],
            })
            .collect();
        for (k, (run, took)) in env.run_parallel(&commands).into_iter().enumerate() {
            runs += 1;
            if run.stderr.contains("locked") || run.stderr.contains("busy") {
                locked += 1;
            }
            if run.code != 0 {
                failures += 1;
                eprintln!("failed: {}", run.stderr);
            }
            if k % 3 == 1 {
                resolve_ms.push(took.as_secs_f64() * 1000.0);
            }
        }
    }
    resolve_ms.sort_by(f64::total_cmp);
    let dups = duplicate_identities(&env);
    println!(
        "parallel load: {runs} processes ({per_kind} sync + {per_kind} resolve + {per_kind} list × {iterations}): {failures} failed, {locked} lock errors, {dups} duplicate identities, integrity {}, resolve p50 {:.0} ms p99 {:.0} ms",
        integrity(&env),
        percentile(&resolve_ms, 0.5),
        percentile(&resolve_ms, 0.99)
    );
    assert_eq!((failures, locked, dups), (0, 0, 0));
    assert_eq!(integrity(&env), "ok");
}

#[test]
fn kill_9_during_sync_never_half_writes() {
    let iterations = if full() { 200 } else { 12 };
    let hook = Capture::start();
    let config = accounts_config(
        300,
        &format!(
            "[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n\n",
            hook.url
        ),
    );
    let (mut env, api) = setup(&config, "2026-11-20T12:00:00Z");
    env.run(&["check"]).ok(); // create the database outside the loop
    // Kill at a uniformly random instant within a measured sync's duration (plus a fifth).
    let started = Instant::now();
    env.run(&["sync"]).ok();
    let span = u64::try_from(started.elapsed().as_micros()).unwrap() * 6 / 5;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut killed = 0;
    for i in 0..iterations {
        // Every fetch of round i carries the value 100·i for every key: a half-written fetch
        // would leave two different values side by side.
        let value = 700 + 10 * u64::try_from(i).unwrap();
        let rows = (0..300)
            .map(|k| {
                Usage::new(
                    Some(&format!("apikey_{k:04}")),
                    None,
                    "2026-11-20",
                    value,
                    0,
                )
            })
            .collect();
        api.clear_usage();
        api.put_all(rows);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_micros(rng % span.max(1));
        let mut child = env
            .command(&["sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        let values = env.count(
            "SELECT count(DISTINCT uncached_input_tokens) FROM usage_daily WHERE day = '2026-11-20'",
        );
        let rows = env.count("SELECT count(*) FROM usage_daily WHERE day = '2026-11-20'");
        assert!(
            values <= 1 && (rows == 0 || rows == 300),
            "round {i}: {rows} rows with {values} values: half-written"
        );
        let orphans = env.count("SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = o.alert_id)");
        let unannounced = env.count("SELECT count(*) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id AND o.event = 'firing')");
        assert_eq!(
            (orphans, unannounced),
            (0, 0),
            "round {i}: outbox rows orphaned or missing"
        );
        assert_eq!(integrity(&env), "ok", "round {i}");
        assert_eq!(duplicate_identities(&env), 0);
    }
    // Whatever was killed, the timer's next run, a minute on, completes and nothing is lost.
    // (A run killed mid-delivery holds what it claimed until its budget, under the 50 s
    // deadline, lapses: on the test's still clock that would be for ever.)
    at(&mut env, &api, "2026-11-20T12:01:00Z");
    env.run(&["sync"]).ok();
    let pending = env.count("SELECT count(*) FROM outbox WHERE state = 'pending'");
    println!(
        "kill -9 during sync: {iterations} runs, {killed} killed mid-run: {iterations}/{iterations} integrity ok, 0 half-written fetches, 0 orphaned or missing outbox rows; after one more run {pending} deliveries pending"
    );
    assert_eq!(pending, 0);
}

fn hostile(fault: Fault, name: &str) {
    let (env, api) = setup(
        &format!(
            "[api]\ntimeout_secs = 0.5\ndeadline_secs = 1\n{}",
            accounts_config(1, "")
        ),
        "2026-11-20T12:00:00Z",
    );
    api.fail_always(fault);
    let started = Instant::now();
    let mut c = env.command(&["sync"]);
    c.env("RUST_LOG", "info");
    let out = c.output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss: f64 = stderr
        .lines()
        .find_map(|l| l.split("peak memory ").nth(1))
        .and_then(|v| v.trim_end_matches(" MiB").parse().ok())
        .unwrap_or(f64::NAN);
    let stored = env.count("SELECT count(*) FROM usage_daily");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("quota: error:"))
        .unwrap_or("")
        .to_string();
    println!(
        "{name}: exit {:?} after {:.1} s (deadline 1 s), peak RSS {rss:.1} MiB, {stored} rows stored; {line}",
        out.status.code(),
        took.as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        took < Duration::from_secs(3),
        "{name} outlived the deadline: {took:?}"
    );
    assert!(rss < 64.0, "{name}: memory not bounded: {rss} MiB");
    assert_eq!(stored, 0);
}

#[test]
fn a_hung_server_ends_within_the_deadline() {
    hostile(Fault::Hang, "hung server");
}

#[test]
fn a_one_byte_a_second_body_ends_within_the_deadline() {
    hostile(Fault::Trickle(Duration::from_secs(1)), "one byte a second");
}

#[test]
fn a_huge_body_is_cut_off_with_bounded_memory() {
    let size = if full() { 1 << 30 } else { 300 << 20 };
    hostile(Fault::Huge(size), &format!("{} MiB body", size >> 20));
}

#[test]
fn a_gzip_bomb_is_cut_off_with_bounded_memory() {
    use std::io::Write;
    let size: usize = if full() { 1 << 30 } else { 300 << 20 };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{\"data\":[").unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..size >> 20 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    hostile(
        Fault::Gzip(Arc::new(bomb.clone())),
        &format!("gzip bomb ({} KiB → {} MiB)", bomb.len() >> 10, size >> 20),
    );
}

/// Needs root to mount a small tmpfs: CI runs it (`-- --include-ignored`).
#[test]
#[ignore = "needs root"]
fn a_full_disk_is_a_clear_error_and_the_next_run_catches_up() {
    crate::env::assert_root();
    // No room at all (SQLite cannot open its WAL index), and room to open but not to write.
    for leave in [0, 96 * 1024] {
        full_disk(leave);
    }
}

fn full_disk(leave: u64) {
    let mut env = TestEnv::with_config(&accounts_config(50, ""));
    let mnt = env.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mnt)
        .status();
    assert!(
        mounted.is_ok_and(|s| s.success()),
        "cannot mount a tmpfs at {}",
        mnt.display()
    );
    let unmount = scopeguard(&mnt);
    env.db = mnt.join("quota.db");
    env.pg = None; // a full disk under the SQLite file
    let api = StandIn::start(crate::env::KEY);
    api.set_now(&env.now);
    env.api_url = Some(api.url.clone());
    api.put(Usage::new(Some("apikey_0000"), None, "2026-11-20", 900, 0));
    env.run(&["sync"]).ok();
    let before = env.alert_rows();
    // Fill the disk but for `leave` bytes, then bring a lot of new data.
    let filler = mnt.join("filler");
    let avail = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(&mnt)
        .output()
        .unwrap();
    let avail: u64 = String::from_utf8_lossy(&avail.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = std::fs::write(
        &filler,
        vec![0u8; usize::try_from(avail.saturating_sub(leave)).unwrap()],
    );
    for d in 1..=19 {
        for k in 0..50 {
            api.put(Usage::new(
                Some(&format!("apikey_{k:04}")),
                Some("wrkspc_some_long_workspace_identifier"),
                &format!("2026-11-{d:02}"),
                990,
                0,
            ));
        }
    }
    let run = env.run(&["sync", "--full"]).code(1);
    let line = run.error_line().to_string();
    assert!(
        line.contains("is full") && line.contains("nothing from this run was stored"),
        "{line}"
    );
    // Free the space (SQLite cannot even open a WAL database on a full disk), then look:
    // the database is intact and exactly as before, and the next run catches up.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(integrity(&env), "ok");
    assert_eq!(env.alert_rows(), before, "alerts as they were");
    env.run(&["sync", "--full"]).ok();
    let rows = env.count("SELECT count(*) FROM usage_daily");
    println!(
        "disk full ({} KiB left): {line}; after freeing space the next run stored {rows} rows, integrity ok",
        leave / 1024
    );
    assert!(rows > 900);
    drop(unmount);
}

/// Unmounts when dropped, even if the test fails.
fn scopeguard(path: &std::path::Path) -> impl Drop + use<> {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    Unmount(path.to_path_buf())
}

#[test]
fn malformed_responses_through_the_binary_store_nothing() {
    let corpus: &[(&str, &str)] = &[
        (
            "truncated",
            r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_"#,
        ),
        (
            "wrong type",
            r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_input_tokens":"5","cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"cache_read_input_tokens":0,"output_tokens":0}]}],"has_more":false}"#,
        ),
        (
            "negative",
            r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_input_tokens":-5,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"cache_read_input_tokens":0,"output_tokens":0}]}],"has_more":false}"#,
        ),
        (
            "float",
            r#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_input_tokens":1e30,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"cache_read_input_tokens":0,"output_tokens":0}]}],"has_more":false}"#,
        ),
        (
            "bad time",
            r#"{"data":[{"starting_at":"yesterday","results":[]}],"has_more":false}"#,
        ),
        ("not an object", "[1, 2, 3]"),
        ("empty", ""),
        ("html", "<html><body>502 Bad Gateway</body></html>"),
        (
            "deep nesting",
            &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("has_more without cursor", r#"{"data":[],"has_more":true}"#),
    ];
    let (env, api) = setup(
        &accounts_config(1, "[api]\ndeadline_secs = 1\ntimeout_secs = 0.5\n"),
        "2026-11-20T12:00:00Z",
    );
    for (name, body) in corpus {
        api.fail_always(Fault::Body(body.to_string()));
        let run = env.run(&["sync"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let stored = env.count("SELECT count(*) FROM usage_daily");
        assert_eq!(stored, 0, "{name}");
    }
    println!(
        "malformed-input corpus: {} bodies, 0 panics, 0 rows stored",
        corpus.len()
    );
}

//! Config, store, evaluation and the operator commands, with usage seeded into the store.

use std::collections::HashSet;

use serde_json::Value;

use crate::env::TestEnv;

const PROD: &str = r#"
[[accounts]]
name = "production"
api_key_id = "apikey_prod"
token_limit = 1000
output_token_limit = 500
request_limit = 10

[[accounts]]
name = "research"
workspace_id = "wrkspc_research"
token_limit = 10000
billing_day = 15
"#;

#[test]
fn config_errors_exit_2_with_one_line_and_write_nothing() {
    for (toml, needle) in [
        ("[api]\nbogus = 1\n", "bogus"),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\n[[accounts]]\nname = \"a\"\norganization = true\n",
            "duplicate account name",
        ),
        ("[[accounts]]\nname = \"a\"\n", "no selector"),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nworkspace_id = \"wrkspc_1\"\n",
            "more than one selector",
        ),
        ("[defaults]\nthresholds = [0, 80]\n", "defaults.thresholds"),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\nbilling_day = 40\n",
            "billing_day",
        ),
        (
            "[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_1\"\ntoken_limit = 0\n",
            "token_limit",
        ),
        (
            "[[notify]]\ntype = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/SECRETPART\"\nmin_severity = \"loud\"\n",
            "min_severity",
        ),
        ("[[accounts]\n", "config.toml:1:"),
    ] {
        let env = TestEnv::with_config(toml);
        for cmd in [
            &["check"][..],
            &["status"],
            &["alerts", "list"],
            &["config", "check"],
        ] {
            let run = env.run(cmd).code(2);
            let line = run.error_line();
            assert!(
                line.contains(needle) && line.contains("config.toml"),
                "{cmd:?}: {line}"
            );
            assert!(
                !run.stderr.contains("SECRETPART"),
                "secret leaked: {}",
                run.stderr
            );
        }
        assert!(!env.db.exists(), "nothing may be written for a bad config");
    }
}

#[test]
fn bad_environment_and_arguments_exit_2() {
    let env = TestEnv::with_config(PROD);
    env.run(&["check"]).ok();
    let mut c = env.command(&["status"]);
    c.env("QUOTA_NOW", "yesterday");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QUOTA_NOW"));

    let run = env.run(&["status", "--account", "nope"]).code(2);
    assert!(
        run.error_line().contains("no account named \"nope\""),
        "{}",
        run.stderr
    );
    env.run(&["alerts", "list", "--severity", "loud"]).code(2);
    env.run(&["frobnicate"]).code(2);
    let missing = env.path().join("missing.toml");
    let run = env
        .run(&["--config", missing.to_str().unwrap(), "status"])
        .code(2);
    assert!(run.error_line().contains("--config"), "{}", run.stderr);
}

#[test]
fn ladder_80_95_100_without_duplicates() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 700, 100);
    env.run(&["check"]).ok();
    env.run(&["check"]).ok();
    let open = env.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["threshold"].as_i64(), open[0]["severity"].as_str()),
        (Some(80), Some("warning"))
    );

    env.seed(Some("apikey_prod"), None, "2026-11-03", 150, 0);
    env.run(&["check"]).ok();
    let open = env.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0]["threshold"].as_i64(), open[0]["severity"].as_str()),
        (Some(95), Some("critical"))
    );

    env.seed(Some("apikey_prod"), None, "2026-11-04", 50, 0);
    for _ in 0..3 {
        env.run(&["check"]).ok();
    }
    let open = env.open_alerts();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["type"], "quota_exceeded");
    assert_eq!(open[0]["current_value"], 1000);
    assert_eq!(open[0]["limit_value"], 1000);
    assert_eq!(open[0]["percentage"], 100.0);

    let rows = env.alert_rows();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let res: Vec<_> = rows.iter().map(|r| (r.2, r.4.clone())).collect();
    assert_eq!(
        res,
        vec![
            (80, Some("superseded".into())),
            (95, Some("superseded".into())),
            (100, None)
        ]
    );

    let status = env.status_of("production");
    assert_eq!(status[0]["status"], "exhausted");
}

#[test]
fn alerts_json_has_exactly_the_contract_columns() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 100, 450);
    env.run(&["check"]).ok();
    let alerts = env.run(&["alerts", "list", "--json"]).ok().json();
    let a = alerts[0].as_object().unwrap();
    let keys: HashSet<&str> = a.keys().map(String::as_str).collect();
    let want: HashSet<&str> = [
        "id",
        "account",
        "type",
        "severity",
        "message",
        "current_value",
        "limit_value",
        "percentage",
        "quota_type",
        "threshold",
        "window",
        "period_start",
        "period_end",
        "created_at",
        "resolved_at",
        "resolution",
        "comment",
        "resolved_by",
        "silenced_until",
    ]
    .into();
    assert_eq!(keys, want);
    assert_eq!(a["quota_type"], "output_tokens");
    assert_eq!(a["window"], "period");
    assert_eq!(a["period_start"], "2026-11-01T00:00:00Z");
    assert_eq!(a["period_end"], "2026-12-01T00:00:00Z");
    assert_eq!(a["created_at"], "2026-11-20T12:00:00Z");
    assert_eq!(a["resolved_at"], Value::Null);
    assert!(uuid_v4(a["id"].as_str().unwrap()));
}

fn uuid_v4(s: &str) -> bool {
    s.len() == 36
        && s.as_bytes()[14] == b'4'
        && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[test]
fn list_orders_by_severity_then_newest_and_filters() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 0, 480); // output 96 %: critical
    env.run_at("2026-11-20T10:00:00Z", &["check"]).ok();
    env.seed(Some("apikey_prod"), None, "2026-11-03", 320, 0); // tokens 80 %: warning
    env.run_at("2026-11-20T11:00:00Z", &["check"]).ok();
    env.seed(None, Some("wrkspc_research"), "2026-11-16", 8100, 0); // research 81 %: warning
    env.run_at("2026-11-20T12:00:00Z", &["check"]).ok();

    let list = env.run(&["alerts", "list", "--json"]).ok().json();
    let order: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap(),
                a["quota_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("production", "output_tokens"),
            ("research", "tokens"),
            ("production", "tokens")
        ]
    );

    let crit = env
        .run(&["alerts", "list", "--json", "--severity", "critical"])
        .ok()
        .json();
    assert_eq!(crit.as_array().unwrap().len(), 1);
    let research = env
        .run(&["alerts", "list", "--json", "--account", "research"])
        .ok()
        .json();
    assert_eq!(research.as_array().unwrap().len(), 1);

    let table = env.run(&["alerts", "list"]).ok().stdout;
    assert!(
        table.contains("production") && table.contains("critical") && table.contains("480 of 500"),
        "{table}"
    );
    let wide = env.run(&["alerts", "list", "--wide"]).ok().stdout;
    assert!(
        wide.contains("480 / 500") && wide.contains("approaching_limit"),
        "{wide}"
    );
}

#[test]
fn resolve_by_prefix_is_final_and_reports_what_it_did() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 900, 0);
    env.run(&["check"]).ok();
    let id = env.open_alerts()[0]["id"].as_str().unwrap().to_string();

    let short = env.run(&["alerts", "resolve", &id[..7]]).code(2);
    assert!(
        short.error_line().contains("at least its first 8"),
        "{}",
        short.stderr
    );
    let unknown = env.run(&["alerts", "resolve", "00000000"]).code(1);
    assert!(
        unknown.error_line().contains("00000000"),
        "{}",
        unknown.stderr
    );
    // A typo next to a good id resolves nothing.
    env.run(&["alerts", "resolve", &id, "ffffffff-0000"])
        .code(1);
    assert_eq!(env.open_alerts().len(), 1);

    let out = env
        .run(&[
            "alerts",
            "resolve",
            &id[..8].to_uppercase(),
            "--comment",
            "raised the budget",
        ])
        .ok();
    assert!(
        out.stdout.contains(&format!("resolved {id}")),
        "{}",
        out.stdout
    );
    let again = env.run(&["alerts", "resolve", &id]).ok();
    assert!(
        again.stdout.contains("already resolved") && again.stdout.contains("manual"),
        "{}",
        again.stdout
    );

    // Manual resolve is final for this identity in this period…
    env.run(&["check"]).ok();
    assert!(env.open_alerts().is_empty());
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolution"], "manual");
    assert_eq!(all[0]["comment"], "raised the budget");
    // …and a new period re-arms it.
    env.seed(Some("apikey_prod"), None, "2026-12-02", 900, 0);
    env.run_at("2026-12-03T00:00:00Z", &["check"]).ok();
    assert_eq!(env.open_alerts().len(), 1);
}

#[test]
fn ambiguous_prefix_names_it() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 900, 490);
    env.run(&["check"]).ok();
    // Give two alerts ids that share their first 8 characters.
    env.conn().exec(
        "UPDATE alerts SET id = 'abcdef01-' || substr(id, 10) WHERE quota_type = 'tokens';
         UPDATE alerts SET id = 'abcdef01-' || substr(id, 10) WHERE quota_type = 'output_tokens';",
    );
    let run = env.run(&["alerts", "resolve", "abcdef01"]).code(1);
    assert!(
        run.error_line().contains("abcdef01 matches several alerts"),
        "{}",
        run.stderr
    );
}

#[test]
fn status_json_and_table() {
    let env = TestEnv::with_config(PROD);
    env.seed(
        Some("apikey_prod"),
        Some("wrkspc_research"),
        "2026-11-02",
        300,
        100,
    );
    env.seed(
        Some("apikey_prod"),
        Some("wrkspc_research"),
        "2026-11-16",
        50,
        0,
    );
    env.run(&["check"]).ok();
    // Stored rows that no sync of this account read: nothing is shown as measured.
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["measured"], false);
    assert_eq!(s[0]["quotas"]["tokens"]["used"], Value::Null);
    assert_eq!(
        s[0]["quotas"]["tokens"]["reason"],
        "not synced yet (run quota sync)"
    );
    let table = env.run(&["status"]).ok().stdout;
    assert!(
        table.contains("tokens not measured (production, research): not synced yet"),
        "{table}"
    );
    env.mark_synced();
    let s = env.run(&["status", "--json"]).ok().json();
    let prod = &s[0];
    for key in [
        "account",
        "api_key_id",
        "workspace_id",
        "status",
        "period_start",
        "period_end",
        "last_synced_at",
        "quotas",
        "open_alerts",
    ] {
        assert!(prod.get(key).is_some(), "missing {key}: {prod}");
    }
    assert_eq!(prod["api_key_id"], "apikey_prod");
    assert_eq!(prod["quotas"]["tokens"]["used"], 450);
    assert_eq!(prod["quotas"]["tokens"]["limit"], 1000);
    assert_eq!(prod["quotas"]["tokens"]["percentage"], 45.0);
    assert_eq!(prod["quotas"]["tokens"]["measured"], true);
    // Requests are not measured by the messages source: never shown as 0.
    assert_eq!(prod["quotas"]["requests"]["measured"], false);
    assert_eq!(prod["quotas"]["requests"]["used"], Value::Null);
    assert_eq!(prod["quotas"]["requests"]["limit"], 10);
    let research = &s[1];
    assert_eq!(research["workspace_id"], "wrkspc_research");
    assert_eq!(research["period_start"], "2026-11-15T00:00:00Z");
    assert_eq!(
        research["quotas"]["tokens"]["used"], 50,
        "only days in its own period"
    );

    let table = env.run(&["status"]).ok();
    assert!(table.stdout.contains("not measured"), "{}", table.stdout);
    let wide = env.run(&["status", "--wide"]).ok().stdout;
    assert!(
        wide.contains("research") && wide.contains("11-15 to 12-15"),
        "{wide}"
    );
    assert!(
        table
            .stdout
            .contains("requests not measured (production): the \"messages\" usage source has no request counts"),
        "{}",
        table.stdout
    );
}

#[test]
fn null_ids_are_real_values() {
    let env = TestEnv::with_config(
        "[[accounts]]\nname = \"default-ws\"\nworkspace_id = \"default\"\ntoken_limit = 100\n\n[[accounts]]\nname = \"org\"\norganization = true\ntoken_limit = 1000\n",
    );
    env.seed(None, None, "2026-11-02", 85, 0); // Playground key, Default Workspace
    env.seed(Some("apikey_x"), Some("wrkspc_other"), "2026-11-02", 10, 0);
    env.run(&["check"]).ok();
    env.mark_synced();
    let s = env.run(&["status", "--json"]).ok().json();
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 85);
    assert_eq!(s[0]["workspace_id"], "default");
    assert_eq!(s[1]["quotas"]["tokens"]["used"], 95);
    assert_eq!(env.open_alerts().len(), 1);
}

#[test]
fn period_rollover_resolves_and_clears_exhausted() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-29", 1200, 0);
    env.run_at("2026-11-30T23:59:00Z", &["check"]).ok();
    env.mark_synced();
    assert_eq!(
        env.run_at("2026-11-30T23:59:00Z", &["status", "--json"])
            .ok()
            .json()[0]["status"],
        "exhausted"
    );
    env.run_at("2026-12-01T00:00:00Z", &["check"]).ok();
    let s = env
        .run_at("2026-12-01T00:00:00Z", &["status", "--json"])
        .ok()
        .json();
    assert_eq!(s[0]["status"], "active");
    assert_eq!(s[0]["quotas"]["tokens"]["used"], 0);
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolution"], "period_ended");
}

#[test]
fn config_check_shows_sources_without_secrets() {
    let env = TestEnv::with_config(&format!(
        "{PROD}\n[[notify]]\ntype = \"slack\"\nurl = \"https://hooks.slack.com/services/T0/B0/SECRETPART\"\n"
    ));
    let out = env.run(&["config", "check"]).ok().stdout;
    assert!(out.contains("(from $QUOTA_CONFIG)"), "{out}");
    let db = if env.pg.is_some() {
        "(from $QUOTA_DATABASE_URL)"
    } else {
        "(from $QUOTA_DB)"
    };
    assert!(out.contains(db), "{out}");
    assert!(
        out.contains("$ANTHROPIC_ADMIN_API_KEY (ends …9876)"),
        "{out}"
    );
    assert!(
        out.contains("current period 2026-11-15 to 2026-12-15"),
        "{out}"
    );
    assert!(out.contains("request_limit is not measured"), "{out}");
    assert!(
        !out.contains("SECRETPART") && !out.contains("TESTKEY"),
        "{out}"
    );
    assert!(!env.db.exists(), "config check writes nothing");
}

#[test]
fn database_file_and_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::with_config(PROD);
    env.run(&["check"]).ok();
    if env.pg.is_some() {
        assert!(!env.db.exists(), "no SQLite file beside a PostgreSQL store");
        return;
    }
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.db), 0o600);
    assert_eq!(mode(env.db.parent().unwrap()), 0o700);
}

#[test]
fn parallel_checks_and_resolves_never_lock_or_duplicate() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 960, 0);
    env.seed(None, Some("wrkspc_research"), "2026-11-16", 8500, 0);
    // Several processes at once, some of them resolving whatever is open.
    let runs: Vec<Vec<&str>> = (0..12)
        .map(|i| {
            if i % 3 == 2 {
                vec!["alerts", "list"]
            } else {
                vec!["check"]
            }
        })
        .collect();
    env.run_parallel_ok(&runs);
    let ids: Vec<String> = env
        .open_alerts()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let runs: Vec<Vec<&str>> = (0..12)
        .map(|i| match i % 3 {
            0 => vec!["alerts", "resolve", &ids[0]],
            1 => vec!["check"],
            _ => vec!["alerts", "resolve", &ids[1], "--comment", "busy"],
        })
        .collect();
    env.run_parallel_ok(&runs);
    assert!(env.open_alerts().is_empty(), "manual resolves stay final");
    assert_eq!(env.alert_rows().len(), 2, "{:?}", env.alert_rows());
}

#[test]
fn two_processes_reconciling_at_once_never_share_an_identity() {
    // Many rounds of simultaneous checks on a fresh database: the first writer creates, the
    // others find the alert; the unique index backs this up.
    for round in 0..5 {
        let env = TestEnv::with_config(PROD);
        env.seed(Some("apikey_prod"), None, "2026-11-02", 990, 0);
        env.run_parallel_ok(&vec![vec!["check"]; 6]);
        let rows = env.alert_rows();
        assert_eq!(rows.len(), 1, "round {round}: {rows:?}");
    }
}

#[test]
fn ten_processes_migrate_a_new_database_once() {
    let env = TestEnv::with_config(PROD);
    env.run_parallel_ok(&vec![vec!["check"]; 10]);
    let (version, folder) = if env.pg.is_some() {
        ("SELECT version FROM quota_schema", "/migrations/postgres")
    } else {
        ("PRAGMA user_version", "/migrations")
    };
    let v: usize = env.conn().value(version).unwrap().parse().unwrap();
    let migrations = std::fs::read_dir(format!("{}{folder}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "sql")
        })
        .count();
    assert_eq!(v, migrations, "every migration applied, once");
    assert_eq!(env.integrity(), "ok");
    if env.pg.is_some() {
        assert_eq!(env.count("SELECT count(*) FROM quota_schema"), 1);
    }
}

#[test]
fn a_database_from_a_newer_quota_is_refused() {
    let env = TestEnv::with_config(PROD);
    env.run(&["check"]).ok();
    env.conn().exec(if env.pg.is_some() {
        "UPDATE quota_schema SET version = 42"
    } else {
        "PRAGMA user_version = 42"
    });
    let run = env.run(&["status"]).code(1);
    assert!(run.error_line().contains("newer quota"), "{}", run.stderr);
}

#[test]
fn broken_pipe_is_success() {
    let env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 960, 0);
    env.run(&["check"]).ok();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["alerts", "list", "--json"],
    ] {
        let mut child = env
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before quota writes
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args:?}: {stderr}"
        );
    }
}

/// A mistyped `--db` never answers "all clear": the commands that only read say there is no
/// database and create nothing; `check` (which writes) creates it.
#[test]
fn read_commands_never_create_a_database() {
    let env = TestEnv::with_config(PROD);
    let missing = env.dir.path().join("no/such/dir/q.db");
    let db = missing.to_str().unwrap();
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["alerts", "list"],
        vec!["alerts", "resolve", "abcd1234"],
        vec!["usage"],
    ] {
        let mut all = vec!["--db", db];
        all.extend(&args);
        let run = env.run(&all).code(1);
        assert_eq!(
            run.error_line(),
            format!("quota: error: no database at {db}: has quota sync run? (see --db)"),
            "{args:?}"
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert!(!env.dir.path().join("no").exists(), "nothing was created");
    env.run(&["--db", db, "check"]).ok();
    assert!(missing.exists());
    env.run(&["--db", db, "status"]).ok();
}

/// `--account` takes globs everywhere: `'prod*'` selects every account whose name fits; a
/// glob that fits none is bad input, like an unknown name.
#[test]
fn account_globs_select() {
    let env = TestEnv::with_config(
        "[[accounts]]\nname = \"prod-eu\"\napi_key_id = \"apikey_eu\"\ntoken_limit = 100\n\n[[accounts]]\nname = \"prod-us\"\napi_key_id = \"apikey_us\"\ntoken_limit = 100\n\n[[accounts]]\nname = \"staging\"\napi_key_id = \"apikey_st\"\ntoken_limit = 100\n",
    );
    env.seed(Some("apikey_eu"), None, "2026-11-02", 90, 0);
    env.seed(Some("apikey_st"), None, "2026-11-02", 90, 0);
    env.run(&["check"]).ok();
    env.mark_synced();
    let names = |args: &[&str]| -> Vec<String> {
        env.run(args)
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&["status", "--json", "--account", "prod-*"]),
        ["prod-eu", "prod-us"]
    );
    assert_eq!(
        names(&[
            "status",
            "--json",
            "--account",
            "*-us",
            "--account",
            "prod-*"
        ]),
        ["prod-us", "prod-eu"],
        "each once, in the order first named"
    );
    assert_eq!(
        names(&["alerts", "list", "--json", "--account", "prod*"]),
        ["prod-eu"]
    );
    let run = env.run(&["status", "--account", "dev-*"]).code(2);
    assert!(
        run.error_line().contains("no account matches \"dev-*\""),
        "{}",
        run.stderr
    );
}

/// `alerts list --json` says who resolved an alert by hand (`$SUDO_USER`, else `$USER`).
#[test]
fn alerts_json_says_who_resolved_by_hand() {
    let mut env = TestEnv::with_config(PROD);
    env.seed(Some("apikey_prod"), None, "2026-11-02", 900, 0);
    env.run(&["check"]).ok();
    let id = env.open_alerts()[0]["id"].as_str().unwrap().to_string();
    env.extra_env.push(("USER".into(), "ops-alice".into()));
    env.run(&["alerts", "resolve", &id, "--comment", "seen"])
        .ok();
    let all = env.run(&["alerts", "list", "--all", "--json"]).ok().json();
    assert_eq!(all[0]["resolved_by"], "ops-alice");
    assert_eq!(all[0]["resolution"], "manual");
}

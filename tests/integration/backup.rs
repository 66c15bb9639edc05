//! `quota db copy --to FILE|URL`: a backup that reads the same as the database, made while
//! syncs write, refused over an existing file, and one that a restore picks up where the
//! database left off (no alert raised or delivered twice).

use std::os::unix::fs::PermissionsExt;

use crate::capture::Capture;
use crate::env::setup;
use crate::standin::Usage;

const PROD: &str =
    "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";

#[test]
fn a_backup_restored_in_place_carries_on_without_a_second_notice() {
    let hook = Capture::start();
    let (env, api) = setup(
        &format!(
            "{PROD}\n[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
            hook.url
        ),
        "2026-11-20T12:00:00Z",
    );
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 960, 0));
    env.run(&["sync"]).ok();
    assert_eq!(hook.bodies().len(), 1);
    let status = env.run(&["status", "--json"]).ok().json();
    let alerts = env.run(&["alerts", "list", "--all", "--json"]).ok().json();

    let backup = env.path().join("backups/quota-20261120.db");
    let run = env
        .run(&["db", "copy", "--to", backup.to_str().unwrap()])
        .ok();
    assert!(
        run.stdout.contains("checked against the database"),
        "{}",
        run.stdout
    );
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the backup is the owner's only");

    // The backup reads the same, through --db.
    let b = backup.to_str().unwrap();
    assert_eq!(
        env.run(&["--db", b, "status", "--json"]).ok().json(),
        status
    );
    assert_eq!(
        env.run(&["--db", b, "alerts", "list", "--all", "--json"])
            .ok()
            .json(),
        alerts
    );

    let mut env = env;
    if env.pg.is_some() {
        // Restore on PostgreSQL: the backup copied into a new, empty database.
        let restored = quota_testkit::pg::Cluster::shared().create_database();
        env.run(&["--db", b, "db", "copy", "--to", &restored]).ok();
        env.pg = Some(restored);
    } else {
        // Restore: the database and its WAL files gone, the backup in its place.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = env.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        std::fs::copy(&backup, &env.db).unwrap();
    }
    env.run(&["sync"]).ok();
    assert_eq!(env.run(&["status", "--json"]).ok().json(), status);
    assert_eq!(
        hook.bodies().len(),
        1,
        "the restored outbox knows it was sent"
    );
    assert_eq!(env.open_alerts().len(), 1);
}

#[test]
fn a_copy_is_refused_over_a_file_to_a_url_and_without_a_database() {
    let (env, api) = setup(PROD, "2026-11-20T12:00:00Z");
    api.expect_no_calls();
    let to = env.path().join("b.db");
    let t = to.to_str().unwrap();
    if env.pg.is_none() {
        let missing = env.run(&["db", "copy", "--to", t]).code(1);
        assert_eq!(
            missing.error_line(),
            format!(
                "quota: error: no database at {}: has quota sync run? (see --db)",
                env.db.display()
            )
        );
        assert!(!to.exists() && !env.db.exists(), "nothing was created");
    }

    env.run(&["check"]).ok();
    std::fs::write(&to, "keep me").unwrap();
    let run = env.run(&["db", "copy", "--to", t]).code(2);
    assert_eq!(
        run.error_line(),
        format!(
            "quota: error: {t} already exists: db copy writes only a new file (remove it or choose another name)"
        )
    );
    assert_eq!(std::fs::read_to_string(&to).unwrap(), "keep me");

    let run = env
        .run(&["db", "copy", "--to", "mysql://quota@db.example/quota"])
        .code(2);
    assert!(
        run.error_line()
            .contains("--to takes a file path or a postgres:// URL; mysql is neither"),
        "{}",
        run.stderr
    );
    // A server that is not there: one line, and never the password.
    let run = env
        .run(&[
            "db",
            "copy",
            "--to",
            "postgres://quota:PASSWORD99@127.0.0.1:1/quota",
        ])
        .code(1);
    let line = run.error_line();
    assert!(
        line.contains("cannot connect to the PostgreSQL store postgres://quota@127.0.0.1:1/quota"),
        "{line}"
    );
    assert!(!run.stderr.contains("PASSWORD99"), "{}", run.stderr);
}

/// Copies made while other processes write are each whole and checked: the copy holds the
/// writers back for its moment, it does not fail them.
#[test]
fn copies_made_while_checks_write_are_whole() {
    let (env, api) = setup(PROD, "2026-11-20T12:00:00Z");
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 500, 0));
    env.run(&["sync"]).ok();
    let mut commands: Vec<Vec<String>> = Vec::new();
    for i in 0..4 {
        commands.push(vec!["check".into()]);
        let to = env.path().join(format!("copy-{i}.db"));
        commands.push(vec![
            "db".into(),
            "copy".into(),
            "--to".into(),
            to.to_str().unwrap().into(),
        ]);
    }
    env.run_parallel_ok(&commands);
    for i in 0..4 {
        let to = env.path().join(format!("copy-{i}.db"));
        assert!(!env.path().join(format!("copy-{i}.db.partial")).exists());
        let status = env
            .run(&["--db", to.to_str().unwrap(), "status", "--json"])
            .ok()
            .json();
        assert_eq!(status[0]["quotas"]["tokens"]["used"], 500, "{status}");
    }
}

//! What `packaging/` ships: the example config loads as shipped and with every optional key.

use crate::env::TestEnv;

#[test]
fn the_example_config_is_valid_as_shipped_and_with_every_key() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/config.example.toml"
    ))
    .unwrap();
    let env = TestEnv::with_config(&shipped);
    let mut c = env.command(&["config", "check"]);
    c.env_remove("QUOTA_DB").env_remove("QUOTA_DATABASE_URL");
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("database:     /var/lib/quota/quota.db (from config file)"),
        "{stdout}"
    );

    let everything: String = shipped
        .lines()
        .map(|l| l.strip_prefix("#: ").or(l.strip_prefix("#:")).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        everything
            .lines()
            .filter(|l| l.starts_with("[[accounts]]"))
            .count()
            == 5
    );
    env.write_config(&everything);
    let out = env.run(&["config", "check"]).ok().stdout;
    for needle in [
        "production: api_key_id",
        "research: workspace_id",
        "everything: organization",
        "alice: claude_code_user = alice@example.com",
        "ci: claude_code_api_key = ci-bot",
        "usage report read at most every 15 min; 2 configured developer accounts",
        "team (slack)",
        "pagerduty (pagerduty)",
        "email (email)",
        "textfile /var/lib/prometheus",
    ] {
        assert!(out.contains(needle), "{needle:?} missing in {out}");
    }
}

/// An operator without write access to the database folder gets one clear line, not a
/// panic. Needs root to drop to another user: CI runs it (`-- --include-ignored`).
#[test]
#[ignore = "needs root"]
fn an_operator_without_write_access_is_told_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    crate::env::assert_root();
    let mut env = TestEnv::with_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\n");
    env.pg = None; // the SQLite file's own permissions
    env.run(&["check"]).ok(); // root creates the database: folder 0700, file 0600
    let chmod = |p: &std::path::Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(env.path(), 0o755);
    chmod(&env.config, 0o644);
    let as_nobody = || {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_quota"),
            "status",
        ])
        .env_clear()
        .env("QUOTA_CONFIG", &env.config)
        .env("QUOTA_DB", &env.db)
        .env("HOME", "/nonexistent");
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A folder they cannot enter.
    let (code, stderr) = as_nobody();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("needs write access") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // A folder and file they can read but not write: WAL mode still needs to write.
    chmod(env.db.parent().unwrap(), 0o755);
    chmod(&env.db, 0o644);
    let (code, stderr) = as_nobody();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("needs write access") && stderr.contains("sudo -u"),
        "{stderr}"
    );
}

#[test]
fn config_check_warns_about_what_an_operator_should_fix() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let slack = env.path().join("slack-url");
    std::fs::write(&slack, "https://hooks.slack.com/services/T/B/SECRETPART\n").unwrap();
    std::fs::set_permissions(&slack, std::fs::Permissions::from_mode(0o644)).unwrap();
    let key = env.path().join("admin-key");
    std::fs::write(&key, "sk-ant-admin01-secret").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    env.write_config(&format!(
        "[api]\nadmin_key_file = \"{}\"\n\n[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\nthresholds = [95, 80]\nrequest_limit = 10\n\n\
         [[notify]]\ntype = \"slack\"\nurl_file = \"{}\"\n\n[[notify]]\ntype = \"pagerduty\"\nrouting_key_file = \"/nonexistent/pd-key\"\n",
        key.display(),
        slack.display()
    ));
    let out = env.run(&["config", "check"]).ok().stdout;
    for needle in [
        "admin key file",
        "slack-url is readable by other users",
        "channel pagerduty: cannot read secret file /nonexistent/pd-key",
        "accounts[0] (\"a\").thresholds: [95, 80] is not in ascending order",
        "request_limit is not measured",
        "slack (slack): URL file",
        "min severity warning; resolved notices on",
    ] {
        assert!(out.contains(needle), "{needle:?} missing in:\n{out}");
    }
    assert!(
        !out.contains("SECRETPART") && !out.contains("sk-ant-admin01-secret"),
        "{out}"
    );
}

/// A database file this user may read but not write (in a folder it may write): one line
/// that names the file and the fix, printed once, and nothing changed.
#[test]
#[ignore = "needs root"]
fn a_read_only_database_file_is_one_line_with_advice() {
    use std::os::unix::fs::{PermissionsExt, chown};
    crate::env::assert_root();
    let mut env = TestEnv::with_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\n");
    env.pg = None; // the SQLite file's own permissions
    env.run(&["check"]).ok();
    let folder = env.db.parent().unwrap();
    chown(folder, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&env.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_quota"))
        .arg("check")
        .env_clear()
        .env("QUOTA_CONFIG", &env.config)
        .env("QUOTA_DB", &env.db)
        .env("QUOTA_NOW", &env.now)
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "printed once: {stderr}");
    assert!(
        stderr.contains(&format!(
            "the database {} is read-only for this user",
            env.db.display()
        )) && stderr.contains("sudo -u quota"),
        "{stderr}"
    );
}

/// `--db` naming a folder says so, instead of blaming the folder's permissions.
#[test]
fn a_folder_given_as_the_database_is_named() {
    let mut env = TestEnv::with_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\n");
    env.pg = None; // a SQLite path that is a folder
    let folder = env.path().to_str().unwrap().to_string();
    for args in [
        vec!["--db", &folder, "check"],
        vec!["--db", &folder, "status"],
    ] {
        let run = env.run(&args).code(1);
        assert_eq!(
            run.error_line(),
            format!(
                "quota: error: {folder} is a folder, not a database file: point --db (or [database] path) at a file, e.g. {folder}/quota.db"
            )
        );
    }
}

/// `config check --strict` gates CI: any warning exits 1 (after the report), none exits 0.
#[test]
fn config_check_strict_fails_on_warnings() {
    let env = TestEnv::with_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\n");
    env.run(&["config", "check", "--strict"]).ok();
    env.write_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\nrequest_limit = 10\n");
    let run = env.run(&["config", "check", "--strict"]).code(1);
    assert!(
        run.stdout.contains("request_limit is not measured"),
        "{}",
        run.stdout
    );
    assert_eq!(run.error_line(), "quota: error: 1 warning (--strict)");
    env.run(&["config", "check"]).ok();
}

/// Under the packaged unit the admin key is a systemd credential no shell sees: on a host
/// with /etc/quota/admin-key, config check says the unit gets it from there instead of
/// "not found". Needs root to write under /etc (it removes what it wrote).
#[test]
#[ignore = "needs root"]
fn config_check_knows_the_units_credential() {
    crate::env::assert_root();
    let path = std::path::Path::new("/etc/quota/admin-key");
    let made_dir = !path.parent().unwrap().exists();
    let made_file = !path.exists();
    if made_dir {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    }
    if made_file {
        std::fs::write(path, "sk-ant-admin01-test").unwrap();
    }
    let env = TestEnv::with_config("[[accounts]]\nname = \"a\"\napi_key_id = \"apikey_a\"\n");
    let mut c = env.command(&["config", "check"]);
    c.env_remove("ANTHROPIC_ADMIN_API_KEY");
    let out = String::from_utf8(c.output().unwrap().stdout).unwrap();
    if made_file {
        std::fs::remove_file(path).unwrap();
    }
    if made_dir {
        std::fs::remove_dir(path.parent().unwrap()).unwrap();
    }
    assert!(
        out.contains(
            "admin key:    not in this shell; the quota-sync unit gets it from /etc/quota/admin-key"
        ),
        "{out}"
    );
}

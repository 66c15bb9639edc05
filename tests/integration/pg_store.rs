//! What only a PostgreSQL store has: TLS with libpq's `sslmode`, passwords from a file or
//! pgpass and never shown, and `db copy` between the stores. These run on the suite's
//! throwaway cluster whatever `QUOTA_TEST_BACKEND` says.

use quota_testkit::pg::{Cluster, PASSWORD, PASSWORD_ROLE};

use crate::capture::Capture;
use crate::env::{TestEnv, setup};
use crate::standin::{CodeRecord, Usage};

const PROD: &str =
    "[[accounts]]\nname = \"production\"\napi_key_id = \"apikey_prod\"\ntoken_limit = 1000\n";

fn encoded(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('/', "%2F")
}

/// A test env on a database of the cluster reached over TCP (TLS only there), at `url`.
fn over_tcp(config: &str, url: String) -> TestEnv {
    let mut env = TestEnv::with_config(config);
    env.pg = Some(url);
    env
}

#[test]
fn verify_full_checks_the_certificate_and_the_host_name() {
    let cluster = Cluster::shared();
    let db = cluster.create_database_owned_by("quota");
    let ca = format!("sslrootcert={}", encoded(&cluster.ca_file()));
    let url = |host: &str, query: &str| format!("{}?{query}", cluster.tcp_url("quota", host, &db));

    let env = over_tcp(PROD, url("localhost", &format!("sslmode=verify-full&{ca}")));
    env.run(&["check"]).ok();

    // The certificate names localhost, not 127.0.0.1.
    let env = over_tcp(PROD, url("127.0.0.1", &format!("sslmode=verify-full&{ca}")));
    let run = env.run(&["status"]).code(1);
    let line = run.error_line();
    assert!(
        line.contains("cannot connect to the PostgreSQL store postgres://quota@127.0.0.1:")
            && line.contains("certificate"),
        "{line}"
    );
    // Signed by an authority the system does not trust.
    let env = over_tcp(PROD, url("localhost", "sslmode=verify-full"));
    let run = env.run(&["status"]).code(1);
    assert!(run.error_line().contains("certificate"), "{}", run.stderr);

    // require: encrypted, the certificate not checked (libpq's meaning).
    let env = over_tcp(PROD, url("127.0.0.1", "sslmode=require"));
    env.run(&["status"]).ok();
    // The server takes TCP connections over TLS only: disable is turned away.
    let env = over_tcp(PROD, url("127.0.0.1", "sslmode=disable"));
    let run = env.run(&["status"]).code(1);
    assert!(run.error_line().contains("no encryption"), "{}", run.stderr);
    let env = over_tcp(PROD, url("localhost", "sslmode=verify-ca"));
    let run = env.run(&["status"]).code(2);
    assert!(
        run.error_line().contains("use sslmode=verify-full"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_password_comes_from_a_file_or_pgpass_and_is_never_shown() {
    let cluster = Cluster::shared();
    let db = cluster.create_database_owned_by(PASSWORD_ROLE);
    let url = format!(
        "{}?sslmode=require",
        cluster.tcp_url(PASSWORD_ROLE, "localhost", &db)
    );
    let mut env = TestEnv::new();
    env.pg = None; // the URL comes from the config file here
    let secret = env.path().join("pg-password");
    std::fs::write(&secret, format!("{PASSWORD}\n")).unwrap();
    env.write_config(&format!(
        "{PROD}\n[database]\nurl = \"{url}\"\npassword_file = \"{}\"\n",
        secret.display()
    ));
    env.run(&["check"]).ok();
    let mut shown = String::new();
    for args in [
        &["config", "check"][..],
        &["status"],
        &["-vvv", "status", "--json"],
    ] {
        let run = env.run(args).ok();
        shown.push_str(&run.stdout);
        shown.push_str(&run.stderr);
    }
    assert!(
        shown.contains(&format!(
            "database:     postgres://{PASSWORD_ROLE}@localhost:"
        )),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "the password was shown: {shown}");

    // No password at all: refused by the server, said in one line.
    env.write_config(&format!("{PROD}\n[database]\nurl = \"{url}\"\n"));
    let run = env.run(&["status"]).code(1);
    assert!(run.error_line().contains("password"), "{}", run.stderr);

    // libpq's password file.
    let pgpass = env.path().join("pgpass");
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    std::fs::write(
        &pgpass,
        format!(
            "# host:port:database:user:password\nlocalhost:{port}:{db}:{PASSWORD_ROLE}:{PASSWORD}\n"
        ),
    )
    .unwrap();
    env.extra_env
        .push(("PGPASSFILE".into(), pgpass.to_string_lossy().into_owned()));
    env.run(&["status"]).ok();

    // A wrong password in the URL: refused, and not repeated.
    let wrong = url.replace(
        &format!("{PASSWORD_ROLE}@"),
        &format!("{PASSWORD_ROLE}:Wrong-PW-777@"),
    );
    env.write_config(&format!("{PROD}\n[database]\nurl = \"{wrong}\"\n"));
    let run = env.run(&["status"]).code(1);
    assert!(
        run.error_line().contains("password authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Wrong-PW-777"), "{}", run.stderr);
}

/// A SQLite store with every kind of row (usage, per model too, cost, a developer, alerts,
/// deliveries, a silence, burn-rate totals), moved into PostgreSQL and back into a file:
/// every command reads the same.
#[test]
fn db_copy_moves_a_sqlite_store_into_postgres_and_back() {
    let hook = Capture::start();
    let config = format!(
        "{PROD}\n[[accounts]]\nname = \"alice\"\nclaude_code_user = \"alice@example.com\"\ncost_limit_usd = \"10.00\"\n\n[[accounts]]\nname = \"everything\"\norganization = true\ncost_limit_usd = \"50.00\"\n\n[[accounts]]\nname = \"prod-sonnet\"\napi_key_id = \"apikey_prod\"\nmodel = \"claude-sonnet*\"\ntoken_limit = 5000\n\n[[notify]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
        hook.url
    );
    let (mut lite, api) = setup(&config, "2026-11-20T12:00:00Z");
    lite.pg = None;
    api.put(
        Usage::new(Some("apikey_prod"), None, "2026-11-19", 400, 100).model("claude-sonnet-4-5"),
    );
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 400, 60).model("claude-opus-4-1"));
    api.put_cost(None, "2026-11-19", "1234.5");
    api.put_code_day(
        "2026-11-19",
        vec![
            CodeRecord::user("alice@example.com", "2026-11-19", "vscode").model(
                "claude-sonnet-4-5",
                [1000, 500, 0, 0],
                950,
            ),
        ],
    );
    lite.run(&["sync"]).ok();
    for table in [
        "usage_models",
        "developer_models",
        "burn_series",
        "usage_reads",
    ] {
        let n = lite.count(&format!("SELECT count(*) FROM {table}"));
        assert!(n > 0, "{table} has rows to copy");
    }
    let id = lite.open_alerts()[0]["id"].as_str().unwrap().to_string();
    lite.run(&["alerts", "silence", &id[..8], "--for", "2h"])
        .ok();
    let read = |env: &TestEnv| {
        [
            &["status", "--json"][..],
            &["alerts", "list", "--all", "--json"],
            &["usage", "--json"],
            &["health", "--json"],
        ]
        .iter()
        .map(|args| env.run(args).ok().json())
        .collect::<Vec<_>>()
    };
    let before = read(&lite);
    assert!(lite.count("SELECT count(*) FROM outbox") > 0);

    let cluster = Cluster::shared();
    let url = cluster.create_database();
    let run = lite.run(&["db", "copy", "--to", &url]).ok();
    assert!(
        run.stdout.contains("counts and sums checked"),
        "{}",
        run.stdout
    );
    let mut pg = TestEnv::with_config(&config);
    pg.pg = Some(url.clone());
    pg.now = lite.now.clone();
    assert_eq!(read(&pg), before, "PostgreSQL reads as SQLite did");

    // Not over a store that holds anything.
    let run = lite.run(&["db", "copy", "--to", &url]).code(2);
    assert!(run.error_line().contains("is not empty"), "{}", run.stderr);

    // And back into a file.
    let file = pg.path().join("from-postgres.db");
    pg.run(&["db", "copy", "--to", file.to_str().unwrap()]).ok();
    let mut back = TestEnv::with_config(&config);
    back.pg = None;
    back.db = file;
    back.now = lite.now.clone();
    assert_eq!(read(&back), before, "the file reads as the first store did");
}

/// A copy that fails half-way leaves the target empty, and runs again.
#[test]
fn a_copy_that_fails_leaves_the_target_empty_and_runs_again() {
    let (mut lite, api) = setup(PROD, "2026-11-20T12:00:00Z");
    lite.pg = None;
    api.put(Usage::new(Some("apikey_prod"), None, "2026-11-20", 900, 0));
    lite.run(&["sync"]).ok();
    let cluster = Cluster::shared();
    let url = cluster.create_database();
    let mut target = TestEnv::with_config(PROD);
    target.pg = Some(url.clone());
    target.run(&["check"]).ok(); // migrated, holding nothing yet but the config's account
    let mut db = target.conn();
    db.exec(
        "DELETE FROM accounts WHERE name <> ''; DELETE FROM sync_state; DELETE FROM read_health;
         DELETE FROM burn_series;",
    );
    db.exec(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let run = lite.run(&["db", "copy", "--to", &url]).code(1);
    assert!(
        run.error_line().contains("the disk is full"),
        "{}",
        run.stderr
    );
    assert_eq!(
        target.count("SELECT count(*) FROM usage_daily"),
        0,
        "nothing of the copy was kept"
    );
    db.exec("DROP TRIGGER refuse ON alerts;");
    lite.run(&["db", "copy", "--to", &url]).ok();
    assert_eq!(
        target.run(&["status", "--json"]).ok().json(),
        lite.run(&["status", "--json"]).ok().json()
    );
}

/// The server's notices ("relation … already exists, skipping", for the temporary tables a
/// run creates if it has none) stay out of the log, even at `-vv`; quota's own lines do not.
#[test]
fn server_notices_stay_out_of_the_log() {
    let config = "[discovery]\napi_keys = \"always\"\n";
    let (mut env, api) = setup(config, "2026-11-20T12:00:00Z");
    env.pg = Some(Cluster::shared().create_database());
    for i in 0..1500 {
        api.put_key(&format!("apikey_{i:04}"), &format!("Key {i}"), "active");
    }
    let run = env.run(&["-vv", "sync"]).ok();
    assert!(
        run.stderr.contains("discovered 1500 API key accounts"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("NOTICE"), "{}", run.stderr);
}

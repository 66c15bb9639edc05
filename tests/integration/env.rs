//! `TestEnv`: a temp folder with a config, a database path and the real `quota` binary run
//! with a scrubbed environment (nothing inherited can change what a test sees).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::standin::StandIn;

pub(crate) const KEY: &str = "sk-ant-admin01-TESTKEY-abcdefghijklmnopqrstuvwxyz-9876";

/// Three accounts: a key, a key billed from the 15th, a workspace billed from the 31st.
pub(crate) const ACCOUNTS: &str = r#"
[[accounts]]
name = "production"
api_key_id = "apikey_prod"
token_limit = 1000

[[accounts]]
name = "batch"
api_key_id = "apikey_batch"
token_limit = 5000
billing_day = 15

[[accounts]]
name = "research"
workspace_id = "wrkspc_research"
output_token_limit = 100
billing_day = 31
"#;

/// `http://127.0.0.1:<port>` where nothing listens, for as long as the suite runs.
///
/// The port is held by a socket that is bound but never listens: a connection to it is
/// refused, and no stand-in started by another test can be given it. (Binding a listener,
/// noting its port and closing it was a race: a parallel test's stand-in could get the port
/// in between and answer.)
pub(crate) fn nothing_listens() -> String {
    use socket2::{Domain, Socket, Type};
    static HELD: std::sync::OnceLock<(Socket, u16)> = std::sync::OnceLock::new();
    let (_, port) = HELD.get_or_init(|| {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket
            .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        (socket, port)
    });
    format!("http://127.0.0.1:{port}")
}

/// A test env whose clock and the stand-in's agree.
pub(crate) fn setup(config: &str, now: &str) -> (TestEnv, StandIn) {
    let mut env = TestEnv::with_config(config);
    let api = StandIn::start(KEY);
    env.api_url = Some(api.url.clone());
    env.now = now.to_string();
    api.set_now(now);
    (env, api)
}

/// Moves the test env's clock and the stand-in's together.
pub(crate) fn at(env: &mut TestEnv, api: &StandIn, now: &str) {
    env.now = now.to_string();
    api.set_now(now);
}

/// Whether the suite runs on PostgreSQL: `QUOTA_TEST_BACKEND=postgres` (each test then gets
/// a database of its own in a throwaway cluster the suite starts); SQLite otherwise.
pub(crate) fn on_postgres() -> bool {
    std::env::var("QUOTA_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

pub(crate) struct TestEnv {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The SQLite file (unused on PostgreSQL).
    pub db: PathBuf,
    /// The test's PostgreSQL database, when the suite runs on PostgreSQL.
    pub pg: Option<String>,
    pub now: String,
    pub api_url: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success, got {}:\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}:\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// The error line: exactly one line on stderr starting with "quota: error:".
    #[track_caller]
    pub(crate) fn error_line(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("quota: error:"))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "one error line expected in: {}",
            self.stderr
        );
        lines[0]
    }
}

impl TestEnv {
    pub(crate) fn new() -> TestEnv {
        // In memory where there is a tmpfs: the suite writes thousands of small SQLite
        // transactions, each synced to disk; what they test does not depend on the disk.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        let config = dir.path().join("config.toml");
        let db = dir.path().join("state/quota.db");
        std::fs::write(&config, "").unwrap();
        TestEnv {
            dir,
            config,
            db,
            pg: on_postgres().then(|| quota_testkit::pg::Cluster::shared().create_database()),
            now: "2026-11-20T12:00:00Z".into(),
            api_url: None,
            extra_env: Vec::new(),
        }
    }

    pub(crate) fn with_config(toml: &str) -> TestEnv {
        let env = TestEnv::new();
        env.write_config(toml);
        env
    }

    pub(crate) fn write_config(&self, toml: &str) {
        std::fs::write(&self.config, toml).unwrap();
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_quota"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("QUOTA_CONFIG", &self.config)
            .env("QUOTA_DB", &self.db)
            .env("QUOTA_NOW", &self.now)
            .env("ANTHROPIC_ADMIN_API_KEY", KEY);
        if let Some(url) = &self.api_url {
            c.env("QUOTA_API_URL", url);
        }
        if let Some(url) = &self.pg {
            c.env("QUOTA_DATABASE_URL", url);
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        to_run(self.command(args).output().unwrap())
    }

    /// Starts one process per command line, all at once, and waits for every one: their
    /// runs in the same order, each with how long it took from its start.
    pub(crate) fn run_parallel<S: AsRef<str>>(&self, commands: &[Vec<S>]) -> Vec<(Run, Duration)> {
        let children: Vec<_> = commands
            .iter()
            .map(|args| {
                let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
                let started = Instant::now();
                let child = self
                    .command(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (started, child)
            })
            .collect();
        children
            .into_iter()
            .map(|(started, child)| {
                let out = child.wait_with_output().unwrap();
                (to_run(out), started.elapsed())
            })
            .collect()
    }

    /// Like `run_parallel`, asserting that every process succeeded and none met a lock.
    #[track_caller]
    pub(crate) fn run_parallel_ok<S: AsRef<str>>(&self, commands: &[Vec<S>]) {
        for (run, _) in self.run_parallel(commands) {
            assert!(
                !run.stderr.contains("locked"),
                "a lock error: {}",
                run.stderr
            );
            run.ok();
        }
    }

    /// Runs quota in a pseudo-terminal (`script`) whose width is `cols` (0: a terminal that
    /// reports no width), as an operator's shell would: what it printed, with `\r\n` made
    /// `\n`. `NO_COLOR` is set unless `color`.
    pub(crate) fn run_in_terminal(&self, cols: u16, color: bool, args: &[&str]) -> String {
        let (out, code) = self.run_in_terminal_code(cols, color, args);
        assert_eq!(code, 0, "{out}");
        out
    }

    /// `run_in_terminal`, whatever quota exits with: what it printed, and its exit code.
    pub(crate) fn run_in_terminal_code(
        &self,
        cols: u16,
        color: bool,
        args: &[&str],
    ) -> (String, i32) {
        let command = self.command(args);
        let mut line = format!(
            "stty cols {cols} rows 50; exec {}",
            command.get_program().to_string_lossy()
        );
        for a in args {
            line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        }
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"]).env_clear();
        for (k, v) in command.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c.env("TERM", "xterm");
        if !color {
            c.env("NO_COLOR", "1");
        }
        let out = c.stdin(Stdio::null()).output().unwrap();
        let code = out.status.code().expect("script exited");
        let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        (text, code)
    }

    pub(crate) fn run_at(&self, now: &str, args: &[&str]) -> Run {
        let mut c = self.command(args);
        c.env("QUOTA_NOW", now);
        to_run(c.output().unwrap())
    }

    /// Marks every stored account as read by a sync at `now`, and the usage read as
    /// successful then: what a sync that fetched the seeded rows would have recorded. Until
    /// then `status` says "not synced yet" and that no sync has succeeded.
    pub(crate) fn mark_synced(&self) {
        let now = &self.now;
        self.conn().exec(&format!(
            "UPDATE accounts SET last_synced_at = '{now}';
             INSERT INTO read_health (read, last_success_at, last_attempt_at)
             VALUES ('usage', '{now}', '{now}')
             ON CONFLICT (read) DO UPDATE SET last_success_at = '{now}', last_attempt_at = '{now}'"
        ));
    }

    /// Stores one day of usage the way the store does, for tests that need no API.
    pub(crate) fn seed(
        &self,
        key: Option<&str>,
        workspace: Option<&str>,
        day: &str,
        input: u64,
        output: u64,
    ) {
        let row = quota::DayUsage {
            api_key_id: key.map(String::from),
            workspace_id: workspace.map(String::from),
            day: chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
            uncached_input_tokens: Some(input),
            cache_creation_5m_tokens: Some(0),
            cache_creation_1h_tokens: Some(0),
            cache_read_tokens: Some(0),
            output_tokens: Some(output),
            ..Default::default()
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        quota::store_usage(&self.db, self.pg.as_deref(), &[row], at.into()).unwrap();
    }

    /// The test's database, whichever the backend.
    pub(crate) fn conn(&self) -> TestDb {
        match &self.pg {
            Some(url) => TestDb::Pg(quota_testkit::pg::Cluster::shared().client(url)),
            None => {
                let c = Connection::open(&self.db).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
                TestDb::Lite(c)
            }
        }
    }

    /// Everything the database holds, as bytes: the SQLite files (with the log), or every
    /// row of every table of the PostgreSQL database as text.
    pub(crate) fn stored_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.pg.is_some() {
            let mut db = self.conn();
            let tables = db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
            assert!(tables.len() > 10, "{tables:?}");
            for t in tables {
                let t = t[0].clone().unwrap();
                for row in db.rows(&format!("SELECT t::text FROM {t} AS t")) {
                    out.extend(row[0].clone().unwrap_or_default().into_bytes());
                }
            }
            return out;
        }
        for file in std::fs::read_dir(self.db.parent().unwrap()).unwrap() {
            out.extend(std::fs::read(file.unwrap().path()).unwrap());
        }
        out
    }

    /// `PRAGMA integrity_check` of the SQLite file; on PostgreSQL, whose write-ahead log
    /// leaves no half-written page after a crash, that the database answers.
    pub(crate) fn integrity(&self) -> String {
        match &self.pg {
            Some(_) => self.conn().value("SELECT 'ok'").unwrap(),
            None => self.conn().value("PRAGMA integrity_check").unwrap(),
        }
    }

    /// `(account, quota_type, threshold, period_start, resolution)` of every alert, sorted.
    /// `quota status --json --account <account>`, parsed.
    pub(crate) fn status_of(&self, account: &str) -> serde_json::Value {
        self.run(&["status", "--json", "--account", account])
            .ok()
            .json()
    }

    /// The one number a `SELECT count(*) …` gives.
    pub(crate) fn count(&self, sql: &str) -> i64 {
        self.conn().value(sql).unwrap().parse().unwrap()
    }

    pub(crate) fn alert_rows(&self) -> Vec<(String, String, i64, String, Option<String>)> {
        let period_start = if self.pg.is_some() {
            r#"to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#
        } else {
            "period_start"
        };
        self.conn()
            .rows(&format!("SELECT account, quota_type, threshold, {period_start}, resolution FROM alerts ORDER BY 1, 2, 4, 3"))
            .into_iter()
            .map(|r| {
                let text = |i: usize| r[i].clone().unwrap();
                (text(0), text(1), text(2).parse().unwrap(), text(3), r[4].clone())
            })
            .collect()
    }

    pub(crate) fn open_alerts(&self) -> Vec<serde_json::Value> {
        let v = self.run(&["alerts", "list", "--json"]).ok().json();
        v.as_array().unwrap().clone()
    }
}

/// A test's PostgreSQL database goes with it (the cluster outlives every test).
impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(url) = &self.pg {
            quota_testkit::pg::Cluster::shared().drop_database(url);
        }
    }
}

/// A connection to a test's database, SQLite or PostgreSQL, that reads every value as text
/// (`None` for NULL): what tests need to look inside.
pub(crate) enum TestDb {
    Lite(Connection),
    Pg(postgres::Client),
}

impl TestDb {
    /// Runs statements (no results).
    pub(crate) fn exec(&mut self, sql: &str) {
        match self {
            TestDb::Lite(c) => c.execute_batch(sql).unwrap(),
            TestDb::Pg(c) => c.batch_execute(sql).unwrap(),
        }
    }

    /// Every row of a query, each value as text.
    pub(crate) fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            TestDb::Lite(c) => {
                let mut stmt = c.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    Ok((0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => None,
                            rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                            rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                            rusqlite::types::ValueRef::Text(t) => {
                                Some(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Some(format!("{b:?}")),
                        })
                        .collect())
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            TestDb::Pg(c) => c
                .simple_query(sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// The first column of the first row.
    pub(crate) fn value(&mut self, sql: &str) -> Option<String> {
        self.rows(sql).into_iter().next().and_then(|r| r[0].clone())
    }
}

fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// For the `#[ignore = "needs root"]` tests: they are run on purpose, so not being root is a
/// failure that says how to run them, never a silent pass.
#[track_caller]
pub(crate) fn assert_root() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    assert!(
        root,
        "this test needs root: run it as root with cargo test -- --include-ignored"
    );
}

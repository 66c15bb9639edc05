//! The PostgreSQL store: one session per process, its schema migrated once (a newer one
//! refused, as for SQLite), writers serialised by one transaction-scoped advisory lock, so
//! that every host's sync decides in turn on what the last one committed.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

mod tls;

use super::sql::PgStatements;
use super::{Tx, TxInner};

/// The schema, one file per version, as `MIGRATIONS` is for SQLite.
const MIGRATIONS: &[(&str, &str)] = migrations![
    "postgres/":
    "0001_initial",
    "0002_alert_windows",
    "0003_burn_rate",
    "0004_usage_models",
];

/// The advisory lock every writing transaction takes first (an arbitrary number: "quota"
/// in ASCII).
const WRITE_LOCK: i64 = 0x71_756f_7461;

/// Where a PostgreSQL store is: the connection settings, and how to name it in messages
/// (the URL without its password).
#[derive(Clone)]
pub(crate) struct PgTarget {
    pub config: postgres::Config,
    pub shown: String,
    tls: tls::Mode,
}

impl PgTarget {
    /// The target a URL names. The password comes from the URL, else `password_file`, else
    /// the matching line of `pgpass` (libpq's password file), else none (trust, peer).
    pub(crate) fn new(
        url: &str,
        password_file: Option<&Path>,
        pgpass: Option<&Path>,
    ) -> Result<PgTarget> {
        let (tls, url) =
            tls::split(url).map_err(|e| crate::error::bad_input!("the database URL: {e}"))?;
        let mut config: postgres::Config = url.parse().map_err(|e| {
            crate::error::bad_input!(
                "the database URL is not a PostgreSQL URL ({e}); it looks like postgres://user@host/database"
            )
        })?;
        config.ssl_mode(tls.ssl_mode());
        config.application_name("quota");
        if config.get_options().is_none() {
            // The server's notices ("relation … already exists, skipping", for the temporary
            // tables a run creates if it has none) are not quota's to log; warnings still are.
            config.options("-c client_min_messages=warning");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let shown = shown(&config);
        if config.get_password().is_none() {
            if let Some(file) = password_file {
                let password = crate::secret::read_secret_file(file)?;
                config.password(password.expose());
            } else if let Some(password) = pgpass.and_then(|p| from_pgpass(p, &config)) {
                config.password(password);
            }
        }
        Ok(PgTarget { config, shown, tls })
    }

    /// A connection, over TLS as `sslmode` says.
    fn connect(&self) -> Result<postgres::Client> {
        let connected = match &self.tls {
            tls::Mode::Disable => self.config.connect(postgres::NoTls),
            mode => self.config.connect(mode.connector()?),
        };
        connected.map_err(|e| {
            anyhow!(
                "cannot connect to the PostgreSQL store {}: {}: is the server running and the URL right?",
                self.shown,
                describe(&e)
            )
        })
    }
}

/// `postgres://user@host:port/database`: what a message may say of the target (never the
/// password).
fn shown(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(h, port)| match h {
            postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            postgres::config::Host::Unix(dir) => format!("{}:{port}", dir.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// The password of the first line of a pgpass file that matches the target
/// (`host:port:database:user:password`, `*` for any, `\:` and `\\` escaped), as libpq reads it.
fn from_pgpass(path: &Path, config: &postgres::Config) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(name)) => name.clone(),
        // libpq matches a socket connection as "localhost".
        Some(postgres::config::Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    let want = [host.as_str(), port.as_str(), db, user];
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            let [h, p, d, u, password] = <[String; 5]>::try_from(fields).ok()?;
            [h, p, d, u]
                .iter()
                .zip(want)
                .all(|(f, w)| f == "*" || f == w)
                .then_some(password)
        })
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

pub(super) struct Session {
    client: postgres::Client,
    statements: PgStatements,
    pub(super) shown: String,
}

/// A PostgreSQL error as one line: the server's message (with its detail) or the
/// client's, never the connection settings.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

impl Session {
    /// Connects and brings the schema up to date; with `create` false, a database that
    /// holds no quota schema yet is `None` and is left as it is.
    pub(super) fn open(target: &PgTarget, create: bool) -> Result<Option<Session>> {
        let mut client = target.connect()?;
        if !create {
            let present: bool = client
                .query_one("SELECT to_regclass('quota_schema') IS NOT NULL", &[])
                .map_err(|e| anyhow!(describe(&e)))?
                .get(0);
            if !present {
                return Ok(None);
            }
        }
        let mut session = Session {
            client,
            statements: PgStatements::new(),
            shown: target.shown.clone(),
        };
        session
            .migrate()
            .with_context(|| format!("cannot prepare the PostgreSQL store {}", target.shown))?;
        Ok(Some(session))
    }

    fn migrate(&mut self) -> Result<()> {
        let mut tx = self.client.transaction()?;
        // One host migrates; the others wait here, then find nothing to do.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS quota_schema (version bigint NOT NULL)")?;
        let version: Option<i64> = tx
            .query_opt("SELECT version FROM quota_schema", &[])?
            .map(|r| r.get(0));
        let version = usize::try_from(version.unwrap_or(0)).context("schema version")?;
        let known = MIGRATIONS.len();
        if version > known {
            bail!(
                "the database {} was written by a newer quota (schema version {version}, this quota knows {known}): upgrade quota, or point [database] url at another database",
                self.shown
            );
        }
        for (name, sql) in &MIGRATIONS[version..] {
            tx.batch_execute(sql)
                .map_err(|e| anyhow!(describe(&e)))
                .with_context(|| format!("migration {name} failed"))?;
        }
        if version < known {
            let known = i64::try_from(known)?;
            tx.execute("DELETE FROM quota_schema", &[])?;
            tx.execute("INSERT INTO quota_schema (version) VALUES ($1)", &[&known])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn run<T>(
        &mut self,
        begin: &str,
        commit: bool,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let shown = self.shown.clone();
        let fail = |what: &'static str| {
            let shown = shown.clone();
            move |e: postgres::Error| {
                anyhow!("{what} on the PostgreSQL store {shown}: {}", describe(&e))
            }
        };
        let mut tx = self
            .client
            .transaction()
            .map_err(fail("cannot start a transaction"))?;
        if !begin.is_empty() {
            tx.batch_execute(begin)
                .map_err(fail("cannot start a transaction"))?;
        }
        let tx = Tx(TxInner::Pg {
            tx: RefCell::new(tx),
            statements: RefCell::new(&mut self.statements),
        });
        let value = f(&tx)?;
        let TxInner::Pg { tx, .. } = tx.0 else {
            bail!("a PostgreSQL transaction changed backend")
        };
        if commit {
            tx.into_inner().commit().map_err(fail("cannot commit"))?;
        } else {
            tx.into_inner()
                .rollback()
                .map_err(fail("cannot end a read"))?;
        }
        Ok(value)
    }

    pub(super) fn write<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let lock = format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})");
        self.run(&lock, true, f)
    }

    pub(super) fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.run(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            false,
            f,
        )
    }

    pub(super) fn scratch<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.run("", true, f)
    }
}

//! A throwaway PostgreSQL cluster for the tests and the benchmark: made with `initdb` in a
//! temporary folder, served on a Unix socket in that folder only (no TCP port), and stopped
//! when the process that started it ends, however it ends. As root (CI), the server runs as
//! `nobody`, since PostgreSQL refuses to run as root. Each test gets a database of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The unprivileged user the server runs as when the tests run as root.
const NOBODY: u32 = 65_534;

pub struct Cluster {
    dir: PathBuf,
    admin: Mutex<postgres::Client>,
    next: AtomicUsize,
}

impl Cluster {
    /// The cluster of this process, started on first use.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(Cluster::start)
    }

    fn start() -> Cluster {
        let base = std::env::temp_dir().join("quota-test-pg");
        std::fs::create_dir_all(&base).unwrap();
        remove_stale(&base);
        let dir = base.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let root = is_root();
        if root {
            std::os::unix::fs::chown(&base, Some(0), Some(0)).unwrap();
            std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let data = dir.join("data");
        let out = as_server_user(root, "initdb")
            .args(["-D", &data.to_string_lossy(), "-U", "quota", "-A", "trust"])
            .args(["--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
            .output()
            .expect("initdb (PostgreSQL 15) must be on the PATH: apt-get install postgresql");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The server is a child of a thread that lives as long as the process: the
        // death signal (a fast shutdown) reaches it when the process ends.
        let (data_arg, sock_arg) = (
            data.to_string_lossy().into_owned(),
            dir.to_string_lossy().into_owned(),
        );
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        std::thread::spawn(move || {
            let mut child = as_server_user(root, "postgres")
                .args(["-D", &data_arg, "-k", &sock_arg])
                .args(["-c", "listen_addresses=", "-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=300"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("cannot start postgres");
            let _ = child.wait();
        });
        let admin = connect_when_up(&dir, "postgres");
        Cluster {
            dir,
            admin: Mutex::new(admin),
            next: AtomicUsize::new(0),
        }
    }

    /// A new empty database: its URL.
    pub fn create_database(&self) -> String {
        let name = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.admin
            .lock()
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(&name)
    }

    /// `postgres://quota@<socket folder>/<database>`.
    pub fn url(&self, database: &str) -> String {
        let host = self.dir.to_string_lossy().replace('/', "%2F");
        format!("postgres://quota@{host}/{database}")
    }

    /// A client of the database a URL names.
    pub fn client(&self, url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    /// Runs SQL as the cluster's superuser (in the `postgres` database).
    pub fn admin(&self, sql: &str) -> Vec<postgres::SimpleQueryMessage> {
        self.admin.lock().unwrap().simple_query(sql).unwrap()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `program` as the server's user, ended by a fast shutdown when its parent goes.
fn as_server_user(root: bool, program: &str) -> Command {
    let mut c = Command::new("setpriv");
    if root {
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    }
    c.args(["--pdeathsig=INT", program]);
    c
}

fn connect_when_up(dir: &Path, database: &str) -> postgres::Client {
    let host = dir.to_string_lossy().replace('/', "%2F");
    let url = format!("postgres://quota@{host}/{database}");
    let started = Instant::now();
    loop {
        match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(c) => return c,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                panic!("the test PostgreSQL did not start: {e}\n{log}");
            }
        }
    }
}

/// Clusters left by test processes that are gone (killed before their server stopped).
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

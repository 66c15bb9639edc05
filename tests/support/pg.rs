//! A throwaway PostgreSQL cluster for the tests and the benchmark: made with `initdb` in a
//! folder of `/dev/shm` (else the temporary folder), served on a Unix socket in that folder
//! and over TLS on a free port of 127.0.0.1, and stopped when the process that started it
//! ends, however it ends; the folder goes when the next run starts. As root (CI), the
//! server runs as `nobody`, since PostgreSQL refuses to run as root. Each test gets a
//! database of its own, dropped when the test's env goes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The unprivileged user the server runs as when the tests run as root.
const NOBODY: u32 = 65_534;

pub struct Cluster {
    dir: PathBuf,
    /// The port of the socket, and of TCP on 127.0.0.1 (TLS only there).
    port: u16,
    admin: Mutex<postgres::Client>,
    next: AtomicUsize,
}

/// The role whose password the server checks (scram-sha-256), for the password tests.
pub const PASSWORD_ROLE: &str = "pwuser";
pub const PASSWORD: &str = "S3cret-PW-4242";

impl Cluster {
    /// The cluster of this process, started on first use.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(Cluster::start)
    }

    fn start() -> Cluster {
        // In memory where there is a tmpfs (each test's database is a few MB, and nothing
        // needs to outlive the run), else in the temporary folder.
        let shm = Path::new("/dev/shm");
        let root_dir =
            if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly()) {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            };
        let base = root_dir.join("quota-test-pg");
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
        // A free port for TCP on 127.0.0.1, where only TLS connections are taken.
        let port = free_port_below_ephemeral();
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
        certificates(&dir);
        std::fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 hostssl all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
                 hostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n"
            ),
        )
        .unwrap();
        if root {
            for f in ["data/pg_hba.conf", "server.key", "server.crt", "ca.crt"] {
                std::os::unix::fs::chown(dir.join(f), Some(NOBODY), Some(NOBODY)).unwrap();
            }
        }
        // The server is a child of a thread that lives as long as the process: the
        // death signal (a fast shutdown) reaches it when the process ends.
        let (data_arg, sock_arg) = (
            data.to_string_lossy().into_owned(),
            dir.to_string_lossy().into_owned(),
        );
        let (cert, key) = (
            format!("ssl_cert_file={}", dir.join("server.crt").display()),
            format!("ssl_key_file={}", dir.join("server.key").display()),
        );
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        std::thread::spawn(move || {
            let mut child = as_server_user(root, "postgres")
                .args(["-D", &data_arg, "-k", &sock_arg, "-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                .args(["-c", "ssl=on", "-c", &cert, "-c", &key])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=300", "-c", "max_wal_size=64MB"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("cannot start postgres");
            let _ = child.wait();
        });
        let admin = connect_when_up(&dir, port, "postgres");
        let cluster = Cluster {
            dir,
            port,
            admin: Mutex::new(admin),
            next: AtomicUsize::new(0),
        };
        cluster.admin(&format!(
            "CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'"
        ));
        cluster
    }

    /// Drops a database the tests made, if it is still there (its connections cut).
    pub fn drop_database(&self, url: &str) {
        if let Some(name) = url.rsplit('/').next().filter(|n| n.starts_with('t'))
            && let Ok(mut admin) = self.admin.lock()
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }

    /// A new empty database that `role` owns: its name.
    pub fn create_database_owned_by(&self, role: &str) -> String {
        let name = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.admin(&format!("CREATE DATABASE {name} OWNER {role}"));
        name
    }

    /// `postgres://<user>@<host>:<port>/<database>` over TCP (TLS only), without a query.
    pub fn tcp_url(&self, user: &str, host: &str, database: &str) -> String {
        format!("postgres://{user}@{host}:{}/{database}", self.port)
    }

    /// The certificate of the authority that signed the server's (for `sslrootcert`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
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

    /// `postgres://quota@<socket folder>:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        let host = self.dir.to_string_lossy().replace('/', "%2F");
        format!("postgres://quota@{host}:{}/{database}", self.port)
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
    c.arg("--pdeathsig=INT").arg(server_program(program));
    c
}

/// `initdb` or `postgres`: on the PATH, else Debian's own folder (which is not on it).
fn server_program(program: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if on_path {
        return PathBuf::from(program);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin").join(program))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(program))
}

/// A CA and a server certificate it signed, for `localhost` only (so that `127.0.0.1`
/// fails a host name check): `ca.crt`, `server.crt`, `server.key` in `dir`.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl must be on the PATH to make the test certificates");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=quota test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

fn connect_when_up(dir: &Path, port: u16, database: &str) -> postgres::Client {
    let host = dir.to_string_lossy().replace('/', "%2F");
    let url = format!("postgres://quota@{host}:{port}/{database}");
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

/// A free TCP port on 127.0.0.1 below the kernel's ephemeral range.
///
/// The server binds its port a second or so after it is chosen, while other tests start
/// stand-ins on port 0. Those are given ports from the ephemeral range only, so a port
/// below it cannot be taken in between (a port from the range could, and the server would
/// then fail to start).
fn free_port_below_ephemeral() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let ports = low.saturating_sub(10_000).max(1024)..low.max(1025);
    let start = std::process::id() as usize % ports.len();
    ports
        .clone()
        .cycle()
        .skip(start)
        .take(ports.len())
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port on 127.0.0.1 below the ephemeral range")
}

//! Real PostgreSQL and MariaDB servers for the tests and the database bench. Each kind is
//! started once per process (on first use) in a temp directory, on a free loopback port,
//! as an unprivileged user (`nobody` when we run as root), with TLS on a self-signed
//! certificate generated with openssl. The Debian packages are installed with apt-get
//! when missing. The servers stop when the process exits (an `atexit` hook; a
//! `PR_SET_PDEATHSIG` as well, should the process be killed), and a server whose start
//! fails is stopped and its directory removed by `Drop`.
//!
//! Each test takes a database of its own ([`Server::database`]): a fresh database and a
//! login role that owns it, with a random password.
#![allow(dead_code)]

#[path = "db_servers/mariadb.rs"]
mod mariadb;
#[path = "db_servers/postgres.rs"]
mod postgres;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MariaDb,
}

impl Kind {
    /// `[source] kind` for this server.
    pub fn source_kind(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::MariaDb => "mysql",
        }
    }
}

/// The role that may only log in over TLS (`hostssl` / `REQUIRE SSL`), and its password.
pub const TLS_ONLY_USER: &str = "tls_only";

pub struct Server {
    pub kind: Kind,
    pub port: u16,
    /// Everything of this server: data, socket, certificates, log.
    pub dir: PathBuf,
    /// The server's self-signed certificate (PEM): the `ca_file` for `verify-full`.
    pub ca_file: PathBuf,
    pub tls_only_password: String,
    pub(super) admin_password: String,
    /// PostgreSQL's bin directory (initdb, postgres, psql).
    pub(super) bin: PathBuf,
    child: Mutex<Option<Child>>,
    counter: AtomicU32,
}

static POSTGRES: OnceLock<Server> = OnceLock::new();
static MARIADB: OnceLock<Server> = OnceLock::new();
static AT_EXIT: Once = Once::new();

/// The process's PostgreSQL server, started on first use.
pub fn postgres() -> &'static Server {
    POSTGRES.get_or_init(|| start(Kind::Postgres))
}

/// The process's MariaDB server, started on first use.
pub fn mariadb() -> &'static Server {
    MARIADB.get_or_init(|| start(Kind::MariaDb))
}

pub fn server(kind: Kind) -> &'static Server {
    match kind {
        Kind::Postgres => postgres(),
        Kind::MariaDb => mariadb(),
    }
}

extern "C" fn stop_all() {
    for server in [POSTGRES.get(), MARIADB.get()].into_iter().flatten() {
        server.stop();
    }
}

/// A fresh database on a server, owned by a login role of its own.
pub struct TestDb {
    pub server: &'static Server,
    pub name: String,
    pub user: String,
    pub password: String,
}

impl TestDb {
    /// `postgres://USER@127.0.0.1:PORT/NAME` or `mysql://…`.
    pub fn url(&self) -> String {
        self.url_for(&self.user)
    }

    pub fn url_for(&self, user: &str) -> String {
        let scheme = match self.server.kind {
            Kind::Postgres => "postgres",
            Kind::MariaDb => "mysql",
        };
        format!(
            "{scheme}://{user}@127.0.0.1:{}/{}",
            self.server.port, self.name
        )
    }

    /// Run SQL in this database (as its owner on PostgreSQL, as root on MariaDB); panics
    /// with the client's output on failure.
    pub fn sql(&self, sql: &str) -> String {
        self.server
            .client(Some(&self.name), Some((&self.user, &self.password)), sql)
    }

    /// Run a SQL file in this database.
    pub fn sql_file(&self, path: &Path) -> String {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        self.sql(&text)
    }

    /// Let the TLS-only role read this database's tables.
    pub fn grant_tls_only(&self) {
        match self.server.kind {
            Kind::Postgres => postgres::grant_tls_only(self),
            Kind::MariaDb => mariadb::grant_tls_only(self),
        }
    }

    /// Write the password to `dir/file` (no newline at the end, as systemd credentials
    /// often are) and return the path.
    pub fn password_file(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, &self.password).unwrap();
        path
    }
}

impl Server {
    /// A fresh database and its owner.
    pub fn database(&'static self) -> TestDb {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let db = TestDb {
            server: self,
            name: format!("shop_{n}"),
            user: format!("pos_{n}"),
            password: random_password(),
        };
        match self.kind {
            Kind::Postgres => postgres::create_database(self, &db),
            Kind::MariaDb => mariadb::create_database(self, &db),
        }
        db
    }

    /// SQL as the administrator, in the default database.
    pub fn admin_sql(&self, sql: &str) -> String {
        self.client(None, None, sql)
    }

    /// Run SQL with the command-line client; panics with its output on failure.
    fn client(&self, database: Option<&str>, login: Option<(&str, &str)>, sql: &str) -> String {
        let mut cmd = match self.kind {
            Kind::Postgres => postgres::client(self, database, login),
            Kind::MariaDb => mariadb::client(self, database, login),
        };
        let out = run_with_stdin(&mut cmd, sql);
        if !out.status.success() {
            panic!(
                "{:?} SQL failed: {}\n{}\nSQL: {sql}",
                self.kind,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stop the server and remove its directory (idempotent).
    fn stop(&self) {
        let child = self.child.lock().map(|mut c| c.take()).unwrap_or(None);
        if let Some(mut child) = child {
            // PostgreSQL: SIGINT is the fast shutdown; MariaDB: SIGTERM.
            let signal = match self.kind {
                Kind::Postgres => libc::SIGINT,
                Kind::MariaDb => libc::SIGTERM,
            };
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn random_password() -> String {
    format!(
        "Pw-{:016x}-{:08x}",
        rand::random::<u64>(),
        rand::random::<u32>()
    )
}

fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// The user the servers run as: `nobody` when we are root, else ourselves.
fn server_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let pw = unsafe { libc::getpwnam(c"nobody".as_ptr()) };
    assert!(
        !pw.is_null(),
        "no user nobody to run the database servers as"
    );
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn as_server_user(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = server_user() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

fn chown_tree(path: &Path) {
    let Some((uid, gid)) = server_user() else {
        return;
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path());
        }
    }
}

/// Install Debian packages unless `present()`; as root only (else say what is missing).
fn ensure_installed(what: &str, present: impl Fn() -> bool, packages: &[&str]) {
    if present() {
        return;
    }
    assert!(
        is_root(),
        "{what} is not installed and we are not root: apt-get install {}",
        packages.join(" ")
    );
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        assert!(install(), "apt-get install {} failed", packages.join(" "));
    }
    assert!(
        present(),
        "{what} still missing after installing {packages:?}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A self-signed certificate for localhost / 127.0.0.1 (not a CA, so rustls also takes it
/// as its own trust anchor for `verify-full` with `ca_file`), and its key.
fn make_certificate(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("cert.cnf"),
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n\
         [dn]\nCN = localhost\n\
         [ext]\nbasicConstraints = critical,CA:FALSE\n\
         keyUsage = critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    check(
        "openssl req",
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args([
                "-config",
                "cert.cnf",
                "-keyout",
                "server.key",
                "-out",
                "server.pem",
            ])
            .current_dir(dir)
            .output(),
    );
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    dir.join("server.pem")
}

/// Spawn `cmd` from a thread that lives as long as the process, so the child's
/// `PR_SET_PDEATHSIG` fires when the process dies, not when a test thread ends.
fn spawn_kept(mut cmd: Command) -> Child {
    unsafe {
        cmd.pre_exec(|| {
            // After the uid change (std applies uid/gid first), or the kernel clears it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("db-server-keeper".into())
        .spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        })
        .unwrap();
    rx.recv().unwrap().expect("spawn the database server")
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn start(kind: Kind) -> Server {
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(stop_all);
    });
    match kind {
        Kind::Postgres => postgres::install(),
        Kind::MariaDb => mariadb::install(),
    }
    ensure_installed(
        "openssl",
        || Path::new("/usr/bin/openssl").exists(),
        &["openssl"],
    );
    let prefix = match kind {
        Kind::Postgres => "shopsync-pg-",
        Kind::MariaDb => "shopsync-mariadb-",
    };
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap()
        .keep();
    let mut server = Server {
        kind,
        port: 0,
        ca_file: make_certificate(&dir),
        dir,
        tls_only_password: random_password(),
        admin_password: random_password(),
        bin: postgres::bin().unwrap_or_default(),
        child: Mutex::new(None),
        counter: AtomicU32::new(0),
    };
    std::fs::set_permissions(&server.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    match kind {
        Kind::Postgres => postgres::init(&server),
        Kind::MariaDb => mariadb::init(&server),
    }
    chown_tree(&server.dir);
    // A port found free may be taken before the server binds it: try a few.
    for _ in 0..5 {
        server.port = free_port();
        let log = server.dir.join("server.log");
        let mut cmd = match kind {
            Kind::Postgres => postgres::command(&server),
            Kind::MariaDb => mariadb::command(&server),
        };
        as_server_user(&mut cmd)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        *server.child.lock().unwrap() = Some(spawn_kept(cmd));
        if wait_ready(&server, &log) {
            match kind {
                Kind::Postgres => postgres::create_tls_only_user(&server),
                Kind::MariaDb => mariadb::create_tls_only_user(&server),
            }
            return server;
        }
        server.stop_child_only();
    }
    panic!(
        "{kind:?} did not start: {}",
        log_tail(&server.dir.join("server.log"))
    );
}

impl Server {
    fn stop_child_only(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Poll until the server answers a query, or it exits (false: try another port).
fn wait_ready(server: &Server, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = server
            .child
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            eprintln!("{:?} exited ({status}): {}", server.kind, log_tail(log));
            return false;
        }
        let ok = match server.kind {
            Kind::Postgres => postgres::ready(server),
            Kind::MariaDb => mariadb::ready(server),
        };
        if ok {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "{:?} not ready after 120 s: {}",
            server.kind,
            log_tail(log)
        );
        // A readiness poll, not a synchronisation sleep: the loop ends on the condition.
        std::thread::sleep(Duration::from_millis(100));
    }
}

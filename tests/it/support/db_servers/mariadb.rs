//! MariaDB for `db_servers.rs`: `mariadb-install-db` + `mariadbd` (root without password
//! on the Unix socket, for setting up), TCP on loopback with TLS, no binary log.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{as_server_user, check, chown_tree, ensure_installed, Server, TestDb, TLS_ONLY_USER};

pub(super) fn install() {
    ensure_installed(
        "MariaDB",
        || Path::new("/usr/sbin/mariadbd").exists() && Path::new("/usr/bin/mariadb").exists(),
        &["mariadb-server-core", "mariadb-client-core"],
    );
}

pub(super) fn init(server: &Server) {
    let data = server.dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    chown_tree(&server.dir);
    let mut cmd = Command::new("mariadb-install-db");
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .args(["--skip-name-resolve"])
        .current_dir(&server.dir);
    check("mariadb-install-db", as_server_user(&mut cmd).output());
}

pub(super) fn command(server: &Server) -> Command {
    let d = &server.dir;
    let mut cmd = Command::new("/usr/sbin/mariadbd");
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", d.join("data").display()))
        .arg(format!("--port={}", server.port))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", d.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", d.join("mysqld.pid").display()))
        .arg(format!("--ssl-cert={}", d.join("server.pem").display()))
        .arg(format!("--ssl-key={}", d.join("server.key").display()))
        .args([
            "--skip-name-resolve",
            "--skip-log-bin",
            "--max-connections=100",
        ])
        .args([
            "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=0",
        ])
        .arg("--character-set-server=utf8mb4")
        .current_dir(d);
    cmd
}

fn socket_client(server: &Server) -> Command {
    let mut c = Command::new("mariadb");
    c.arg("--no-defaults")
        .arg(format!(
            "--socket={}",
            server.dir.join("mysqld.sock").display()
        ))
        .args(["-u", "root"]);
    c
}

pub(super) fn ready(server: &Server) -> bool {
    socket_client(server)
        .args(["-e", "SELECT 1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The client as root over the socket, in `database` if given (logins are not needed to
/// set up: privileges are per user, not per owner).
pub(super) fn client(
    server: &Server,
    database: Option<&str>,
    _login: Option<(&str, &str)>,
) -> Command {
    let mut c = socket_client(server);
    c.args([
        "--batch",
        "--skip-column-names",
        "--default-character-set=utf8mb4",
    ]);
    if let Some(db) = database {
        c.args(["-D", db]);
    }
    c
}

pub(super) fn create_tls_only_user(server: &Server) {
    server.admin_sql(&format!(
        "CREATE USER '{TLS_ONLY_USER}'@'%' IDENTIFIED BY '{}' REQUIRE SSL",
        server.tls_only_password
    ));
}

/// The database and a user with every privilege on it (it may write, so the tests show
/// that the read-only transaction keeps the source from writing).
pub(super) fn create_database(server: &Server, db: &TestDb) {
    server.admin_sql(&format!(
        "CREATE DATABASE `{0}` CHARACTER SET utf8mb4; \
         CREATE USER '{1}'@'%' IDENTIFIED BY '{2}'; \
         GRANT ALL ON `{0}`.* TO '{1}'@'%';",
        db.name, db.user, db.password
    ));
}

pub(super) fn grant_tls_only(db: &TestDb) {
    db.sql(&format!(
        "GRANT SELECT ON `{}`.* TO '{TLS_ONLY_USER}'@'%'",
        db.name
    ));
}

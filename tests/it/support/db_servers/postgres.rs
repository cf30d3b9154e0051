//! PostgreSQL for `db_servers.rs`: `initdb` + `postgres` from the newest
//! `/usr/lib/postgresql/N/bin`, scram-sha-256 logins over TCP, TLS on, and a `pg_hba.conf`
//! that refuses the TLS-only role without TLS.

use std::path::PathBuf;
use std::process::Command;

use super::{as_server_user, check, chown_tree, ensure_installed, Server, TestDb, TLS_ONLY_USER};

/// The newest `/usr/lib/postgresql/N/bin` holding initdb.
pub(super) fn bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

pub(super) fn install() {
    ensure_installed("PostgreSQL", || bin().is_some(), &["postgresql"]);
}

pub(super) fn init(server: &Server) {
    let pwfile = server.dir.join("admin.pw");
    std::fs::write(&pwfile, &server.admin_password).unwrap();
    chown_tree(&server.dir);
    let mut cmd = Command::new(server.bin.join("initdb"));
    cmd.arg("-D")
        .arg(server.dir.join("data"))
        .args(["-U", "admin", "--auth=scram-sha-256", "--encoding=UTF8"])
        .args(["--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .env_clear()
        .env("LANG", "C.UTF-8")
        .current_dir(&server.dir);
    check("initdb", as_server_user(&mut cmd).output());
    // First match wins: the TLS-only role is refused without TLS.
    std::fs::write(
        server.dir.join("data/pg_hba.conf"),
        format!(
            "local all all scram-sha-256\n\
             hostnossl all {TLS_ONLY_USER} 127.0.0.1/32 reject\n\
             host all all 127.0.0.1/32 scram-sha-256\n"
        ),
    )
    .unwrap();
}

pub(super) fn command(server: &Server) -> Command {
    let d = &server.dir;
    let mut cmd = Command::new(server.bin.join("postgres"));
    cmd.arg("-D")
        .arg(d.join("data"))
        .args(["-p", &server.port.to_string(), "-h", "127.0.0.1", "-k"])
        .arg(d)
        .args(["-c", "ssl=on"])
        .arg("-c")
        .arg(format!("ssl_cert_file={}", d.join("server.pem").display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", d.join("server.key").display()))
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=80"])
        .args(["-c", "shared_buffers=32MB"])
        .env_clear()
        .env("LANG", "C.UTF-8")
        .current_dir(d);
    cmd
}

pub(super) fn ready(server: &Server) -> bool {
    Command::new(server.bin.join("pg_isready"))
        .args(["-q", "-h", "127.0.0.1", "-p", &server.port.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// psql as `login` (else the administrator) in `database` (else `postgres`).
pub(super) fn client(
    server: &Server,
    database: Option<&str>,
    login: Option<(&str, &str)>,
) -> Command {
    let (user, password) = login.unwrap_or(("admin", &server.admin_password));
    let mut c = Command::new(server.bin.join("psql"));
    c.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
    ])
    .args(["-p", &server.port.to_string()])
    .args(["-U", user, "-d", database.unwrap_or("postgres")])
    .env("PGPASSWORD", password)
    .env("PGCLIENTENCODING", "UTF8")
    .env("PGCONNECT_TIMEOUT", "10");
    c
}

pub(super) fn create_tls_only_user(server: &Server) {
    server.admin_sql(&format!(
        "CREATE ROLE {TLS_ONLY_USER} LOGIN PASSWORD '{}'",
        server.tls_only_password
    ));
}

/// The role and its database (it owns it: it may write, so the tests show that the
/// read-only transaction, not a privilege, keeps the source from writing).
pub(super) fn create_database(server: &Server, db: &TestDb) {
    server.admin_sql(&format!(
        "CREATE ROLE {} LOGIN PASSWORD '{}'",
        db.user, db.password
    ));
    server.admin_sql(&format!("CREATE DATABASE {} OWNER {}", db.name, db.user));
}

pub(super) fn grant_tls_only(db: &TestDb) {
    db.sql(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {TLS_ONLY_USER}"
    ));
}

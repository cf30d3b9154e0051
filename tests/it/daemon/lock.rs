//! Single-instance lock, within one process and across two.
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use shopsync::daemon::lock::{lock_path, InstanceLock, LockError};

const CHILD_ENV: &str = "SHOPSYNC_TEST_LOCK_CHILD_DB";

#[test]
fn second_acquire_fails_while_held_and_succeeds_after_drop() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite");
    let first = InstanceLock::acquire(&db).unwrap();
    assert_eq!(first.path(), dir.path().join("audit.sqlite.lock"));
    let text = std::fs::read_to_string(first.path()).unwrap();
    assert_eq!(
        text.trim(),
        std::process::id().to_string(),
        "our pid is in the file"
    );

    let err = InstanceLock::acquire(&db).unwrap_err();
    match &err {
        LockError::Held { path, pid } => {
            assert_eq!(path, &lock_path(&db));
            assert_eq!(*pid, Some(std::process::id()));
        }
        other => panic!("expected Held, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("Another shopsync"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains(&lock_path(&db).display().to_string()), "{msg}");

    drop(first);
    let again = InstanceLock::acquire(&db).expect("free after drop");
    drop(again);
}

#[test]
fn missing_directory_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no/such/dir/audit.sqlite");
    let err = InstanceLock::acquire(&db).unwrap_err();
    assert!(matches!(err, LockError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no/such/dir/audit.sqlite.lock"),
        "{err}"
    );
}

/// Runs as the parent normally; when re-run by itself with `CHILD_ENV` set, it is the
/// child that holds the lock until its stdin closes.
#[test]
fn a_lock_held_by_another_process_blocks_acquire() {
    if let Ok(db) = std::env::var(CHILD_ENV) {
        let lock = InstanceLock::acquire(std::path::Path::new(&db)).expect("child acquires");
        println!("LOCKED {}", std::process::id());
        std::io::stdout().flush().unwrap();
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
        drop(lock);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "daemon::lock::a_lock_held_by_another_process_blocks_acquire",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let child_pid: u32 = loop {
        let line = lines.next().expect("child printed LOCKED").unwrap();
        // libtest prints "test <name> ... " on the same line first.
        if let Some((_, pid)) = line.split_once("LOCKED ") {
            break pid.trim().parse().unwrap();
        }
    };
    assert_eq!(child_pid, child.id());

    let err = InstanceLock::acquire(&db).unwrap_err();
    assert!(
        matches!(&err, LockError::Held { pid: Some(p), .. } if *p == child_pid),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("pid {child_pid}")),
        "{err}"
    );

    drop(child.stdin.take()); // child releases and exits
    let status = child.wait().unwrap();
    assert!(status.success(), "child: {status}");
    InstanceLock::acquire(&db).expect("free once the other process is gone");
}

//! Shutdown handle: programmatic trigger, and real signals in a child process.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use shopsync::daemon::shutdown::{Shutdown, FORCED_EXIT_CODE};

const CHILD_ENV: &str = "SHOPSYNC_TEST_SHUTDOWN_CHILD";

#[tokio::test]
async fn manual_trigger_flips_every_clone() {
    let s = Shutdown::manual(Duration::from_secs(25));
    let clone = s.clone();
    assert_eq!(s.grace(), Duration::from_secs(25));
    assert!(!s.is_triggered() && !clone.is_triggered());
    let waiter = tokio::spawn(clone.wait_owned());
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    s.trigger();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(clone.is_triggered());
    // Already triggered: `wait` resolves at once; triggering again is harmless.
    s.trigger();
    tokio::time::timeout(Duration::from_secs(5), s.wait())
        .await
        .unwrap();
}

fn kill(pid: u32, sig: &str) {
    let st = Command::new("sh")
        .args(["-c", &format!("kill -{sig} {pid}")])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Parent: re-runs this test in a child that installs the handlers; the first SIGTERM
/// triggers shutdown (the child reports it), the second exits the child with 130.
#[test]
fn first_signal_triggers_second_exits_130() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let s = Shutdown::install(Duration::from_secs(5)).unwrap();
            println!("READY");
            s.wait().await;
            println!("TRIGGERED {}", s.is_triggered());
            // Wait for the second signal; the process exits from the handler.
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        println!("NOT KILLED");
        std::process::exit(3);
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "daemon::shutdown::first_signal_triggers_second_exits_130",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut wait_for = |want: &str| loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("child ended before {want}"))
            .unwrap();
        // libtest prints "test <name> ... " on the same line first.
        if let Some(i) = line.find(want) {
            return line[i..].to_string();
        }
    };
    wait_for("READY");
    kill(child.id(), "TERM");
    assert_eq!(wait_for("TRIGGERED"), "TRIGGERED true");
    kill(child.id(), "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(FORCED_EXIT_CODE));
}

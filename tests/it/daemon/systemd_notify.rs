//! sd_notify over a real datagram socket; watchdog and credentials from explicit values.
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use shopsync::daemon::systemd::{
    credential_path_in, credentials_dir_from, watchdog_interval_from, Notifier, NotifyError,
};

fn recv(sock: &UnixDatagram) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn sends_states_to_a_path_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let n = Notifier::new(Some(path.to_str().unwrap()));
    assert!(n.enabled());
    assert!(n.ready().unwrap());
    assert_eq!(recv(&server), "READY=1");
    n.watchdog().unwrap();
    assert_eq!(recv(&server), "WATCHDOG=1");
    n.status("Next sync at 02:30\nsecond line").unwrap();
    assert_eq!(recv(&server), "STATUS=Next sync at 02:30 second line");
    n.stopping().unwrap();
    assert_eq!(recv(&server), "STOPPING=1");
}

#[test]
fn sends_to_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!(
        "shopsync-test-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let server = UnixDatagram::bind_addr(&addr).unwrap();
    let n = Notifier::new(Some(&format!("@{name}")));
    assert!(n.ready().unwrap());
    assert_eq!(recv(&server), "READY=1");
}

#[test]
fn unset_or_empty_socket_is_a_no_op() {
    assert!(!Notifier::new(None).ready().unwrap());
    assert!(!Notifier::new(Some("")).enabled());
    assert!(!Notifier::default().status("x").unwrap());
}

#[test]
fn bad_or_absent_socket_is_an_error_naming_it() {
    let err = Notifier::new(Some("relative/notify")).ready().unwrap_err();
    assert!(matches!(err, NotifyError::BadAddress { .. }), "{err:?}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.sock");
    let err = Notifier::new(Some(missing.to_str().unwrap()))
        .ready()
        .unwrap_err();
    assert!(matches!(err, NotifyError::Send { .. }), "{err:?}");
    assert!(err.to_string().contains("gone.sock"), "{err}");
}

#[test]
fn watchdog_interval_is_half_of_watchdog_usec_for_our_pid() {
    let me = 4242;
    assert_eq!(
        watchdog_interval_from(Some("30000000"), None, me),
        Some(Duration::from_secs(15))
    );
    assert_eq!(
        watchdog_interval_from(Some("30000000"), Some("4242"), me),
        Some(Duration::from_secs(15))
    );
    assert_eq!(
        watchdog_interval_from(Some("30000000"), Some("1"), me),
        None,
        "another process's watchdog"
    );
    assert_eq!(watchdog_interval_from(Some("0"), None, me), None);
    assert_eq!(watchdog_interval_from(Some("soon"), None, me), None);
    assert_eq!(watchdog_interval_from(None, None, me), None);
}

#[test]
fn credential_paths_come_from_the_credentials_directory() {
    let dir = credentials_dir_from(Some("/run/credentials/shopsync.service".into()));
    assert_eq!(
        dir,
        Some(PathBuf::from("/run/credentials/shopsync.service"))
    );
    assert_eq!(credentials_dir_from(Some("".into())), None);
    assert_eq!(credentials_dir_from(None), None);
    assert_eq!(
        credential_path_in(dir.clone(), "alipay-app-private-key"),
        Some(PathBuf::from(
            "/run/credentials/shopsync.service/alipay-app-private-key"
        ))
    );
    assert_eq!(credential_path_in(dir.clone(), "../etc/passwd"), None);
    assert_eq!(credential_path_in(dir, ".."), None);
    assert_eq!(credential_path_in(None, "app-auth-token"), None);
}

#[tokio::test(start_paused = true)]
async fn watchdog_pings_every_interval_until_shutdown() {
    use shopsync::daemon::systemd::run_watchdog;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    server.set_nonblocking(true).unwrap();
    let count = |server: &UnixDatagram| {
        let mut n = 0;
        let mut buf = [0u8; 64];
        while let Ok(len) = server.recv(&mut buf) {
            assert_eq!(&buf[..len], b"WATCHDOG=1");
            n += 1;
        }
        n
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let notifier = Notifier::new(Some(path.to_str().unwrap()));
    let task = tokio::spawn(run_watchdog(notifier, Duration::from_secs(60), async {
        let _ = rx.await;
    }));
    let base = tokio::time::Instant::now();
    tokio::time::sleep_until(base + Duration::from_secs(1)).await;
    assert_eq!(count(&server), 1, "first ping at once");
    tokio::time::sleep_until(base + Duration::from_secs(181)).await;
    assert_eq!(count(&server), 3, "at +60 s, +120 s, +180 s");
    tx.send(()).unwrap();
    task.await.unwrap();
    tokio::time::sleep_until(base + Duration::from_secs(400)).await;
    assert_eq!(count(&server), 0, "no ping after shutdown");
}

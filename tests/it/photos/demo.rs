//! The demo on a fresh checkout: `shopsync sync` with the shipped config/shopsync.toml and
//! samples/ uploads samples/images to the built-in simulator and creates the shops with the
//! issued ids; the second run uploads nothing. The real binary, in a copy of the checkout.

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn sync(dir: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shopsync"))
        .arg("sync")
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_CONFIG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_uploads_the_sample_photos_once_and_creates_the_shops() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::copy(
        root.join("config/shopsync.toml"),
        dir.path().join("config/shopsync.toml"),
    )
    .unwrap();
    copy_dir(&root.join("samples"), &dir.path().join("samples"));

    let (code, stdout, stderr) = sync(dir.path());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Run 1 ok: 50 created,"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Photos: 6 file(s)/URL(s) read, 0 already on Alipay, 6 uploaded now."),
        "3 storefronts, 2 interiors and the logo: {stdout}"
    );
    // The audit store says which file became which id; the simulator's kept state holds
    // those ids, and no example id.
    let db = rusqlite::Connection::open(dir.path().join("target/shopsync-demo.db")).unwrap();
    let ids: Vec<String> = db
        .prepare("SELECT image_id FROM uploads WHERE outcome = 'uploaded' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), 6, "{ids:?}");
    let state =
        std::fs::read_to_string(dir.path().join("target/shopsync-demo.db.sim.json")).unwrap();
    assert!(ids.iter().all(|id| state.contains(id.as_str())));
    assert!(
        !state.contains("1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
        "no example id"
    );

    let (code, stdout, stderr) = sync(dir.path());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("0 created, 0 modified, 50 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Photos: 6 file(s)/URL(s) read, 6 already on Alipay, 0 uploaded now."),
        "{stdout}"
    );
}

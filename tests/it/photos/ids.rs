//! Exports that already hold Alipay image ids, through the real binary and the built-in
//! simulator: an id the simulator's image.upload never issued to the merchant fails that
//! store's create with Alipay's `sub_msg` naming the field and the id (the other stores go
//! ahead); with `[simulator] accept_image_ids = true` any well-formed id is taken.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::support::keys::key_file;

/// Three well-formed image ids (32 chars of `[A-Za-z0-9_-]`) nobody issued.
const IDS: [&str; 3] = [
    "Zx9Pp00AT7eo9NoAJkMR3AAAACMAA001",
    "Zx9Pp00AT7eo9NoAJkMR3AAAACMAA002",
    "Zx9Pp00AT7eo9NoAJkMR3AAAACMAA003",
];

fn config(dir: &Path, accept: bool) {
    let text = format!(
        "[alipay]\ngateway = \"simulator\"\napp_id = \"2021000000000001\"\n\
         app_private_key = \"{}\"\n\n[source]\npath = \"stores.csv\"\n\n\
         [source.defaults]\ncategory_id = \"2015050700000018\"\nbrand_name = \"鲜果坊\"\n\
         main_shop_name = \"鲜果坊\"\n\n[audit]\ndatabase = \"audit.db\"\n\n\
         [simulator]\naudit_delay = \"1s\"\naccept_image_ids = {accept}\n",
        key_file("app_private_pkcs8.pem").display(),
    );
    std::fs::write(dir.join("shopsync.toml"), text).unwrap();
}

fn shopsync(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shopsync"))
        .arg("--config")
        .arg(dir.join("shopsync.toml"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("SHOPSYNC_APP_AUTH_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn an_id_alipay_never_issued_fails_its_store_naming_field_and_id_unless_ids_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // Store 1 names ids; store 2 has photo files, uploaded by the run.
    let csv = photo_csv(&[
        (1, IDS[0], &IDS[..]),
        (
            2,
            "images/front.jpg",
            &[
                "images/front.jpg",
                "images/counter.jpg",
                "images/seating.png",
            ][..],
        ),
    ]);
    std::fs::write(dir.path().join("stores.csv"), csv).unwrap();
    for (name, sample_name) in [
        ("images/front.jpg", "storefront-sh.jpg"),
        ("images/counter.jpg", "interior-counter.jpg"),
        ("images/seating.png", "interior-seating.png"),
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sample(sample_name)).unwrap();
    }

    config(dir.path(), false);
    let (code, out) = shopsync(dir.path(), &["sync"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("Run 1 partial: 1 created,"), "{out}");
    assert!(out.contains("1 failed"), "{out}");
    assert!(
        out.contains("3 uploaded now"),
        "ids are not uploaded: {out}"
    );
    let (code, show) = shopsync(dir.path(), &["audit", "show", "1"]);
    assert_eq!(code, Some(0), "{show}");
    assert!(
        show.contains("SHOP_CREATE_INVALID_PARAM")
            && show.contains(&format!("main_image 中的图片 {} 不存在", IDS[0])),
        "Alipay's sub_msg names the field and the id: {show}"
    );

    config(dir.path(), true);
    let (code, out) = shopsync(dir.path(), &["sync"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Run 2 ok: 1 created, 0 modified, 1 unchanged"),
        "{out}"
    );
    assert!(out.contains("3 already on Alipay, 0 uploaded now"), "{out}");
}

//! Bytes as a CSV export through `source::load` (via a file: the loader reads paths).
//! The first byte picks the encoding and the delimiter; the rest is the file.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shopsync::source::{self, SourceConfig, SourceEncoding};

fn file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("shopsync-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("stores.csv")
    })
}

fn config(selector: u8) -> SourceConfig {
    let mut cfg: SourceConfig =
        toml::from_str(&format!("path = {:?}", file().display().to_string())).unwrap();
    cfg.encoding = match selector & 3 {
        0 => SourceEncoding::Auto,
        1 => SourceEncoding::Utf8,
        2 => SourceEncoding::Gbk,
        _ => SourceEncoding::Gb18030,
    };
    cfg.delimiter = match (selector >> 2) & 3 {
        0 | 1 => ",",
        2 => ";",
        _ => "\t",
    }
    .to_string();
    cfg.columns.insert("store_id".into(), "id".into());
    for (k, v) in [
        ("category_id", "2015050700000018"),
        ("main_shop_name", "鲜果坊"),
        ("province_code", "310000"),
        ("city_code", "310100"),
        ("district_code", "310106"),
        ("main_image", "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
        ("audit_images", "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"),
    ] {
        cfg.defaults.insert(k.into(), v.into());
    }
    cfg
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    std::fs::write(file(), body).unwrap();
    if let Ok(loaded) = source::load(&config(selector)) {
        assert!(loaded.stores.len() as u64 <= loaded.rows);
        assert!(loaded.rejected_rows() as u64 <= loaded.rows);
        for s in &loaded.stores {
            assert!(s.line >= 2, "a store on the header line: {s:?}");
        }
    }
});

//! Store photos and categories (issue 13), end to end against the simulator: real image
//! files (the samples, plus broken ones made from them), photo URLs on a loopback HTTP
//! server, uploads once per content, changed photos, lost upload answers, and the
//! category check.

use std::path::Path;

use shopsync::sync::run::RunResult;

use crate::harness::{Harness, Options, Setup};
use crate::support::export::{row, HEADER};

mod categories;
mod dedup;
mod demo;
mod files;
mod ids;
mod merchants;
mod saved_plan;
mod urls;

pub const UPLOAD: &str = "alipay.offline.material.image.upload";
pub const CATEGORY: &str = "alipay.offline.market.shop.category.query";

/// The sample photos (samples/images/).
pub fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/images")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The test export with two more columns: `main_image` and `audit_images`.
pub fn photo_csv(rows: &[(usize, &str, &[&str])]) -> String {
    let mut s = format!("{HEADER},main_image,audit_images\n");
    for (n, main, audit) in rows {
        s.push_str(&format!("{},{main},\"{}\"\n", row(*n), audit.join(",")));
    }
    s
}

/// Stores `1..=n`, each with the storefront and two interiors of `images/`.
pub fn standard_rows(n: usize) -> Vec<(usize, &'static str, &'static [&'static str])> {
    (1..=n)
        .map(|i| {
            (
                i,
                "images/front.jpg",
                &[
                    "images/front.jpg",
                    "images/counter.jpg",
                    "images/seating.png",
                ][..],
            )
        })
        .collect()
}

/// Write `images/front.jpg`, `images/counter.jpg`, `images/seating.png` (the samples) into
/// the harness directory.
pub fn write_standard_photos(h: &Harness) {
    write_photo(h, "images/front.jpg", &sample("storefront-sh.jpg"));
    write_photo(h, "images/counter.jpg", &sample("interior-counter.jpg"));
    write_photo(h, "images/seating.png", &sample("interior-seating.png"));
}

pub fn write_photo(h: &Harness, name: &str, bytes: &[u8]) {
    let path = h.path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A harness whose export is `csv` (photo columns) with `[sync]` settings `sync`. The
/// simulator takes only the ids its image.upload issued (no example ids).
pub async fn photo_harness(csv: String, sync: &str) -> Harness {
    photo_harness_on(Setup::default(), csv, sync).await
}

/// [`photo_harness`] with the app set up as `setup` (protocol, key or certificates).
pub async fn photo_harness_on(setup: Setup, csv: String, sync: &str) -> Harness {
    Harness::start(Options {
        csv,
        extra_toml: format!("[sync]\nmin_audit_images = 3\n{sync}"),
        sim: Box::new(|c| c.preload_example_images = false),
        setup,
    })
    .await
}

/// image.upload calls the simulator received.
pub fn uploads(h: &Harness) -> u64 {
    h.sim.call_counts().get(UPLOAD).copied().unwrap_or(0)
}

/// `(store, field, reason)` of every rejected row of a run.
pub fn rejects(r: &RunResult) -> Vec<(String, String, String)> {
    r.plan
        .items
        .iter()
        .filter_map(|i| match &i.action {
            shopsync::sync::plan::Action::Rejected { field, reason, .. } => Some((
                i.store_id.as_deref().unwrap_or("").to_string(),
                field.clone().unwrap_or_default(),
                reason.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// The simulated shop of a store: its fields.
pub fn shop_of(h: &Harness, store: &str) -> std::collections::BTreeMap<String, String> {
    h.sim
        .shops()
        .into_iter()
        .find(|s| s.store_id == store)
        .unwrap_or_else(|| panic!("no shop for {store}"))
        .fields
}

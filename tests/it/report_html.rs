//! The HTML run report in a real headless Chromium (Debian's package, installed when
//! missing): its text, no console errors, and tables visible on a screenshot; at 50 stores
//! and at 50,000.
use std::path::Path;

use shopsync::audit::html::{
    render, BlockedRow, CreatedRow, FailureRow, FieldChange, ModifiedRow, PendingRow, PhotoRow,
    RejectedRow, RemoteOnlyRow, RunHeader, RunReport, UnknownRow, MAX_PAGE_BYTES, ROWS_PER_TABLE,
};
use shopsync::audit::{RunKind, RunStatus, RunSummary};

use crate::support::chromium::{decode_png, dump_dom, screenshot, text_content, Image};

const HOSTILE_STORE: &str = r#"<script>alert("x")</script>"#;
const HOSTILE_NAME: &str = r#"鲜果坊 "A&B" <b>店</b>"#;
/// The header cells' colour (`bgcolor` of every `<th>`).
const HEADER_RGB: [u8; 3] = [0xdb, 0xe7, 0xf3];

/// Outcome sizes, in this order: created, modified, pending, blocked, remote-only,
/// failed, unknown, rejected, photos.
fn sample(stores: usize, sizes: [usize; 9]) -> RunReport {
    let [created, modified, pending, blocked, remote_only, failed, unknown, rejected, photos] =
        sizes;
    let id = |i: usize| {
        if i == 0 {
            HOSTILE_STORE.to_string()
        } else {
            format!("XGF-SH-{i:05}")
        }
    };
    let touched = created + modified + pending + blocked + failed + unknown + rejected;
    RunReport {
        header: RunHeader {
            run_id: 42,
            kind: RunKind::Sync,
            merchant: Some("鲜果坊连锁 & Co".into()),
            app_id: "2021000000000001".into(),
            source: Some("/var/lib/shopsync/export/stores.csv".into()),
            started: "2026-12-02 02:30:00 +08:00".into(),
            finished: Some("2026-12-02 02:31:12 +08:00".into()),
            duration: Some("1m 12s".into()),
            status: Some(RunStatus::Partial),
            exit_code: Some(3),
            message: Some("Some stores failed; see below.".into()),
            generated: Some("2026-12-02 02:31:13 +08:00".into()),
        },
        counts: RunSummary {
            stores: stores as u64,
            created: created as u64,
            modified: modified as u64,
            unchanged: (stores - touched) as u64,
            pending: pending as u64,
            blocked: blocked as u64,
            remote_only: remote_only as u64,
            rejected: rejected as u64,
            failed: failed as u64,
            unknown: unknown as u64,
        },
        created: (0..created)
            .map(|i| CreatedRow {
                store_id: id(i),
                shop_name: if i == 0 {
                    HOSTILE_NAME.into()
                } else {
                    format!("鲜果坊(南京东路{i}店)")
                },
                apply_id: Some(format!("2026120200{i:08}")),
            })
            .collect(),
        modified: (0..modified)
            .map(|i| ModifiedRow {
                store_id: format!("XGF-BJ-{i:05}"),
                shop_id: format!("20881{i:011}"),
                apply_id: Some(format!("2026120201{i:08}")),
                changes: vec![
                    FieldChange {
                        field: "contact_number".into(),
                        old: Some("021-5555 0101".into()),
                        new: Some("021-5555 0199".into()),
                        triggers_audit: false,
                    },
                    FieldChange {
                        field: "branch_shop_name".into(),
                        old: Some("南京东路店".into()),
                        new: Some("南京东路旗舰店".into()),
                        triggers_audit: true,
                    },
                    FieldChange {
                        field: "business_hours".into(),
                        old: None,
                        new: Some("08:00-22:00".into()),
                        triggers_audit: false,
                    },
                ],
            })
            .collect(),
        pending: (0..pending)
            .map(|i| PendingRow {
                store_id: format!("XGF-HZ-{i:05}"),
                shop_id: None,
                apply_id: format!("2026120100{i:08}"),
                action: "create".into(),
                status: Some("AUDITING".into()),
                submitted: "2026-12-02 00:25:00 +08:00".into(),
                age_seconds: 7500,
            })
            .collect(),
        blocked: (0..blocked)
            .map(|i| BlockedRow {
                store_id: format!("XGF-NJ-{i:05}"),
                shop_id: Some(format!("20882{i:011}")),
                reason: "a modify is still under audit".into(),
            })
            .collect(),
        remote_only: (0..remote_only)
            .map(|i| RemoteOnlyRow {
                shop_id: format!("20883{i:011}"),
                name: format!("旧店{i}"),
            })
            .collect(),
        failures: (0..failed)
            .map(|i| FailureRow {
                store_id: format!("XGF-SZ-{i:05}"),
                action: "create".into(),
                code: "40004".into(),
                sub_code: "KB_SHOP_NAME_DUPLICATE".into(),
                sub_msg: "门店名称重复 & \"已存在\"".into(),
            })
            .collect(),
        unknown: (0..unknown)
            .map(|i| UnknownRow {
                store_id: format!("XGF-GZ-{i:05}"),
                action: "modify".into(),
                request_id: format!("req-{i}"),
                reason: "no answer within 15s".into(),
            })
            .collect(),
        rejected: (0..rejected)
            .map(|i| RejectedRow {
                file: "stores.csv".into(),
                line: i as u64 + 2,
                store_id: Some(format!("XGF-CD-{i:05}")),
                field: Some("longitude".into()),
                reason: "not a longitude between -180 and 180".into(),
                raw_value: Some("9".repeat(200)),
            })
            .collect(),
        photos: (0..photos)
            .map(|i| PhotoRow {
                store_id: Some(format!("XGF-SH-{i:05}")),
                source: format!("photos/shop-{i}.jpg"),
                image_id: format!("A*img{i}"),
            })
            .collect(),
        notes: Default::default(),
    }
}

fn write_page(dir: &Path, report: &RunReport) -> std::path::PathBuf {
    let page = render(report);
    assert!(page.len() <= MAX_PAGE_BYTES, "{} bytes", page.len());
    let path = dir.join("report.html");
    std::fs::write(&path, &page).unwrap();
    path
}

/// Pixel rows (y) where the header colour fills at least `min` pixels, grouped into
/// bands of rows at most `max_gap` apart (text and cell borders interrupt the colour).
fn header_bands(img: &Image, min: usize, max_gap: u32) -> Vec<(u32, u32)> {
    let mut bands: Vec<(u32, u32)> = Vec::new();
    for y in 0..img.height {
        let n = (0..img.width)
            .filter(|&x| img.pixel(x, y)[..3] == HEADER_RGB)
            .count();
        if n >= min {
            match bands.last_mut() {
                Some((_, end)) if y - *end <= max_gap => *end = y,
                _ => bands.push((y, y)),
            }
        }
    }
    bands
}

fn non_white_share(img: &Image) -> f64 {
    let n = img
        .rgba
        .chunks(4)
        .filter(|p| p[..3] != [255, 255, 255])
        .count();
    n as f64 / (img.width * img.height) as f64
}

/// Loads the page in Chromium and checks what every size must show: no console
/// message, no script element, the untrusted values as literal text.
fn check_page(page: &Path) -> String {
    let run = dump_dom(page);
    assert!(
        run.console.is_empty(),
        "console messages: {:#?}",
        run.console
    );
    assert!(
        run.dom.contains("<h1>"),
        "{}",
        &run.dom[..run.dom.len().min(2000)]
    );
    assert!(
        !run.dom.contains("<script"),
        "a value became a script element"
    );
    assert!(!run.dom.contains("<b>店</b>"), "a value became markup");
    let text = text_content(&run.dom);
    assert!(
        text.contains(HOSTILE_STORE),
        "untrusted store id shown as text"
    );
    assert!(
        text.contains(HOSTILE_NAME),
        "untrusted shop name shown as text"
    );
    for expected in [
        "shopsync sync run 42 — partial",
        "Exit code 3",
        "Merchant 鲜果坊连锁 & Co",
        "Started 2026-12-02 02:30:00 +08:00",
        "Duration 1m 12s",
        "KB_SHOP_NAME_DUPLICATE 门店名称重复 & \"已存在\"",
        "branch_shop_name 南京东路店 南京东路旗舰店 re-triggers audit",
        "business_hours (none) 08:00-22:00",
        "AUDITING 2026-12-02 00:25:00 +08:00 2h 5m",
        "stores.csv 2 XGF-CD-00000 longitude not a longitude between -180 and 180",
        "photos/shop-1.jpg A*img1",
    ] {
        assert!(
            text.contains(expected),
            "missing {expected:?} in {}",
            &text[..text.len().min(3000)]
        );
    }
    // The raw value is cut short.
    assert!(text.contains(&format!("{}… (+140 chars)", "9".repeat(60))));
    text
}

/// Screenshots the page's top 2400 px and finds the tables by their header colour: the
/// run header table's first column (a band at least 250 px tall: 11 header cells) and at
/// least `wide_headers` header rows at least 300 px wide (the outcome tables).
fn check_tables_visible(page: &Path, dir: &Path, wide_headers: usize) {
    let shot = screenshot(page, 1280, 2400, dir);
    assert!(
        shot.console.is_empty(),
        "console messages: {:#?}",
        shot.console
    );
    let img = decode_png(shot.screenshot.as_ref().unwrap());
    assert_eq!((img.width, img.height), (1280, 2400));
    assert!(
        non_white_share(&img) > 0.02,
        "the page renders more than a blank"
    );
    let column = header_bands(&img, 40, 10);
    assert!(
        column
            .first()
            .is_some_and(|(top, bottom)| bottom - top >= 250),
        "header column bands at {column:?}"
    );
    let wide = header_bands(&img, 300, 10);
    assert!(wide.len() >= wide_headers, "wide header bands at {wide:?}");
    assert!(
        wide.iter()
            .all(|(top, bottom)| (15..=60).contains(&(bottom - top))),
        "{wide:?}"
    );
}

#[test]
fn a_control_page_with_a_script_error_is_caught() {
    // The console check can fail: a page that logs, and one that loads a missing file.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('control error')</script><img src=\"missing.png\"></body></html>",
    )
    .unwrap();
    let run = dump_dom(&page);
    assert!(
        run.console.iter().any(|l| l.contains("control error")),
        "{:#?}",
        run.console
    );
    // And a page with no header colour has no header bands.
    let shot = screenshot(&page, 400, 300, dir.path());
    assert!(header_bands(&decode_png(shot.screenshot.as_ref().unwrap()), 40, 10).is_empty());
}

#[test]
fn report_of_50_stores_lists_everything_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample(50, [20, 10, 4, 2, 1, 3, 1, 2, 5]);
    let page = write_page(dir.path(), &report);
    let text = check_page(&page);
    assert!(
        !text.contains("more rows"),
        "at 50 stores every row is shown"
    );
    for r in &report.created {
        assert!(text.contains(&r.store_id), "{} listed", r.store_id);
    }
    for r in &report.modified {
        assert!(text.contains(&r.store_id), "{} listed", r.store_id);
    }
    assert!(text.contains("Created (20)") && text.contains("Modified (10)"));
    assert!(text.contains("Unchanged 8 stores unchanged (not listed)"));
    check_tables_visible(&page, dir.path(), 5);
}

#[test]
fn report_of_50000_stores_is_bounded_and_points_to_the_rest_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = sample(
        50_000,
        [20_000, 10_000, 5_000, 2_000, 500, 1_000, 100, 1_000, 3_000],
    );
    let page = write_page(dir.path(), &report);
    let bytes = std::fs::metadata(&page).unwrap().len();
    eprintln!("HTML report of 50,000 stores: {bytes} bytes (bound {MAX_PAGE_BYTES})");
    let text = check_page(&page);
    assert!(text.contains("Created (20,000)"));
    assert!(text.contains(&format!(
        "Showing the first {ROWS_PER_TABLE} of 20,000 rows; 19,900 more rows: shopsync audit show 42"
    )));
    assert!(text.contains("more rows: shopsync audit pending"));
    assert!(text.contains("In the export 50,000"));
    assert!(text.contains(&report.created[ROWS_PER_TABLE - 1].store_id));
    assert!(!text.contains(&report.created[ROWS_PER_TABLE].store_id));
    check_tables_visible(&page, dir.path(), 1);
}

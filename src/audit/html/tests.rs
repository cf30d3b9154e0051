//! The page's escaping and its size bound.

use super::*;
use crate::audit::{RunKind, RunStatus};

/// At most 40 characters: no cell cuts it.
const HOSTILE: &str = r#"<script>alert("x")</script><b>'&"上海"#;

/// `rows` rows in every table, every value `text`, 60 field changes per modified shop.
fn hostile_report(rows: usize, text: &str) -> RunReport {
    report_with(rows, text, 60)
}

fn report_with(rows: usize, text: &str, changes: usize) -> RunReport {
    let s = || text.to_string();
    let o = || Some(text.to_string());
    RunReport {
        header: RunHeader {
            run_id: 7,
            kind: RunKind::Sync,
            merchant: o(),
            app_id: s(),
            source: o(),
            started: s(),
            finished: o(),
            duration: o(),
            status: Some(RunStatus::Partial),
            exit_code: Some(3),
            message: o(),
            generated: o(),
        },
        counts: crate::audit::RunSummary {
            stores: rows as u64,
            unchanged: rows as u64,
            ..Default::default()
        },
        created: vec![
            CreatedRow {
                store_id: s(),
                shop_name: s(),
                apply_id: o()
            };
            rows
        ],
        modified: vec![
            ModifiedRow {
                store_id: s(),
                shop_id: s(),
                apply_id: o(),
                changes: vec![
                    FieldChange {
                        field: s(),
                        old: o(),
                        new: o(),
                        triggers_audit: true
                    };
                    changes
                ],
            };
            rows
        ],
        pending: vec![
            PendingRow {
                store_id: s(),
                shop_id: o(),
                apply_id: s(),
                action: s(),
                status: o(),
                submitted: s(),
                age_seconds: u64::MAX,
            };
            rows
        ],
        blocked: vec![
            BlockedRow {
                store_id: s(),
                shop_id: o(),
                reason: s()
            };
            rows
        ],
        remote_only: vec![
            RemoteOnlyRow {
                shop_id: s(),
                name: s()
            };
            rows
        ],
        failures: vec![
            FailureRow {
                store_id: s(),
                action: s(),
                code: s(),
                sub_code: s(),
                sub_msg: s()
            };
            rows
        ],
        unknown: vec![
            UnknownRow {
                store_id: s(),
                action: s(),
                request_id: s(),
                reason: s()
            };
            rows
        ],
        rejected: vec![
            RejectedRow {
                file: s(),
                line: u64::MAX,
                store_id: o(),
                field: o(),
                reason: s(),
                raw_value: o(),
            };
            rows
        ],
        photos: vec![
            PhotoRow {
                store_id: o(),
                source: s(),
                image_id: s()
            };
            rows
        ],
        notes: SECTIONS.iter().map(|id| (id.to_string(), s())).collect(),
    }
}

/// The outcome tables' ids, in page order.
const SECTIONS: [&str; 9] = [
    "failed",
    "unknown",
    "rejected",
    "created",
    "modified",
    "pending",
    "blocked",
    "remote-only",
    "photos",
];

#[test]
fn untrusted_text_is_escaped_everywhere() {
    let page = render(&hostile_report(3, HOSTILE));
    // The only markup is ours: no value opens a tag or an attribute.
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<b>'"), "{page}");
    assert!(page.contains(
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;&#39;&amp;&quot;上海"
    ));
    // Every field of every table is on the page (3 rows each, nothing cut).
    let escaped = super::escape::escape(HOSTILE);
    // failed 5, unknown 4, rejected 5, created 3, modified 3 + 40 changes × 3 (the first
    // 40 of 60), pending 6, blocked 3, remote-only 2, photos 3.
    let per_row_fields = 5 + 4 + 5 + 3 + (3 + 40 * 3) + 6 + 3 + 2 + 3;
    // merchant, app id, source, started, finished, duration, message; generated (footer);
    // one note per table.
    let header_fields = 7 + 1 + SECTIONS.len();
    assert_eq!(
        page.matches(&escaped).count(),
        3 * per_row_fields + header_fields
    );
    // Scripts and outside resources are refused by the page itself.
    assert!(page.contains(
        "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\""
    ));
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("src="), "nothing is loaded");
}

#[test]
fn fifty_stores_are_all_listed() {
    let page = render(&report_with(50, "XGF-SH-001", 3));
    assert!(
        !page.contains("more rows"),
        "nothing is left out at 50 stores"
    );
    assert_eq!(page.matches("<h2 id=").count(), 10);
    assert!(page.contains("<h2 id=\"created\">Created (50)</h2>"));
}

#[test]
fn the_page_is_bounded_whatever_the_input() {
    // 50,000 rows per table; the first 200 (more than a table shows) with every value
    // 10,000 characters that each escape to 6 bytes.
    let worst = "\"".repeat(10_000);
    let mut report = hostile_report(200, &worst);
    let rest = report_with(50_000 - 200, "x", 1);
    report.created.extend(rest.created);
    report.modified.extend(rest.modified);
    report.pending.extend(rest.pending);
    report.blocked.extend(rest.blocked);
    report.remote_only.extend(rest.remote_only);
    report.failures.extend(rest.failures);
    report.unknown.extend(rest.unknown);
    report.rejected.extend(rest.rejected);
    report.photos.extend(rest.photos);
    let page = render(&report);
    assert!(page.len() <= MAX_PAGE_BYTES, "{} bytes", page.len());
    // Every table still shows at least one row and says how many it left out.
    for id in SECTIONS {
        let at = page.find(&format!("<h2 id=\"{id}\">")).unwrap();
        let rest = &page[at..];
        let table = &rest[..rest.find("</table>").unwrap()];
        assert!(table.matches("<tr>").count() >= 2, "{id} shows a row");
        let note = &rest[rest.find("</table>").unwrap()..];
        assert!(
            note.starts_with("</table>\n<p class=\"more\">Showing the first "),
            "{id}"
        );
    }
    assert!(page.contains("20 more fields"));
    assert!(page.contains("shopsync audit show 7"));
    assert!(page.contains("shopsync audit pending"));
}

#[test]
fn fifty_thousand_ordinary_stores_show_the_first_rows_and_point_to_the_rest() {
    let page = render(&report_with(50_000, "上海南京东路店", 3));
    assert!(page.len() <= MAX_PAGE_BYTES, "{} bytes", page.len());
    assert!(page.contains("<h2 id=\"created\">Created (50,000)</h2>"));
    assert!(page.contains(&format!(
        "Showing the first {ROWS_PER_TABLE} of 50,000 rows; 49,900 more rows: <code>shopsync audit show 7</code>"
    )));
    assert!(page.contains("50,000 stores unchanged"));
}

#[test]
fn a_note_is_shown_under_its_heading_and_replaces_none() {
    let mut report = report_with(0, "x", 0);
    report.notes.clear();
    report.notes.insert(
        "photos".into(),
        "Photo uploads are not recorded <yet>.".into(),
    );
    let page = render(&report);
    assert!(page.contains(
        "<h2 id=\"photos\">Photos uploaded (0)</h2>\n<p class=\"note\">Photo uploads are not recorded &lt;yet&gt;.</p>\n<h2"
    ), "{page}");
    assert!(page.contains("<h2 id=\"blocked\">Blocked (0)</h2>\n<p class=\"none\">None.</p>"));
}

//! An event as text: lines for Feishu's post, markdown for DingTalk and WeCom.
//!
//! Values from the export or from Alipay (store ids, reasons, merchant names) are put on
//! one line and cut, so they cannot add headings or run on; the whole text stays under
//! WeCom's limit of 4096 bytes for `markdown.content`.

use super::event::{one_line, AlertEvent};

/// The most bytes of markdown sent (WeCom refuses `markdown.content` over 4096 bytes).
pub const MAX_CONTENT_BYTES: usize = 4000;
const VALUE_CHARS: usize = 300;
const DETAIL_CHARS: usize = 160;

/// The event's body as plain lines (without the title).
pub fn lines(e: &AlertEvent) -> Vec<String> {
    let mut out = vec![one_line(&e.reason, VALUE_CHARS)];
    if let Some(run) = e.run {
        out.push(format!("Run: {run}"));
    }
    if let Some(m) = &e.merchant {
        out.push(format!("Merchant: {}", one_line(m, 80)));
    }
    if let Some(a) = &e.app_id {
        out.push(format!("App: {}", one_line(a, 40)));
    }
    if let Some(c) = e.counts_text() {
        out.push(format!("Counts: {c}"));
    }
    for d in &e.details {
        out.push(format!("- {}", one_line(d, DETAIL_CHARS)));
    }
    if e.more_details > 0 {
        out.push(format!("- … and {} more", e.more_details));
    }
    out.push(format!("Look closer: {}", one_line(&e.command, 120)));
    out
}

/// The title on one line.
pub fn one_line_title(e: &AlertEvent) -> String {
    one_line(&e.title(), 120)
}

/// Markdown for DingTalk and WeCom: a heading, the reason, a list of facts, the command.
pub fn markdown(e: &AlertEvent) -> String {
    let mut out = format!("### {}\n\n", one_line_title(e));
    for line in lines(e) {
        if let Some(cmd) = line.strip_prefix("Look closer: ") {
            out.push_str(&format!("\nLook closer: `{cmd}`\n"));
        } else if line.starts_with("- ") {
            out.push_str(&line);
            out.push('\n');
        } else {
            out.push_str(&format!("{line}\n\n"));
        }
    }
    cut_bytes(out, MAX_CONTENT_BYTES)
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn cut_bytes(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max - '…'.len_utf8();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertKind, AuditRejection};
    use crate::audit::RunId;

    #[test]
    fn markdown_says_what_happened_and_the_command_and_stays_under_the_limit() {
        let e = AlertEvent::new(
            AlertKind::RunFailed,
            Some(RunId(42)),
            "Alipay answered 20000 isv.unknown-error\n### injected heading",
            "shopsync audit show 42",
        )
        .with_merchant(Some("鲜果坊"));
        let md = markdown(&e);
        assert!(
            md.starts_with("### shopsync (鲜果坊): run 42 failed\n\n"),
            "{md}"
        );
        assert!(
            md.contains("isv.unknown-error ### injected heading\n"),
            "{md}"
        );
        assert!(!md.contains("\n### injected"), "{md}");
        assert!(
            md.ends_with("\nLook closer: `shopsync audit show 42`\n"),
            "{md}"
        );

        let huge: Vec<AuditRejection> = (0..10)
            .map(|i| AuditRejection {
                store_id: format!("S{i}"),
                apply_id: "A".repeat(500),
                reason: "图".repeat(2000),
            })
            .collect();
        let md = markdown(&AlertEvent::audit_rejected(RunId(1), &huge).unwrap());
        assert!(md.len() <= MAX_CONTENT_BYTES, "{}", md.len());
        assert_eq!(cut_bytes("上海".into(), 5), "…");
        assert_eq!(cut_bytes("上海".into(), 6), "上海");
    }
}

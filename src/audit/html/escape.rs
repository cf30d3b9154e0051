//! Text into HTML: escaping and cutting untrusted values to a bounded length.

use std::fmt::Write;

/// The most bytes one input character can become: `&quot;` (or a 4-byte character).
#[cfg(test)]
pub const MAX_BYTES_PER_CHAR: usize = 6;

/// Appends `text` escaped for element content and attribute values (`&<>"'`). Control
/// characters other than tab and newline become U+FFFD, so a value cannot hide or break
/// what follows it.
pub fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `text` escaped.
#[cfg(test)]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Appends at most `max_chars` characters of `text`, escaped; a cut value ends in `…`
/// and says how many characters it left out. At most
/// `max_chars * MAX_BYTES_PER_CHAR + 32` bytes.
pub fn push_cut(out: &mut String, text: &str, max_chars: usize) {
    match text.char_indices().nth(max_chars) {
        None => push_escaped(out, text),
        Some((at, _)) => {
            push_escaped(out, &text[..at]);
            let rest = text[at..].chars().count();
            let _ = write!(out, "… (+{rest} chars)");
        }
    }
}

/// `n` with thousands separators: `50,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An age rounded to its two largest units: `3d 4h`, `2h 5m`, `45s`.
pub fn age(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_ampersands_and_keeps_chinese() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y' 上海南京路店"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; 上海南京路店"
        );
        // Already-escaped text is escaped again: it is data, not markup.
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("a\u{0}b\u{1b}[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }

    #[test]
    fn cuts_by_characters_not_bytes_and_says_how_much_was_left_out() {
        let mut out = String::new();
        push_cut(&mut out, "上海南京路店", 4);
        assert_eq!(out, "上海南京… (+2 chars)");
        let mut out = String::new();
        push_cut(&mut out, "<<<<", 4);
        assert_eq!(out, "&lt;&lt;&lt;&lt;");
        let mut out = String::new();
        push_cut(&mut out, &"\"".repeat(1000), 10);
        assert!(out.len() <= 10 * MAX_BYTES_PER_CHAR + 32, "{}", out.len());
    }

    #[test]
    fn numbers_and_ages_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(age(45), "45s");
        assert_eq!(age(125), "2m 5s");
        assert_eq!(age(7500), "2h 5m");
        assert_eq!(age(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }
}

//! Character-level helpers shared by the field rules: full-width folding, whitespace,
//! comma lists.

/// Fold full-width ASCII variants (U+FF01..U+FF5E) to ASCII and the ideographic space
/// (U+3000) to a space. Used for code, number, time, coordinate and phone fields.
pub(crate) fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// Trim, and collapse every run of whitespace (including newlines and the ideographic
/// space) into one ASCII space. Other control characters are an error.
pub(crate) fn clean_text(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            return Err(format!("contains control character U+{:04X}", c as u32));
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    Ok(out)
}

/// Split a list on `,`, `，`, `;`, `；`, `、` (after width folding) and trim each item.
/// An empty item (`a,,b`, a trailing comma) is an error.
pub(crate) fn split_list(s: &str) -> Result<Vec<String>, String> {
    let folded = fold_width(s);
    let mut items = Vec::new();
    for item in folded.split([',', ';', '、']) {
        let item = item.trim();
        if item.is_empty() {
            return Err("empty item in the list (doubled or trailing separator)".to_string());
        }
        items.push(item.to_string());
    }
    Ok(items)
}

/// Char count, for the length rules (Alipay counts characters, not bytes).
pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// A short, safe rendering of a bad value for a reject reason.
pub(crate) fn show(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if char_len(s) > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

//! Character-level helpers shared by the field rules: full-width folding, whitespace,
//! comma lists.

use std::borrow::Cow;

/// Fold full-width ASCII variants (U+FF01..U+FF5E) to ASCII and the ideographic space
/// (U+3000) to a space. Used for code, number, time, coordinate and phone fields. Borrows
/// when there is nothing to fold (the common case: such text has no 0xE3/0xEF lead byte).
pub(crate) fn fold_width(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == 0xE3 || b == 0xEF) {
        return Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect::<String>()
        .into()
}

/// Trim, and collapse every run of whitespace (including newlines and the ideographic
/// space) into one ASCII space. Other control characters are an error.
pub(crate) fn clean_text(s: &str) -> Result<String, String> {
    // Already clean (the common case): no control character, and no whitespace but single
    // ASCII spaces between words.
    let mut prev_space = true;
    let plain = s.chars().all(|c| {
        let ok = if c == ' ' {
            !prev_space
        } else {
            !c.is_whitespace() && !c.is_control()
        };
        prev_space = c == ' ';
        ok
    }) && !prev_space;
    if plain {
        return Ok(s.to_string());
    }
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

/// Split a list on `,`, `，`, `;`, `；`, `、` (after width folding), trim each item, check
/// each with `item` and join the results with `,`. An empty item (`a,,b`, a trailing
/// comma) is an error.
pub(crate) fn map_list(
    s: &str,
    mut item: impl FnMut(&str) -> Result<(), String>,
) -> Result<String, String> {
    let folded = fold_width(s);
    let mut out = String::with_capacity(folded.len());
    for part in folded.split([',', ';', '、']) {
        let part = part.trim();
        if part.is_empty() {
            return Err("empty item in the list (doubled or trailing separator)".to_string());
        }
        item(part)?;
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(part);
    }
    Ok(out)
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

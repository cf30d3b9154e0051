//! The classic response envelope (docs/protocol.md §2.5, §2.6): find the
//! `<method>_response` node in the raw body text, verify its signature, and only then hand
//! it out for parsing.

use super::sign::VerifyKey;

/// The response node name of a classic method: dots become underscores, plus `_response`.
pub fn node_name(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// Where the node was found in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted<'a> {
    /// `<method>_response` or `error_response`.
    pub node: String,
    /// The raw text of the node's object, `{` to `}` inclusive.
    pub content: &'a str,
    /// The top-level `sign`, when present.
    pub sign: Option<String>,
}

/// Why a body could not be read as an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the body has neither \"{0}\" nor \"error_response\"")]
    NoNode(String),
    #[error("the \"{0}\" node is not a complete JSON object (truncated body?)")]
    Unterminated(String),
    #[error("the node name \"{0}\" occurs again after the node (injection guard)")]
    Repeated(String),
}

/// Find `"<name>"` followed (after optional whitespace) by `:`; returns the index just
/// after the colon.
fn find_key(body: &str, name: &str, from: usize) -> Option<usize> {
    let needle = format!("\"{name}\"");
    let mut start = from;
    while let Some(pos) = body.get(start..)?.find(&needle) {
        let after = start + pos + needle.len();
        let rest = &body[after..];
        let skipped = rest.len() - rest.trim_start().len();
        if rest[skipped..].starts_with(':') {
            return Some(after + skipped + 1);
        }
        start = after;
    }
    None
}

/// Scan one JSON object starting at `open` (which must be `{`), tracking string state.
/// Returns the index one past the matching `}`.
fn match_object(body: &str, open: usize) -> Option<usize> {
    let bytes = body.as_bytes();
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = open;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Read the top-level `"sign":"..."` that follows the node (it is a plain base64 string).
fn find_sign(body: &str, after: usize) -> Option<String> {
    let at = find_key(body, "sign", after)?;
    let rest = body[at..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// Extract the node of `method` (or `error_response`) as docs/protocol.md §2.6 describes.
pub fn extract<'a>(body: &'a str, method: &str) -> Result<Extracted<'a>, EnvelopeError> {
    let wanted = node_name(method);
    let (node, colon) = match find_key(body, &wanted, 0) {
        Some(c) => (wanted, c),
        None => match find_key(body, "error_response", 0) {
            Some(c) => ("error_response".to_string(), c),
            None => return Err(EnvelopeError::NoNode(wanted)),
        },
    };
    let rest = &body[colon..];
    let open = colon + (rest.len() - rest.trim_start().len());
    let end = match_object(body, open).ok_or_else(|| EnvelopeError::Unterminated(node.clone()))?;
    if body[end..].contains(&format!("\"{node}\"")) {
        return Err(EnvelopeError::Repeated(node));
    }
    Ok(Extracted {
        content: &body[open..end],
        sign: find_sign(body, end),
        node,
    })
}

/// The result of checking an extracted node's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The signature verifies (directly or after the `\/` fallback).
    Valid,
    /// A signature is present and does not verify.
    Invalid,
    /// No signature in the body.
    Unsigned,
}

/// Verify `sign` over the raw node content, retrying once with `\/` unescaped.
pub fn verify(extracted: &Extracted<'_>, key: &VerifyKey) -> Verification {
    let Some(sign) = extracted.sign.as_deref() else {
        return Verification::Unsigned;
    };
    if key.verify(extracted.content.as_bytes(), sign) {
        return Verification::Valid;
    }
    if extracted.content.contains("\\/") {
        let unescaped = extracted.content.replace("\\/", "/");
        if key.verify(unescaped.as_bytes(), sign) {
            return Verification::Valid;
        }
    }
    Verification::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_inside_strings_do_not_count() {
        let body = r#"{"a_response":{"code":"10000","x":"{\"b\":\"}\"}"},"sign":"abc"}"#;
        let e = extract(body, "a").unwrap();
        assert_eq!(e.content, r#"{"code":"10000","x":"{\"b\":\"}\"}"}"#);
        assert_eq!(e.sign.as_deref(), Some("abc"));
    }

    #[test]
    fn truncated_is_an_error() {
        let body = r#"{"a_response":{"code":"10000","x":"#;
        assert_eq!(
            extract(body, "a"),
            Err(EnvelopeError::Unterminated("a_response".into()))
        );
    }

    #[test]
    fn repeated_node_is_rejected() {
        let body = r#"{"a_response":{"code":"10000"},"a_response":{"code":"1"},"sign":"x"}"#;
        assert!(matches!(
            extract(body, "a"),
            Err(EnvelopeError::Repeated(_))
        ));
    }

    #[test]
    fn falls_back_to_error_response() {
        let body = r#"{"error_response":{"code":"40002"}}"#;
        let e = extract(body, "a.b").unwrap();
        assert_eq!(e.node, "error_response");
        assert_eq!(e.sign, None);
    }
}

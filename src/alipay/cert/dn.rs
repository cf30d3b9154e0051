//! A distinguished name as the RFC 2253 string Alipay's SDKs hash into a certificate SN
//! (Java's `X500Principal.getName()`): the RDNs most-specific first, joined with `,`;
//! the attributes of one multi-valued RDN joined with `+` in encoded order; types by their
//! RFC 2253 keyword, else the dotted OID; values of string types as text with
//! `, = + < > # ; " \` and leading/trailing spaces escaped by `\`, anything else (or any
//! type without a keyword) as `#` and the lowercase hex of the value's DER.

use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Encode, Tag, Tagged};
use x509_cert::name::Name;

/// The keywords RFC 2253 defines (§2.3); every other type is written as its OID.
const KEYWORDS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

const ESCAPED: &str = ",=+<>#;\"\\";

/// `name` as its RFC 2253 string.
pub(crate) fn rfc2253(name: &Name) -> String {
    let mut rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<String>>().join("+"))
        .collect();
    rdns.reverse();
    rdns.join(",")
}

fn keyword(oid: &ObjectIdentifier) -> Option<&'static str> {
    let dotted = oid.to_string();
    KEYWORDS.iter().find(|(o, _)| *o == dotted).map(|(_, k)| *k)
}

fn attribute(atv: &AttributeTypeAndValue) -> String {
    let value = &atv.value;
    let text =
        keyword(&atv.oid).and_then(|k| decode_string(value.tag(), value.value()).map(|v| (k, v)));
    match text {
        Some((k, v)) => format!("{k}={}", escape(&v)),
        None => {
            let name = keyword(&atv.oid)
                .map(str::to_string)
                .unwrap_or_else(|| atv.oid.to_string());
            let der = value.to_der().unwrap_or_default();
            format!("{name}=#{}", hex::encode(der))
        }
    }
}

/// The text of a DirectoryString-like value. Java reads PrintableString, TeletexString,
/// IA5String and GeneralString as ISO-8859-1, BMPString as UTF-16BE, UTF8String as UTF-8.
fn decode_string(tag: Tag, bytes: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String => std::str::from_utf8(bytes).ok().map(str::to_string),
        Tag::PrintableString | Tag::TeletexString | Tag::Ia5String | Tag::GeneralString => {
            Some(bytes.iter().map(|&b| char::from(b)).collect())
        }
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

fn escape(value: &str) -> String {
    let mut body = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '\0' {
            body.push_str("\\00");
            continue;
        }
        if ESCAPED.contains(c) {
            body.push('\\');
        }
        body.push(c);
    }
    // Leading and trailing spaces (and CRs) are escaped too.
    let chars: Vec<char> = body.chars().collect();
    let lead = chars.iter().take_while(|c| matches!(c, ' ' | '\r')).count();
    let trail = chars
        .iter()
        .rev()
        .take_while(|c| matches!(c, ' ' | '\r'))
        .count();
    let mut out = String::with_capacity(body.len() + lead + trail);
    for (i, c) in chars.iter().enumerate() {
        if i < lead || i >= chars.len() - trail {
            out.push('\\');
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn special_characters_and_edge_spaces_are_escaped() {
        assert_eq!(escape("Test Ant Financial"), "Test Ant Financial");
        assert_eq!(escape("a,b+c=d"), "a\\,b\\+c\\=d");
        assert_eq!(escape("#1 <x>; \"q\" \\"), "\\#1 \\<x\\>\\; \\\"q\\\" \\\\");
        assert_eq!(escape(" padded "), "\\ padded\\ ");
        assert_eq!(escape("蚂蚁"), "蚂蚁");
    }
}

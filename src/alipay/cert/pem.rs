//! Split a certificate file into its DER certificates (docs/protocol.md §2.9: split on the PEM
//! markers, not on blank lines; files arrive with LF or CRLF).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::error::CertError;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// One `CERTIFICATE` block of a PEM file.
pub(crate) struct PemBlock {
    /// 1-based position in the file, for errors.
    pub index: usize,
    pub der: Vec<u8>,
}

/// Every `CERTIFICATE` block of `text`, in file order. Text outside the blocks (comments,
/// blank lines, `\r`) is ignored; other PEM blocks (e.g. a key) are not certificates and
/// are skipped. `file` names the source in errors.
pub(crate) fn certificate_blocks(text: &str, file: &str) -> Result<Vec<PemBlock>, CertError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let index = blocks.len() + 1;
        let body_start = start + BEGIN.len();
        let Some(body_len) = rest[body_start..].find(END) else {
            return Err(CertError::Pem {
                file: file.to_string(),
                index,
                reason: format!("\"{BEGIN}\" without a matching \"{END}\""),
            });
        };
        let body = &rest[body_start..body_start + body_len];
        if body.contains("-----") {
            return Err(CertError::Pem {
                file: file.to_string(),
                index,
                reason: format!("another PEM marker before \"{END}\""),
            });
        }
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = B64.decode(b64.as_bytes()).map_err(|e| CertError::Pem {
            file: file.to_string(),
            index,
            reason: format!("the text between the markers is not base64 ({e})"),
        })?;
        blocks.push(PemBlock { index, der });
        rest = &rest[body_start + body_len + END.len()..];
    }
    if blocks.is_empty() {
        return Err(CertError::NoCertificate {
            file: file.to_string(),
        });
    }
    Ok(blocks)
}

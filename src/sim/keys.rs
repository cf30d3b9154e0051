//! Which private key signs an answer: the simulator's Alipay key (in certificate mode the
//! key of the certificate in use), or for the `wrong_key` fault a different one
//! generated on first use.

use std::sync::Arc;

use super::faults::FaultKind;
use super::shared::Shared;
use crate::alipay::sign::SignKey;

/// Sign `content` as the answer of a call with this fault.
pub async fn sign_answer(shared: &Arc<Shared>, fault: Option<&FaultKind>, content: &str) -> String {
    let sign = match fault {
        Some(FaultKind::WrongKey) => match wrong_key(shared).await {
            Some(k) => k.sign(content),
            None => shared.answer_key().sign(content),
        },
        _ => shared.answer_key().sign(content),
    };
    if fault == Some(&FaultKind::BadSignature) {
        tamper(&sign)
    } else {
        sign
    }
}

async fn wrong_key(shared: &Arc<Shared>) -> Option<SignKey> {
    if let Some(k) = shared.wrong_key.get() {
        return Some(k.clone());
    }
    let s = shared.clone();
    tokio::task::spawn_blocking(move || match SignKey::generate() {
        Ok(k) => Some(s.wrong_key.get_or_init(|| k).clone()),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot generate the wrong key; signing normally.");
            None
        }
    })
    .await
    .ok()
    .flatten()
}

/// Flip one bit of a base64 signature (the `bad_signature` fault).
fn tamper(sign_b64: &str) -> String {
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine;
    let mut raw = B64.decode(sign_b64).unwrap_or_default();
    if let Some(b) = raw.get_mut(10) {
        *b ^= 0x01;
    }
    B64.encode(raw)
}

//! Bytes as a gateway answer: `gateway::interpret` (read and write) and `envelope::extract`
//! + `verify`. Nothing may panic, and `interpret` hands out a node only when that exact
//! text verifies (the seeds include genuinely signed answers).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shopsync::alipay::envelope::{self, Verification};
use shopsync::alipay::gateway::interpret;
use shopsync::alipay::sign::VerifyKey;

const METHOD: &str = "alipay.offline.market.shop.create";

fn key() -> &'static VerifyKey {
    static KEY: OnceLock<VerifyKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/protocol-vectors/keys/alipay_public.pem");
        VerifyKey::from_file(&path).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = std::str::from_utf8(data).ok();
    let extracted = text.and_then(|t| envelope::extract(t, METHOD).ok());
    if let (Some(t), Some(e)) = (text, &extracted) {
        assert!(t.contains(e.content));
    }
    let valid = extracted
        .as_ref()
        .is_some_and(|e| envelope::verify(e, key()) == Verification::Valid);
    for write in [false, true] {
        if let Ok(v) = interpret(METHOD, data, write, key()) {
            assert!(valid, "accepted without a valid signature: {}", v.node);
            assert_eq!(Some(v.node.as_str()), extracted.as_ref().map(|e| e.content));
        }
    }
});

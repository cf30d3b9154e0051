//! Certificate rotation (docs/protocol.md §2.9): an answer naming an Alipay certificate we
//! do not hold is verified only after that certificate was downloaded once
//! (`alipay.open.app.alipaycert.download`), found valid and chained to a root of
//! `alipay_root_cert` (real signature checks), and kept by SN. Until then the answer is
//! unverifiable, never data; a write's stays an unknown outcome.
//!
//! One download per SN, whatever the number of answers naming it at once. A refusal (not
//! chained, expired, another SN) is remembered for the life of the client; a transient
//! failure (network, throttling) lets the next answer try again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{info, warn};

use super::answer_keys::{KeptCert, KeyChoice};
use super::cert::{self, decode_cert_content, CertSet};
use super::error::{AlipayError, ErrorClass};
use super::gateway::Gateway;
use super::transport::{unusable, Params, RawAnswer, Request, Verified};

/// Why a certificate could not be trusted.
#[derive(Debug, Clone)]
struct Failure {
    /// A refusal of the certificate itself, not worth asking again.
    permanent: bool,
    message: String,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            message: message.into(),
        }
    }
}

type Cell = Arc<OnceCell<Result<(), Failure>>>;

/// The downloads of this client, one per SN.
#[derive(Default)]
pub struct Downloads {
    cells: Mutex<HashMap<String, Cell>>,
}

impl Downloads {
    fn cell(&self, sn: &str) -> Cell {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(sn.to_string()).or_default().clone()
    }

    fn forget(&self, sn: &str, cell: &Cell) {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        if cells.get(sn).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            cells.remove(sn);
        }
    }
}

/// The PEM chain of a download answer's `alipay_cert_content`.
fn pem_of(object: &str) -> Result<String, Failure> {
    let value: Value = serde_json::from_str(object)
        .map_err(|e| Failure::permanent(format!("the download answer is not JSON: {e}")))?;
    let content = value
        .get("alipay_cert_content")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::permanent("the download answer has no alipay_cert_content"))?;
    decode_cert_content(content).map_err(|e| Failure::permanent(e.to_string()))
}

impl Gateway {
    fn cert_set(&self) -> &Arc<CertSet> {
        self.certificates()
            .expect("a certificate is downloaded only in certificate mode")
    }

    /// Verify `answer` (which names certificate `sn`, not held) once that certificate has
    /// been downloaded and trusted.
    pub(super) async fn verify_after_download(
        &self,
        req: &Request,
        answer: &RawAnswer,
        sn: &str,
    ) -> Result<Verified, AlipayError> {
        let trace_id = answer
            .header(super::transport::v3::TRACE_ID_HEADER)
            .map(str::to_string);
        let untrusted = |why: String| {
            AlipayError::local(
                &req.method,
                unusable(req.write),
                format!(
                    "the answer names Alipay certificate {sn}, which is not trusted ({why}); \
                     the answer is not used"
                ),
            )
            .with_trace_id(trace_id.clone())
        };
        // A download answer naming an unknown certificate is the download's own business.
        if req.method == cert::CERT_DOWNLOAD_METHOD {
            return Err(untrusted("named by a certificate download".into()));
        }
        self.fetch_certificate(sn).await.map_err(untrusted)?;
        match self.cert_set().key_for_answer(Some(sn)) {
            cert::AnswerKey::Known(key) => self.verify(req, answer, &key),
            cert::AnswerKey::Unknown(_) => Err(untrusted("not held after its download".into())),
        }
    }

    /// Make certificate `sn` trusted: one download per SN (concurrent callers wait for the
    /// same one).
    async fn fetch_certificate(&self, sn: &str) -> Result<(), String> {
        let cell = self.downloads().cell(sn);
        let outcome = cell.get_or_init(|| self.download(sn)).await.clone();
        if let Err(f) = &outcome {
            if !f.permanent {
                self.downloads().forget(sn, &cell);
            }
        }
        outcome.map_err(|f| f.message)
    }

    async fn download(&self, sn: &str) -> Result<(), Failure> {
        let req = Request {
            method: cert::CERT_DOWNLOAD_METHOD.to_string(),
            write: false,
            params: Params::Json(cert::download_biz_content(sn)),
        };
        let answer = {
            let _permit = self.limiter().acquire(&req.method).await;
            self.send(&req).await.map_err(|e| Failure {
                permanent: false,
                message: format!("its download failed: {e}"),
            })?
        };
        let certs = self.cert_set();
        let named = self.transport().answer_cert_sn(&answer);
        let verified = match certs_choice(certs, named) {
            KeyChoice::Known(key) => self.verify(&req, &answer, &key),
            // Signed under the very certificate it carries: check that certificate's chain
            // first (the trust comes from the root), then the answer with its key.
            KeyChoice::Unknown(named) if named == sn => {
                let object = self
                    .transport()
                    .unverified_object(&req.method, &answer)
                    .ok_or_else(|| Failure::permanent("the download answer is unreadable"))?;
                let pem = pem_of(&object)?;
                let checked = certs
                    .check_downloaded(sn, &pem, self.now())
                    .map_err(|e| Failure::permanent(e.to_string()))?;
                self.verify(&req, &answer, checked.verify_key())
            }
            KeyChoice::Unknown(named) => {
                return Err(Failure::permanent(format!(
                    "the download answer is signed under yet another certificate, {named}"
                )))
            }
        };
        let verified = verified.map_err(|e| Failure {
            permanent: !matches!(
                e.class,
                ErrorClass::Throttled | ErrorClass::Transport | ErrorClass::Unverifiable
            ),
            message: format!("its download was refused: {e}"),
        })?;
        let pem = pem_of(&verified.node)?;
        let now = self.now();
        let checked = certs
            .check_downloaded(sn, &pem, now)
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let not_after = checked.not_after();
        certs.trust(checked);
        info!(alipay_cert_sn = sn, not_after = %not_after, "Alipay rotated its certificate; the new one chains to the root and is trusted.");
        if let Some(store) = self.cert_store() {
            let kept = KeptCert {
                app_id: self.app_id().to_string(),
                sn: sn.to_string(),
                pem,
                not_after,
                fetched_at: now,
            };
            if let Err(e) = store.keep_cert(&kept) {
                warn!(alipay_cert_sn = sn, error = %e, "The downloaded Alipay certificate could not be kept; it will be downloaded again by the next run.");
            }
        }
        Ok(())
    }

    /// Trust the certificates kept by earlier runs ([`Gateway::with_cert_store`]), each
    /// checked again (dates, chain). Returns how many are trusted now; one that no longer
    /// passes is logged and left out.
    pub fn load_kept_certificates(&self) -> usize {
        let (Some(certs), Some(store)) = (self.certificates(), self.cert_store()) else {
            return 0;
        };
        let kept = match store.kept_certs(self.app_id()) {
            Ok(k) => k,
            Err(e) => {
                warn!(error = %e, "The kept Alipay certificates could not be read; rotated ones will be downloaded again.");
                return 0;
            }
        };
        let now = self.now();
        let mut trusted = 0;
        for k in kept {
            if certs.verify_key_for(&k.sn).is_some() {
                trusted += 1;
                continue;
            }
            match certs.accept_downloaded(&k.sn, &k.pem, now) {
                Ok(_) => trusted += 1,
                Err(e) => {
                    warn!(alipay_cert_sn = %k.sn, error = %e, "A kept Alipay certificate no longer passes its checks; it is not trusted.")
                }
            }
        }
        trusted
    }
}

fn certs_choice(certs: &CertSet, sn: Option<String>) -> KeyChoice {
    match certs.key_for_answer(sn.as_deref()) {
        cert::AnswerKey::Known(k) => KeyChoice::Known(k),
        cert::AnswerKey::Unknown(sn) => KeyChoice::Unknown(sn),
    }
}

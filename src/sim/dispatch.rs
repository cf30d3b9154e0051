//! The business step both protocols share (§8.2 step 10): run the due audits, then the
//! method on the merchant's state, unless a fault says the call is not applied.

use serde_json::{Map, Value};

use super::api::{Api, Outcome, Refusal};
use super::audit;
use super::faults::FaultKind;
use super::methods;
use super::shared::Shared;
use super::writes;

/// The file part of an image.upload and its declared type.
pub struct Upload {
    pub image_type: String,
    pub file: Option<Vec<u8>>,
}

/// Run `api` for `merchant`. A fault that shows before the write (`applies() == false`)
/// leaves the state untouched; its answer replaces the outcome.
pub fn run(
    shared: &Shared,
    api: Api,
    merchant: &str,
    biz: &Map<String, Value>,
    upload: Option<&Upload>,
    fault: Option<&FaultKind>,
) -> Outcome {
    let cfg = &shared.cfg;
    let now = shared.now();
    let outcome = {
        let mut st = shared.state();
        let queued = audit::process_due(cfg, shared.answer_key(), &mut st, now);
        if queued {
            shared.log_changed();
        }
        if fault.is_some_and(|f| !f.applies()) {
            Err(Refusal::new(""))
        } else {
            match api {
                Api::Summary => methods::summary(&st, merchant, biz),
                Api::Create => writes::create(cfg, &mut st, merchant, now, biz),
                Api::Modify => writes::modify(cfg, &mut st, merchant, now, biz),
                Api::QueryDetail => methods::querydetail(&st, merchant, biz),
                Api::ShopBatchQuery => methods::shop_batchquery(&st, merchant, biz),
                Api::ApplyOrder => {
                    methods::applyorder(&st, merchant, now, biz, cfg.rich_biz_context)
                }
                Api::Category => methods::category(biz),
                Api::CertDownload => methods::cert_download(cfg.cert.as_ref(), biz),
                Api::ImageUpload => {
                    let (t, file) =
                        upload.map_or(("", None), |u| (u.image_type.as_str(), u.file.as_deref()));
                    methods::image_upload(&mut st, merchant, t, file)
                }
            }
        }
    };
    shared.wake.notify_one();
    outcome
}

/// The code a `system_error` fault answers for `api`.
pub fn system_error_code(api: Api) -> &'static str {
    match api {
        Api::Create => "SHOP_CREATE_SYSTEM_ERROR",
        Api::Modify => "SHOP_MODIFY_SYSTEM_ERROR",
        _ => "SYSTEM_ERROR",
    }
}

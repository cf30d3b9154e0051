//! The classic `gateway.do` protocol (docs/protocol.md §2): common parameters signed with
//! RSA2 and sent in the query, `biz_content` in the form body (image.upload: multipart),
//! and the answer's `<method>_response` node verified before anything reads it.

use serde_json::{Map, Value};

use super::{truncate, unusable, utf8_body, Params, Protocol, RawAnswer, Request, Signer};
use super::{Transport, Verified};
use crate::alipay::cert;
use crate::alipay::envelope::{self, Verification};
use crate::alipay::error::AlipayError;
use crate::alipay::gateway::BAD_SIGNATURE;
use crate::alipay::sign::{self, VerifyKey};
use crate::alipay::timestamp;

/// The classic gateway at `url` (`…/gateway.do`).
pub struct Classic {
    url: String,
}

impl Classic {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
        }
    }

    /// The system parameters of one request, signed. `extra` are further signed text
    /// parameters (`biz_content`, or image.upload's text fields).
    fn signed_params(
        &self,
        signer: &Signer,
        method: &str,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let ts = timestamp::format(signer.clock.now());
        let mut params: Vec<(String, String)> = vec![
            ("app_id".into(), signer.app_id.clone()),
            ("method".into(), method.into()),
            ("format".into(), "json".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            ("timestamp".into(), ts),
            ("version".into(), "1.0".into()),
        ];
        if let Some((app_sn, root_sn)) = &signer.cert_sns {
            params.push((cert::APP_CERT_SN.into(), app_sn.clone()));
            params.push((cert::ALIPAY_ROOT_CERT_SN.into(), root_sn.clone()));
        }
        if let Some(token) = &signer.app_auth_token {
            params.push(("app_auth_token".into(), token.expose().to_string()));
        }
        let content = sign::request_sign_content(
            params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(extra.iter().copied()),
        );
        params.push(("sign".into(), signer.sign_key.sign(&content)));
        params
    }

    fn url_with_query(&self, params: &[(String, String)]) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{query}", self.url)
    }
}

/// `biz_content` of text parameters: a JSON object of strings, in order.
fn object_of(pairs: &[(String, String)]) -> String {
    let map: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map).to_string()
}

impl Transport for Classic {
    fn protocol(&self) -> Protocol {
        Protocol::Classic
    }

    fn request(
        &self,
        http: &reqwest::Client,
        signer: &Signer,
        req: &Request,
    ) -> reqwest::RequestBuilder {
        let biz_content = match &req.params {
            Params::Json(json) => json.clone(),
            Params::Query(pairs) => object_of(pairs),
            Params::Upload {
                image_type,
                image_name,
                file_name,
                bytes,
            } => {
                let texts = [
                    ("image_type", image_type.as_str()),
                    ("image_name", image_name.as_str()),
                ];
                let params = self.signed_params(signer, &req.method, &texts);
                let form = reqwest::multipart::Form::new()
                    .text("image_type", image_type.clone())
                    .text("image_name", image_name.clone())
                    .part(
                        "image_content",
                        reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.clone()),
                    );
                return http.post(self.url_with_query(&params)).multipart(form);
            }
        };
        let params = self.signed_params(signer, &req.method, &[("biz_content", &biz_content)]);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("biz_content", &biz_content)
            .finish();
        http.post(self.url_with_query(&params))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(body)
    }

    fn answer_cert_sn(&self, answer: &RawAnswer) -> Option<String> {
        let body = std::str::from_utf8(&answer.body).ok()?;
        // A body that is not one JSON object, or names the field twice, names no
        // certificate: it is then checked against the configured one (and fails).
        cert::classic_answer_cert_sn(body).ok().flatten()
    }

    fn unverified_object(&self, method: &str, answer: &RawAnswer) -> Option<String> {
        let body = std::str::from_utf8(&answer.body).ok()?;
        let extracted = envelope::extract(body, method).ok()?;
        Some(extracted.content.to_string())
    }

    fn interpret(
        &self,
        method: &str,
        answer: &RawAnswer,
        write: bool,
        key: &VerifyKey,
    ) -> Result<Verified, AlipayError> {
        if !(200..300).contains(&answer.status) {
            return Err(AlipayError::local(
                method,
                super::after_send(write),
                format!("HTTP {} from the gateway", answer.status),
            ));
        }
        interpret(method, &answer.body, write, key)
    }
}

/// docs/protocol.md §2.6 on a raw body with `alipay_key`: extract, verify, then hand out
/// the node. Public for tests and fuzz targets.
pub fn interpret(
    method: &str,
    bytes: &[u8],
    write: bool,
    alipay_key: &VerifyKey,
) -> Result<Verified, AlipayError> {
    let unusable = unusable(write);
    let body = utf8_body(method, bytes, write)?;
    let extracted = envelope::extract(body, method).map_err(|e| {
        AlipayError::local(method, unusable, format!("{e}: {}", truncate(body, 300)))
    })?;
    // Reading `code` before verification only decides which error to report; no field is
    // used as data unless the signature verified.
    let head: Head = serde_json::from_str(extracted.content).map_err(|e| {
        AlipayError::local(method, unusable, format!("answer node is not JSON: {e}"))
    })?;
    let verification = envelope::verify(&extracted, alipay_key);
    let code = head.code.as_deref().unwrap_or("");
    match (verification, code == "10000") {
        // The node is parsed from the raw text: JSON decodes `\/` and `/` alike, so the
        // `\/` fallback needs no rewriting here.
        (Verification::Valid, true) => Ok(Verified {
            method: method.to_string(),
            node: extracted.content.to_string(),
            trace_id: None,
        }),
        (Verification::Valid, false) => Err(head.error(method, write, true)),
        (Verification::Unsigned, false) => Err(head.error(method, write, false)),
        (Verification::Unsigned, true) => Err(AlipayError::local(
            method,
            unusable,
            "a success answer without a signature; refusing to use it".to_string(),
        )),
        (Verification::Invalid, _) => Err(AlipayError::local(
            method,
            unusable,
            format!(
                "{BAD_SIGNATURE} (code {code}); the answer was tampered with or the key is wrong"
            ),
        )),
    }
}

#[derive(serde::Deserialize)]
struct Head {
    code: Option<String>,
    msg: Option<String>,
    sub_code: Option<String>,
    sub_msg: Option<String>,
}

impl Head {
    fn error(&self, method: &str, write: bool, signed: bool) -> AlipayError {
        AlipayError::from_answer(
            method,
            write,
            self.code.as_deref().unwrap_or("(no code)"),
            self.msg.as_deref(),
            self.sub_code.as_deref(),
            self.sub_msg.as_deref(),
            signed,
        )
    }
}

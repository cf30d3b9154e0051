//! The v3 protocol (docs/protocol.md §3): every method at `/v3/<method with / for .>`,
//! `GET` with a query for querydetail and category.query, a JSON body otherwise
//! (image.upload: multipart, the `data` part signed), the `Authorization` header signed
//! over auth string, verb, URI, body and token; answers verified from `alipay-timestamp`,
//! `alipay-nonce` and `alipay-signature`, and HTTP statuses mapped to the classic classes
//! (`super::v3_codes`).
//!
//! The token travels in the `alipay-app-auth-token` header: no header is ever logged.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::Rng;
use serde_json::{Map, Value};

use super::v3_codes::error_of;
use super::{truncate, unusable, utf8_body, Params, Protocol, RawAnswer, Request, Signer};
use super::{Transport, Verified};
use crate::alipay::cert;
use crate::alipay::error::AlipayError;
use crate::alipay::gateway::BAD_SIGNATURE;
use crate::alipay::sign::VerifyKey;
use crate::alipay::v3 as signing;

/// Query values are percent-encoded, spaces as `%20`; only RFC 3986 unreserved characters
/// stay as they are.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Header names (docs/protocol.md §3).
pub const APP_AUTH_TOKEN_HEADER: &str = "alipay-app-auth-token";
pub const REQUEST_ID_HEADER: &str = "alipay-request-id";
pub const TIMESTAMP_HEADER: &str = "alipay-timestamp";
pub const NONCE_HEADER: &str = "alipay-nonce";
pub const SIGNATURE_HEADER: &str = "alipay-signature";
pub const TRACE_ID_HEADER: &str = "alipay-trace-id";

/// The v3 service whose base URL is the configured gateway's scheme and host.
pub struct V3 {
    base: String,
}

/// `https://host/gateway.do` → `https://host`; a URL without `/gateway.do` is taken as the
/// base itself (trailing `/` dropped).
pub fn base_url(gateway_url: &str) -> String {
    let no_query = gateway_url.split('?').next().unwrap_or(gateway_url);
    let trimmed = no_query.trim_end_matches('/');
    trimmed
        .strip_suffix("/gateway.do")
        .unwrap_or(trimmed)
        .to_string()
}

/// The path of a method: `/v3/` and the name with `.` as `/`.
pub fn path_of(method: &str) -> String {
    format!("/v3/{}", method.replace('.', "/"))
}

/// `a=1&b=x%20y` from pairs, in order.
pub fn query_of(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_VALUE),
                utf8_percent_encode(v, QUERY_VALUE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// A random UUID-shaped id for `alipay-request-id`.
fn request_id() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl V3 {
    pub fn new(gateway_url: &str) -> Self {
        Self {
            base: base_url(gateway_url),
        }
    }
}

impl Transport for V3 {
    fn protocol(&self) -> Protocol {
        Protocol::V3
    }

    fn request(
        &self,
        http: &reqwest::Client,
        signer: &Signer,
        req: &Request,
    ) -> reqwest::RequestBuilder {
        let path = path_of(&req.method);
        let (verb, uri, signed_body) = match &req.params {
            Params::Query(pairs) if pairs.is_empty() => ("GET", path, String::new()),
            Params::Query(pairs) => ("GET", format!("{path}?{}", query_of(pairs)), String::new()),
            Params::Json(json) => ("POST", path, json.clone()),
            Params::Upload {
                image_type,
                image_name,
                ..
            } => {
                let mut data = Map::new();
                data.insert("image_type".into(), Value::String(image_type.clone()));
                data.insert("image_name".into(), Value::String(image_name.clone()));
                ("POST", path, Value::Object(data).to_string())
            }
        };
        let nonce = random_hex(16);
        let auth = cert::v3_auth_string(
            &signer.app_id,
            signer.cert_sns.as_ref().map(|(app, _)| app.as_str()),
            &nonce,
            signer.clock.now().timestamp_millis(),
        );
        let token = signer.app_auth_token.as_ref().map(|t| t.expose());
        let authorization =
            signing::sign_request(&signer.sign_key, &auth, verb, &uri, &signed_body, token);
        let url = format!("{}{uri}", self.base);
        let mut builder = match verb {
            "GET" => http.get(url),
            _ => http.post(url),
        };
        builder = builder
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(REQUEST_ID_HEADER, request_id());
        if let Some(token) = token {
            builder = builder.header(APP_AUTH_TOKEN_HEADER, token);
        }
        if let Some((_, root_sn)) = &signer.cert_sns {
            builder = builder.header(cert::V3_ROOT_CERT_SN_HEADER, root_sn);
        }
        match &req.params {
            Params::Upload {
                file_name, bytes, ..
            } => {
                let data = reqwest::multipart::Part::text(signed_body)
                    .mime_str("application/json")
                    .expect("a valid MIME type");
                let form = reqwest::multipart::Form::new().part("data", data).part(
                    "image_content",
                    reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.clone()),
                );
                builder.multipart(form)
            }
            Params::Json(_) => builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(signed_body),
            Params::Query(_) => builder,
        }
    }

    fn answer_cert_sn(&self, answer: &RawAnswer) -> Option<String> {
        answer
            .header(cert::V3_CERT_SN_HEADER)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn unverified_object(&self, _method: &str, answer: &RawAnswer) -> Option<String> {
        String::from_utf8(answer.body.clone()).ok()
    }

    fn interpret(
        &self,
        method: &str,
        answer: &RawAnswer,
        write: bool,
        key: &VerifyKey,
    ) -> Result<Verified, AlipayError> {
        let trace_id = answer.header(TRACE_ID_HEADER).map(str::to_string);
        interpret(method, answer, write, key).map_err(|e| e.with_trace_id(trace_id.clone()))
    }
}

/// How an answer's signature headers check out.
enum Signature {
    Valid,
    Invalid,
    Absent,
}

fn check_signature(answer: &RawAnswer, body: &str, key: &VerifyKey) -> Signature {
    // The SDKs verify an error only when a signature is present and is not "null".
    let Some(sign) = answer
        .header(SIGNATURE_HEADER)
        .filter(|s| !s.is_empty() && *s != "null")
    else {
        return Signature::Absent;
    };
    let (Some(ts), Some(nonce)) = (answer.header(TIMESTAMP_HEADER), answer.header(NONCE_HEADER))
    else {
        return Signature::Invalid;
    };
    if signing::verify_response(key, ts, nonce, body, sign) {
        Signature::Valid
    } else {
        Signature::Invalid
    }
}

/// docs/protocol.md §3 on one answer: a 2xx is data only with a valid signature; an
/// error is trusted when signed, reported as unverified when unsigned, and a
/// verification failure when its signature does not verify.
pub fn interpret(
    method: &str,
    answer: &RawAnswer,
    write: bool,
    key: &VerifyKey,
) -> Result<Verified, AlipayError> {
    let body = utf8_body(method, &answer.body, write)?;
    let signature = check_signature(answer, body, key);
    let success = (200..300).contains(&answer.status);
    match (signature, success) {
        (Signature::Invalid, _) => Err(AlipayError::local(
            method,
            unusable(write),
            format!(
                "{BAD_SIGNATURE} (HTTP {}); the answer was tampered with or the key is wrong",
                answer.status
            ),
        )),
        (Signature::Absent, true) => Err(AlipayError::local(
            method,
            unusable(write),
            "a success answer without a signature; refusing to use it".to_string(),
        )),
        (Signature::Valid, true) => {
            if !body.trim_start().starts_with('{') {
                return Err(AlipayError::local(
                    method,
                    unusable(write),
                    format!("the answer is not a JSON object: {}", truncate(body, 300)),
                ));
            }
            Ok(Verified {
                method: method.to_string(),
                node: body.to_string(),
                trace_id: answer.header(TRACE_ID_HEADER).map(str::to_string),
            })
        }
        (Signature::Valid, false) => Err(error_of(method, write, answer.status, body, true)),
        (Signature::Absent, false) => Err(error_of(method, write, answer.status, body, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_and_paths() {
        assert_eq!(
            base_url("https://openapi.alipay.com/gateway.do"),
            "https://openapi.alipay.com"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8090/gateway.do?charset=utf-8"),
            "http://127.0.0.1:8090"
        );
        assert_eq!(
            base_url("https://proxy.example/alipay/"),
            "https://proxy.example/alipay"
        );
        assert_eq!(
            path_of("alipay.offline.market.shop.querydetail"),
            "/v3/alipay/offline/market/shop/querydetail"
        );
    }

    #[test]
    fn query_values_use_percent_20_for_spaces() {
        let q = query_of(&[
            ("shop_id".into(), "2026112500077000000000000042".into()),
            ("op_role".into(), "ISV".into()),
            ("x".into(), "a b&c=中".into()),
        ]);
        assert_eq!(
            q,
            "shop_id=2026112500077000000000000042&op_role=ISV&x=a%20b%26c%3D%E4%B8%AD"
        );
    }

    #[test]
    fn request_ids_are_uuid_shaped() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, request_id());
    }
}

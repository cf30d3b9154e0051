//! How one call travels, below the typed Koubei methods (docs/protocol.md §2, §3). A method
//! describes its call once, as a [`Request`] (name, business parameters, write or read);
//! the configured [`Protocol`] turns it into HTTP and reads the answer back:
//!
//! - [`classic`]: `POST gateway.do`, signed system parameters in the query, `biz_content`
//!   in the form body, the answer's `<method>_response` node verified (§2.4–§2.6);
//! - [`v3`]: `/v3/...` paths, the signed `Authorization` header, bare JSON answers
//!   verified from the `alipay-signature` header, HTTP statuses mapped to the same error
//!   classes (§3).
//!
//! Both hand back a [`Verified`] answer: the JSON object the method's types parse. Which
//! key verifies it (key mode, or the certificate the answer names) is the gateway's
//! business (`super::gateway`), not the protocol's.

pub mod classic;
pub mod v3;
mod v3_codes;

use serde::de::DeserializeOwned;

use super::error::{AlipayError, ErrorClass};
use super::sign::{SignKey, VerifyKey};
use crate::clock::SharedClock;
use crate::secret::Secret;

/// `[alipay] protocol`: how calls travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `gateway.do` with `biz_content` (docs/protocol.md §2).
    #[default]
    Classic,
    /// REST paths under `/v3/` with an `Authorization` header (docs/protocol.md §3).
    V3,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Classic => "classic",
            Protocol::V3 => "v3",
        }
    }
}

/// One call, as the typed method layer describes it (whatever the protocol).
#[derive(Debug, Clone)]
pub struct Request {
    /// The classic method name; the v3 path is derived from it.
    pub method: String,
    /// create/modify: a failure after sending is then an unknown outcome.
    pub write: bool,
    pub params: Params,
}

/// The business parameters of a call.
#[derive(Debug, Clone)]
pub enum Params {
    /// One JSON object, serialised once: classic `biz_content`, the v3 POST body.
    Json(String),
    /// Text parameters of the reads v3 sends as `GET` with a query (querydetail,
    /// category.query); classic sends them as a `biz_content` object of strings.
    Query(Vec<(String, String)>),
    /// image.upload: two text fields (classic: signed form fields; v3: the `data` part)
    /// and the file (never signed).
    Upload {
        image_type: String,
        image_name: String,
        file_name: String,
        bytes: Vec<u8>,
    },
}

/// A verified answer: the JSON object a method's types parse (the classic node, or the
/// v3 body), and the `alipay-trace-id` v3 sends with it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub method: String,
    /// The object exactly as signed (classic: after the `\/` fallback when it was needed).
    pub node: String,
    /// v3 `alipay-trace-id` (`None` on classic).
    pub trace_id: Option<String>,
}

impl Verified {
    /// Deserialize the answer.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AlipayError> {
        serde_json::from_str(&self.node).map_err(|e| {
            AlipayError::local(
                &self.method,
                ErrorClass::Unverifiable,
                format!("verified answer does not have the expected shape: {e}"),
            )
            .with_trace_id(self.trace_id.clone())
        })
    }
}

/// An answer as received, before anything in it is trusted.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    /// The `alipay-*` response headers (v3), lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// A response header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What signs a request: the app, its key, the merchant's token, the clock, and in
/// certificate mode the two SNs every request carries.
#[derive(Clone)]
pub struct Signer {
    pub app_id: String,
    pub app_auth_token: Option<Secret>,
    pub sign_key: SignKey,
    pub clock: SharedClock,
    /// `(app_cert_sn, alipay_root_cert_sn)` in certificate mode.
    pub cert_sns: Option<(String, String)>,
}

/// The two protocols behind one interface: build the signed HTTP request, name the
/// certificate an answer was signed under, and verify and classify an answer.
pub trait Transport: Send + Sync {
    fn protocol(&self) -> Protocol;

    /// The HTTP request of `req`, signed.
    fn request(
        &self,
        http: &reqwest::Client,
        signer: &Signer,
        req: &Request,
    ) -> reqwest::RequestBuilder;

    /// The SN of the certificate the answer says it was signed under (certificate mode:
    /// classic `alipay_cert_sn`, v3 `alipay-sn`); `None` when it names none.
    fn answer_cert_sn(&self, answer: &RawAnswer) -> Option<String>;

    /// The answer's JSON object before verification, for the one case that needs it: a
    /// certificate download signed under the very certificate it carries (docs/protocol.md §2.9).
    fn unverified_object(&self, method: &str, answer: &RawAnswer) -> Option<String>;

    /// Verify the answer with `key` and classify it (docs/protocol.md §2.6, §3, §6.4).
    fn interpret(
        &self,
        method: &str,
        answer: &RawAnswer,
        write: bool,
        key: &VerifyKey,
    ) -> Result<Verified, AlipayError>;
}

/// The transport of a protocol. `url` is the configured gateway (`…/gateway.do`); v3
/// uses its scheme and host.
pub fn for_protocol(protocol: Protocol, url: &str) -> Box<dyn Transport> {
    match protocol {
        Protocol::Classic => Box::new(classic::Classic::new(url)),
        Protocol::V3 => Box::new(v3::V3::new(url)),
    }
}

/// The class of a failure once bytes may have reached Alipay.
pub(crate) fn after_send(write: bool) -> ErrorClass {
    if write {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Transport
    }
}

/// The class of an answer that cannot be trusted.
pub(crate) fn unusable(write: bool) -> ErrorClass {
    if write {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Unverifiable
    }
}

/// The body as UTF-8, or the error an undecodable body is (decoded as GBK for the log
/// only: unsigned errors have been seen in GBK).
pub(crate) fn utf8_body<'a>(
    method: &str,
    bytes: &'a [u8],
    write: bool,
) -> Result<&'a str, AlipayError> {
    std::str::from_utf8(bytes).map_err(|_| {
        let (text, _, _) = encoding_rs::GBK.decode(bytes);
        AlipayError::local(
            method,
            unusable(write),
            format!("answer is not UTF-8: {}", truncate(&text, 300)),
        )
    })
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

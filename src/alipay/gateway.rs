//! The classic `gateway.do` protocol (docs/protocol.md §2): common parameters, RSA2 request
//! signing, transport, and verification of every answer before anything reads it.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tracing::debug;

use super::envelope::{self, Verification};
use super::error::{AlipayError, ErrorClass};
use super::sign::{self, KeyError, SignKey, VerifyKey};
use super::timestamp;
use crate::alipay::ratelimit::{Permit, RateLimiter};
use crate::clock::SharedClock;
use crate::secret::Secret;

/// The words of an answer whose signature does not verify.
pub const BAD_SIGNATURE: &str =
    "the answer's signature does not verify with the configured Alipay public key";

/// Production gateway.
pub const PRODUCTION_URL: &str = "https://openapi.alipay.com/gateway.do";
/// Sandbox gateway.
pub const SANDBOX_URL: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

/// Observes every call's outcome (metrics): `Ok(())` or the failure's class.
pub trait CallObserver: Send + Sync {
    fn observe(&self, method: &str, outcome: Result<(), ErrorClass>);
}

/// Connection settings of the client.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub url: String,
    pub app_id: String,
    pub app_auth_token: Option<Secret>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A gateway client for one app. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    cfg: GatewayConfig,
    sign_key: SignKey,
    alipay_key: VerifyKey,
    clock: SharedClock,
    limiter: Arc<RateLimiter>,
    observer: Option<Arc<dyn CallObserver>>,
    /// Some answer verified since start (then bad signatures are tampering, not a key).
    verified_any: std::sync::atomic::AtomicBool,
    bad_signature_streak: std::sync::atomic::AtomicU32,
}

/// Consecutive answers whose signature fails, with none verified before, that mean the
/// configured Alipay public key is wrong.
pub const WRONG_KEY_STREAK: u32 = 3;

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("url", &self.inner.cfg.url)
            .field("app_id", &self.inner.cfg.app_id)
            .finish()
    }
}

/// A verified `10000` answer: the raw node text, ready to be parsed.
#[derive(Debug, Clone)]
pub struct Verified {
    pub method: String,
    /// The node object exactly as signed (after the `\/` fallback when it was needed).
    pub node: String,
}

impl Verified {
    /// Deserialize the node.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AlipayError> {
        serde_json::from_str(&self.node).map_err(|e| {
            AlipayError::local(
                &self.method,
                ErrorClass::Unverifiable,
                format!("verified answer does not have the expected shape: {e}"),
            )
        })
    }
}

/// A text field or a file of a multipart request.
pub enum Part {
    Text(String, String),
    File {
        name: String,
        file_name: String,
        bytes: Vec<u8>,
    },
}

impl Gateway {
    /// Build a client. Refuses an Alipay public key that is the app's own public key.
    pub fn new(
        cfg: GatewayConfig,
        sign_key: SignKey,
        alipay_key: VerifyKey,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, KeyError> {
        sign::ensure_distinct(&sign_key, &alipay_key)?;
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| KeyError::Generate(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                cfg,
                sign_key,
                alipay_key,
                clock,
                limiter,
                observer: None,
                verified_any: Default::default(),
                bad_signature_streak: Default::default(),
            }),
        })
    }

    /// The same app (HTTP client, keys, rate limiter, observer) acting for another
    /// merchant: its `app_auth_token` (`None`: the app's own merchant). Used once per
    /// merchant of an ISV config, so all of them share the app's one quota.
    pub fn for_merchant(&self, app_auth_token: Option<Secret>) -> Gateway {
        let arc = &self.inner;
        let mut cfg = arc.cfg.clone();
        cfg.app_auth_token = app_auth_token;
        Gateway {
            inner: Arc::new(Inner {
                http: arc.http.clone(),
                cfg,
                sign_key: arc.sign_key.clone(),
                alipay_key: arc.alipay_key.clone(),
                clock: arc.clock.clone(),
                limiter: arc.limiter.clone(),
                observer: arc.observer.clone(),
                verified_any: Default::default(),
                bad_signature_streak: Default::default(),
            }),
        }
    }

    /// Attach a metrics observer.
    pub fn with_observer(self, observer: Arc<dyn CallObserver>) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| Inner {
            http: arc.http.clone(),
            cfg: arc.cfg.clone(),
            sign_key: arc.sign_key.clone(),
            alipay_key: arc.alipay_key.clone(),
            clock: arc.clock.clone(),
            limiter: arc.limiter.clone(),
            observer: arc.observer.clone(),
            verified_any: Default::default(),
            bad_signature_streak: Default::default(),
        });
        Self {
            inner: Arc::new(Inner {
                observer: Some(observer),
                ..inner
            }),
        }
    }

    pub fn app_id(&self) -> &str {
        &self.inner.cfg.app_id
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// The system parameters of one request, signed. `extra` are further signed text
    /// parameters (`biz_content`, or image.upload's text fields).
    fn signed_params(&self, method: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let ts = timestamp::format(self.inner.clock.now());
        let mut params: Vec<(String, String)> = vec![
            ("app_id".into(), self.inner.cfg.app_id.clone()),
            ("method".into(), method.into()),
            ("format".into(), "json".into()),
            ("charset".into(), "utf-8".into()),
            ("sign_type".into(), "RSA2".into()),
            ("timestamp".into(), ts),
            ("version".into(), "1.0".into()),
        ];
        if let Some(token) = &self.inner.cfg.app_auth_token {
            params.push(("app_auth_token".into(), token.expose().to_string()));
        }
        let content = sign::request_sign_content(
            params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(extra.iter().copied()),
        );
        params.push(("sign".into(), self.inner.sign_key.sign(&content)));
        params
    }

    fn url_with_query(&self, params: &[(String, String)]) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let sep = if self.inner.cfg.url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{query}", self.inner.cfg.url)
    }

    /// Call `method` with `biz_content` (serialised once, signed and sent as is).
    /// `write` marks create/modify: failures after sending are then "outcome unknown".
    pub async fn call(
        &self,
        method: &str,
        biz_content: &str,
        write: bool,
    ) -> Result<Verified, AlipayError> {
        // Admission first, then timestamp and sign: work done by callers still waiting must
        // not delay the sends already admitted (that bunches them up at the gateway).
        let permit = self.inner.limiter.acquire(method).await;
        let params = self.signed_params(method, &[("biz_content", biz_content)]);
        let url = self.url_with_query(&params);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("biz_content", biz_content)
            .finish();
        let request = self
            .inner
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(body);
        let result = self.send(method, request, write).await;
        self.observe(method, &result, &permit);
        result
    }

    /// Call a multipart method (image.upload): text parts are signed, files are not.
    pub async fn call_multipart(
        &self,
        method: &str,
        parts: Vec<Part>,
    ) -> Result<Verified, AlipayError> {
        let texts: Vec<(String, String)> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(k, v) => Some((k.clone(), v.clone())),
                Part::File { .. } => None,
            })
            .collect();
        let extra: Vec<(&str, &str)> = texts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let permit = self.inner.limiter.acquire(method).await;
        let params = self.signed_params(method, &extra);
        let url = self.url_with_query(&params);
        let mut form = reqwest::multipart::Form::new();
        for part in parts {
            form = match part {
                Part::Text(k, v) => form.text(k, v),
                Part::File {
                    name,
                    file_name,
                    bytes,
                } => form.part(
                    name,
                    reqwest::multipart::Part::bytes(bytes).file_name(file_name),
                ),
            };
        }
        let request = self.inner.http.post(url).multipart(form);
        let result = self.send(method, request, false).await;
        self.observe(method, &result, &permit);
        result
    }

    fn observe(&self, method: &str, result: &Result<Verified, AlipayError>, permit: &Permit) {
        match result {
            Ok(_) => self.inner.limiter.succeeded(),
            Err(e) if e.class == ErrorClass::Throttled => {
                let pause = self.inner.limiter.throttled(permit);
                debug!(
                    method,
                    pause_ms = pause.as_millis() as u64,
                    "Throttled by Alipay; slowing down."
                );
            }
            Err(_) => {}
        }
        if let Some(observer) = &self.inner.observer {
            observer.observe(method, result.as_ref().map(|_| ()).map_err(|e| e.class));
        }
    }

    async fn send(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
        write: bool,
    ) -> Result<Verified, AlipayError> {
        let after_send = if write {
            ErrorClass::OutcomeUnknown
        } else {
            ErrorClass::Transport
        };
        let response = request.send().await.map_err(|e| {
            // A failure to connect means no byte reached Alipay: safe to retry.
            let class = if e.is_connect() {
                ErrorClass::Transport
            } else {
                after_send
            };
            AlipayError::local(
                method,
                class,
                format!("request failed: {}", error_chain(&e.without_url())),
            )
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            AlipayError::local(
                method,
                after_send,
                format!(
                    "reading the answer failed (truncated?): {}",
                    error_chain(&e.without_url())
                ),
            )
        })?;
        if !status.is_success() {
            return Err(AlipayError::local(
                method,
                after_send,
                format!("HTTP {status} from the gateway"),
            ));
        }
        let result = self.interpret(method, &bytes, write);
        self.track_verification(method, write, result)
    }

    /// A wrong Alipay public key makes every signed answer fail. When no answer has
    /// verified since this client started and [`WRONG_KEY_STREAK`] in a row did not, the
    /// failure is a configuration error (exit 78), not a transient one.
    /// A write's unverifiable answer stays an unknown outcome (it may have been applied).
    fn track_verification(
        &self,
        method: &str,
        write: bool,
        result: Result<Verified, AlipayError>,
    ) -> Result<Verified, AlipayError> {
        use std::sync::atomic::Ordering::SeqCst;
        match &result {
            Ok(_) => {
                self.inner.verified_any.store(true, SeqCst);
                self.inner.bad_signature_streak.store(0, SeqCst);
            }
            Err(e) if e.bad_signature() => {
                let streak = self.inner.bad_signature_streak.fetch_add(1, SeqCst) + 1;
                if !write && !self.inner.verified_any.load(SeqCst) && streak >= WRONG_KEY_STREAK {
                    return Err(AlipayError::local(
                        method,
                        ErrorClass::Config,
                        format!(
                            "no answer verifies with the configured Alipay public key ({streak} in a row): \
                             [alipay] alipay_public_key is not this app's Alipay public key \
                             (sandbox and production keys differ; each app has its own)"
                        ),
                    ));
                }
            }
            Err(e) if e.signed => {
                self.inner.verified_any.store(true, SeqCst);
                self.inner.bad_signature_streak.store(0, SeqCst);
            }
            Err(_) => {}
        }
        result
    }

    /// Apply docs/protocol.md §2.6 to a raw body: extract, verify, then hand out the node.
    pub fn interpret(
        &self,
        method: &str,
        bytes: &[u8],
        write: bool,
    ) -> Result<Verified, AlipayError> {
        interpret(method, bytes, write, &self.inner.alipay_key)
    }
}

/// docs/protocol.md §2.6 on a raw body with `alipay_key`; public for tests and fuzz targets.
pub fn interpret(
    method: &str,
    bytes: &[u8],
    write: bool,
    alipay_key: &VerifyKey,
) -> Result<Verified, AlipayError> {
    let unusable = if write {
        ErrorClass::OutcomeUnknown
    } else {
        ErrorClass::Unverifiable
    };
    let body = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            // Unsigned errors have been seen in GBK; decode for the log only.
            let (text, _, _) = encoding_rs::GBK.decode(bytes);
            return Err(AlipayError::local(
                method,
                unusable,
                format!("answer is not UTF-8: {}", truncate(&text, 300)),
            ));
        }
    };
    let extracted = envelope::extract(&body, method).map_err(|e| {
        AlipayError::local(method, unusable, format!("{e}: {}", truncate(&body, 300)))
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

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

//! The client of one Alipay app: the typed Koubei methods (`super::koubei`) call
//! [`Gateway::execute`], which admits the call (rate limit), hands it to the configured
//! protocol (`super::transport`: classic `gateway.do` or v3), picks the key that verifies
//! the answer (key mode, or the certificate the answer names: `super::answer_keys`,
//! downloading a rotated one once), and verifies it before anything reads it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tracing::debug;

use super::answer_keys::{AlipayKeys, CertStore, KeyChoice, NotificationKeys};
use super::cert::{CertError, CertSet, CertWarning};
use super::error::{AlipayError, ErrorClass};
use super::ratelimit::{Permit, RateLimiter};
use super::rotation::Downloads;
use super::sign::{self, KeyError, SignKey, VerifyKey};
use super::transport::{self, Params, Protocol, RawAnswer, Request, Signer, Transport};
use crate::clock::SharedClock;
use crate::secret::Secret;

pub use super::transport::classic::interpret;
pub use super::transport::Verified;

/// The words of an answer whose signature does not verify.
pub const BAD_SIGNATURE: &str = "the answer's signature does not verify";

/// Production gateway.
pub const PRODUCTION_URL: &str = "https://openapi.alipay.com/gateway.do";
/// Sandbox gateway.
pub const SANDBOX_URL: &str = "https://openapi-sandbox.dl.alipaydev.com/gateway.do";

/// Consecutive answers whose signature fails, with none verified before, that mean the
/// configured Alipay public key (or certificate) is wrong.
pub const WRONG_KEY_STREAK: u32 = 3;

/// Observes every call's outcome (metrics): `Ok(())` or the failure's class.
pub trait CallObserver: Send + Sync {
    fn observe(&self, method: &str, outcome: Result<(), ErrorClass>);
}

/// Connection settings of the client.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The classic gateway (`…/gateway.do`); v3 uses its scheme and host.
    pub url: String,
    pub app_id: String,
    pub app_auth_token: Option<Secret>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A client for one app. Cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    cfg: GatewayConfig,
    signer: Signer,
    keys: AlipayKeys,
    transport: Box<dyn Transport>,
    limiter: Arc<RateLimiter>,
    observer: Option<Arc<dyn CallObserver>>,
    cert_store: Option<Arc<dyn CertStore>>,
    downloads: Arc<Downloads>,
    /// Some answer verified since start (then bad signatures are tampering, not a key).
    verified_any: AtomicBool,
    bad_signature_streak: AtomicU32,
}

impl Inner {
    /// A copy with fresh counters (for the builder methods on a shared gateway).
    fn duplicate(&self) -> Inner {
        Inner {
            http: self.http.clone(),
            cfg: self.cfg.clone(),
            signer: self.signer.clone(),
            keys: self.keys.clone(),
            transport: transport::for_protocol(self.transport.protocol(), &self.cfg.url),
            limiter: self.limiter.clone(),
            observer: self.observer.clone(),
            cert_store: self.cert_store.clone(),
            downloads: Arc::default(),
            verified_any: AtomicBool::new(false),
            bad_signature_streak: AtomicU32::new(0),
        }
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("url", &self.inner.cfg.url)
            .field("app_id", &self.inner.cfg.app_id)
            .field("protocol", &self.protocol())
            .field("certificate_mode", &self.certificates().is_some())
            .finish()
    }
}

impl Gateway {
    /// A key-mode client on the classic protocol. Refuses an Alipay public key that is the
    /// app's own public key.
    pub fn new(
        cfg: GatewayConfig,
        sign_key: SignKey,
        alipay_key: VerifyKey,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, KeyError> {
        sign::ensure_distinct(&sign_key, &alipay_key)?;
        Self::build(cfg, sign_key, AlipayKeys::Key(alipay_key), clock, limiter)
    }

    /// A certificate-mode client on the classic protocol (docs/protocol.md §2.9). Refuses
    /// an app certificate that does not hold the public half of `sign_key`, and the app's
    /// own certificate given as Alipay's.
    pub fn with_certificates(
        cfg: GatewayConfig,
        sign_key: SignKey,
        certs: Arc<CertSet>,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, CertError> {
        certs.check_app_key(&sign_key)?;
        Ok(Self::build(
            cfg,
            sign_key,
            AlipayKeys::Certs(certs),
            clock,
            limiter,
        )?)
    }

    fn build(
        cfg: GatewayConfig,
        sign_key: SignKey,
        keys: AlipayKeys,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
    ) -> Result<Self, KeyError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| KeyError::Generate(format!("cannot build the HTTP client: {e}")))?;
        let signer = Signer {
            app_id: cfg.app_id.clone(),
            app_auth_token: cfg.app_auth_token.clone(),
            sign_key,
            clock,
            cert_sns: keys.cert_sns(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                transport: transport::for_protocol(Protocol::Classic, &cfg.url),
                cfg,
                signer,
                keys,
                limiter,
                observer: None,
                cert_store: None,
                downloads: Arc::default(),
                verified_any: AtomicBool::new(false),
                bad_signature_streak: AtomicU32::new(0),
            }),
        })
    }

    /// Change the settings before use (a gateway already cloned is copied, with fresh
    /// counters).
    fn rebuild(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => {
                let mut inner = self.inner.duplicate();
                change(&mut inner);
                self.inner = Arc::new(inner);
            }
        }
        self
    }

    /// Speak `protocol` (`[alipay] protocol`).
    pub fn with_protocol(self, protocol: Protocol) -> Self {
        self.rebuild(|inner| inner.transport = transport::for_protocol(protocol, &inner.cfg.url))
    }

    /// The same app (HTTP client, keys and certificates, rate limiter, observer,
    /// certificate downloads) acting for another merchant: its `app_auth_token` (`None`:
    /// the app's own merchant). Used once per merchant of an ISV config, so all of them
    /// share the app's one quota, and a rotated certificate is downloaded once per app.
    pub fn for_merchant(&self, app_auth_token: Option<Secret>) -> Gateway {
        let mut inner = self.inner.duplicate();
        inner.cfg.app_auth_token = app_auth_token.clone();
        inner.signer.app_auth_token = app_auth_token;
        inner.downloads = self.inner.downloads.clone();
        Gateway {
            inner: Arc::new(inner),
        }
    }

    /// Attach a metrics observer.
    pub fn with_observer(self, observer: Arc<dyn CallObserver>) -> Self {
        self.rebuild(|inner| inner.observer = Some(observer))
    }

    /// Keep certificates downloaded after a rotation in `store` (certificate mode).
    pub fn with_cert_store(self, store: Arc<dyn CertStore>) -> Self {
        self.rebuild(|inner| inner.cert_store = Some(store))
    }

    pub fn app_id(&self) -> &str {
        &self.inner.cfg.app_id
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    pub fn protocol(&self) -> Protocol {
        self.inner.transport.protocol()
    }

    /// The certificates of certificate mode (`None` in key mode).
    pub fn certificates(&self) -> Option<&Arc<CertSet>> {
        match &self.inner.keys {
            AlipayKeys::Certs(c) => Some(c),
            AlipayKeys::Key(_) => None,
        }
    }

    /// The keys that verify audit notifications (they name no certificate): the
    /// configured Alipay public key, or every trusted Alipay certificate's key, those
    /// downloaded after a rotation included.
    pub fn notification_keys(&self) -> NotificationKeys {
        self.inner.keys.clone().into()
    }

    /// Certificate mode: every certificate in use that expires within
    /// [`super::cert::EXPIRY_WARNING_DAYS`] days (or has expired since it was loaded), at
    /// the client's now. Empty in key mode. For alerts (`certificate expires within 30
    /// days`) and the log.
    pub fn certificate_warnings(&self) -> Vec<CertWarning> {
        match self.certificates() {
            Some(c) => c.check(self.inner.signer.clock.now()),
            None => Vec::new(),
        }
    }

    pub(super) fn cert_store(&self) -> Option<&Arc<dyn CertStore>> {
        self.inner.cert_store.as_ref()
    }

    pub(super) fn downloads(&self) -> &Downloads {
        &self.inner.downloads
    }

    pub(super) fn transport(&self) -> &dyn Transport {
        self.inner.transport.as_ref()
    }

    pub(super) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.signer.clock.now()
    }

    /// Call `method` with `biz_content` (serialised once, signed and sent as is).
    /// `write` marks create/modify: failures after sending are then "outcome unknown".
    pub async fn call(
        &self,
        method: &str,
        biz_content: &str,
        write: bool,
    ) -> Result<Verified, AlipayError> {
        self.execute(&Request {
            method: method.to_string(),
            write,
            params: Params::Json(biz_content.to_string()),
        })
        .await
    }

    /// Send one call and verify its answer (docs/protocol.md §2.6, §3, §2.9).
    pub async fn execute(&self, req: &Request) -> Result<Verified, AlipayError> {
        // Admission first, then timestamp and sign: work done by callers still waiting must
        // not delay the sends already admitted (that bunches them up at the gateway).
        let permit = self.inner.limiter.acquire(&req.method).await;
        let answer = self.send(req).await;
        let result = match answer {
            Err(e) => Err(e),
            Ok(answer) => match self
                .inner
                .keys
                .choose(self.transport().answer_cert_sn(&answer))
            {
                KeyChoice::Known(key) => self.verify(req, &answer, &key),
                KeyChoice::Unknown(sn) => {
                    // The download is a call of its own: the slot goes back first, so
                    // callers waiting for the same certificate cannot starve it.
                    drop(permit);
                    let result = self.verify_after_download(req, &answer, &sn).await;
                    let result = self.track_verification(&req.method, req.write, result);
                    self.observe(&req.method, &result, None);
                    return result;
                }
            },
        };
        let result = self.track_verification(&req.method, req.write, result);
        self.observe(&req.method, &result, Some(&permit));
        result
    }

    /// Verify an answer with `key` (no download).
    pub(super) fn verify(
        &self,
        req: &Request,
        answer: &RawAnswer,
        key: &VerifyKey,
    ) -> Result<Verified, AlipayError> {
        self.inner
            .transport
            .interpret(&req.method, answer, req.write, key)
    }

    /// The signed HTTP request of `req`, sent; the answer as received.
    pub(super) async fn send(&self, req: &Request) -> Result<RawAnswer, AlipayError> {
        let after_send = transport::after_send(req.write);
        let request = self
            .inner
            .transport
            .request(&self.inner.http, &self.inner.signer, req);
        let response = request.send().await.map_err(|e| {
            // A failure to connect means no byte reached Alipay: safe to retry.
            let class = if e.is_connect() {
                ErrorClass::Transport
            } else {
                after_send
            };
            AlipayError::local(
                &req.method,
                class,
                format!("request failed: {}", error_chain(&e.without_url())),
            )
        })?;
        let status = response.status().as_u16();
        // Only Alipay's own headers are kept (no header is ever logged).
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("alipay-"))
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let trace_id = headers
            .iter()
            .find(|(k, _)| k == transport::v3::TRACE_ID_HEADER)
            .map(|(_, v)| v.clone());
        let body = response.bytes().await.map_err(|e| {
            AlipayError::local(
                &req.method,
                after_send,
                format!(
                    "reading the answer failed (truncated?): {}",
                    error_chain(&e.without_url())
                ),
            )
            .with_trace_id(trace_id)
        })?;
        Ok(RawAnswer {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    fn observe(
        &self,
        method: &str,
        result: &Result<Verified, AlipayError>,
        permit: Option<&Permit>,
    ) {
        match result {
            Ok(_) => self.inner.limiter.succeeded(),
            Err(e) if e.class == ErrorClass::Throttled => match permit {
                Some(permit) => {
                    let pause = self.inner.limiter.throttled(permit);
                    debug!(
                        method,
                        pause_ms = pause.as_millis() as u64,
                        "Throttled by Alipay; slowing down."
                    );
                }
                // Verified only after a certificate download (the call's slot was given
                // back): the caller's retry slows down if it is throttled again.
                None => debug!(method, "Throttled by Alipay."),
            },
            Err(_) => {}
        }
        if let Some(observer) = &self.inner.observer {
            observer.observe(method, result.as_ref().map(|_| ()).map_err(|e| e.class));
        }
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
                            "no answer verifies with the configured {} ({streak} in a row): {}",
                            self.inner.keys.describe(),
                            self.inner.keys.wrong_key_hint()
                        ),
                    )
                    .with_trace_id(e.trace_id.clone()));
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

    /// Apply docs/protocol.md §2.6 to a raw classic body with the configured key.
    pub fn interpret(
        &self,
        method: &str,
        bytes: &[u8],
        write: bool,
    ) -> Result<Verified, AlipayError> {
        interpret(method, bytes, write, &self.inner.keys.configured_key())
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

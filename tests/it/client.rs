//! The real Alipay client (`shopsync::alipay::Gateway`) against the simulator over real
//! HTTP on loopback: typed methods, every error class, the app_auth_token, the client's
//! rate limiter, and the official SDK's wire format. Most tests run in every way an app
//! can be set up (`each_mode!`: key or certificate mode, classic or v3) or on both
//! protocols (`each_protocol!`, key mode).
#![allow(dead_code)]

mod auth;
mod errors;
mod faults;
mod interop;
mod limits;
mod methods;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use shopsync::alipay::koubei::ShopWrite;
use shopsync::alipay::ratelimit::RateLimiter;
use shopsync::alipay::sign::{SignKey, VerifyKey};
use shopsync::alipay::{AlipayError, ErrorClass, Gateway, GatewayConfig, Protocol};
use shopsync::clock::{ManualClock, SharedClock};
use shopsync::secret::Secret;
use shopsync::sim::{FaultKind, FaultRule, SimConfig, SimHandle, Trigger};

use crate::harness::Setup;
use crate::support::keys::key_file;
use crate::support::pki;
use crate::support::sim::{manual_clock, start_sim};

pub(crate) const IMG1: &str = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC";
pub(crate) const IMG2: &str = "4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT";
pub(crate) const CREATE: &str = "alipay.offline.market.shop.create";
pub(crate) const MODIFY: &str = "alipay.offline.market.shop.modify";
pub(crate) const SUMMARY: &str = "alipay.offline.market.shop.summary.batchquery";
pub(crate) const DETAIL: &str = "alipay.offline.market.shop.querydetail";
pub(crate) const APPLY: &str = "alipay.offline.market.applyorder.batchquery";

/// The simulator's audit delay in these tests; `finish_audits` moves the clock past it.
pub(crate) const AUDIT_DELAY_SECS: i64 = 1;

pub(crate) fn app_key() -> SignKey {
    SignKey::from_file(&key_file("app_private_pkcs8.pem")).unwrap()
}

pub(crate) fn app_public() -> VerifyKey {
    VerifyKey::from_file(&key_file("app_public.pem")).unwrap()
}

pub(crate) fn alipay_public() -> VerifyKey {
    VerifyKey::from_file(&key_file("alipay_public.pem")).unwrap()
}

/// The simulator's and the client's clock starts at `start_time()` (02:30 in China).
pub(crate) use crate::support::sim::start_time;

/// A generated 2048-bit key (off the async threads: it takes a moment).
pub(crate) async fn generated_key() -> SignKey {
    tokio::task::spawn_blocking(|| SignKey::generate().unwrap())
        .await
        .unwrap()
}

/// How a test's client differs from the default one.
pub(crate) struct ClientOpts {
    pub sign_key: SignKey,
    pub alipay_public: VerifyKey,
    pub app_id: String,
    pub token: Option<String>,
    pub clock: Option<ManualClock>,
    pub limiter: Arc<RateLimiter>,
    pub request_timeout: StdDuration,
}

impl Default for ClientOpts {
    fn default() -> Self {
        Self {
            sign_key: app_key(),
            alipay_public: alipay_public(),
            app_id: "2021000000000001".into(),
            token: None,
            clock: None,
            limiter: Arc::new(RateLimiter::unlimited()),
            request_timeout: StdDuration::from_secs(10),
        }
    }
}

/// The simulator (test keys, a manual clock) and a client sharing that clock, both set up
/// as `setup` says (protocol; key mode, or certificate mode on `support::pki`).
pub(crate) struct Env {
    pub sim: SimHandle,
    pub clock: ManualClock,
    pub gw: Gateway,
    pub setup: Setup,
}

impl Env {
    /// Key mode, classic protocol.
    pub(crate) async fn start(tweak: impl FnOnce(&mut SimConfig)) -> Self {
        Self::start_in(Setup::CLASSIC, tweak).await
    }

    pub(crate) async fn start_in(setup: Setup, tweak: impl FnOnce(&mut SimConfig)) -> Self {
        let clock = manual_clock();
        let sim = start_sim(Arc::new(clock.clone()), |cfg| {
            cfg.audit_delay = Duration::seconds(AUDIT_DELAY_SECS);
            if setup.certs {
                cfg.cert = Some(pki::sim_mode(setup.rotate_after));
            }
            tweak(cfg);
        })
        .await;
        let gw = client(&sim, &clock, ClientOpts::default(), setup);
        Self {
            sim,
            clock,
            gw,
            setup,
        }
    }

    /// Another client of the same simulator, set up as this one.
    pub(crate) fn client(&self, opts: ClientOpts) -> Gateway {
        client(&self.sim, &self.clock, opts, self.setup)
    }

    pub(crate) fn is_v3(&self) -> bool {
        self.setup.protocol == Protocol::V3
    }

    /// Move the shared clock past the audit delay and run the due audits.
    pub(crate) fn finish_audits(&self) {
        self.clock.advance(Duration::seconds(AUDIT_DELAY_SECS + 1));
        self.sim.process_due();
    }

    /// A fault on the next call of `method`.
    pub(crate) fn fault(&self, method: &str, kind: FaultKind) {
        self.sim.add_fault(FaultRule {
            method: Some(method.to_string()),
            kind,
            trigger: Trigger::Next(1),
        });
    }

    pub(crate) fn calls(&self, method: &str) -> u64 {
        self.sim.call_counts().get(method).copied().unwrap_or(0)
    }

    /// Create `store_id`, let the audit pass, and return the new shop id.
    pub(crate) async fn create_approved(&self, store_id: &str, request_id: &str) -> String {
        let res = self
            .gw
            .shop_create(&create_write(store_id, request_id))
            .await
            .unwrap();
        assert_eq!(res.audit_status.as_deref(), Some("AUDITING"));
        self.finish_audits();
        self.sim
            .shops()
            .into_iter()
            .find(|s| s.store_id == store_id)
            .expect("approved shop")
            .shop_id
    }
}

/// A client of `sim`: key mode with `opts.alipay_public`, or certificate mode on the test
/// PKI (`opts.alipay_public` unused), on `setup`'s protocol.
pub(crate) fn client(
    sim: &SimHandle,
    shared: &ManualClock,
    opts: ClientOpts,
    setup: Setup,
) -> Gateway {
    let manual = opts.clock.unwrap_or_else(|| shared.clone());
    let now = shopsync::clock::Clock::now(&manual);
    let clock: SharedClock = Arc::new(manual);
    let cfg = GatewayConfig {
        url: sim.gateway_url(),
        app_id: opts.app_id,
        app_auth_token: opts.token.map(Secret::new),
        connect_timeout: StdDuration::from_secs(2),
        request_timeout: opts.request_timeout,
    };
    let gw = if setup.certs {
        Gateway::with_certificates(
            cfg,
            opts.sign_key,
            pki::client_certs(now),
            clock,
            opts.limiter,
        )
        .unwrap()
    } else {
        Gateway::new(cfg, opts.sign_key, opts.alipay_public, clock, opts.limiter).unwrap()
    };
    gw.with_protocol(setup.protocol)
}

/// The fields of a valid create (Shanghai, Jing'an; the two preloaded images).
pub(crate) fn create_fields(n: usize) -> Vec<(String, String)> {
    [
        ("category_id", "2015050700000018".to_string()),
        ("brand_name", "鲜果坊".to_string()),
        ("main_shop_name", "鲜果坊".to_string()),
        ("branch_shop_name", format!("分店{n:04}号")),
        ("province_code", "310000".to_string()),
        ("city_code", "310100".to_string()),
        ("district_code", "310106".to_string()),
        ("address", format!("南京西路{n}号")),
        ("longitude", "121.45".to_string()),
        ("latitude", "31.22".to_string()),
        ("contact_number", "021-62881234".to_string()),
        ("main_image", IMG1.to_string()),
        ("audit_images", format!("{IMG1},{IMG2}")),
        ("avg_price", "35".to_string()),
        ("business_time", "周一-周日 09:00-22:00".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(crate) fn create_write(store_id: &str, request_id: &str) -> ShopWrite {
    ShopWrite {
        shop_id: None,
        store_id: Some(store_id.into()),
        fields: create_fields(1),
        request_id: request_id.into(),
        operate_notify_url: None,
    }
}

pub(crate) fn modify_write(shop_id: &str, request_id: &str, fields: &[(&str, &str)]) -> ShopWrite {
    ShopWrite {
        shop_id: Some(shop_id.into()),
        store_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        request_id: request_id.into(),
        operate_notify_url: None,
    }
}

/// Fields a seeded shop carries (enough for summary and querydetail to show them).
pub(crate) fn seed_fields(n: usize) -> BTreeMap<String, String> {
    create_fields(n).into_iter().collect()
}

/// The error of a call that must fail, with its class checked.
#[track_caller]
pub(crate) fn expect_class<T: std::fmt::Debug>(
    result: Result<T, AlipayError>,
    class: ErrorClass,
) -> AlipayError {
    match result {
        Ok(v) => panic!("expected a {class:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.class, class, "wrong class for {e}");
            e
        }
    }
}

//! End-to-end harness: the simulator (`support::sim::start_sim`, a manual clock shared with
//! the client), a temp directory holding the config, the export and the SQLite audit
//! store, and a run context built exactly as the binary builds it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use shopsync::alipay::Protocol;
use shopsync::audit::AuditDb;
use shopsync::clock::{ManualClock, SharedClock};
use shopsync::config::Config;
use shopsync::sim::{SimConfig, SimHandle};
use shopsync::sync::{Context, RunOptions, RunResult};

use crate::support::export::csv_of;
use crate::support::keys::key_file;
use crate::support::pki;
use crate::support::sim::{manual_clock, start_sim};

// `tests/it/sim/` still imports `test_keys` from here; it moves to `support::keys` with
// that area's next change.
pub use crate::support::keys::test_keys;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub clock: ManualClock,
    pub ctx: Context,
}

/// How the app is set up (docs/protocol.md §2.9, §3): the protocol, and key or
/// certificate mode (the test PKI of `support::pki`, in the simulator and in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Setup {
    pub protocol: Protocol,
    pub certs: bool,
    /// Certificate mode: the simulator rotates to its second certificate after this many
    /// calls.
    pub rotate_after: Option<u64>,
}

impl Setup {
    pub const CLASSIC: Setup = Setup {
        protocol: Protocol::Classic,
        certs: false,
        rotate_after: None,
    };
    pub const V3: Setup = Setup {
        protocol: Protocol::V3,
        certs: false,
        rotate_after: None,
    };

    /// The same protocol in certificate mode.
    pub fn with_certs(self) -> Setup {
        Setup {
            certs: true,
            ..self
        }
    }

    /// The `[alipay]` lines of this setup besides the app id and the private key; the
    /// certificate files are written into `dir`.
    pub fn alipay_toml(&self, dir: &std::path::Path) -> String {
        let keys = if self.certs {
            pki::write_files(dir).toml()
        } else {
            format!(
                "alipay_public_key = {:?}\n",
                key_file("alipay_public.pem").display().to_string()
            )
        };
        format!("protocol = \"{}\"\n{keys}", self.protocol.as_str())
    }
}

pub struct Options {
    /// Extra TOML appended to the config (e.g. a `[sync]` table).
    pub extra_toml: String,
    pub sim: Box<dyn FnOnce(&mut SimConfig) + Send>,
    pub csv: String,
    pub setup: Setup,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            extra_toml: String::new(),
            sim: Box::new(|_| {}),
            csv: csv_of(5),
            setup: Setup::default(),
        }
    }
}

impl Harness {
    pub async fn start(opts: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = manual_clock();
        let shared: SharedClock = Arc::new(clock.clone());
        let setup = opts.setup;
        let adjust = opts.sim;
        let sim = start_sim(shared.clone(), move |cfg| {
            if setup.certs {
                cfg.cert = Some(pki::sim_mode(setup.rotate_after));
            }
            adjust(cfg);
        })
        .await;
        std::fs::write(dir.path().join("stores.csv"), &opts.csv).unwrap();
        let path = dir.path().join("shopsync.toml");
        let text = Self::config_text_for(
            &sim.gateway_url(),
            &opts.extra_toml,
            &setup.alipay_toml(dir.path()),
        );
        std::fs::write(&path, text).unwrap();
        let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
        let ctx = Self::context(cfg, shared).await;
        Self {
            dir,
            sim,
            clock,
            ctx,
        }
    }

    pub fn config_text(gateway: &str, extra: &str) -> String {
        let keys = format!(
            "alipay_public_key = {:?}\n",
            key_file("alipay_public.pem").display().to_string()
        );
        Self::config_text_for(gateway, extra, &keys)
    }

    /// The test config with `alipay` as the `[alipay]` lines of a [`Setup`] (protocol,
    /// Alipay's key or the certificate files).
    pub fn config_text_for(gateway: &str, extra: &str, alipay: &str) -> String {
        // The two example ids below are fewer distinct audit photos than the default
        // `[sync] min_audit_images` (3); the test chain keeps them with the limit at 2
        // unless a test sets it.
        let extra = if extra.contains("min_audit_images") {
            extra.to_string()
        } else if extra.contains("[sync]\n") {
            extra.replacen("[sync]\n", "[sync]\nmin_audit_images = 2\n", 1)
        } else {
            format!("{extra}\n[sync]\nmin_audit_images = 2\n")
        };
        format!(
            r#"[alipay]
gateway = "{gateway}"
app_id = "2021000000000001"
app_private_key = "{app_key}"
{alipay}connect_timeout = "2s"
request_timeout = "5s"

[source]
path = "stores.csv"

[source.defaults]
category_id = "2015050700000018"
brand_name = "鲜果坊"
main_shop_name = "鲜果坊"
main_image = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC"
audit_images = "1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC,4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT"

[rate_limit]
qps = 1000

[audit]
database = "audit.db"
{extra}
{simulator}"#,
            app_key = key_file("app_private_pkcs8.pem").display(),
            // The rows name the two official example image ids; the built-in simulator
            // accepts them only when told to (a test about uploads writes its own config).
            simulator = if gateway == "simulator" {
                "[simulator]\npreload_example_images = true\n"
            } else {
                ""
            },
        )
    }

    pub fn write_config(dir: &std::path::Path, gateway: &str, extra: &str) -> Config {
        let path = dir.join("shopsync.toml");
        std::fs::write(&path, Self::config_text(gateway, extra)).unwrap();
        Config::load_with_env(&path, std::iter::empty()).unwrap()
    }

    pub async fn context(cfg: Config, clock: SharedClock) -> Context {
        let db = Arc::new(AuditDb::open(&cfg.audit.database).unwrap());
        Context::connect(cfg, db, clock, None).await.unwrap().0
    }

    /// A new context on the same config and audit database, as the next process would
    /// build it (a new gateway: nothing kept in memory from this one).
    pub async fn next_context(&self) -> Context {
        let path = self.path("shopsync.toml");
        let cfg = Config::load_with_env(&path, std::iter::empty()).unwrap();
        Self::context(cfg, Arc::new(self.clock.clone())).await
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write_csv(&self, content: &str) {
        std::fs::write(self.path("stores.csv"), content).unwrap();
    }

    pub async fn sync(&self) -> RunResult {
        self.run(true, false).await
    }

    pub async fn sync_forced(&self) -> RunResult {
        self.run(true, true).await
    }

    pub async fn plan(&self) -> RunResult {
        self.run(false, false).await
    }

    async fn run(&self, apply: bool, force: bool) -> RunResult {
        self.ctx
            .run(&RunOptions {
                apply,
                force,
                wait_audit: None,
                progress: false,
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// Let the simulator's audits finish: advance its clock past the audit delay.
    pub fn finish_audits(&self) {
        self.clock.advance(chrono::Duration::seconds(5));
        self.sim.process_due();
    }

    /// Shops on the simulated Alipay per store_id.
    pub fn shops_per_store(&self) -> std::collections::BTreeMap<String, usize> {
        let mut m = std::collections::BTreeMap::new();
        for s in self.sim.shops() {
            *m.entry(s.store_id.clone()).or_insert(0) += 1;
        }
        m
    }

    /// Calls per method the simulator received for writes.
    pub fn writes_sent(&self) -> u64 {
        let c = self.sim.call_counts();
        c.get("alipay.offline.market.shop.create")
            .copied()
            .unwrap_or(0)
            + c.get("alipay.offline.market.shop.modify")
                .copied()
                .unwrap_or(0)
    }
}

/// Runs each `async fn NAME(setup: Setup)` once per protocol, as the tests `NAME::classic`
/// and `NAME::v3` (key mode): the same end-to-end test on both transports.
macro_rules! each_protocol {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn classic() {
                super::$name($crate::harness::Setup::CLASSIC).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v3() {
                super::$name($crate::harness::Setup::V3).await
            }
        }
    )*};
}
pub(crate) use each_protocol;

/// Runs each `async fn NAME(setup: Setup)` in every way an app can be set up, as the tests
/// `NAME::key_classic`, `NAME::key_v3`, `NAME::cert_classic` and `NAME::cert_v3`.
macro_rules! each_mode {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::harness::Setup;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn key_classic() {
                super::$name(Setup::CLASSIC).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn key_v3() {
                super::$name(Setup::V3).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cert_classic() {
                super::$name(Setup::CLASSIC.with_certs()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cert_v3() {
                super::$name(Setup::V3.with_certs()).await
            }
        }
    )*};
}
pub(crate) use each_mode;

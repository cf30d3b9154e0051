//! `shopsync simulate`: the options of the standalone simulator (run by
//! `commands/simulate.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

/// The `/__sim/` control endpoints, for `--help`.
const CONTROL_HELP: &str = "Control endpoints (JSON, never signed), under http://LISTEN/__sim/:
  GET  state                 shops, apply orders, issued images, the simulator's now
  GET  stats                 calls per method, throttled, calls per second (app-wide)
  POST stats/reset           forget the counts
  GET  notifications         the notification log with delivery state
  POST clock/advance         {\"seconds\": 60}: move the clock, run due audits
  POST process               run due audits now
  POST force                 {\"key\": APPLY_ID|STORE_ID, \"outcome\": \"success\"|\"fail\", \"reason\": ..}
  POST shop-status           {\"shop_id\": .., \"status\": \"OPEN\"|\"PAUSE\"|\"FREEZE\"|\"CLOSE\"}
  POST edit                  {\"shop_id\": .., \"field\": .., \"value\": ..|null}: an edit on Alipay's side
  POST faults                {\"spec\": \"KIND:METHOD:TRIGGER\"} | {\"rule\": {..}} | {\"clear\": true}
  POST cert/rotate           certificate mode: rotate to the next certificate now";

/// Run a local Alipay gateway simulator (classic `gateway.do` and v3 REST) with the Koubei
/// shop methods.
#[derive(clap::Args, Debug)]
#[command(after_long_help = CONTROL_HELP)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The app id requests must carry.
    #[arg(long, default_value = "2021000000000001")]
    pub app_id: String,
    /// The app's public key (PEM or bare base64) that verifies request signatures. If absent,
    /// an app key pair is generated and written to --keys-dir as app_private_key.pem and
    /// app_public_key.pem.
    #[arg(long)]
    pub app_public_key: Option<PathBuf>,
    /// The private key the simulator signs responses and notifications with (plays Alipay's
    /// key). If absent, one is generated; its public half is written to --keys-dir as
    /// alipay_public_key.pem.
    #[arg(long)]
    pub alipay_private_key: Option<PathBuf>,
    /// Directory for generated key files.
    #[arg(long, default_value = "./sim-keys")]
    pub keys_dir: PathBuf,
    /// An accepted app_auth_token (repeatable). Requests without a token act on the app's
    /// own merchant.
    #[arg(long = "app-auth-token")]
    pub app_auth_tokens: Vec<String>,
    /// How long an audit takes on the simulator's clock, e.g. "2s", "5m".
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub audit_delay: std::time::Duration,
    /// Accepted clock skew of request timestamps.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timestamp_skew: std::time::Duration,
    /// App-level rate limit in calls per second (unlimited when absent).
    #[arg(long)]
    pub qps: Option<u32>,
    /// Burst size of the app-level rate limit (defaults to --qps).
    #[arg(long)]
    pub burst: Option<u32>,
    /// Seed of probabilistic faults and generated ids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fewest distinct audit_images an approved shop needs.
    #[arg(long, default_value_t = 2)]
    pub min_audit_images: usize,
    /// CSV of pre-existing approved shops: a header row of field names including store_id.
    #[arg(long)]
    pub seed_csv: Option<PathBuf>,
    /// Apply orders' biz_context_info also carries store_id and the caller's request_id
    /// (Alipay's holds only category_id and main_shop_name). For testing a client's
    /// optional narrowing; a client must not rely on it.
    #[arg(long)]
    pub rich_biz_context: bool,
    /// Accept any well-formed image id (32 chars of [A-Za-z0-9_-]) in creates and modifies,
    /// to rehearse an export that already holds real Alipay image ids. Without it only
    /// ids this simulator's image.upload issued to the merchant are accepted.
    #[arg(long)]
    pub accept_image_ids: bool,
    /// Also accept the two image ids of the official examples
    /// (1T8Pp00AT7eo9NoAJkMR3AAAACMAAQEC, 4Q8Pp00AT7eo9NoAJkMR3AAAACMAAUYT).
    #[arg(long)]
    pub preload_example_images: bool,
    /// A fault rule KIND:METHOD|*:PROBABILITY|next=N (repeatable), e.g.
    /// `drop_before:alipay.offline.market.shop.create:0.1` or `unknown_error_applied:*:next=3`.
    /// Kinds: drop_before, drop_after, timeout_before, timeout_after, unknown_error_applied,
    /// unknown_error_not_applied, system_error, system_error_applied, bad_signature,
    /// unsigned_success, truncated_body[=BYTES], escaped_slashes, gateway_5xx, wrong_key.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    #[command(flatten)]
    pub cert: CertArgs,
}

/// Certificate-mode options of `shopsync simulate`.
#[derive(clap::Args, Debug, Default)]
pub struct CertArgs {
    /// Certificate mode (公钥证书模式): requests must carry app_cert_sn and
    /// alipay_root_cert_sn (v3: in the auth string and the alipay-root-cert-sn header),
    /// answers carry alipay_cert_sn (v3: alipay-sn), alipay.open.app.alipaycert.download
    /// serves the certificates. Without --app-cert/--alipay-cert/--alipay-root-cert a test
    /// PKI of the simulator's own is generated into --keys-dir.
    #[arg(long)]
    pub cert_mode: bool,
    /// The app's certificate (appCertPublicKey_<app_id>.crt); its key verifies requests.
    /// With --alipay-cert and --alipay-root-cert: certificate mode with these files.
    #[arg(long, requires_all = ["alipay_cert", "alipay_root_cert"])]
    pub app_cert: Option<PathBuf>,
    /// Alipay's certificate (alipayCertPublicKey_RSA2.crt: leaf + issuing CA). Its key must
    /// be --alipay-private-key.
    #[arg(long, requires_all = ["app_cert", "alipay_root_cert", "alipay_private_key"])]
    pub alipay_cert: Option<PathBuf>,
    /// Alipay's root bundle (alipayRootCert.crt).
    #[arg(long, requires_all = ["app_cert", "alipay_cert"])]
    pub alipay_root_cert: Option<PathBuf>,
    /// Certificate mode: after N calls, answers name a second certificate and are signed
    /// with its key (a client must download and chain it). With certificate files, give
    /// --rotated-alipay-cert and --rotated-alipay-private-key; a generated PKI has its own.
    #[arg(long)]
    pub rotate_after: Option<u64>,
    /// The certificate a rotation moves to (leaf + issuing CA).
    #[arg(long, requires_all = ["rotate_after", "rotated_alipay_private_key"])]
    pub rotated_alipay_cert: Option<PathBuf>,
    /// The private key of --rotated-alipay-cert.
    #[arg(long, requires = "rotated_alipay_cert")]
    pub rotated_alipay_private_key: Option<PathBuf>,
}

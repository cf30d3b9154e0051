//! The semantic checks of a parsed configuration (`validate` lists every problem).

use super::Config;
use crate::record::Field;

impl Config {
    fn any_cert_file(&self) -> bool {
        let a = &self.alipay;
        a.app_cert.is_some() || a.alipay_cert.is_some() || a.alipay_root_cert.is_some()
    }

    /// Certificate mode is all three files and no `alipay_public_key` (docs/protocol.md §2.9).
    fn cert_mode_problems(&self) -> Vec<String> {
        let a = &self.alipay;
        let files = [
            ("app_cert", a.app_cert.is_some()),
            ("alipay_cert", a.alipay_cert.is_some()),
            ("alipay_root_cert", a.alipay_root_cert.is_some()),
        ];
        let missing: Vec<&str> = files.iter().filter(|f| !f.1).map(|f| f.0).collect();
        let mut out = Vec::new();
        if !self.any_cert_file() {
            return out;
        }
        if !missing.is_empty() {
            out.push(format!(
                "[alipay] certificate mode needs app_cert, alipay_cert and alipay_root_cert; \
                 missing: {}",
                missing.join(", ")
            ));
        }
        if a.alipay_public_key.is_some() {
            out.push(
                "[alipay] alipay_public_key and certificate files (app_cert, alipay_cert, \
                 alipay_root_cert) are both given: an app is in key mode or in certificate \
                 mode, not both; remove alipay_public_key for certificate mode, or the \
                 certificate files for key mode"
                    .into(),
            );
        }
        out
    }

    /// Every semantic problem (not syntax), so `validate` can list them all.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.alipay.app_id.trim().is_empty()
            || !self.alipay.app_id.chars().all(|c| c.is_ascii_digit())
        {
            out.push(format!(
                "[alipay] app_id {:?} must be the app's numeric id",
                self.alipay.app_id
            ));
        }
        if self.alipay.gateway.is_insecure() && !self.alipay.allow_insecure_http {
            out.push(format!(
                "[alipay] gateway {:?} is plain http to a host that is not loopback: the app_auth_token and every store's data would cross the network in clear; use https, or set allow_insecure_http = true for a TLS-terminating proxy on a private network",
                self.gateway_url().unwrap_or_default()
            ));
        }
        out.extend(self.cert_mode_problems());
        if !self.is_simulator() {
            if self.alipay.app_private_key.is_none() {
                out.push("[alipay] app_private_key is required for a real gateway".into());
            }
            if self.alipay.alipay_public_key.is_none() && !self.any_cert_file() {
                out.push(
                    "[alipay] alipay_public_key (key mode) or app_cert, alipay_cert and \
                     alipay_root_cert (certificate mode) are required for a real gateway"
                        .into(),
                );
            }
        }
        if let Some(fields) = &self.sync.fields {
            for f in fields {
                if Field::from_name(f).is_none() {
                    out.push(format!("[sync] fields: {f:?} is not an Alipay shop field"));
                }
            }
        }
        if let Some(source) = &self.source {
            if let Err(e) = crate::source::check_settings(source) {
                out.push(format!("[source] {e}"));
            }
        }
        out.extend(self.merchant_problems());
        if self.sync.concurrency == 0 || self.sync.concurrency > 256 {
            out.push("[sync] concurrency must be 1..=256".into());
        }
        if !(0.0..=1.0).contains(&self.sync.min_export_ratio) {
            out.push("[sync] min_export_ratio must be between 0 and 1".into());
        }
        if self.rate_limit.qps == 0 {
            out.push("[rate_limit] qps must be at least 1".into());
        }
        if self.rate_limit.burst == Some(0) {
            out.push("[rate_limit] burst must be at least 1".into());
        }
        for (m, spec) in &self.rate_limit.methods {
            if !m.starts_with("alipay.") {
                out.push(format!(
                    "[rate_limit.methods] {m:?} is not an Alipay method name"
                ));
            }
            if spec.qps == 0 || spec.burst == 0 {
                out.push(format!(
                    "[rate_limit.methods] {m}: qps and burst must be at least 1"
                ));
            }
        }
        if self.alipay.connect_timeout.is_zero() || self.alipay.request_timeout.is_zero() {
            out.push("[alipay] timeouts must be positive".into());
        }
        self.images_problems(&mut out);
        if let Some(n) = &self.notify {
            if n.listen.parse::<std::net::SocketAddr>().is_err() {
                out.push(format!(
                    "[notify] listen {:?} is not an address like 127.0.0.1:8091",
                    n.listen
                ));
            }
            if !n.path.starts_with('/') {
                out.push(format!("[notify] path {:?} must start with /", n.path));
            }
        }
        for (i, a) in self.alert.iter().enumerate() {
            out.extend(a.problems(i + 1));
        }
        if let Some(h) = &self.health {
            if h.listen.parse::<std::net::SocketAddr>().is_err() {
                out.push(format!(
                    "[health] listen {:?} is not an address like 127.0.0.1:9091",
                    h.listen
                ));
            }
        }
        out
    }
}

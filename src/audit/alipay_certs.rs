//! Alipay certificates downloaded after a rotation (certificate mode), kept by app and SN
//! so the next run trusts them again after checking them ([`crate::alipay::CertStore`]).

use rusqlite::params;

use super::sql::{ts, Ts};
use super::{AuditDb, AuditError};
use crate::alipay::{CertStore, KeptCert};

impl AuditDb {
    /// Keep (or replace) a downloaded certificate.
    pub fn keep_alipay_cert(&self, cert: &KeptCert) -> Result<(), AuditError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO alipay_certs (app_id, sn, pem, not_after, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (app_id, sn) DO UPDATE SET pem = excluded.pem,
                     not_after = excluded.not_after, fetched_at = excluded.fetched_at",
                params![
                    cert.app_id,
                    cert.sn,
                    cert.pem,
                    ts(cert.not_after),
                    ts(cert.fetched_at)
                ],
            )?;
            Ok(())
        })
    }

    /// The certificates kept for `app_id`, oldest download first.
    pub fn alipay_certs(&self, app_id: &str) -> Result<Vec<KeptCert>, AuditError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT app_id, sn, pem, not_after, fetched_at FROM alipay_certs
             WHERE app_id = ?1 ORDER BY fetched_at, sn",
        )?;
        let rows = stmt
            .query_map([app_id], |r| {
                Ok(KeptCert {
                    app_id: r.get(0)?,
                    sn: r.get(1)?,
                    pem: r.get(2)?,
                    not_after: r.get::<_, Ts>(3)?.0,
                    fetched_at: r.get::<_, Ts>(4)?.0,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl CertStore for AuditDb {
    fn keep_cert(&self, cert: &KeptCert) -> Result<(), String> {
        self.keep_alipay_cert(cert).map_err(|e| error_chain(&e))
    }

    fn kept_certs(&self, app_id: &str) -> Result<Vec<KeptCert>, String> {
        self.alipay_certs(app_id).map_err(|e| error_chain(&e))
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

//! Run metrics, a Prometheus text exposition of them, and an HTTP listener serving
//! `/metrics` and `/healthz`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use tracing::info;

/// How a run ended (the `result` label; maps to the exit codes 0, 3, 1, 4 of docs/design.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunResult {
    Success,
    Partial,
    Failed,
    GuardStopped,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::Partial => "partial",
            RunResult::Failed => "failed",
            RunResult::GuardStopped => "guard_stopped",
        }
    }

    /// Whether `/healthz` reports unhealthy after such a run: a failed run, and a run a
    /// safety guard stopped (both need an operator). A partial run (some stores failed
    /// for business reasons) is healthy.
    pub fn is_failure(self) -> bool {
        matches!(self, RunResult::Failed | RunResult::GuardStopped)
    }
}

#[derive(Debug, Clone, Copy)]
struct LastRun {
    result: RunResult,
    finished_at: DateTime<Utc>,
    duration: Duration,
}

/// A per-merchant series: name, kind, help, and its value for one merchant.
type MerchantSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&MerchantStats) -> String,
);

/// One named merchant's numbers (ISV mode, `[[merchant]]`).
#[derive(Debug, Clone, Default)]
struct MerchantStats {
    runs: BTreeMap<RunResult, u64>,
    created: u64,
    modified: u64,
    failed: u64,
    pending_applications: u64,
    last_run: Option<LastRun>,
}

/// Counters and gauges of the daemon; cheap to update from any task. Calls and throttles
/// are the app's (one quota); runs, writes, failures and pending applications are also
/// kept per named merchant.
#[derive(Debug, Default)]
pub struct Metrics {
    runs: Mutex<BTreeMap<RunResult, u64>>,
    merchants: Mutex<BTreeMap<String, MerchantStats>>,
    calls: Mutex<BTreeMap<(String, String), u64>>,
    throttled: Mutex<BTreeMap<String, u64>>,
    pending_applications: AtomicU64,
    rejected_rows: AtomicU64,
    notifications: AtomicU64,
    last_run: Mutex<Option<LastRun>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A finished run: counts it, and sets the last-run gauges and the rejected-rows gauge.
    pub fn record_run(
        &self,
        result: RunResult,
        finished_at: DateTime<Utc>,
        duration: Duration,
        rejected_rows: u64,
    ) {
        *locked(&self.runs).entry(result).or_insert(0) += 1;
        self.rejected_rows.store(rejected_rows, Ordering::Relaxed);
        *locked(&self.last_run) = Some(LastRun {
            result,
            finished_at,
            duration,
        });
    }

    /// A finished run of one merchant (`""`: the implicit one, counted app-wide only).
    #[allow(clippy::too_many_arguments)] // one run's numbers, as the run reports them
    pub fn record_merchant_run(
        &self,
        merchant: &str,
        result: RunResult,
        finished_at: DateTime<Utc>,
        duration: Duration,
        rejected_rows: u64,
        created: u64,
        modified: u64,
        failed: u64,
    ) {
        self.record_run(result, finished_at, duration, rejected_rows);
        if merchant.is_empty() {
            return;
        }
        let mut all = locked(&self.merchants);
        let m = all.entry(merchant.to_string()).or_default();
        *m.runs.entry(result).or_insert(0) += 1;
        m.created += created;
        m.modified += modified;
        m.failed += failed;
        m.last_run = Some(LastRun {
            result,
            finished_at,
            duration,
        });
    }

    /// A merchant's applications still under audit (and the app-wide total).
    pub fn set_merchant_pending(&self, merchant: &str, n: u64) {
        let mut all = locked(&self.merchants);
        if !merchant.is_empty() {
            all.entry(merchant.to_string())
                .or_default()
                .pending_applications = n;
        }
        let named: u64 = all.values().map(|m| m.pending_applications).sum();
        drop(all);
        if merchant.is_empty() {
            self.set_pending_applications(n);
        } else {
            self.set_pending_applications(named);
        }
    }

    /// One Alipay call by method and outcome class (e.g. `ok`, `retry`, `business`).
    pub fn record_call(&self, method: &str, class: &str) {
        *locked(&self.calls)
            .entry((method.to_string(), class.to_string()))
            .or_insert(0) += 1;
    }

    /// One call answered with a rate-limit error.
    pub fn record_throttled(&self, method: &str) {
        *locked(&self.throttled)
            .entry(method.to_string())
            .or_insert(0) += 1;
    }

    /// One audit notification accepted.
    pub fn record_notification(&self) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_pending_applications(&self, n: u64) {
        self.pending_applications.store(n, Ordering::Relaxed);
    }

    pub fn pending_applications(&self) -> u64 {
        self.pending_applications.load(Ordering::Relaxed)
    }

    /// Result and end time of the last run, if any.
    pub fn last_run(&self) -> Option<(RunResult, DateTime<Utc>)> {
        locked(&self.last_run).map(|l| (l.result, l.finished_at))
    }

    /// Healthy unless the last run failed (healthy before any run); with named
    /// merchants, unless some merchant's last run failed.
    pub fn healthy(&self) -> bool {
        let merchants = locked(&self.merchants);
        if !merchants.is_empty() {
            return !merchants
                .values()
                .any(|m| m.last_run.is_some_and(|l| l.result.is_failure()));
        }
        drop(merchants);
        !matches!(self.last_run(), Some((r, _)) if r.is_failure())
    }

    /// The `/healthz` document.
    pub fn health_json(&self) -> serde_json::Value {
        let last = self.last_run();
        let mut doc = serde_json::json!({
            "status": if self.healthy() { "ok" } else { "failing" },
            "last_run_at": last.map(|(_, t)| t.to_rfc3339()),
            "last_result": last.map(|(r, _)| r.as_str()),
            "pending_applications": self.pending_applications(),
        });
        let merchants = locked(&self.merchants);
        if !merchants.is_empty() {
            let each: serde_json::Map<String, serde_json::Value> = merchants
                .iter()
                .map(|(name, m)| {
                    (
                        name.clone(),
                        serde_json::json!({
                            "last_run_at": m.last_run.map(|l| l.finished_at.to_rfc3339()),
                            "last_result": m.last_run.map(|l| l.result.as_str()),
                            "pending_applications": m.pending_applications,
                        }),
                    )
                })
                .collect();
            doc["merchants"] = serde_json::Value::Object(each);
        }
        doc
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        header_lines(
            &mut out,
            "shopsync_runs_total",
            "counter",
            "Sync runs by result.",
        );
        let runs = locked(&self.runs).clone();
        for r in [
            RunResult::Success,
            RunResult::Partial,
            RunResult::Failed,
            RunResult::GuardStopped,
        ] {
            let n = runs.get(&r).copied().unwrap_or(0);
            let _ = writeln!(out, "shopsync_runs_total{{result=\"{}\"}} {n}", r.as_str());
        }
        header_lines(
            &mut out,
            "shopsync_alipay_calls_total",
            "counter",
            "Alipay calls by method and outcome class.",
        );
        for ((method, class), n) in locked(&self.calls).iter() {
            let _ = writeln!(
                out,
                "shopsync_alipay_calls_total{{method=\"{}\",class=\"{}\"}} {n}",
                escape(method),
                escape(class)
            );
        }
        header_lines(
            &mut out,
            "shopsync_alipay_throttled_total",
            "counter",
            "Alipay calls answered with a rate-limit error, by method.",
        );
        for (method, n) in locked(&self.throttled).iter() {
            let _ = writeln!(
                out,
                "shopsync_alipay_throttled_total{{method=\"{}\"}} {n}",
                escape(method)
            );
        }
        header_lines(
            &mut out,
            "shopsync_notifications_total",
            "counter",
            "Audit notifications accepted.",
        );
        let _ = writeln!(
            out,
            "shopsync_notifications_total {}",
            self.notifications.load(Ordering::Relaxed)
        );
        header_lines(
            &mut out,
            "shopsync_pending_applications",
            "gauge",
            "Shop applications still under audit.",
        );
        let _ = writeln!(
            out,
            "shopsync_pending_applications {}",
            self.pending_applications()
        );
        header_lines(
            &mut out,
            "shopsync_rejected_rows",
            "gauge",
            "Source rows rejected by the last run.",
        );
        let _ = writeln!(
            out,
            "shopsync_rejected_rows {}",
            self.rejected_rows.load(Ordering::Relaxed)
        );
        let last = *locked(&self.last_run);
        header_lines(
            &mut out,
            "shopsync_last_run_duration_seconds",
            "gauge",
            "Duration of the last run.",
        );
        let _ = writeln!(
            out,
            "shopsync_last_run_duration_seconds {}",
            last.map_or(0.0, |l| l.duration.as_secs_f64())
        );
        header_lines(
            &mut out,
            "shopsync_last_run_timestamp_seconds",
            "gauge",
            "Unix time the last run finished (0 before any run).",
        );
        let _ = writeln!(
            out,
            "shopsync_last_run_timestamp_seconds {}",
            last.map_or(0, |l| l.finished_at.timestamp())
        );
        header_lines(
            &mut out,
            "shopsync_last_run_success",
            "gauge",
            "1 if the last run did not fail, 0 if it did (1 before any run).",
        );
        let _ = writeln!(
            out,
            "shopsync_last_run_success {}",
            u8::from(self.healthy())
        );
        self.render_merchants(&mut out);
        out
    }

    /// The per-merchant series (only with named merchants).
    fn render_merchants(&self, out: &mut String) {
        let merchants = locked(&self.merchants).clone();
        if merchants.is_empty() {
            return;
        }
        header_lines(
            out,
            "shopsync_merchant_runs_total",
            "counter",
            "Sync runs by merchant and result.",
        );
        for (name, m) in &merchants {
            for (r, n) in &m.runs {
                let _ = writeln!(
                    out,
                    "shopsync_merchant_runs_total{{merchant=\"{}\",result=\"{}\"}} {n}",
                    escape(name),
                    r.as_str()
                );
            }
        }
        header_lines(
            out,
            "shopsync_merchant_writes_total",
            "counter",
            "Creates and modifies Alipay accepted, by merchant.",
        );
        for (name, m) in &merchants {
            for (kind, n) in [("create", m.created), ("modify", m.modified)] {
                let _ = writeln!(
                    out,
                    "shopsync_merchant_writes_total{{merchant=\"{}\",kind=\"{kind}\"}} {n}",
                    escape(name)
                );
            }
        }
        let gauges: [MerchantSeries; 3] = [
            (
                "shopsync_merchant_failures_total",
                "counter",
                "Writes that failed, by merchant.",
                |m| m.failed.to_string(),
            ),
            (
                "shopsync_merchant_pending_applications",
                "gauge",
                "Applications under audit, by merchant.",
                |m| m.pending_applications.to_string(),
            ),
            (
                "shopsync_merchant_last_run_timestamp_seconds",
                "gauge",
                "Unix time the merchant's last run finished (0 before any run).",
                |m| {
                    m.last_run
                        .map_or(0, |l| l.finished_at.timestamp())
                        .to_string()
                },
            ),
        ];
        for (metric, kind, help, value) in gauges {
            header_lines(out, metric, kind, help);
            for (name, m) in &merchants {
                let _ = writeln!(
                    out,
                    "{metric}{{merchant=\"{}\"}} {}",
                    escape(name),
                    value(m)
                );
            }
        }
    }
}

fn header_lines(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escape a label value: backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serve `/healthz` and `/metrics` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "Health listener started.");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    let code = if m.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(m.health_json()))
}

async fn metrics_text(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render_prometheus(),
    )
}

//! Sending an event to every destination that wants it: concurrently, each within its
//! timeout, at most once per (run, event kind), never failing the caller.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::{
    dingtalk, feishu, redact, webhook, wecom, AlertConfig, AlertEvent, AlertKind, DestinationKind,
    Prepared, SecretError,
};
use crate::audit::RunId;
use crate::clock::SharedClock;
use crate::secret::Secret;

/// (run, kind) pairs remembered; the oldest runs are forgotten beyond this.
const REMEMBERED: usize = 1024;
/// Bytes of a robot's answer read (answers are a few dozen bytes).
const ANSWER_BYTES: usize = 64 * 1024;

/// Why the `[[alert]]` destinations cannot be set up (a configuration error, exit 78).
#[derive(Debug, thiserror::Error)]
pub enum AlertSetupError {
    #[error("[[alert]] {index} ({label}): {source}")]
    Secret {
        index: usize,
        label: String,
        source: SecretError,
    },
    #[error("[[alert]] {index} ({label}): url {url} is not an http(s) URL")]
    Url {
        index: usize,
        label: String,
        url: String,
    },
    #[error("cannot build the HTTP client for alerts: {0}")]
    Client(String),
}

/// One configured destination, its secret loaded.
pub struct Destination {
    label: String,
    kind: DestinationKind,
    url: reqwest::Url,
    secret: Option<Secret>,
    events: Option<BTreeSet<AlertKind>>,
    timeout: Duration,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("url", &redact::url_text(self.url.as_str()))
            .field("secret", &self.secret)
            .field("events", &self.events)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Destination {
    /// The destination of `[[alert]]` number `index` (from 1), reading its secret.
    pub fn from_config(index: usize, cfg: &AlertConfig) -> Result<Self, AlertSetupError> {
        let label = cfg.label();
        let url = reqwest::Url::parse(cfg.url.expose())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| AlertSetupError::Url {
                index,
                label: label.clone(),
                url: redact::url_text(cfg.url.expose()),
            })?;
        let secret = cfg.secret().map_err(|source| AlertSetupError::Secret {
            index,
            label: label.clone(),
            source,
        })?;
        Ok(Self {
            label,
            kind: cfg.kind,
            url,
            secret,
            events: cfg.events.clone(),
            timeout: cfg.timeout,
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn kind(&self) -> DestinationKind {
        self.kind
    }

    /// This destination gets events of `kind`.
    pub fn wants(&self, kind: AlertKind) -> bool {
        self.events.as_ref().is_none_or(|e| e.contains(&kind))
    }

    /// The request this destination sends for `event` at `now`.
    pub fn prepare(&self, event: &AlertEvent, now: DateTime<Utc>) -> Prepared {
        let secret = self.secret.as_ref();
        match self.kind {
            DestinationKind::Dingtalk => dingtalk::prepare(&self.url, secret, event, now),
            DestinationKind::Wecom => wecom::prepare(&self.url, event),
            DestinationKind::Feishu => feishu::prepare(&self.url, secret, event, now),
            DestinationKind::Webhook => webhook::prepare(&self.url, secret, event, now),
        }
    }

    fn check_answer(&self, status: u16, body: &[u8]) -> Result<(), String> {
        match self.kind {
            DestinationKind::Dingtalk => dingtalk::check_answer(status, body),
            DestinationKind::Wecom => wecom::check_answer(status, body),
            DestinationKind::Feishu => feishu::check_answer(status, body),
            DestinationKind::Webhook => webhook::check_answer(status, body),
        }
    }

    /// `text` without this destination's secret or any secret-looking part of its URL
    /// (a remote's answer or an error could echo them).
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut hide: Vec<String> = self
            .url
            .query_pairs()
            .map(|(_, v)| v.into_owned())
            .chain(
                self.url
                    .path_segments()
                    .into_iter()
                    .flatten()
                    .map(str::to_string),
            )
            .filter(|s| s.len() >= 6)
            .collect();
        if let Some(s) = &self.secret {
            hide.push(s.expose().to_string());
        }
        for h in hide.iter().filter(|h| redact::could_be_secret(h)) {
            out = out.replace(h.as_str(), redact::REDACTED);
        }
        out
    }

    async fn deliver(
        &self,
        http: &reqwest::Client,
        event: &AlertEvent,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let p = self.prepare(event, now);
        let mut req = http
            .post(p.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .timeout(self.timeout)
            .body(p.body);
        for (name, value) in p.headers {
            req = req.header(name, value);
        }
        let mut resp = req.send().await.map_err(describe)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(describe)? {
            body.extend_from_slice(&chunk);
            if body.len() >= ANSWER_BYTES {
                break;
            }
        }
        self.check_answer(status, &body)
    }
}

/// An HTTP error and its causes, without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What [`Dispatcher::send`] did (for logs and tests; never an error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// The event's (run, kind) was already sent: nothing was sent now.
    pub duplicate: bool,
    /// Labels of the destinations that accepted it.
    pub delivered: Vec<String>,
    /// Labels of the destinations that did not (each logged as a WARN).
    pub failed: Vec<String>,
}

/// Sends alerts to the configured destinations.
pub struct Dispatcher {
    destinations: Vec<Destination>,
    http: reqwest::Client,
    clock: SharedClock,
    sent: Mutex<BTreeSet<(Option<RunId>, AlertKind)>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// The dispatcher for the `[[alert]]` sections (none: it sends nothing). Reads every
    /// secret now, so a missing one is a configuration error at start, not at 02:30.
    pub fn new(configs: &[AlertConfig], clock: SharedClock) -> Result<Self, AlertSetupError> {
        let destinations = configs
            .iter()
            .enumerate()
            .map(|(i, c)| Destination::from_config(i + 1, c))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_destinations(destinations, clock)
    }

    pub fn from_destinations(
        destinations: Vec<Destination>,
        clock: SharedClock,
    ) -> Result<Self, AlertSetupError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shopsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlertSetupError::Client(describe(e)))?;
        Ok(Self {
            destinations,
            http,
            clock,
            sent: Mutex::new(BTreeSet::new()),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.destinations.is_empty()
    }

    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// Sends `event` to every destination that wants it, concurrently; returns when all
    /// have answered or timed out (so within the longest `timeout`). A second event of
    /// the same kind for the same run is not sent. Failures are logged, never returned.
    pub async fn send(&self, event: &AlertEvent) -> DispatchReport {
        let mut report = DispatchReport::default();
        let run = event.run.map(|r| r.0);
        {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            if !sent.insert((event.run, event.kind)) {
                debug!(event = %event.kind, run, "Alert already sent for this run; not sent again.");
                report.duplicate = true;
                return report;
            }
            while sent.len() > REMEMBERED {
                sent.pop_first();
            }
        }
        let now = self.clock.now();
        let sends =
            self.destinations
                .iter()
                .filter(|d| d.wants(event.kind))
                .map(|d| async move {
                    let result =
                        match tokio::time::timeout(d.timeout, d.deliver(&self.http, event, now))
                            .await
                        {
                            Ok(r) => r,
                            Err(_) => Err(format!(
                                "no answer within {}",
                                humantime::format_duration(d.timeout)
                            )),
                        };
                    (d, result)
                });
        for (d, result) in futures::future::join_all(sends).await {
            match result {
                Ok(()) => {
                    info!(destination = %d.label, kind = %d.kind, event = %event.kind, run, "Alert sent.");
                    report.delivered.push(d.label.clone());
                }
                Err(e) => {
                    warn!(
                        destination = %d.label,
                        kind = %d.kind,
                        url = %redact::url_text(d.url.as_str()),
                        event = %event.kind,
                        run,
                        error = %d.scrub(&e),
                        "Alert not delivered."
                    );
                    report.failed.push(d.label.clone());
                }
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn the_dispatcher_can_be_shared_and_its_send_spawned() {
        let clock: SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
        let d = Dispatcher::new(&[], clock).unwrap();
        assert!(d.is_empty());
        let event = AlertEvent::new(AlertKind::RunFailed, Some(RunId(1)), "x", "y");
        let fut = d.send(&event);
        assert_send(&fut);
        fn shared<T: Send + Sync>() {}
        shared::<Dispatcher>();
    }
}

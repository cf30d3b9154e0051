//! Delivery of audit notifications (§8.6): POST the signed form, done on HTTP 200 `success`,
//! otherwise retry on the configured schedule with the same `notify_id`/`notify_time`.
//! The same loop runs due audits every ~50 ms.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::audit;
use super::shared::Shared;

/// A notification to send: its index in the log, the URL and the form.
type Due = (usize, String, Vec<(String, String)>);

pub async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Simulator cannot build its notification client.");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = shutdown.changed() => break,
        }
        let now = shared.now();
        let due: Vec<Due> = {
            let mut st = shared.state();
            if audit::process_due(&shared.cfg, shared.answer_key(), &mut st, now) {
                shared.log_changed();
            }
            let ready: Vec<usize> = st
                .outbox()
                .filter(|i| {
                    let n = &st.notifications()[*i];
                    !n.in_flight && n.next_attempt.is_some_and(|t| t <= now)
                })
                .collect();
            ready
                .into_iter()
                .filter_map(|i| {
                    st.update_notification(i, |n| {
                        n.in_flight = true;
                        (i, n.url.clone(), n.form.clone())
                    })
                })
                .collect()
        };
        for (i, url, form) in due {
            tokio::spawn(deliver(shared.clone(), client.clone(), i, url, form));
        }
    }
}

async fn deliver(
    shared: Arc<Shared>,
    client: reqwest::Client,
    index: usize,
    url: String,
    form: Vec<(String, String)>,
) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let result = client
        .post(&url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body)
        .send()
        .await;
    let outcome = match result {
        Ok(resp) => {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            if status == reqwest::StatusCode::OK && text.trim() == "success" {
                Ok(())
            } else {
                Err(format!(
                    "HTTP {status}: {}",
                    text.chars().take(100).collect::<String>()
                ))
            }
        }
        Err(e) => Err(e.to_string()),
    };
    let now = shared.now();
    let mut st = shared.state();
    let retry = &shared.cfg.notify_retry;
    st.update_notification(index, |n| settle(n, outcome, retry, now));
    drop(st);
    shared.log_changed();
}

/// Record one delivery attempt's outcome: done, or the next attempt (or giving up).
fn settle(
    n: &mut super::records::SentNotification,
    outcome: Result<(), String>,
    retry: &[Duration],
    now: chrono::DateTime<chrono::Utc>,
) {
    n.in_flight = false;
    n.attempts += 1;
    match outcome {
        Ok(()) => {
            n.delivered = true;
            n.last_error = None;
            n.next_attempt = None;
        }
        Err(e) => {
            tracing::debug!(notify_id = %n.notify_id, error = %e, "Simulated notification not acknowledged.");
            n.last_error = Some(e);
            let idx = (n.attempts as usize).saturating_sub(1);
            match retry.get(idx) {
                Some(d) => {
                    n.next_attempt = Some(now + chrono::Duration::from_std(*d).unwrap_or_default());
                }
                None => {
                    n.gave_up = true;
                    n.next_attempt = None;
                }
            }
        }
    }
}

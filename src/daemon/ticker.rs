//! The scheduling loop: fire the sync job at each scheduled time and, optionally, a
//! follow-up job at a fixed interval in between, never running two jobs at once.
//!
//! Rules:
//! - A sync tick that comes while a sync is still running is skipped (logged at WARN); the
//!   next scheduled tick is computed from the time the skipped tick came.
//! - A sync tick that comes while a follow-up is running is deferred: the sync starts as
//!   soon as the follow-up finishes.
//! - A follow-up tick that comes while any job runs (or a sync waits) is skipped.
//! - A job that panics is logged at ERROR and counted; the schedule goes on.
//! - On shutdown no new job starts; a running job is awaited (the caller bounds that with
//!   its grace period, and the job itself should watch the same shutdown signal).
//!
//! Wall time comes from an injected [`Clock`]; waiting uses tokio timers capped at
//! [`MAX_NAP`] so a wall-clock jump (NTP, suspend) is noticed. Tests run it under paused
//! tokio time with [`TokioClock`], which derives wall time from tokio's clock.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, error, info, warn};

use super::schedule::Schedule;
use crate::clock::{Clock, SharedClock};

/// The longest single timer wait; after it the wall clock is read again.
pub const MAX_NAP: Duration = Duration::from_secs(60);

/// A clock that reads tokio's (possibly paused) time from a fixed UTC anchor: `now()` is
/// the anchor plus the tokio time elapsed since construction.
#[derive(Debug, Clone)]
pub struct TokioClock {
    anchor: DateTime<Utc>,
    base: Instant,
}

impl TokioClock {
    /// Anchor `anchor` at the current tokio instant. Call inside a runtime.
    pub fn new(anchor: DateTime<Utc>) -> Self {
        TokioClock {
            anchor,
            base: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.base);
        self.anchor + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }
}

/// Counters of what the loop did; readable while it runs.
#[derive(Debug, Default)]
pub struct TickerStats {
    pub syncs_started: AtomicU64,
    pub syncs_skipped: AtomicU64,
    pub syncs_deferred: AtomicU64,
    pub follow_ups_started: AtomicU64,
    pub follow_ups_skipped: AtomicU64,
    pub panics: AtomicU64,
}

/// A plain copy of [`TickerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickerCounts {
    pub syncs_started: u64,
    pub syncs_skipped: u64,
    pub syncs_deferred: u64,
    pub follow_ups_started: u64,
    pub follow_ups_skipped: u64,
    pub panics: u64,
}

impl TickerStats {
    pub fn snapshot(&self) -> TickerCounts {
        TickerCounts {
            syncs_started: self.syncs_started.load(Ordering::SeqCst),
            syncs_skipped: self.syncs_skipped.load(Ordering::SeqCst),
            syncs_deferred: self.syncs_deferred.load(Ordering::SeqCst),
            follow_ups_started: self.follow_ups_started.load(Ordering::SeqCst),
            follow_ups_skipped: self.follow_ups_skipped.load(Ordering::SeqCst),
            panics: self.panics.load(Ordering::SeqCst),
        }
    }
}

/// The scheduling loop's configuration.
#[derive(Debug, Clone)]
pub struct Ticker {
    schedule: Schedule,
    follow_up: Option<Duration>,
    clock: SharedClock,
    stats: Arc<TickerStats>,
}

enum Running<S, F> {
    Sync(Pin<Box<S>>),
    FollowUp(Pin<Box<F>>),
}

enum Event {
    Shutdown,
    Finished(Result<(), &'static str>),
    SyncDue,
    FollowUpDue,
}

impl Ticker {
    pub fn new(schedule: Schedule, clock: SharedClock) -> Self {
        Ticker {
            schedule,
            follow_up: None,
            clock,
            stats: Arc::new(TickerStats::default()),
        }
    }

    /// Also run the follow-up job every `every` (first one `every` after start). A zero
    /// duration disables it.
    pub fn with_follow_up(mut self, every: Duration) -> Self {
        self.follow_up = (!every.is_zero()).then_some(every);
        self
    }

    /// Live counters (shared with the running loop).
    pub fn stats(&self) -> Arc<TickerStats> {
        Arc::clone(&self.stats)
    }

    /// Run only the sync job until `shutdown` completes.
    pub async fn run<S, SF>(&self, sync: S, shutdown: impl Future<Output = ()>) -> TickerCounts
    where
        S: Fn() -> SF,
        SF: Future<Output = ()>,
    {
        self.run_with_follow_up(sync, || async {}, shutdown).await
    }

    /// Run the sync job on schedule and the follow-up job on its interval until `shutdown`
    /// completes; then wait for a job in progress and return the counts.
    pub async fn run_with_follow_up<S, SF, F, FF>(
        &self,
        sync: S,
        follow_up: F,
        shutdown: impl Future<Output = ()>,
    ) -> TickerCounts
    where
        S: Fn() -> SF,
        SF: Future<Output = ()>,
        F: Fn() -> FF,
        FF: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let mut next_sync = self.schedule.next_after(self.clock.now());
        if let Some(t) = next_sync {
            info!(next = %t.with_timezone(&self.schedule.timezone()).format("%Y-%m-%d %H:%M:%S %:z"), "Next sync scheduled.");
        }
        let mut follow_iv = self.follow_up.map(|every| {
            let mut iv = tokio::time::interval_at(Instant::now() + every, every);
            iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
            iv
        });
        let mut running: Option<Running<SF, FF>> = None;
        let mut sync_waiting = false;

        loop {
            let nap = next_sync.map(|t| {
                (t - self.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_NAP)
            });
            let event = tokio::select! {
                biased;
                _ = &mut shutdown => Event::Shutdown,
                r = finish(&mut running), if running.is_some() => Event::Finished(r),
                _ = tokio::time::sleep(nap.unwrap_or(MAX_NAP)), if nap.is_some() => Event::SyncDue,
                _ = tick(&mut follow_iv), if follow_iv.is_some() => Event::FollowUpDue,
            };
            match event {
                Event::Shutdown => break,
                Event::Finished(result) => {
                    running = None;
                    if let Err(job) = result {
                        self.stats.panics.fetch_add(1, Ordering::SeqCst);
                        error!(job, "Scheduled job panicked; the schedule continues.");
                    }
                    if sync_waiting {
                        sync_waiting = false;
                        info!("Starting the deferred sync.");
                        running = Some(self.start_sync(&sync));
                    }
                }
                Event::SyncDue => {
                    let now = self.clock.now();
                    let Some(due) = next_sync else { continue };
                    if now < due {
                        continue; // a capped nap, or the wall clock moved back
                    }
                    next_sync = self.schedule.next_after(now);
                    match &running {
                        None => running = Some(self.start_sync(&sync)),
                        Some(Running::Sync(_)) => {
                            self.stats.syncs_skipped.fetch_add(1, Ordering::SeqCst);
                            warn!(
                                tick = %due.with_timezone(&self.schedule.timezone()),
                                "Scheduled sync skipped: the previous sync is still running."
                            );
                        }
                        Some(Running::FollowUp(_)) => {
                            if !sync_waiting {
                                self.stats.syncs_deferred.fetch_add(1, Ordering::SeqCst);
                                info!("Scheduled sync deferred until the follow-up finishes.");
                            }
                            sync_waiting = true;
                        }
                    }
                    if let Some(t) = next_sync {
                        debug!(next = %t.with_timezone(&self.schedule.timezone()).format("%Y-%m-%d %H:%M:%S %:z"), "Next sync scheduled.");
                    }
                }
                Event::FollowUpDue => {
                    if running.is_none() && !sync_waiting {
                        self.stats.follow_ups_started.fetch_add(1, Ordering::SeqCst);
                        debug!("Follow-up started.");
                        running = Some(Running::FollowUp(Box::pin(follow_up())));
                    } else {
                        self.stats.follow_ups_skipped.fetch_add(1, Ordering::SeqCst);
                        info!("Follow-up skipped: another job is running.");
                    }
                }
            }
        }
        if running.is_some() {
            info!("Shutdown requested; waiting for the running job to finish.");
            if let Err(job) = finish(&mut running).await {
                self.stats.panics.fetch_add(1, Ordering::SeqCst);
                error!(job, "Scheduled job panicked during shutdown.");
            }
        }
        self.stats.snapshot()
    }

    fn start_sync<S, SF, FF>(&self, sync: &S) -> Running<SF, FF>
    where
        S: Fn() -> SF,
    {
        self.stats.syncs_started.fetch_add(1, Ordering::SeqCst);
        info!("Scheduled sync started.");
        Running::Sync(Box::pin(sync()))
    }
}

/// Await the running job; `Err` with the job's name if it panicked (the loop goes on).
async fn finish<S, F>(running: &mut Option<Running<S, F>>) -> Result<(), &'static str>
where
    S: Future<Output = ()>,
    F: Future<Output = ()>,
{
    match running {
        Some(Running::Sync(f)) => AssertUnwindSafe(f.as_mut())
            .catch_unwind()
            .await
            .map_err(|_| "sync"),
        Some(Running::FollowUp(f)) => AssertUnwindSafe(f.as_mut())
            .catch_unwind()
            .await
            .map_err(|_| "follow-up"),
        None => std::future::pending().await,
    }
}

async fn tick(iv: &mut Option<tokio::time::Interval>) {
    match iv {
        Some(iv) => {
            iv.tick().await;
        }
        None => std::future::pending().await,
    }
}

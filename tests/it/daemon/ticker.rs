//! The scheduling loop under paused tokio time: jobs whose completion the test controls.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shopsync::clock::SharedClock;
use shopsync::daemon::schedule::Schedule;
use shopsync::daemon::shutdown::Shutdown;
use shopsync::daemon::ticker::{Ticker, TickerCounts, TokioClock};
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, Instant};

/// A job that counts starts and finishes and blocks until the test releases it.
struct Gate {
    started: AtomicUsize,
    finished: AtomicUsize,
    permits: Semaphore,
}

impl Gate {
    fn new() -> Arc<Self> {
        Arc::new(Gate {
            started: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            permits: Semaphore::new(0),
        })
    }
    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }
    fn release(&self) {
        self.permits.add_permits(1);
    }
}

/// Counts jobs running at once (across both kinds) and remembers the maximum.
#[derive(Default)]
struct Overlap {
    now: AtomicUsize,
    max: AtomicUsize,
}

fn job(
    gate: Arc<Gate>,
    overlap: Arc<Overlap>,
) -> impl Fn() -> futures::future::BoxFuture<'static, ()> {
    move || {
        let gate = Arc::clone(&gate);
        let overlap = Arc::clone(&overlap);
        Box::pin(async move {
            let n = overlap.now.fetch_add(1, Ordering::SeqCst) + 1;
            overlap.max.fetch_max(n, Ordering::SeqCst);
            gate.started.fetch_add(1, Ordering::SeqCst);
            gate.permits
                .acquire()
                .await
                .expect("semaphore open")
                .forget();
            gate.finished.fetch_add(1, Ordering::SeqCst);
            overlap.now.fetch_sub(1, Ordering::SeqCst);
        })
    }
}

/// Wall time 2026-11-26 00:00:30 UTC at the test's start: an every-minute schedule ticks
/// at +30 s, +90 s, +150 s, ...
fn every_minute(follow_up: Option<Duration>) -> (Ticker, Instant) {
    let anchor: DateTime<Utc> = "2026-11-26T00:00:30Z".parse().unwrap();
    let clock: SharedClock = Arc::new(TokioClock::new(anchor));
    let schedule = Schedule::parse("* * * * *", "Asia/Shanghai").unwrap();
    let mut ticker = Ticker::new(schedule, clock);
    if let Some(every) = follow_up {
        ticker = ticker.with_follow_up(every);
    }
    (ticker, Instant::now())
}

async fn at(base: Instant, secs: u64) {
    sleep_until(base + Duration::from_secs(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn tick_is_skipped_while_the_previous_sync_runs_and_the_next_one_runs_after() {
    let (ticker, base) = every_minute(None);
    let stats = ticker.stats();
    let gate = Gate::new();
    let overlap = Arc::new(Overlap::default());
    let shutdown = Shutdown::manual(Duration::from_secs(30));
    let sync = job(Arc::clone(&gate), Arc::clone(&overlap));
    let stop = shutdown.wait_owned();
    let handle = tokio::spawn(async move { ticker.run(sync, stop).await });

    at(base, 29).await;
    assert_eq!(gate.started(), 0, "nothing before the first tick");
    at(base, 40).await;
    assert_eq!((gate.started(), gate.finished()), (1, 0));

    at(base, 100).await; // the +90 s tick came while run 1 was still going
    assert_eq!(gate.started(), 1, "no overlapping run");
    assert_eq!(stats.snapshot().syncs_skipped, 1);

    gate.release();
    at(base, 110).await;
    assert_eq!((gate.started(), gate.finished()), (1, 1));
    assert_eq!(
        gate.started(),
        1,
        "a skipped tick is not replayed on completion"
    );

    at(base, 160).await; // +150 s tick
    assert_eq!(gate.started(), 2, "the next tick after completion runs");
    gate.release();
    at(base, 170).await;
    assert_eq!(gate.finished(), 2);

    shutdown.trigger();
    let counts = handle.await.unwrap();
    assert_eq!(
        counts,
        TickerCounts {
            syncs_started: 2,
            syncs_skipped: 1,
            ..Default::default()
        }
    );
    assert_eq!(overlap.max.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_the_running_sync_and_starts_nothing_new() {
    let (ticker, base) = every_minute(None);
    let gate = Gate::new();
    let overlap = Arc::new(Overlap::default());
    let shutdown = Shutdown::manual(Duration::from_secs(30));
    let sync = job(Arc::clone(&gate), overlap);
    let stop = shutdown.wait_owned();
    let handle = tokio::spawn(async move { ticker.run(sync, stop).await });

    at(base, 40).await;
    assert_eq!(gate.started(), 1);
    shutdown.trigger();
    at(base, 50).await;
    assert!(!handle.is_finished(), "the running sync is awaited");
    gate.release();
    let counts = handle.await.unwrap();
    assert_eq!(counts.syncs_started, 1);
    assert_eq!(gate.finished(), 1);
    at(base, 200).await;
    assert_eq!(gate.started(), 1, "no run after shutdown");
}

#[tokio::test(start_paused = true)]
async fn shutdown_before_the_first_tick_runs_nothing() {
    let (ticker, base) = every_minute(None);
    let gate = Gate::new();
    let shutdown = Shutdown::manual(Duration::from_secs(30));
    let sync = job(Arc::clone(&gate), Arc::new(Overlap::default()));
    let stop = shutdown.wait_owned();
    let handle = tokio::spawn(async move { ticker.run(sync, stop).await });
    at(base, 10).await;
    shutdown.trigger();
    assert_eq!(handle.await.unwrap(), TickerCounts::default());
    assert_eq!(gate.started(), 0);
}

#[tokio::test(start_paused = true)]
async fn follow_up_runs_between_syncs_and_never_overlaps() {
    // Follow-ups due at +20, +40, +60, ...; syncs at +30, +90, +150.
    let (ticker, base) = every_minute(Some(Duration::from_secs(20)));
    let stats = ticker.stats();
    let sync_gate = Gate::new();
    let fu_gate = Gate::new();
    let overlap = Arc::new(Overlap::default());
    let shutdown = Shutdown::manual(Duration::from_secs(30));
    let sync = job(Arc::clone(&sync_gate), Arc::clone(&overlap));
    let follow = job(Arc::clone(&fu_gate), Arc::clone(&overlap));
    let stop = shutdown.wait_owned();
    let handle = tokio::spawn(async move { ticker.run_with_follow_up(sync, follow, stop).await });

    at(base, 25).await;
    assert_eq!((fu_gate.started(), sync_gate.started()), (1, 0));

    at(base, 35).await; // sync tick at +30 while the follow-up runs: deferred
    assert_eq!(sync_gate.started(), 0);
    assert_eq!(stats.snapshot().syncs_deferred, 1);

    fu_gate.release();
    at(base, 36).await;
    assert_eq!(fu_gate.finished(), 1);
    assert_eq!(
        sync_gate.started(),
        1,
        "deferred sync starts when the follow-up ends"
    );

    at(base, 45).await; // follow-up tick at +40 while the sync runs: skipped
    assert_eq!(fu_gate.started(), 1);
    assert_eq!(stats.snapshot().follow_ups_skipped, 1);

    sync_gate.release();
    at(base, 65).await; // follow-up at +60 runs again
    assert_eq!(sync_gate.finished(), 1);
    assert_eq!(fu_gate.started(), 2);
    fu_gate.release();

    at(base, 95).await; // +80 follow-up ran and is blocked; +90 sync deferred
    assert_eq!(fu_gate.started(), 3);
    assert_eq!(sync_gate.started(), 1);
    fu_gate.release();
    sync_gate.release(); // pre-release: the deferred sync finishes at once
    at(base, 96).await;
    assert_eq!((sync_gate.started(), sync_gate.finished()), (2, 2));

    shutdown.trigger();
    let counts = handle.await.unwrap();
    assert_eq!(counts.syncs_started, 2);
    assert_eq!(counts.syncs_deferred, 2);
    assert_eq!(counts.follow_ups_started, 3);
    assert_eq!(overlap.max.load(Ordering::SeqCst), 1, "jobs never overlap");
}

// Regression 8a46ba6: a panicking job ended the ticker, and no scheduled run followed.
#[tokio::test(start_paused = true)]
async fn regression_a_panicking_sync_stopped_the_schedule() {
    let (ticker, base) = every_minute(None);
    let calls = Arc::new(AtomicUsize::new(0));
    let shutdown = Shutdown::manual(Duration::from_secs(30));
    let c = Arc::clone(&calls);
    let sync = move || {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                panic!("first sync blows up");
            }
        }
    };
    let stop = shutdown.wait_owned();
    let handle = tokio::spawn(async move { ticker.run(sync, stop).await });
    at(base, 100).await; // ticks at +30 (panics) and +90
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    shutdown.trigger();
    let counts = handle.await.unwrap();
    assert_eq!((counts.syncs_started, counts.panics), (2, 1));
}

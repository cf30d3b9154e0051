//! The call quota: a governor GCRA limiter for pacing (qps + burst), a strict sliding
//! one-second window so no window ever holds more than `qps` calls (docs/design.md
//! invariant 7), optional per-method limits, and an adaptive slow-down when Alipay
//! answers `40005`: a pause, and the app window's size cut by a quarter (additive increase
//! back to `qps` as calls succeed), so an app whose real quota is below the configured one
//! converges to it instead of being throttled on every other call.

use super::shared_quota::{SharedQuota, SharedSlot};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Jitter, Quota, RateLimiter as Gcra};
use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A quota: calls per second and the burst the pacing allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct RateSpec {
    pub qps: u32,
    pub burst: u32,
}

/// The window length. A call counts against the window from its admission until one
/// second after it *finished*: the server receives a call somewhere between the two, so
/// however late a request reaches the server, no one-second window there can hold more
/// than `qps` calls (docs/design.md invariant 7).
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slots {
    next_id: u64,
    /// Calls admitted and not finished.
    in_flight: HashSet<u64>,
    /// Finish times of finished calls still inside the window, oldest first.
    finished: VecDeque<Instant>,
    /// When the last call was admitted.
    last_admit: Option<Instant>,
}

struct Window {
    /// The configured qps: the most calls a window may ever hold.
    max: usize,
    /// Calls a window may hold now: `max`, or less after throttle answers.
    cap: AtomicUsize,
    /// Successful calls since the cap last grew.
    successes: AtomicUsize,
    /// Bumped by every shrink: a throttled call admitted before the last shrink belongs to
    /// an overrun already answered.
    epoch: AtomicUsize,
    slots: Mutex<Slots>,
    freed: Notify,
}

impl Window {
    fn new(qps: u32) -> Self {
        let max = qps.max(1) as usize;
        Self {
            max,
            cap: AtomicUsize::new(max),
            successes: AtomicUsize::new(0),
            epoch: AtomicUsize::new(0),
            slots: Mutex::new(Slots::default()),
            freed: Notify::new(),
        }
    }

    /// Multiplicative decrease: a quarter off, never below one call per second; once per
    /// overrun (only for a call admitted since the last shrink).
    fn shrink(&self, admitted_in: usize) {
        if self
            .epoch
            .compare_exchange(
                admitted_in,
                admitted_in + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        let cap = self.cap.load(Ordering::Relaxed);
        self.cap.store((cap * 3 / 4).max(1), Ordering::Relaxed);
        self.successes.store(0, Ordering::Relaxed);
    }

    /// Additive increase: one more call per window after a window's worth of successes.
    fn grow(&self) {
        let cap = self.cap.load(Ordering::Relaxed);
        if cap >= self.max {
            return;
        }
        if self.successes.fetch_add(1, Ordering::Relaxed) + 1 >= cap {
            self.successes.store(0, Ordering::Relaxed);
            self.cap.store(cap + 1, Ordering::Relaxed);
            self.freed.notify_waiters();
        }
    }

    /// Wait until one more call fits, then count it as in flight.
    async fn admit(self: &Arc<Self>) -> WindowPermit {
        loop {
            let notified = self.freed.notified();
            let wake_at = {
                let mut slots = self.slots.lock().expect("window lock");
                let now = Instant::now();
                while slots
                    .finished
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    slots.finished.pop_front();
                }
                let cap = self.cap.load(Ordering::Relaxed);
                // Below the configured rate (after throttling) calls are spread evenly over
                // the second instead of sent as a burst the server's bucket cannot take.
                let paced = (cap < self.max)
                    .then(|| slots.last_admit.map(|t| t + WINDOW / cap as u32))
                    .flatten()
                    .filter(|at| *at > now);
                if paced.is_none() && slots.in_flight.len() + slots.finished.len() < cap {
                    slots.next_id += 1;
                    let id = slots.next_id;
                    slots.in_flight.insert(id);
                    slots.last_admit = Some(now);
                    return WindowPermit {
                        window: Some(self.clone()),
                        id,
                        epoch: self.epoch.load(Ordering::Relaxed),
                    };
                }
                paced.or_else(|| slots.finished.front().map(|t| *t + WINDOW))
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = notified => {}
                    }
                }
                // Every slot is a call in flight: wait for one to finish.
                None => notified.await,
            }
        }
    }

    fn finish(&self, id: u64) {
        let mut slots = self.slots.lock().expect("window lock");
        if slots.in_flight.remove(&id) {
            slots.finished.push_back(Instant::now());
        }
        drop(slots);
        self.freed.notify_waiters();
    }
}

/// Held while a call is in flight; dropping it (answer received, error, or cancelled)
/// starts the call's last second in the window.
pub struct WindowPermit {
    window: Option<Arc<Window>>,
    id: u64,
    /// The window's shrink epoch when the call was admitted.
    epoch: usize,
}

impl Drop for WindowPermit {
    fn drop(&mut self) {
        if let Some(w) = self.window.take() {
            w.finish(self.id);
        }
    }
}

/// Permission for one call; hold it until the call has finished.
pub struct Permit {
    /// Held only to be dropped when the call finishes.
    _permits: Vec<WindowPermit>,
    /// The call's slot in the quota shared with the app's other processes.
    _shared: Option<SharedSlot>,
    /// The app window's shrink epoch at admission (see [`RateLimiter::throttled`]).
    app_epoch: usize,
}

struct Limit {
    gcra: DefaultDirectRateLimiter,
    window: Arc<Window>,
}

impl Limit {
    fn new(spec: RateSpec) -> Self {
        let qps = NonZeroU32::new(spec.qps.max(1)).expect("non-zero");
        let burst = NonZeroU32::new(spec.burst.clamp(1, spec.qps.max(1))).expect("non-zero");
        Self {
            gcra: Gcra::direct(Quota::per_second(qps).allow_burst(burst)),
            window: Arc::new(Window::new(spec.qps)),
        }
    }

    async fn acquire(&self) -> WindowPermit {
        self.gcra.until_ready().await;
        self.window.admit().await
    }
}

/// Shared by every call the client makes.
pub struct RateLimiter {
    app: Option<Limit>,
    methods: BTreeMap<String, Limit>,
    slow: Mutex<SlowDown>,
    shared: Option<Arc<SharedQuota>>,
    /// Callers wait for the app's quota in arrival order (tokio's mutex is FIFO), so every
    /// writer gets its turn: without it, whichever future is polled first after a cell
    /// frees takes it, and in ISV mode the merchant polled first starves the others.
    turn: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlowDown {
    until: Option<Instant>,
    streak: u32,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limited", &self.app.is_some())
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RateLimiter {
    /// `app` limits every call; `methods` adds a limit per method name.
    pub fn new(app: Option<RateSpec>, methods: &BTreeMap<String, RateSpec>) -> Self {
        Self {
            app: app.map(Limit::new),
            methods: methods
                .iter()
                .map(|(m, s)| (m.clone(), Limit::new(*s)))
                .collect(),
            slow: Mutex::new(SlowDown::default()),
            shared: None,
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Also hold every call to the app's quota shared with other processes through the
    /// file at `path` (see `shared_quota`). Only with an app limit.
    pub fn with_shared_quota(mut self, path: &std::path::Path) -> Self {
        if let Some(app) = &self.app {
            self.shared = Some(SharedQuota::new(path, app.window.max as u32));
        }
        self
    }

    /// No limit at all (tests of the client itself, the simulator's own calls).
    pub fn unlimited() -> Self {
        Self::new(None, &BTreeMap::new())
    }

    /// Wait for permission to send one call of `method`. Hold the permit until the call
    /// has finished.
    pub async fn acquire(&self, method: &str) -> Permit {
        let wait_until = self.slow.lock().expect("slow-down lock").until;
        if let Some(until) = wait_until {
            tokio::time::sleep_until(until).await;
        }
        let mut permits = Vec::with_capacity(2);
        if let Some(limit) = self.methods.get(method) {
            permits.push(limit.acquire().await);
        }
        let turn = if self.app.is_some() || self.shared.is_some() {
            Some(self.turn.lock().await)
        } else {
            None
        };
        let mut app_epoch = 0;
        if let Some(app) = &self.app {
            let permit = if wait_until.is_some() {
                app.gcra
                    .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(50)))
                    .await;
                app.window.admit().await
            } else {
                app.acquire().await
            };
            app_epoch = permit.epoch;
            permits.push(permit);
        }
        let shared = match &self.shared {
            Some(quota) => quota.admit().await,
            None => None,
        };
        drop(turn);
        Permit {
            _permits: permits,
            _shared: shared,
            app_epoch,
        }
    }

    /// Record a `40005` for the call `permit` admitted: every caller pauses for an
    /// exponentially growing, jittered delay, and the app window shrinks by a quarter
    /// (from then on paced evenly). Returns the pause. A `40005` that arrives while a
    /// pause is on belongs to the same overrun (a call sent before the pause began): it
    /// does not lengthen the pause, or N calls in flight would escalate N steps at once;
    /// likewise the window shrinks only for a call admitted since its last shrink.
    pub fn throttled(&self, permit: &Permit) -> Duration {
        if let Some(app) = &self.app {
            app.window.shrink(permit.app_epoch);
        }
        let mut slow = self.slow.lock().expect("slow-down lock");
        let now = Instant::now();
        if let Some(until) = slow.until.filter(|u| *u > now) {
            return until - now;
        }
        slow.streak = (slow.streak + 1).min(8);
        let base = 100u64 << (slow.streak - 1);
        let jitter = rand::rng().random_range(0..=base / 2);
        let pause = Duration::from_millis((base + jitter).min(10_000));
        slow.until = Some(now + pause);
        pause
    }

    /// The calls the app window admits per second now (None when unlimited).
    pub fn current_qps(&self) -> Option<usize> {
        self.app
            .as_ref()
            .map(|a| a.window.cap.load(Ordering::Relaxed))
    }

    /// Record a call that was not throttled: the slow-down eases off.
    pub fn succeeded(&self) {
        if let Some(app) = &self.app {
            app.window.grow();
        }
        let mut slow = self.slow.lock().expect("slow-down lock");
        if slow.streak > 0 {
            slow.streak -= 1;
        }
        if slow.until.is_some_and(|u| u <= Instant::now()) {
            slow.until = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_qps_in_any_window() {
        let limiter = RateLimiter::new(Some(RateSpec { qps: 10, burst: 10 }), &BTreeMap::new());
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..35 {
            let permit = limiter.acquire("m").await;
            times.push(Instant::now().duration_since(start));
            drop(permit);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 10,
                "{in_window} calls in the window starting at {t:?}"
            );
        }
        // 35 calls at 10/s take at least 3 seconds.
        assert!(times[34] >= Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_shrinks_the_window_and_successes_grow_it_back() {
        let limiter = RateLimiter::new(Some(RateSpec { qps: 20, burst: 20 }), &BTreeMap::new());
        assert_eq!(limiter.current_qps(), Some(20));
        let first = limiter.acquire("m").await;
        let sent_alongside = limiter.acquire("m").await;
        let pause = limiter.throttled(&first);
        assert_eq!(limiter.current_qps(), Some(15));
        // Another 40005 of the same overrun (a call admitted before the shrink) does not
        // shrink it again.
        limiter.throttled(&sent_alongside);
        assert_eq!(limiter.current_qps(), Some(15));
        drop((first, sent_alongside));
        tokio::time::advance(pause + Duration::from_secs(2)).await;
        // Now paced: 15 calls a second, evenly spread.
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..16 {
            drop(limiter.acquire("m").await);
            at.push(Instant::now() - start);
        }
        assert!(at[15] >= Duration::from_secs(1), "{at:?}");
        assert!(
            at.windows(2)
                .all(|w| w[1] - w[0] >= Duration::from_millis(66)),
            "{at:?}"
        );
        // A call admitted after the shrink is a new overrun: 15 → 11.
        let later = limiter.acquire("m").await;
        limiter.throttled(&later);
        drop(later);
        assert_eq!(limiter.current_qps(), Some(11));
        // A window's worth of successes adds one call per second, up to qps.
        for _ in 0..11 {
            limiter.succeeded();
        }
        assert_eq!(limiter.current_qps(), Some(12));
        for _ in 0..1000 {
            limiter.succeeded();
        }
        assert_eq!(limiter.current_qps(), Some(20));
        // Never below one call per second.
        for _ in 0..30 {
            let p = limiter.acquire("m").await;
            limiter.throttled(&p);
        }
        assert_eq!(limiter.current_qps(), Some(1));
    }

    // Regression a7ad0ca: a 40005 answered while a slow-down pause was on escalated the pause.
    #[tokio::test(start_paused = true)]
    async fn answers_in_flight_during_a_pause_do_not_escalate_it() {
        let limiter = RateLimiter::unlimited();
        let permit = limiter.acquire("m").await;
        let first = limiter.throttled(&permit);
        assert!(first <= Duration::from_millis(150), "{first:?}");
        // Fifteen more calls of the same overrun answer 40005 while the pause is on.
        for _ in 0..15 {
            assert!(limiter.throttled(&permit) <= first);
        }
        tokio::time::advance(first).await;
        // Overrunning again after the pause escalates one step.
        let second = limiter.throttled(&permit);
        assert!(
            second >= Duration::from_millis(200) && second <= Duration::from_millis(300),
            "{second:?}"
        );
    }
}

//! The call quota: a governor GCRA limiter for pacing (qps + burst), a strict sliding
//! one-second window so no window ever holds more than `qps` calls (invariant 7), optional
//! per-method limits, and an adaptive slow-down when Alipay answers `40005`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::num::NonZeroU32;
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
/// than `qps` calls (invariant 7).
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slots {
    next_id: u64,
    /// Calls admitted and not finished.
    in_flight: HashSet<u64>,
    /// Finish times of finished calls still inside the window, oldest first.
    finished: VecDeque<Instant>,
}

struct Window {
    cap: usize,
    slots: Mutex<Slots>,
    freed: Notify,
}

impl Window {
    fn new(qps: u32) -> Self {
        Self {
            cap: qps.max(1) as usize,
            slots: Mutex::new(Slots::default()),
            freed: Notify::new(),
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
                if slots.in_flight.len() + slots.finished.len() < self.cap {
                    slots.next_id += 1;
                    let id = slots.next_id;
                    slots.in_flight.insert(id);
                    return WindowPermit {
                        window: Some(self.clone()),
                        id,
                    };
                }
                slots.finished.front().map(|t| *t + WINDOW)
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
    _permits: Vec<WindowPermit>,
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
        }
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
        if let Some(app) = &self.app {
            if wait_until.is_some() {
                app.gcra
                    .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(50)))
                    .await;
                permits.push(app.window.admit().await);
            } else {
                permits.push(app.acquire().await);
            }
        }
        Permit { _permits: permits }
    }

    /// Record a `40005`: every caller pauses for an exponentially growing, jittered delay.
    /// Returns the pause. A `40005` that arrives while a pause is on belongs to the same
    /// overrun (a call sent before the pause began): it does not lengthen the pause, or
    /// N calls in flight would escalate it N steps at once.
    pub fn throttled(&self) -> Duration {
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

    /// Record a call that was not throttled: the slow-down eases off.
    pub fn succeeded(&self) {
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
    async fn answers_in_flight_during_a_pause_do_not_escalate_it() {
        let limiter = RateLimiter::unlimited();
        let first = limiter.throttled();
        assert!(first <= Duration::from_millis(150), "{first:?}");
        // Fifteen more calls of the same overrun answer 40005 while the pause is on.
        for _ in 0..15 {
            assert!(limiter.throttled() <= first);
        }
        tokio::time::advance(first).await;
        // Overrunning again after the pause escalates one step.
        let second = limiter.throttled();
        assert!(
            second >= Duration::from_millis(200) && second <= Duration::from_millis(300),
            "{second:?}"
        );
    }
}

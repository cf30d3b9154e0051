//! What the simulator counts of the calls it receives: per method, throttled, and how many
//! arrived in each second, so a test can assert a client never sent more than its quota
//! in any one second (across processes: the simulator sees every call of the app).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The most calendar seconds a window keeps (a day of continuous traffic).
const KEPT_SECONDS: usize = 86_400;

/// Arrival times of calls: the busiest sliding second (monotonic clock, exact), and the
/// count of every wall-clock second (Unix seconds) that saw a call.
#[derive(Debug, Default, Clone)]
pub struct CallWindow {
    recent: VecDeque<Instant>,
    pub calls: u64,
    pub max_in_one_second: u64,
    pub per_second: BTreeMap<u64, u64>,
}

impl CallWindow {
    fn record(&mut self, at: Instant, unix_second: u64) {
        self.calls += 1;
        while self
            .recent
            .front()
            .is_some_and(|t| at.duration_since(*t) >= Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        self.recent.push_back(at);
        self.max_in_one_second = self.max_in_one_second.max(self.recent.len() as u64);
        *self.per_second.entry(unix_second).or_default() += 1;
        if self.per_second.len() > KEPT_SECONDS {
            self.per_second.pop_first();
        }
    }

    /// The most calls of any one wall-clock second.
    pub fn max_in_a_calendar_second(&self) -> u64 {
        self.per_second.values().copied().max().unwrap_or(0)
    }

    pub fn summary(&self) -> WindowSummary {
        WindowSummary {
            calls: self.calls,
            max_calls_in_one_second: self.max_in_one_second,
            max_calls_in_a_calendar_second: self.max_in_a_calendar_second(),
            per_second: self
                .per_second
                .iter()
                .map(|(s, n)| SecondCount {
                    unix_second: *s,
                    calls: *n,
                })
                .collect(),
        }
    }
}

/// One wall-clock second and its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecondCount {
    pub unix_second: u64,
    pub calls: u64,
}

/// A window as `/__sim/stats` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowSummary {
    pub calls: u64,
    /// The most calls within any sliding second (monotonic arrival times).
    pub max_calls_in_one_second: u64,
    /// The most calls within one wall-clock second.
    pub max_calls_in_a_calendar_second: u64,
    /// Every wall-clock second that saw a call, in order.
    pub per_second: Vec<SecondCount>,
}

/// Calls received, per method, and when.
#[derive(Debug, Default)]
pub struct Stats {
    pub counts: BTreeMap<String, u64>,
    pub throttled: u64,
    /// Every call that reached `/gateway.do` or a `/v3/` method path.
    pub app: CallWindow,
}

impl Stats {
    pub fn record(&mut self, method: &str) {
        match self.counts.get_mut(method) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(method.to_string(), 1);
            }
        }
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.app.record(Instant::now(), unix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_and_calendar_seconds() {
        let mut w = CallWindow::default();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // 3 calls late in second 100, 3 early in second 101: 3 per calendar second,
        // 6 within one sliding second.
        for (at, sec) in [
            (800, 100),
            (850, 100),
            (900, 100),
            (1100, 101),
            (1150, 101),
            (1200, 101),
        ] {
            w.record(ms(at), sec);
        }
        assert_eq!((w.max_in_one_second, w.max_in_a_calendar_second()), (6, 3));
        w.record(ms(2500), 102);
        assert_eq!(w.max_in_one_second, 6);
        let s = w.summary();
        assert_eq!(s.calls, 7);
        assert_eq!(s.per_second.iter().map(|c| c.calls).sum::<u64>(), 7);
        assert_eq!(
            s.per_second[2],
            SecondCount {
                unix_second: 102,
                calls: 1
            }
        );
    }
}

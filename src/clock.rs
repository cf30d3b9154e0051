//! Time as a dependency: the system clock in production, a manual clock in tests and in
//! the simulator's controllable mode.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The wall clock moved by a fixed offset: the test suite's `SHOPSYNC_TEST_CLOCK_OFFSET`
/// (e.g. `8days`), so the real binary can be run "days later" against a simulator whose
/// clock was advanced by as much (`SimHandle::advance_clock`).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

/// The clock of a command: the system clock, unless the test suite set
/// `SHOPSYNC_TEST_CLOCK_OFFSET` (a duration like `8days` or `-2h`).
pub fn command_clock() -> SharedClock {
    let offset = std::env::var("SHOPSYNC_TEST_CLOCK_OFFSET")
        .ok()
        .and_then(|v| {
            let (sign, text) = match v.strip_prefix('-') {
                Some(rest) => (-1, rest.to_string()),
                None => (1, v),
            };
            humantime::parse_duration(&text)
                .ok()
                .and_then(|d| Duration::from_std(d).ok())
                .map(|d| d * sign)
        });
    match offset {
        Some(d) => Arc::new(OffsetClock(d)),
        None => Arc::new(SystemClock),
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

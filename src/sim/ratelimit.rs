//! Token buckets per app and per (app, method) (§8.7), on the monotonic clock.

use std::collections::BTreeMap;
use std::time::Instant;

use super::config::RateSpec;

#[derive(Debug)]
struct Bucket {
    spec: RateSpec,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(spec: RateSpec, now: Instant) -> Self {
        Self {
            spec,
            tokens: f64::from(spec.burst.max(1)),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let cap = f64::from(self.spec.burst.max(1));
        let dt = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * f64::from(self.spec.qps)).min(cap);
        self.last = now;
    }
}

/// Which bucket ran dry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    App,
    Method,
}

#[derive(Debug, Default)]
pub struct Limiter {
    app: Option<Bucket>,
    methods: BTreeMap<String, Bucket>,
}

impl Limiter {
    pub fn new(app: Option<RateSpec>, methods: &BTreeMap<String, RateSpec>) -> Self {
        let now = Instant::now();
        Self {
            app: app.map(|s| Bucket::new(s, now)),
            methods: methods
                .iter()
                .map(|(m, s)| (m.clone(), Bucket::new(*s, now)))
                .collect(),
        }
    }

    /// Take a token from both buckets, or from neither.
    pub fn check(&mut self, method: &str) -> Result<(), Limited> {
        let now = Instant::now();
        if let Some(b) = &mut self.app {
            b.refill(now);
            if b.tokens < 1.0 {
                return Err(Limited::App);
            }
        }
        if let Some(b) = self.methods.get_mut(method) {
            b.refill(now);
            if b.tokens < 1.0 {
                return Err(Limited::Method);
            }
            b.tokens -= 1.0;
        }
        if let Some(b) = &mut self.app {
            b.tokens -= 1.0;
        }
        Ok(())
    }
}

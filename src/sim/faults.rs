//! Scripted faults (§8.7): what can go wrong, for which method, and when.

use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One fault of the §8.7 table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Close the connection without a response; nothing applied.
    DropBefore,
    /// Apply, then close without a response.
    DropAfter,
    /// Hold the connection for `hold_timeout`, then close; nothing applied.
    TimeoutBefore,
    /// Apply, then hold the connection for `hold_timeout` and close.
    TimeoutAfter,
    /// Apply, then answer signed `20000 isp.unknow-error`.
    UnknownErrorApplied,
    /// Answer signed `20000 isp.unknow-error` without applying.
    UnknownErrorNotApplied,
    /// Answer `40004 SHOP_CREATE_SYSTEM_ERROR` / `SHOP_MODIFY_SYSTEM_ERROR` / `SYSTEM_ERROR`.
    SystemError { applied: bool },
    /// Flip one byte of `sign`; the request is processed normally.
    BadSignature,
    /// Omit `sign` from a `10000` body.
    UnsignedSuccess,
    /// Send only the first `keep` bytes of the body, then close.
    TruncatedBody { keep: usize },
    /// Write `/` as `\/` in the body while signing the unescaped text.
    EscapedSlashes,
    /// HTTP 502 with an HTML page; nothing applied.
    Gateway5xx,
    /// Sign with a different private key.
    WrongKey,
}

impl FaultKind {
    /// Whether the write happens before the fault shows.
    pub fn applies(&self) -> bool {
        !matches!(
            self,
            FaultKind::DropBefore
                | FaultKind::TimeoutBefore
                | FaultKind::UnknownErrorNotApplied
                | FaultKind::SystemError { applied: false }
                | FaultKind::Gateway5xx
        )
    }

    /// Faults that act before the gateway looks at the request.
    pub fn network_before(&self) -> bool {
        matches!(
            self,
            FaultKind::DropBefore | FaultKind::TimeoutBefore | FaultKind::Gateway5xx
        )
    }
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The next N matching calls.
    Next(u32),
    /// Each matching call with this probability (drawn from the seeded RNG).
    Probability(f64),
}

/// A fault for one method (full name) or every method (`None`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FaultRule {
    pub method: Option<String>,
    pub kind: FaultKind,
    pub trigger: Trigger,
}

#[derive(Debug, thiserror::Error)]
#[error("bad fault spec {spec:?}: {reason} (expected KIND:METHOD|*:PROBABILITY|next=N, e.g. drop_before:alipay.offline.market.shop.create:0.1)")]
pub struct FaultSpecError {
    pub spec: String,
    pub reason: String,
}

impl FromStr for FaultRule {
    type Err = FaultSpecError;

    /// `KIND:METHOD:TRIGGER`, e.g. `unknown_error_applied:*:next=3`,
    /// `truncated_body=40:alipay.offline.market.shop.summary.batchquery:0.5`.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| FaultSpecError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let [kind, method, trigger] = parts[..] else {
            return Err(err("need three ':'-separated parts"));
        };
        let (name, arg) = match kind.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (kind, None),
        };
        let kind = match name {
            "drop_before" => FaultKind::DropBefore,
            "drop_after" => FaultKind::DropAfter,
            "timeout_before" => FaultKind::TimeoutBefore,
            "timeout_after" => FaultKind::TimeoutAfter,
            "unknown_error_applied" => FaultKind::UnknownErrorApplied,
            "unknown_error_not_applied" => FaultKind::UnknownErrorNotApplied,
            "system_error" | "system_error_not_applied" => {
                FaultKind::SystemError { applied: false }
            }
            "system_error_applied" => FaultKind::SystemError { applied: true },
            "bad_signature" => FaultKind::BadSignature,
            "unsigned_success" => FaultKind::UnsignedSuccess,
            "truncated_body" => FaultKind::TruncatedBody {
                keep: match arg {
                    Some(a) => a
                        .parse()
                        .map_err(|_| err("truncated_body=K needs a byte count"))?,
                    None => 20,
                },
            },
            "escaped_slashes" => FaultKind::EscapedSlashes,
            "gateway_5xx" => FaultKind::Gateway5xx,
            "wrong_key" => FaultKind::WrongKey,
            _ => return Err(err("unknown fault kind")),
        };
        let method = (method != "*").then(|| method.to_string());
        let trigger = if let Some(n) = trigger.strip_prefix("next=") {
            Trigger::Next(n.parse().map_err(|_| err("next=N needs a count"))?)
        } else {
            let p: f64 = trigger.parse().map_err(|_| err("bad probability"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(err("probability must be within 0..1"));
            }
            Trigger::Probability(p)
        };
        Ok(FaultRule {
            method,
            kind,
            trigger,
        })
    }
}

/// The active rules and the RNG that draws probabilistic ones.
pub struct Faults {
    pub rules: Vec<FaultRule>,
    rng: StdRng,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
        }
    }

    /// The fault for one call of `method`, if any fires. `Next` rules are consumed.
    pub fn pick(&mut self, method: &str) -> Option<FaultKind> {
        let mut fired = None;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if rule.method.as_deref().is_some_and(|m| m != method) {
                continue;
            }
            let hit = match &mut rule.trigger {
                Trigger::Next(n) => {
                    if *n > 0 {
                        *n -= 1;
                        true
                    } else {
                        false
                    }
                }
                Trigger::Probability(p) => self.rng.random::<f64>() < *p,
            };
            if hit {
                fired = Some((i, rule.kind.clone()));
                break;
            }
        }
        self.rules.retain(|r| r.trigger != Trigger::Next(0));
        fired.map(|(_, k)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let r: FaultRule = "drop_before:alipay.offline.market.shop.create:0.1"
            .parse()
            .unwrap();
        assert_eq!(r.kind, FaultKind::DropBefore);
        assert_eq!(r.trigger, Trigger::Probability(0.1));
        let r: FaultRule = "truncated_body=7:*:next=3".parse().unwrap();
        assert_eq!(r.kind, FaultKind::TruncatedBody { keep: 7 });
        assert_eq!(r.method, None);
        assert!("nope:*:1".parse::<FaultRule>().is_err());
    }

    #[test]
    fn next_rules_are_consumed() {
        let mut f = Faults::new(1);
        f.rules.push("wrong_key:*:next=2".parse().unwrap());
        assert!(f.pick("m").is_some());
        assert!(f.pick("m").is_some());
        assert!(f.pick("m").is_none());
        assert!(f.rules.is_empty());
    }
}
